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
    "body.byte_order_mark": (b"\xef\xbb\xbf" + orjson.dumps(ev()), ev(), {}, None),
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
    "token.placeholder": (ev(api_key="<ph_project_api_key>"), ev(), {}, None),
    "token.inconsistent": ([ev(), ev(api_key="phc_other")], [ev(), ev()], {}, 401),
    "token.ignored_in_batch": (envelope({**item(), "api_key": KEY}), envelope(), {}, None),
    # event name
    "event.not_object": (envelope(item(), "oops"), envelope(item(), item()), {}, 400),
    "event.missing": (ev(event=_DROP), ev(), {}, 400),
    "event.engage_identify": (ev(event=_DROP), ev(event=_DROP), {"endpoint": "/engage/"}, None),
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
    "event.engage_identify": {"endpoint": "/i/v0/e/"},
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
