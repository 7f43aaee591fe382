"""Placeholders in JSON string values: typed and inline substitution, built-ins, reporting."""

from __future__ import annotations

import copy
import random
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.core.findings import Severity, Stage
from composer.core.templates.variables import (
    BUILTINS,
    Dynamic,
    Resolution,
    Resolver,
    UnknownBuiltin,
    Unresolved,
    has_placeholders,
    parse_assignment,
    placeholders,
    unresolved_findings,
)

CLOCK = datetime(2026, 11, 29, 5, 40, 0, 123000, tzinfo=UTC)
NOW_ISO = "2026-11-29T05:40:00.123Z"
NOW_MS = 1_795_930_800_123

VARIABLES: dict[str, Any] = {
    "plan": "pro",
    "seats": 5,
    "ratio": 3.5,
    "ok": True,
    "nothing": None,
    "owner": {"name": "Ada", "tags": ["a", "b"]},
    "list": [1, "two"],
    "org.id-2": "acme",
}


def dynamic(seed: int = 7, counter_start: int = 1) -> Dynamic:
    return Dynamic(now=lambda: CLOCK, rng=random.Random(seed), counter_start=counter_start)


def resolve(value: Any, path: str = "", **extra: Any) -> Resolution:
    return Resolver({**VARIABLES, **extra}, dynamic()).resolve(value, path)


# Whole-value substitution keeps the JSON type


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{plan}}", "pro"),
        ("{{seats}}", 5),
        ("{{ratio}}", 3.5),
        ("{{ok}}", True),
        ("{{nothing}}", None),
        ("{{owner}}", {"name": "Ada", "tags": ["a", "b"]}),
        ("{{list}}", [1, "two"]),
        ("{{  seats  }}", 5),
        ("{{org.id-2}}", "acme"),
    ],
)
def test_a_whole_placeholder_takes_the_value_with_its_type(text: str, expected: Any) -> None:
    result = resolve({"properties": {"x": text}})
    assert result.value == {"properties": {"x": expected}}
    assert type(result.value["properties"]["x"]) is type(expected)
    assert result.unresolved == []


def test_whitespace_outside_the_braces_makes_it_text() -> None:
    assert resolve({"x": " {{seats}} "}).value == {"x": " 5 "}


def test_a_substituted_object_is_a_copy_of_the_variable() -> None:
    variables = {"owner": {"tags": ["a"]}}
    result = Resolver(variables, dynamic()).resolve({"x": "{{owner}}"})
    result.value["x"]["tags"].append("changed")
    assert variables == {"owner": {"tags": ["a"]}}


# Inline substitution uses the text form


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plan: {{plan}}", "plan: pro"),
        ("{{seats}} seats", "5 seats"),
        ("ratio {{ratio}}", "ratio 3.5"),
        ("ok={{ok}}", "ok=true"),
        ("x={{nothing}}", "x=null"),
        ("owner {{owner}}", 'owner {"name":"Ada","tags":["a","b"]}'),
        ("[{{list}}]", '[[1,"two"]]'),
        ("{{plan}}{{seats}}", "pro5"),
        ("{{ plan }}-{{ok}}", "pro-true"),
    ],
)
def test_placeholders_inside_text_become_their_text_form(text: str, expected: str) -> None:
    result = resolve([text])
    assert result.value == [expected]
    assert result.unresolved == []


def test_values_are_not_scanned_again() -> None:
    result = resolve({"x": "{{open}}plan}}"}, open="{{")
    assert result.value == {"x": "{{plan}}"}
    assert result.unresolved == []


def test_keys_are_never_substituted() -> None:
    result = resolve({"{{plan}}": "{{plan}}"})
    assert result.value == {"{{plan}}": "pro"}


def test_used_lists_only_user_variables_that_resolved() -> None:
    result = resolve({"a": "{{plan}}", "b": "{{seats}} {{$uuid}} {{missing}}", "c": "{{ok}}"})
    assert result.used == {"plan", "seats", "ok"}


# Built-ins


def test_builtins_with_a_fixed_clock_and_seeded_random() -> None:
    source = dynamic(seed=42)
    uid = source.value("$uuid")
    assert isinstance(uid, str)
    assert uuid.UUID(uid).version == 4
    assert str(uuid.UUID(uid)) == uid
    assert source.value("$now") == NOW_ISO
    assert source.value("$timestamp") == NOW_MS
    number = source.value("$random_int")
    assert type(number) is int
    assert 0 <= number <= 1000
    email = source.value("$random_email")
    assert re.fullmatch(r"[a-z]+\.[a-z-]+\d{1,2}@example\.com", email)
    name = source.value("$random_name")
    assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][A-Za-z-]+", name)
    assert source.value("$counter") == 1


def test_the_same_seed_gives_the_same_values() -> None:
    expressions = ("$uuid", "$random_int", "$random_email", "$random_name")
    first = [dynamic(seed=3).value(e) for e in expressions]
    again = [dynamic(seed=3).value(e) for e in expressions]
    other = [dynamic(seed=4).value(e) for e in expressions]
    assert first == again
    assert first != other


def test_random_int_covers_both_ends() -> None:
    source = Dynamic(rng=random.Random(0))
    seen = {source.value("$random_int") for _ in range(20_000)}
    assert min(seen) == 0
    assert max(seen) == 1000


def test_default_clock_is_the_current_utc_time() -> None:
    before = datetime.now(UTC)
    text = Dynamic().value("$now")
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= moment <= after


def test_now_always_has_milliseconds_and_utc() -> None:
    source = Dynamic(now=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert source.value("$now") == "2026-01-02T03:04:05.000Z"
    naive = Dynamic(now=lambda: datetime(2026, 1, 2, 3, 4, 5, 999999))
    assert naive.value("$now") == "2026-01-02T03:04:05.999Z"
    assert naive.value("$timestamp") == 1_767_323_045_999


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$now - 2h", "2026-11-29T03:40:00.123Z"),
        ("$now + 30m", "2026-11-29T06:10:00.123Z"),
        ("$now-1d", "2026-11-28T05:40:00.123Z"),
        ("$now+1d", "2026-11-30T05:40:00.123Z"),
        ("$now - 45s", "2026-11-29T05:39:15.123Z"),
        ("$now+45s", "2026-11-29T05:40:45.123Z"),
        ("$now -30m", "2026-11-29T05:10:00.123Z"),
        ("$now+ 2h", "2026-11-29T07:40:00.123Z"),
        ("$now - 1w", "2026-11-22T05:40:00.123Z"),
        ("$now + 2w", "2026-12-13T05:40:00.123Z"),
        ("$now - 0s", NOW_ISO),
    ],
)
def test_relative_times(expression: str, expected: str) -> None:
    assert dynamic().value(expression) == expected
    assert resolve({"t": "{{" + expression + "}}"}).value == {"t": expected}


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("$foo", "is not a built-in value"),
        ("$now - 2y", "units are s, m, h, d, w"),
        ("$now - 2", "add a unit (s, m, h, d, w), e.g. $now - 2h"),
        ("$now - 2.5h", "a whole number and a unit"),
        ("$now -", "a whole number and a unit"),
        ("$now - 99999999999w", "further from now"),
    ],
)
def test_unknown_and_malformed_builtins_raise(expression: str, words: str) -> None:
    with pytest.raises(UnknownBuiltin, match=re.escape(words)) as raised:
        dynamic().value(expression)
    assert isinstance(raised.value, ValueError)
    assert f"'{expression}'" in str(raised.value)


def test_unknown_builtin_reason_names_every_builtin() -> None:
    with pytest.raises(UnknownBuiltin) as raised:
        dynamic().value("$foo")
    for name in BUILTINS:
        assert name in str(raised.value)


def test_builtins_in_a_whole_value_keep_their_type() -> None:
    result = resolve({"ts": "{{$timestamp}}", "n": "{{$random_int}}", "c": "{{ $counter }}"})
    assert result.value["ts"] == NOW_MS
    assert type(result.value["n"]) is int
    assert result.value["c"] == 1
    assert result.used == set()


def test_counter_increases_in_document_order() -> None:
    body = {"batch": [{"properties": {"n": "{{$counter}}"}} for _ in range(4)]}
    result = Resolver({}, dynamic(counter_start=10)).resolve(body)
    assert [e["properties"]["n"] for e in result.value["batch"]] == [10, 11, 12, 13]
    inline = Resolver({}, dynamic()).resolve("#{{$counter}} #{{$counter}}")
    assert inline.value == "#1 #2"


def test_counter_carries_on_across_resolve_calls_without_a_memo() -> None:
    resolver = Resolver({}, dynamic())
    assert resolver.resolve("{{$counter}}").value == 1
    assert resolver.resolve("{{$counter}}").value == 2


def test_uuids_differ_by_occurrence() -> None:
    result = resolve({"a": "{{$uuid}}", "b": "{{$uuid}}", "c": "{{$uuid}} {{$uuid}}"})
    first, second = result.value["c"].split(" ")
    assert len({result.value["a"], result.value["b"], first, second}) == 4


# The memo keeps a live preview stable


def test_memo_reuses_builtins_until_cleared() -> None:
    memo: dict[tuple[str, str], Any] = {}
    resolver = Resolver({"plan": "pro"}, dynamic(), memo)
    body = {"uuid": "{{$uuid}}", "two": "{{$uuid}}/{{$uuid}}", "n": "{{$counter}}"}
    first = resolver.resolve(body).value
    again = resolver.resolve(body).value
    assert first == again
    assert again["n"] == 1
    one, two = first["two"].split("/")
    assert one != two
    assert ("uuid", "$uuid") in memo
    assert ("two", "$uuid#1") in memo
    memo.clear()
    fresh = resolver.resolve(body).value
    assert fresh["uuid"] != first["uuid"]
    assert fresh["n"] == 2


def test_memo_is_keyed_by_path_including_the_base() -> None:
    memo: dict[tuple[str, str], Any] = {}
    resolver = Resolver({}, dynamic(), memo)
    a = resolver.resolve({"id": "{{$uuid}}"}, "batch[0]").value
    b = resolver.resolve({"id": "{{$uuid}}"}, "batch[1]").value
    assert a != b
    assert set(memo) == {("batch[0].id", "$uuid"), ("batch[1].id", "$uuid")}


def test_user_variables_are_never_memoized() -> None:
    memo: dict[tuple[str, str], Any] = {}
    variables = {"plan": "pro"}
    resolver = Resolver(variables, dynamic(), memo)
    assert resolver.resolve({"p": "{{plan}}"}).value == {"p": "pro"}
    variables["plan"] = "team"
    assert resolver.resolve({"p": "{{plan}}"}).value == {"p": "team"}
    assert memo == {}


def test_unknown_builtins_are_not_memoized() -> None:
    memo: dict[tuple[str, str], Any] = {}
    Resolver({}, dynamic(), memo).resolve({"x": "{{$foo}}"})
    assert memo == {}


# Unresolved placeholders stay in place and are reported


def test_unresolved_user_variable_stays_verbatim_and_is_reported() -> None:
    body = {"batch": [{"properties": {"plan": "{{ plan }}", "note": "on {{plan}} now"}}]}
    result = Resolver({}, dynamic()).resolve(body)
    assert result.value == body
    assert result.unresolved == [
        Unresolved("batch[0].properties.plan", "plan", "no variable named 'plan'"),
        Unresolved("batch[0].properties.note", "plan", "no variable named 'plan'"),
    ]
    assert result.used == set()


def test_unresolved_builtins_are_reported_with_reasons() -> None:
    body = {"a": "{{$foo}}", "b": "at {{$now - 2y}}", "c": "{{$now-3h}}"}
    result = resolve(body)
    assert result.value["a"] == "{{$foo}}"
    assert result.value["b"] == "at {{$now - 2y}}"
    assert result.value["c"] == "2026-11-29T02:40:00.123Z"
    assert [(u.path, u.name) for u in result.unresolved] == [("a", "$foo"), ("b", "$now - 2y")]
    assert result.unresolved[0].reason.startswith(
        "'$foo' is not a built-in value; built-ins are $uuid, $now,"
    )
    assert result.unresolved[1].reason == "'$now - 2y': units are s, m, h, d, w"


def test_unresolved_paths_quote_keys_and_index_lists() -> None:
    body = {"properties": {"my key": "{{missing}}", "list": ["ok", {"deep": "x {{gone}}"}]}}
    result = Resolver({}, dynamic()).resolve(body, "batch[3]")
    assert [u.path for u in result.unresolved] == [
        'batch[3].properties["my key"]',
        "batch[3].properties.list[1].deep",
    ]


def test_a_repeated_unresolved_placeholder_in_one_string_is_reported_once() -> None:
    result = Resolver({}, dynamic()).resolve({"x": "{{a}} {{a}} {{b}}"})
    assert [u.name for u in result.unresolved] == ["a", "b"]
    assert result.value == {"x": "{{a}} {{a}} {{b}}"}


def test_partly_resolved_text_keeps_only_the_unresolved_placeholders() -> None:
    result = resolve({"x": "{{plan}} / {{missing}} / {{seats}}"})
    assert result.value == {"x": "pro / {{missing}} / 5"}
    assert [u.name for u in result.unresolved] == ["missing"]


def test_case_mismatch_is_pointed_out() -> None:
    result = Resolver({"Plan": "pro"}, dynamic()).resolve("{{plan}}")
    assert "there is 'Plan'" in result.unresolved[0].reason


@pytest.mark.parametrize(
    "text",
    [
        "{{ }}",
        "{{}}",
        "{{1abc}}",
        "{{a b}}",
        "{{$}}",
        "{{$uuid.x}}",
        "{{$foo bar}}",
        "{ {plan} }",
        "{plan}",
        "{{plan}",
        "{{\nplan\n}}x{{a\nb}}",
        "function() { return {{}}; }",
    ],
)
def test_text_outside_the_grammar_is_left_alone_and_not_reported(text: str) -> None:
    result = resolve({"x": text})
    assert result.unresolved == []
    if "\nplan\n" in text:
        # Whitespace inside the braces may include newlines; the rest stays literal.
        assert result.value == {"x": "prox{{a\nb}}"}
    else:
        assert result.value == {"x": text}
        assert not has_placeholders({"x": text})


def test_extra_braces_around_a_placeholder_stay_as_text() -> None:
    assert resolve("{{{plan}}}").value == "{pro}"
    assert resolve("{{{{plan}}}}").value == "{{pro}}"


def test_the_input_is_never_mutated() -> None:
    body = {
        "batch": [
            {"properties": {"plan": "{{plan}}", "list": [1, "{{seats}}"], "n": None}},
            {"properties": {"owner": "{{owner}}", "id": "{{$uuid}}", "keep": [1, 2]}},
        ]
    }
    before = copy.deepcopy(body)
    result = resolve(body)
    assert body == before
    result.value["batch"][1]["properties"]["keep"].append(3)
    result.value["batch"][0]["properties"]["list"].append(3)
    assert body == before
    assert result.value["batch"][0]["properties"]["list"] == [1, 5, 3]


def test_a_body_without_placeholders_comes_back_as_an_equal_copy() -> None:
    body = {"event": "x", "properties": {"a": [1, {"b": "c"}], "{{k}}": {"n": 1.5}}}
    result = resolve(body)
    assert result.value == body
    assert result.value is not body
    assert result.value["properties"] is not body["properties"]
    assert result.value["properties"]["a"][1] is not body["properties"]["a"][1]
    assert list(result.value["properties"]) == ["a", "{{k}}"]


def test_key_order_is_kept_when_some_values_change() -> None:
    body = {"a": 1, "b": "{{plan}}", "c": [2], "d": "x"}
    assert list(resolve(body).value) == ["a", "b", "c", "d"]


def test_very_deep_documents_do_not_hit_the_recursion_limit() -> None:
    body: dict[str, Any] = {}
    node = body
    for _ in range(5_000):
        node["a"] = {}
        node = node["a"]
    node["v"] = "{{seats}}"
    result = resolve(body)
    node = result.value
    for _ in range(5_000):
        node = node["a"]
    assert node == {"v": 5}
    assert len(placeholders(body)) == 1
    assert has_placeholders(body)


def test_scalars_and_strings_at_the_top() -> None:
    assert resolve("{{seats}}").value == 5
    assert resolve(7).value == 7
    assert resolve(None).value is None
    top = Resolver({}, dynamic()).resolve("{{x}}", "properties.p")
    assert top.unresolved[0].path == "properties.p"


# Fast checks and listings


def test_has_placeholders() -> None:
    assert has_placeholders("{{plan}}")
    assert has_placeholders({"a": [1, {"b": "x {{ $now - 2h }}"}]})
    assert has_placeholders({"a": "{{$foo}}"})
    assert not has_placeholders({"a": [1, {"b": "plain"}], "c": None})
    assert not has_placeholders({"{{plan}}": 1})
    assert not has_placeholders("{{ }}")
    assert not has_placeholders(5)


def test_placeholders_in_document_order() -> None:
    body = {
        "event": "{{event}}",
        "properties": {"my key": "{{a}} and {{ $uuid }}", "list": ["{{b}}", {"c": "{{c}}"}]},
        "timestamp": "{{$now - 2h}}",
        "noise": "{{ }} {{1x}}",
    }
    assert placeholders(body, "batch[0]") == [
        ("batch[0].event", "event"),
        ('batch[0].properties["my key"]', "a"),
        ('batch[0].properties["my key"]', "$uuid"),
        ("batch[0].properties.list[0]", "b"),
        ("batch[0].properties.list[1].c", "c"),
        ("batch[0].timestamp", "$now - 2h"),
    ]
    assert placeholders({"x": "none"}) == []
    assert placeholders("{{top}}") == [("", "top")]


# --var assignments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plan=pro", ("plan", "pro")),
        ("plan=", ("plan", "")),
        ("url=https://x.test/?a=b", ("url", "https://x.test/?a=b")),
        ("seats=5", ("seats", "5")),
        ("seats:=5", ("seats", 5)),
        ("ok:=true", ("ok", True)),
        ("ratio:=3.5", ("ratio", 3.5)),
        ("gone:=null", ("gone", None)),
        ('owner:={"name": "Ada"}', ("owner", {"name": "Ada"})),
        ("tags:=[1, 2]", ("tags", [1, 2])),
        ('s:="5"', ("s", "5")),
        ("org.id-2=acme", ("org.id-2", "acme")),
        ("_x:= 1 ", ("_x", 1)),
    ],
)
def test_parse_assignment(text: str, expected: tuple[str, Any]) -> None:
    assert parse_assignment(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("plan", "has no '='"),
        ("=pro", "is not a variable name"),
        ("1plan=pro", "is not a variable name"),
        ("my plan=pro", "is not a variable name"),
        (":=5", "is not a variable name"),
        ("$now=5", "is not a variable name"),
        ("seats:=five", "is not JSON"),
        ("seats:=", "is not JSON"),
        ("ok:={", "is not JSON"),
    ],
)
def test_parse_assignment_rejects_with_how_to_write_it(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)) as raised:
        parse_assignment(text)
    message = str(raised.value)
    if "is not JSON" in message:
        name = text.partition(":=")[0]
        assert f"{name}=" in message
    else:
        assert "name=value" in message
        assert "name:=json" in message


# Findings


def test_unresolved_findings_for_user_variables() -> None:
    items = [
        Unresolved("batch[2].properties.plan", "plan", "no variable named 'plan'"),
        Unresolved("[4].event", "evt", "no variable named 'evt'"),
        Unresolved("properties.x", "x", "no variable named 'x'"),
        Unresolved("", "y", "no variable named 'y'"),
    ]
    findings = unresolved_findings(items)
    assert [f.path for f in findings] == [u.path for u in items]
    assert [f.event_index for f in findings] == [2, 4, None, None]
    first = findings[0]
    assert first.code == "variable.unresolved"
    assert first.severity is Severity.ERROR
    assert first.stage is Stage.LOCAL
    assert first.message == (
        "{{plan}} has no value: no variable named 'plan'. "
        'It would be sent as the literal text "{{plan}}".'
    )
    assert first.fix == (
        "Define plan in the workspace variables (Templates → Variables…) "
        "or pass --var plan=VALUE on the command line."
    )


def test_unresolved_findings_for_builtins_name_the_builtins() -> None:
    result = resolve({"batch": [{"a": "{{$foo}}", "b": "{{$now - 2y}}"}]})
    unknown, malformed = unresolved_findings(result.unresolved)
    assert unknown.event_index == 0
    assert unknown.path == "batch[0].a"
    assert "'$foo' is not a built-in value" in unknown.message
    assert '"{{$foo}}"' in unknown.message
    for name in BUILTINS:
        assert name in unknown.fix
    assert "{{foo}}" in unknown.fix
    assert "units are s, m, h, d, w" in malformed.message
    assert "$now - 2h" in malformed.fix
    assert "--var" not in malformed.fix


def test_no_unresolved_means_no_findings() -> None:
    assert unresolved_findings([]) == []


# Property: without "{{" nothing changes

_json_text = st.text(max_size=20).filter(lambda s: "{{" not in s)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | _json_text
    | st.sampled_from(["{", "}}", "{ {", "}{", "{}{}", "{x}"]),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=200)
@given(value=_json, path=st.sampled_from(["", "batch[0]", "properties"]))
def test_values_without_double_braces_resolve_to_themselves(value: Any, path: str) -> None:
    before = copy.deepcopy(value)
    result = Resolver(VARIABLES, dynamic()).resolve(value, path)
    assert result.value == value
    assert result.unresolved == []
    assert result.used == set()
    assert value == before
    assert not has_placeholders(value)
    assert placeholders(value, path) == []
