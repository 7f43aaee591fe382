"""Every pre-flight rule: a body that triggers it, and a close one that does not.

`test_every_rule_has_a_case` reads the rule codes out of the source, so a new rule without a
case here fails the suite.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from composer.core.capture.preflight import CheckOptions, check_text
from composer.core.findings import Severity

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
KEY = "phc_test_key_0123456789"


def ev(**fields: Any) -> dict[str, Any]:
    """A valid single-event body with some fields replaced (None removes a field)."""
    body: dict[str, Any] = {"api_key": KEY, "event": "signed_up", "distinct_id": "user-1"}
    for arg, value in fields.items():
        name = arg.replace("DOLLAR_", "$")
        if value is _DROP:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def item(**fields: Any) -> dict[str, Any]:
    body = ev(**fields)
    body.pop("api_key", None)
    return body


def envelope(*items: Any, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"api_key": KEY, "batch": list(items) or [item()]}
    for name, value in fields.items():
        if value is _DROP:
            body.pop(name, None)
        else:
            body[name] = value
    return body


_DROP = object()
BIG = "x" * 1_000_100
HEATMAP = {"https://ex.com/a": [{"x": 160, "y": 320, "target_fixed": False, "type": "click"}]}
HEATMAP_PROPS = {
    "$current_url": "https://ex.com/a",
    "$viewport_height": 900,
    "$viewport_width": 1440,
}


def _nested(levels: int) -> Any:
    """`levels` arrays inside one another; with the event object and properties that is
    levels + 2 levels of nesting."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


# code -> (bad body, good body, options, expected predicted status for errors)
Case = tuple[Any, Any, dict[str, Any], int | None]
CASES: dict[str, Case] = {
    # body-level
    "body.empty": (b"", ev(), {}, 400),
    "body.not_utf8": (b'{"event": "\xff"}', ev(), {}, 400),
    "body.invalid_json": (b'{"event": "e",', ev(), {}, 400),
    "body.python_literal": (
        b"{'api_key': 'phc_x1', 'event': 'e', 'distinct_id': 'u'}",
        ev(),
        {},
        None,
    ),
    # No step of capture strips a BOM; serde_json answers "expected value" at column 1.
    "body.byte_order_mark": (b"\xef\xbb\xbf" + orjson.dumps(ev()), ev(), {}, 400),
    # serde_json (no arbitrary_precision, no unbounded_depth) refuses what Python reads.
    "number.out_of_range": (
        b'{"api_key": "phc_k1", "event": "e", "distinct_id": "u", "properties": {"n": 1e400}}',
        b'{"api_key": "phc_k1", "event": "e", "distinct_id": "u", "properties": {"n": 1e300}}',
        {},
        400,
    ),
    "number.nonfinite_literal": (
        b'{"api_key": "phc_k1", "event": "e", "distinct_id": "u", "properties": {"n": NaN}}',
        b'{"api_key": "phc_k1", "event": "e", "distinct_id": "u", "properties": {"n": null}}',
        {},
        400,
    ),
    "json.too_deep": (
        ev(properties={"n": _nested(126)}),
        ev(properties={"n": _nested(125)}),
        {},
        400,
    ),
    "number.underflow": (
        b'{"api_key": "phc_k1", "event": "e", "distinct_id": "u", "properties": {"n": 1e-400}}',
        b'{"api_key": "phc_k1", "event": "e", "distinct_id": "u", "properties": {"n": 1e-300}}',
        {},
        None,
    ),
    "number.precision_loss": (
        ev(properties={"order_id": 9007199254740993}),
        ev(properties={"order_id": 9007199254740992}),
        {},
        None,
    ),
    "number.beyond_64bit": (
        b'{"api_key": "phc_k1", "event": "e", "distinct_id": "u",'
        b' "properties": {"n": 18446744073709551616}}',
        b'{"api_key": "phc_k1", "event": "e", "distinct_id": "u",'
        b' "properties": {"n": "18446744073709551616"}}',
        {},
        None,
    ),
    "body.not_object": (b"42", ev(), {}, 400),
    "body.no_events": (envelope(batch=[]), envelope(), {}, 400),
    "body.too_large": (
        envelope(*[item(properties={"blob": "y" * 900_000}) for _ in range(24)]),
        envelope(*[item(properties={"blob": "y" * 900_000}) for _ in range(2)]),
        {},
        413,
    ),
    "body.all_filtered": ([item(event="$performance_event")], [item()], {}, None),
    "endpoint.unknown": (ev(), ev(), {"endpoint": "/api/event/"}, 404),
    # batch envelope
    "batch.missing_token": (envelope(api_key=_DROP), envelope(), {}, 400),
    "batch.not_array": ({"api_key": KEY, "batch": {"event": "e"}}, envelope(), {}, 400),
    "batch.historical_migration_type": (
        envelope(historical_migration="yes"),
        envelope(historical_migration=True),
        {},
        400,
    ),
    "batch.sent_at_type": (
        envelope(sent_at=1714564800000),
        envelope(sent_at="2024-05-01T12:00:00Z"),
        {},
        400,
    ),
    "batch.sent_at_ignored": (
        envelope(sent_at="yesterday"),
        envelope(sent_at="2024-05-01T12:00:00Z"),
        {},
        None,
    ),
    "batch.sent_at_skew": (
        envelope(item(timestamp="2024-04-01T00:00:00Z"), sent_at="2024-04-01T00:00:00Z"),
        envelope(item(timestamp="2024-04-01T00:00:00Z"), sent_at="2024-05-01T11:59:00Z"),
        {},
        None,
    ),
    "batch.field_ignored": (envelope(library="x"), envelope(), {}, None),
    # An item that fits no RawEvent: the envelope is read as Engage, refused by hydration.
    "batch.items_fall_to_engage": (
        envelope(item(timestamp=5)),
        envelope(item(timestamp="2024-05-01T12:00:00Z")),
        {},
        400,
    ),
    # tokens
    "token.missing": (ev(api_key=_DROP), ev(), {}, 401),
    "token.duplicate": (ev(token=KEY), ev(), {}, 400),
    "token.not_string": (ev(api_key=12345), ev(), {}, 400),
    "token.empty": (ev(api_key=""), ev(), {}, 401),
    "token.too_long": (ev(api_key="phc_" + "a" * 61), ev(api_key="phc_" + "a" * 60), {}, 401),
    "token.not_ascii": (ev(api_key="phc_é"), ev(), {}, 401),
    "token.personal_key": (ev(api_key="phx_abc"), ev(), {}, 401),
    "token.null_byte": (ev(api_key="phc_a\u0000b"), ev(), {}, 401),
    "token.not_project_key": (ev(api_key="abc123"), ev(), {}, None),
    # token.rs @14b6bb0 trims surrounding white space first (trims_surrounding_whitespace).
    "token.whitespace": (ev(api_key=KEY + "\n"), ev(), {}, None),
    "token.internal_whitespace": (ev(api_key="phc_test key"), ev(), {}, None),
    "token.placeholder": (ev(api_key="<ph_project_api_key>"), ev(), {}, None),
    "token.inconsistent": ([ev(), ev(api_key="phc_other")], [ev(), ev()], {}, 401),
    "token.ignored_in_batch": (envelope({**item(), "api_key": KEY}), envelope(), {}, None),
    # event name
    "event.not_object": (envelope(item(), "oops"), envelope(item(), item()), {}, 400),
    "event.missing": (ev(event=_DROP), ev(), {}, 400),
    "event.engage_identify": (ev(event=None), ev(), {"endpoint": "/engage/"}, None),
    "event.not_string": (ev(event=5), ev(), {}, 400),
    "event.empty": (ev(event=""), ev(), {}, 400),
    "event.name_too_long": (ev(event="e" * 201), ev(event="e" * 200), {}, None),
    "event.whitespace": (ev(event="signed up "), ev(event="signed up"), {}, None),
    "event.filtered": ([item(event="$performance_event"), item()], [item(), item()], {}, None),
    "event.top_level_ignored": (ev(DOLLAR_unset=["a"]), ev(properties={"$unset": ["a"]}), {}, None),
    "event.too_large": (ev(properties={"blob": BIG}), ev(properties={"blob": "x" * 1000}), {}, 413),
    "event.large": (
        ev(properties={"blob": "x" * 950_000}),
        ev(properties={"blob": "x" * 1000}),
        {},
        None,
    ),
    # properties
    "properties.not_object": (ev(properties=None), ev(properties={}), {}, 400),
    "properties.cookieless_mode": (
        ev(properties={"$cookieless_mode": "yes"}),
        ev(properties={"$cookieless_mode": True}),
        {},
        400,
    ),
    "properties.process_person_profile": (
        ev(properties={"$process_person_profile": "false"}),
        ev(properties={"$process_person_profile": False}),
        {},
        None,
    ),
    "properties.groups": (
        ev(properties={"$groups": ["acme"]}),
        ev(properties={"$groups": {"company": "acme"}}),
        {},
        None,
    ),
    "properties.unset": (
        ev(properties={"$unset": "a"}),
        ev(properties={"$unset": ["a"]}),
        {},
        None,
    ),
    "properties.set_not_object": (
        ev(properties={"$set": "a"}),
        ev(properties={"$set": {"a": 1}}),
        {},
        None,
    ),
    # distinct_id
    "distinct_id.duplicate": (ev(DOLLAR_distinct_id="u"), ev(), {}, 400),
    "distinct_id.missing": (
        ev(distinct_id=_DROP),
        ev(distinct_id=_DROP, properties={"distinct_id": "u"}),
        {},
        400,
    ),
    "distinct_id.empty": (ev(distinct_id="", properties={"distinct_id": "u"}), ev(), {}, 400),
    "distinct_id.not_string": (ev(distinct_id=1.0), ev(distinct_id="1.0"), {}, None),
    # event.rs @024dbbe: a distinct_id that trims to nothing is no distinct_id (400).
    "distinct_id.blank": (ev(distinct_id=" \t"), ev(distinct_id=" u "), {}, 400),
    "distinct_id.null_char": (ev(distinct_id="a\u0000b"), ev(distinct_id="ab"), {}, None),
    "distinct_id.too_long": (ev(distinct_id="u" * 201), ev(distinct_id="u" * 200), {}, None),
    "distinct_id.illegal": (
        ev(distinct_id="undefined"),
        ev(distinct_id="user-undefined"),
        {},
        None,
    ),
    # person updates
    "set.not_object": (ev(DOLLAR_set=["a"]), ev(DOLLAR_set={"a": 1}), {}, 400),
    "set.merged": (
        ev(DOLLAR_set={"a": 1}, properties={"$set": {"a": 2}}),
        ev(DOLLAR_set={"a": 1}, properties={"$set": {"b": 2}}),
        {},
        None,
    ),
    "person.no_properties": (
        ev(event="$set"),
        ev(event="$set", DOLLAR_set={"plan": "team"}),
        {},
        None,
    ),
    # timestamps and offset
    "timestamp.not_string": (
        ev(timestamp=1714564800000),
        ev(timestamp="2024-05-01T12:00:00Z"),
        {},
        400,
    ),
    "timestamp.unparseable": (
        ev(timestamp="next tuesday"),
        ev(timestamp="2024-05-01T12:00:00Z"),
        {},
        None,
    ),
    "timestamp.no_timezone": (
        ev(timestamp="2022-09-21 09:03:11.913767"),
        ev(timestamp="2022-09-21T09:03:11.913767Z"),
        {},
        None,
    ),
    "timestamp.ambiguous": (
        ev(timestamp="03/04/2024"),
        ev(timestamp="2024-03-04T00:00:00Z"),
        {},
        None,
    ),
    "timestamp.not_rfc3339": (
        ev(timestamp="Wed, 01 May 2024 12:00:00 +0000"),
        ev(timestamp="2024-05-01T12:00:00+00:00"),
        {},
        None,
    ),
    "timestamp.future": (
        ev(timestamp="2024-05-02T12:00:01Z"),
        ev(timestamp="2024-05-02T10:59:00Z"),
        {},
        None,
    ),
    "offset.not_integer": (ev(offset="500"), ev(offset=500), {}, 400),
    "offset.with_timestamp": (
        ev(offset=500, timestamp="2024-05-01T12:00:00Z"),
        ev(offset=500),
        {},
        None,
    ),
    "offset.future": (ev(offset=-5000), ev(offset=5000), {}, None),
    "offset.clamped": (ev(offset=-82_800_001), ev(offset=-82_800_000), {}, None),
    # Past chrono's range `now - offset` panics (an error); before year 0 it is the epoch.
    "offset.out_of_range": (ev(offset=9 * 10**15), ev(offset=3 * 10**11), {}, 500),
    # uuid
    "uuid.not_string": (ev(uuid=123), ev(uuid="0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"), {}, 400),
    "uuid.invalid": (
        ev(uuid="not-a-uuid"),
        ev(uuid="0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"),
        {},
        400,
    ),
    "uuid.empty": (ev(uuid=""), ev(uuid="0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"), {}, None),
    "uuid.not_hyphenated": (
        ev(uuid="0190d5b26c1a7cc19a1b4f3c2e1d0a9b"),
        ev(uuid="0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"),
        {},
        None,
    ),
    "uuid.duplicate": (
        envelope(
            item(uuid="0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"),
            item(uuid="0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"),
        ),
        envelope(
            item(uuid="0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"),
            item(uuid="0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9c"),
        ),
        {},
        None,
    ),
    # duplicate keys in the JSON text
    "json.duplicate_key": (
        b'{"api_key": "phc_k1", "event": "a", "event": "b", "distinct_id": "u"}',
        ev(),
        {},
        400,
    ),
    # special events
    "identify.no_anon_id": (
        ev(event="$identify"),
        ev(event="$identify", properties={"$anon_distinct_id": "anon-1"}),
        {},
        None,
    ),
    "identify.anon_null": (
        ev(event="$identify", properties={"$anon_distinct_id": None}),
        ev(event="$identify", properties={"$anon_distinct_id": "anon-1"}),
        {},
        None,
    ),
    "alias.falsy": (
        ev(event="$create_alias", properties={"alias": ""}),
        ev(event="$create_alias", properties={"alias": "user-2"}),
        {},
        None,
    ),
    "merge.ids_differ_after_normalisation": (
        ev(event="$create_alias", distinct_id="x" * 250, properties={"alias": "x" * 250}),
        ev(event="$create_alias", distinct_id="x" * 200, properties={"alias": "x" * 200}),
        {},
        None,
    ),
    "alias.missing": (
        ev(event="$create_alias"),
        ev(event="$create_alias", properties={"alias": "user-2"}),
        {},
        None,
    ),
    "merge.dangerous": (
        ev(event="$merge_dangerously", properties={"alias": "user-2"}),
        ev(event="$create_alias", properties={"alias": "user-2"}),
        {},
        None,
    ),
    "merge.id_not_string": (
        ev(event="$create_alias", properties={"alias": 7}),
        ev(event="$create_alias", properties={"alias": "7"}),
        {},
        None,
    ),
    "merge.same_ids": (
        ev(event="$create_alias", properties={"alias": "user-1"}),
        ev(event="$create_alias", properties={"alias": "user-2"}),
        {},
        None,
    ),
    "value.number_as_text": (
        ev(properties={"price": "19.99"}),
        ev(properties={"price": 19.99, "order_id": "19"}),
        {},
        None,
    ),
    "value.boolean_as_text": (
        ev(DOLLAR_set={"is_trial": "true"}),
        ev(DOLLAR_set={"is_trial": True}),
        {},
        None,
    ),
    "value.date_not_recognised": (
        ev(properties={"renews": "01.05.2024"}),
        ev(properties={"renews": "2024-05-01"}),
        {},
        None,
    ),
    # $ignore_sent_at counts only as the JSON boolean (events/analytics.rs as_bool).
    "properties.ignore_sent_at_type": (
        envelope(
            item(timestamp="2024-05-01T11:00:00Z", properties={"$ignore_sent_at": "true"}),
            sent_at="2024-05-01T12:00:10Z",
        ),
        envelope(
            item(timestamp="2024-05-01T11:00:00Z", properties={"$ignore_sent_at": True}),
            sent_at="2024-05-01T12:00:10Z",
        ),
        {},
        None,
    ),
    # Capture splits $heatmap_data off the event (analytics.rs has_heatmap_data).
    "heatmap.data_stripped": (
        ev(event="$pageview", properties={**HEATMAP_PROPS, "$heatmap_data": HEATMAP}),
        ev(event="$pageview", properties=HEATMAP_PROPS),
        {},
        None,
    ),
    "heatmap.viewport_missing": (
        ev(event="$pageview", properties={"$viewport_width": 1440, "$heatmap_data": HEATMAP}),
        ev(event="$pageview", properties={**HEATMAP_PROPS, "$heatmap_data": HEATMAP}),
        {},
        None,
    ),
    "heatmap.illegal_distinct_id": (
        ev(
            event="$pageview",
            distinct_id="anonymous",
            properties={**HEATMAP_PROPS, "$heatmap_data": HEATMAP},
        ),
        ev(event="$pageview", properties={**HEATMAP_PROPS, "$heatmap_data": HEATMAP}),
        {},
        None,
    ),
    "heatmap.invalid_items": (
        ev(
            event="$pageview",
            properties={**HEATMAP_PROPS, "$heatmap_data": {"https://ex.com/a": {"x": 1}}},
        ),
        ev(event="$pageview", properties={**HEATMAP_PROPS, "$heatmap_data": HEATMAP}),
        {},
        None,
    ),
    "group.missing_field": (
        ev(event="$groupidentify", properties={"$group_type": "company"}),
        ev(event="$groupidentify", properties={"$group_type": "company", "$group_key": "acme"}),
        {},
        None,
    ),
    "group.too_long": (
        ev(event="$groupidentify", properties={"$group_type": "company", "$group_key": "k" * 401}),
        ev(event="$groupidentify", properties={"$group_type": "company", "$group_key": "k" * 400}),
        {},
        None,
    ),
    "group.set_not_object": (
        ev(
            event="$groupidentify",
            properties={"$group_type": "c", "$group_key": "k", "$group_set": "x"},
        ),
        ev(
            event="$groupidentify",
            properties={"$group_type": "c", "$group_key": "k", "$group_set": {"x": 1}},
        ),
        {},
        None,
    ),
    "group.person_updates_stripped": (
        ev(
            event="$groupidentify",
            properties={"$group_type": "c", "$group_key": "k"},
            DOLLAR_set={"a": 1},
        ),
        ev(event="$groupidentify", properties={"$group_type": "c", "$group_key": "k"}),
        {},
        None,
    ),
    # hosts
    "host.invalid": (ev(), ev(), {"host": "not a host"}, None),
    "host.app_host": (ev(), ev(), {"host": "https://us.posthog.com"}, None),
    "host.insecure": (ev(), ev(), {"host": "http://posthog.example.com"}, None),
    "host.includes_endpoint": (ev(), ev(), {"host": "https://eu.i.posthog.com/capture/"}, None),
}
# Rules whose "good" side differs only in the options.
GOOD_OPTIONS: dict[str, dict[str, Any]] = {
    "host.invalid": {"host": "eu"},
    "host.app_host": {"host": "https://us.i.posthog.com"},
    "host.insecure": {"host": "http://127.0.0.1:8000"},
    "host.includes_endpoint": {"host": "https://eu.i.posthog.com"},
    "endpoint.unknown": {"endpoint": "/i/v0/e/"},
}


def _as_bytes(body: Any) -> bytes:
    return body if isinstance(body, bytes) else orjson.dumps(body)


def _codes(body: Any, **options: Any) -> dict[str, Severity]:
    result = check_text(_as_bytes(body), CheckOptions(now=NOW, **options))
    return {f.code: f.severity for f in result.findings}


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_triggers(code: str) -> None:
    bad, _good, options, status = CASES[code]
    result = check_text(_as_bytes(bad), CheckOptions(now=NOW, **options))
    found = [f for f in result.findings if f.code == code]
    assert found, f"{code} not reported; got {[f.code for f in result.findings]}"
    finding = found[0]
    assert finding.message
    assert finding.path
    if finding.severity is Severity.ERROR and status is not None:
        assert result.predicted.status == status
        assert not result.ok
    if code.startswith("host.") and code != "host.invalid":
        assert finding.severity is Severity.WARNING


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_stays_quiet_on_the_fixed_body(code: str) -> None:
    _bad, good, options, _status = CASES[code]
    options = GOOD_OPTIONS.get(code, options)
    codes = _codes(good, **options)
    assert code not in codes


def test_every_rule_has_a_case() -> None:
    root = Path(__file__).resolve().parent.parent / "composer" / "core" / "capture"
    sources = [*(root / "preflight").glob("*.py"), root / "hosts.py"]
    text = "\n".join(p.read_text() for p in sources)
    codes = set(re.findall(r'"([a-z_]+\.[a-z_0-9]+)"', text))
    codes |= {f"token.{reason}" for reason in ("empty", "too_long", "not_ascii", "null_byte")}
    codes -= {"token.personal_api_key"}
    # The guard against RecursionError: no body reaches it today (test_parsers_never_raise
    # makes a rule recurse endlessly to see it).
    codes -= {"body.too_deep"}
    assert codes - set(CASES) == set()


def test_severity_of_each_rule_is_what_posthog_does() -> None:
    """Errors exactly for what PostHog refuses; the rest are warnings or info."""
    for code, (bad, _good, options, status) in CASES.items():
        severity = _codes(bad, **options)[code]
        if status is not None:
            assert severity is Severity.ERROR, code
        elif code != "host.invalid":
            assert severity is not Severity.ERROR, code


def test_merge_dangerously_is_a_warning() -> None:
    codes = _codes(ev(event="$merge_dangerously", properties={"alias": "user-2"}))
    assert codes["merge.dangerous"] is Severity.WARNING


@pytest.mark.parametrize(
    ("alias", "illegal"),
    [
        ("null", True),
        ("'null'", True),  # PostHog lists the quoted forms too (isDistinctIdIllegal)
        ('"NaN"', True),
        ("GUEST", True),  # case-insensitive list
        ("Null", False),  # case-sensitive list: only "null"
        (" guest ", False),  # lower-cased, not trimmed: not in the list
        ("   ", True),  # trims to nothing
        ("user-null", False),
    ],
)
def test_illegal_merge_ids_follow_posthogs_rule(alias: str, illegal: bool) -> None:
    codes = _codes(ev(event="$create_alias", properties={"alias": alias}))
    assert ("distinct_id.illegal" in codes) is illegal


def test_a_bad_token_beats_a_missing_distinct_id() -> None:
    result = check_text(orjson.dumps(ev(api_key="phx_personal", distinct_id=_DROP)))
    assert result.predicted.status == 401
    assert result.predicted.body == "API key is not valid: personal_api_key"


def test_findings_in_a_batch_name_their_event() -> None:
    body = envelope(item(), item(), item(distinct_id=_DROP), item())
    result = check_text(orjson.dumps(body))
    (missing,) = [f for f in result.findings if f.code == "distinct_id.missing"]
    assert missing.path == "batch[2].distinct_id"
    assert missing.event_index == 2
    assert result.predicted.body == "event submitted without a distinct_id"


def test_stringified_distinct_id_is_shown_as_posthog_stores_it() -> None:
    result = check_text(orjson.dumps(ev(distinct_id={"b": 1, "a": "x"})))
    (finding,) = [f for f in result.findings if f.code == "distinct_id.not_string"]
    assert '{"a":"x","b":1}' in finding.message


def test_tutorial_timestamp_is_read_as_utc_and_flagged() -> None:
    result = check_text(orjson.dumps(ev(timestamp="2022-09-21 09:03:11.913767")))
    (finding,) = [f for f in result.findings if f.code == "timestamp.no_timezone"]
    assert "space-separated" in finding.message
    assert "2022-09-21T09:03:11.913Z" in finding.fix
    assert result.ok


# -- capture fidelity, round 2: the check and the sandbox give PostHog's answer ---------------

P = b'{"event":"e","distinct_id":"u","api_key":"phc_x","properties":{"n":%s}}'
NESTED_126 = b"[" * 126 + b"]" * 126
NOT_ENGAGE = (
    "failed to hydrate events from request: non-engage request missing event name attribute"
)
UNTAGGED = "failed to parse request: data did not match any variant of untagged enum RawRequest"


def _j(body: Any) -> bytes:
    return orjson.dumps(body)


# (body, endpoint, status, reply): the research note's certain cases, PostHog's answers.
OK = '{"status":"Ok"}'
ROUND2: list[tuple[bytes, str, int, str]] = [
    # tokens (token.rs @14b6bb0)
    (_j({"event": "e", "distinct_id": "u", "api_key": " phc_x"}), "/i/v0/e/", 200, OK),
    (_j({"event": "e", "distinct_id": "u", "api_key": "phc_x\n"}), "/i/v0/e/", 200, OK),
    (
        _j({"event": "e", "distinct_id": "u", "api_key": "   "}),
        "/i/v0/e/",
        401,
        "API key is not valid: empty",
    ),
    (
        _j({"event": "e", "distinct_id": "u", "api_key": "\t"}),
        "/i/v0/e/",
        401,
        "API key is not valid: empty",
    ),
    (_j({"event": "e", "distinct_id": "u", "api_key": "phc_a b"}), "/i/v0/e/", 200, OK),
    (
        _j({"event": "e", "distinct_id": "u", "api_key": " phx_abc"}),
        "/i/v0/e/",
        401,
        "API key is not valid: personal_api_key",
    ),
    (_j({"event": "e", "distinct_id": "u", "api_key": "phc_x\u00a0"}), "/i/v0/e/", 200, OK),
    (_j({"event": "e", "distinct_id": "u", "api_key": "a" * 64 + " "}), "/i/v0/e/", 200, OK),
    (
        _j([{"event": "e", "distinct_id": "u", "api_key": k} for k in ("phc_x", "phc_x ")]),
        "/i/v0/e/",
        401,
        "batch submitted with inconsistent api_key values",
    ),
    # JSON serde_json refuses
    (
        P % b"1e400",
        "/i/v0/e/",
        400,
        "failed to parse request: number out of range at line 1 column 72",
    ),
    (P % b"NaN", "/i/v0/e/", 400, "failed to parse request: expected value at line 1 column 68"),
    (
        P % b"-Infinity",
        "/i/v0/e/",
        400,
        "failed to parse request: invalid number at line 1 column 69",
    ),
    (
        b"\xef\xbb\xbf" + _j({"event": "e", "distinct_id": "u", "api_key": "phc_x"}),
        "/i/v0/e/",
        400,
        "failed to parse request: expected value at line 1 column 1",
    ),
    (
        P % NESTED_126,
        "/i/v0/e/",
        400,
        "failed to parse request: recursion limit exceeded at line 1 column 193",
    ),
    (P % b"1e-400", "/i/v0/e/", 200, OK),
    # /engage/ and objects whose event does not count (event.rs RawEngageEvent)
    (
        _j({"event": None, "distinct_id": "u", "api_key": "phc_x", "$set": {"a": 1}}),
        "/engage/",
        200,
        OK,
    ),
    (_j({"event": 5, "distinct_id": "u", "api_key": "phc_x"}), "/engage/", 200, OK),
    (_j({"event": None, "distinct_id": "u", "api_key": "phc_x"}), "/e/", 400, NOT_ENGAGE),
    (
        _j({"event": None, "distinct_id": "u", "api_key": "phc_x", "properties": None}),
        "/engage/",
        400,
        UNTAGGED,
    ),
    (_j([{"event": None, "distinct_id": "u", "api_key": "phc_x"}]), "/engage/", 400, UNTAGGED),
    (
        _j({"api_key": "phc_x", "batch": [{"event": None, "distinct_id": "u"}]}),
        "/batch/",
        400,
        NOT_ENGAGE,
    ),
    (
        _j({"api_key": "phc_x", "batch": [{"event": None, "distinct_id": "u"}]}),
        "/engage/",
        400,
        "event submitted without a distinct_id",
    ),
    (b'{"event":"a","event":"b","distinct_id":"u","api_key":"phc_x"}', "/i/v0/e/", 400, NOT_ENGAGE),
    (b'{"event":"a","event":"b","distinct_id":"u","api_key":"phc_x"}', "/engage/", 200, OK),
    (
        _j({"event": "e", "distinct_id": "u", "api_key": "phc_x", "timestamp": 5}),
        "/e/",
        400,
        UNTAGGED,
    ),
    # offsets (timestamp.rs @1acee2e)
    (
        _j({"event": "e", "distinct_id": "u", "api_key": "phc_x", "offset": -5000}),
        "/i/v0/e/",
        200,
        OK,
    ),
    (
        _j({"event": "e", "distinct_id": "u", "api_key": "phc_x", "offset": 1.5}),
        "/i/v0/e/",
        400,
        UNTAGGED,
    ),
    # a whitespace-only distinct_id (event.rs @024dbbe)
    (
        _j({"event": "e", "distinct_id": " \t", "api_key": "phc_x"}),
        "/i/v0/e/",
        400,
        "event submitted without a distinct_id",
    ),
    # integers past 2^53 and past 64 bits: accepted (ingestion rounds them)
    (
        b'{"event":"e","distinct_id":"u","api_key":"phc_x","properties":{"id":9007199254740993}}',
        "/i/v0/e/",
        200,
        OK,
    ),
    (b'{"event":"e","distinct_id":18446744073709551616,"api_key":"phc_x"}', "/i/v0/e/", 200, OK),
]


@pytest.mark.parametrize(("body", "endpoint", "status", "reply"), ROUND2)
def test_the_check_and_the_sandbox_answer_as_posthog_does(
    body: bytes, endpoint: str, status: int, reply: str
) -> None:
    from composer.core.capture.service import CaptureRequest, process

    predicted = check_text(body, CheckOptions(endpoint=endpoint, now=NOW)).predicted
    assert (predicted.status, predicted.body) == (status, reply)
    outcome = process(CaptureRequest("POST", endpoint, body=body), now=NOW)
    assert (outcome.status, outcome.reply_text) == (status, reply)
    # Never a false accept: whatever PostHog refuses, the check says so.
    assert check_text(body, CheckOptions(endpoint=endpoint, now=NOW)).ok is (status == 200)


def test_token_findings_name_the_trim() -> None:
    codes = _codes(ev(api_key=" phc_test_key_0123456789"))
    assert codes == {"token.whitespace": Severity.WARNING}  # no "does not start with phc_"
    assert _codes(ev(api_key="phc_test\tkey")) == {"token.internal_whitespace": Severity.WARNING}


def test_engage_names_what_it_ignores() -> None:
    codes = _codes(ev(event=5), endpoint="/engage/")
    assert codes == {"event.engage_identify": Severity.WARNING}
    assert _codes(ev(event=None), endpoint="/engage/") == {"event.engage_identify": Severity.INFO}
    # Elsewhere a non-string name is an error, with the hydration reply.
    result = check_text(_as_bytes(ev(event=None)), CheckOptions(now=NOW))
    assert {f.code for f in result.errors} == {"event.not_string"}
    assert result.predicted.body == NOT_ENGAGE


def test_a_batch_with_a_bad_item_is_refused_with_the_hydration_text() -> None:
    result = check_text(_as_bytes(envelope(item(), item(uuid="nope"))), CheckOptions(now=NOW))
    assert (result.predicted.status, result.predicted.body) == (400, NOT_ENGAGE)
    (item_error,) = [f for f in result.findings if f.code == "uuid.invalid"]
    assert item_error.event_index == 1
    # An envelope that fits no variant either: the untagged text.
    bad = check_text(_as_bytes(envelope(item(uuid="nope"), timestamp=5)), CheckOptions(now=NOW))
    assert bad.predicted.body == UNTAGGED


@pytest.mark.parametrize(
    ("distinct_id", "alias", "codes"),
    [
        ("user-1", "user-1", {"merge.same_ids"}),
        # The equality comes before the illegal-id rule: no merge, no warning at all.
        ("null", "null", {"merge.same_ids"}),
        # Capture cuts the distinct_id to 200 characters; the alias is compared as sent.
        ("x" * 250, "x" * 250, {"merge.ids_differ_after_normalisation", "distinct_id.too_long"}),
        ("a\x00b", "a\x00b", {"merge.ids_differ_after_normalisation", "distinct_id.null_char"}),
        ("user-1", "", {"alias.falsy"}),
        # A number (even one equal to the id): the newest ingestion drops the event
        # (invalid_alias), as composer.core.persons models it.
        (123, 123, {"merge.id_not_string", "distinct_id.not_string"}),
        (1.0, 1.0, {"merge.id_not_string", "distinct_id.not_string"}),
        ("user-1", 0, {"merge.id_not_string"}),
    ],
)
def test_alias_against_the_events_own_id(distinct_id: Any, alias: Any, codes: set[str]) -> None:
    from composer.core.capture.persons import prediction_findings

    body = ev(event="$create_alias", distinct_id=distinct_id, properties={"alias": alias})
    found = {f.code for f in check_text(_as_bytes(body), CheckOptions(now=NOW)).findings}
    assert found == codes
    # The persons prediction (the same ingestion rule, run on a copy of the persons) agrees.
    predicted = prediction_findings(None, body)
    texts = " ".join(f.message for f in predicted)
    if codes & {"merge.same_ids", "alias.falsy", "merge.id_not_string"}:
        assert "Will link" not in texts
        assert "Will merge" not in texts
        assert not [f for f in predicted if f.code.startswith("persons.cannot")]
    if "merge.id_not_string" in codes:
        assert "persons.invalid_alias" in {f.code for f in predicted}
    if "merge.ids_differ_after_normalisation" in codes:
        assert "Will link the two ids" in texts


def test_identify_with_a_null_anon_id_is_an_illegal_merge() -> None:
    from composer.core.capture.persons import predict

    body = ev(event="$identify", properties={"$anon_distinct_id": None})
    assert _codes(body) == {"identify.anon_null": Severity.WARNING}
    (outcome,) = predict(None, [body])
    assert [w.type for w in outcome.warnings] == ["cannot_merge_with_illegal_distinct_id"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1.0, "1.0"),
        (1e21, "1e21"),
        (1.5e-7, "1.5e-7"),
        (1e20, "1e20"),
        (-0.0, "-0.0"),
        (0.00001, "0.00001"),
        (123.456, "123.456"),
    ],
)
def test_numeric_distinct_ids_are_shown_as_serde_writes_them(value: Any, shown: str) -> None:
    result = check_text(_as_bytes(ev(distinct_id=value)), CheckOptions(now=NOW))
    (finding,) = [f for f in result.findings if f.code == "distinct_id.not_string"]
    assert f"the string {shown!r}" in finding.message


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1.0, "1"),
        (1e21, "1e+21"),
        (1.5e-7, "1.5e-7"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (2.0**64, "18446744073709552000"),
        (-0.0, "0"),
        (9007199254740993, "9007199254740992"),
    ],
)
def test_javascript_number_strings(value: Any, shown: str) -> None:
    from composer.core.persons.jsvalues import js_number_string, js_string

    assert js_number_string(value) == shown
    if isinstance(value, float):
        assert js_string(value) == shown


def test_precision_findings_name_the_stored_value() -> None:
    result = check_text(
        b'{"api_key":"phc_k1","batch":[{"event":"e","distinct_id":"u"},'
        b'{"event":"e","distinct_id":"u","properties":{"ids":[1,18446744073709551615]}}]}',
        CheckOptions(now=NOW),
    )
    (finding,) = [f for f in result.findings if f.code == "number.precision_loss"]
    assert (finding.path, finding.event_index) == ("batch[1].properties.ids[1]", 1)
    assert "stores 18446744073709552000" in finding.message
    # A numeric distinct_id is stringified exactly by capture: nothing to say about it.
    exact = check_text(b'{"api_key":"phc_k1","event":"e","distinct_id":9007199254740993}')
    assert "number.precision_loss" not in {f.code for f in exact.findings}


def test_a_whitespace_body_is_serdes_eof() -> None:
    result = check_text(b"   ", CheckOptions(now=NOW))
    assert (result.predicted.status, result.predicted.body) == (
        400,
        "failed to parse request: EOF while parsing a value at line 1 column 3",
    )
    assert check_text(b"", CheckOptions(now=NOW)).predicted.body == "request missing data payload"
