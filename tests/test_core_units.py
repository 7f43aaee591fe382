"""Small pure functions of the core: hosts, timestamps, ids, key placement, answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from composer.core import jsonpath
from composer.core.capture import bodies, endpoints, identifiers
from composer.core.capture.hosts import EU_INGESTION, US_INGESTION, HostError, resolve_host
from composer.core.capture.responses import AnswerStyle, guidance_for, interpret
from composer.core.capture.timestamps import TimestampForm, format_rfc3339, parse_timestamp
from composer.core.jsonio import JsonSyntaxError, find_duplicate_keys, loads


@pytest.mark.parametrize(
    ("text", "url", "codes"),
    [
        ("us", US_INGESTION, []),
        ("EU", EU_INGESTION, []),
        ("us.i.posthog.com", US_INGESTION, []),
        ("https://eu.i.posthog.com/", EU_INGESTION, []),
        ("localhost:8010", "http://localhost:8010", []),
        ("http://127.0.0.1:8010", "http://127.0.0.1:8010", []),
        ("https://posthog.example.com/prefix/", "https://posthog.example.com/prefix", []),
        ("app.posthog.com", "https://app.posthog.com", ["host.app_host"]),
        ("https://eu.posthog.com", "https://eu.posthog.com", ["host.app_host"]),
        ("http://posthog.example.com", "http://posthog.example.com", ["host.insecure"]),
    ],
)
def test_hosts_resolve_with_their_warnings(text: str, url: str, codes: list[str]) -> None:
    host = resolve_host(text)
    assert host.url == url
    assert [f.code for f in host.findings] == codes


def test_app_host_warning_names_the_ingestion_host() -> None:
    (finding,) = resolve_host("eu.posthog.com").findings
    assert EU_INGESTION in finding.fix


@pytest.mark.parametrize(
    "text", ["", "not a host", "ftp://x.com", "https://", "https://a..b", "https://x.com/?q=1"]
)
def test_bad_hosts_raise_with_a_hint(text: str) -> None:
    with pytest.raises(HostError, match=r"us|URL|host|query"):
        resolve_host(text)


@pytest.mark.parametrize(
    ("text", "form", "iso"),
    [
        ("2024-05-01T12:00:00Z", TimestampForm.RFC3339, "2024-05-01T12:00:00Z"),
        ("2024-05-01T14:00:00.5+02:00", TimestampForm.RFC3339, "2024-05-01T12:00:00.500Z"),
        ("2024-05-01T14:00:00+02", TimestampForm.RFC3339, "2024-05-01T12:00:00Z"),
        ("2022-09-21 09:03:11.913767", TimestampForm.NAIVE, "2022-09-21T09:03:11.913Z"),
        ("2024-05-01", TimestampForm.DATE_ONLY, "2024-05-01T00:00:00Z"),
        ("2024/05/01", TimestampForm.SLASHED, "2024-05-01T00:00:00Z"),
        ("1714564800", TimestampForm.EPOCH_DIGITS, "2024-05-01T12:00:00Z"),
        ("1714564800000", TimestampForm.EPOCH_DIGITS, "2024-05-01T12:00:00Z"),
        ("Wed, 01 May 2024 12:00:00 GMT", TimestampForm.RFC2822, "2024-05-01T12:00:00Z"),
    ],
)
def test_timestamps_are_read_like_posthog(text: str, form: TimestampForm, iso: str) -> None:
    parsed = parse_timestamp(text)
    assert parsed.form is form
    assert parsed.value is not None
    assert format_rfc3339(parsed.value) == iso


@pytest.mark.parametrize("text", ["", "soon", "2024-13-01T00:00:00Z", "2024-02-30", "12:00"])
def test_unreadable_timestamps(text: str) -> None:
    assert parse_timestamp(text).form is TimestampForm.UNPARSEABLE


def test_format_rfc3339_converts_to_utc() -> None:
    from datetime import timedelta, timezone

    value = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_rfc3339(value) == "2024-05-01T12:00:00Z"
    assert format_rfc3339(datetime(2024, 5, 1, tzinfo=UTC)) == "2024-05-01T00:00:00Z"


@pytest.mark.parametrize(
    ("value", "illegal"),
    [
        ("null", True),
        ("NULL", False),
        ("Anonymous", True),
        ("'guest'", True),
        ("  ", True),
        ("0", True),
        ("[object Object]", True),
        ("user-1", False),
        ("distinctid", True),
    ],
)
def test_illegal_merge_ids(value: str, illegal: bool) -> None:
    assert identifiers.is_illegal_merge_id(value) is illegal


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (23, "23"),
        (23.4, "23.4"),
        (1.0, "1.0"),
        (True, "true"),
        ({"string": "a", "number": 3}, '{"number":3,"string":"a"}'),
        ([1, "a"], '[1,"a"]'),
    ],
)
def test_distinct_id_stringification_matches_capture(value: object, text: str) -> None:
    assert identifiers.stringify_distinct_id(value) == text


def test_uuid_forms() -> None:
    u = "0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"
    assert identifiers.uuid_form(u) == "hyphenated"
    assert identifiers.uuid_form(u.replace("-", "")) == "simple"
    assert identifiers.uuid_form("{" + u + "}") == "braced"
    assert identifiers.uuid_form("urn:uuid:" + u) == "urn"
    assert identifiers.uuid_form("0190d5b2-6c1a7cc1-9a1b-4f3c2e1d0a9b") is None
    assert identifiers.canonical_uuid(u.upper().replace("-", "")) == u


def test_with_api_key_keeps_the_field_name_and_position() -> None:
    assert bodies.with_api_key({"event": "e", "token": "old"}, "new") == {
        "event": "e",
        "token": "new",
    }
    assert list(bodies.with_api_key({"event": "e"}, "k")) == ["api_key", "event"]
    envelope = {"batch": [{"event": "e", "api_key": "item"}], "api_key": "old"}
    replaced = bodies.with_api_key(envelope, "new")
    assert replaced["api_key"] == "new"
    assert replaced["batch"][0]["api_key"] == "item"
    assert bodies.with_api_key([{"event": "a"}, {"event": "b"}], "k") == [
        {"api_key": "k", "event": "a"},
        {"api_key": "k", "event": "b"},
    ]


def test_read_api_key_looks_where_posthog_looks() -> None:
    assert bodies.read_api_key({"event": "e", "properties": {"token": "t"}}) == "t"
    assert bodies.read_api_key({"$token": "x", "event": "e"}) == "x"
    assert bodies.read_api_key([{"event": "a"}, {"event": "b", "api_key": "k"}]) == "k"
    assert bodies.read_api_key({"event": "e"}) is None


def test_mask_key_hides_the_secret_part() -> None:
    key = "phc_test_" + "0123456789abcdef" * 2
    masked = bodies.mask_key(key)
    assert masked.startswith("phc_")
    assert "0123" not in masked
    rendered = bodies.render({"api_key": key})
    assert key.encode() not in bodies.mask_in_render(rendered, [key])


def test_body_for_endpoint_picks_the_shape() -> None:
    event = {"event": "e", "distinct_id": "u"}
    assert bodies.body_for_endpoint([event], "k", "/batch/") == {"api_key": "k", "batch": [event]}
    assert bodies.body_for_endpoint([event], "k", "/i/v0/e/") == {"api_key": "k", **event}
    assert endpoints.normalize("capture") == "/capture/"
    assert endpoints.normalize("/i/v0/e") == "/i/v0/e/"


def test_json_errors_have_line_and_column() -> None:
    with pytest.raises(JsonSyntaxError) as info:
        loads('{\n  "a": 1,\n  "b": }')
    assert (info.value.line, info.value.column) == (3, 8)


def test_duplicate_keys_are_found_with_their_path() -> None:
    text = (
        '{"batch": [{"event": "a"}, {"event": "a", "event": "b", "properties": {"x": 1, "x": 2}}]}'
    )
    assert find_duplicate_keys(text) == [
        (["batch", 1], "event"),
        (["batch", 1, "properties"], "x"),
    ]


def test_jsonpath_round_trips() -> None:
    parts = ["batch", 3, "properties", "$set", "odd key", 'q"uote']
    path = jsonpath.join(parts)
    assert path == 'batch[3].properties.$set["odd key"]["q\\"uote"]'
    assert jsonpath.split(path) == parts


@pytest.mark.parametrize(
    ("status", "body", "style", "ok"),
    [
        (200, b'{"status":"Ok"}', AnswerStyle.CURRENT, True),
        (200, b'{"status": 1}', AnswerStyle.LEGACY, True),
        (200, b"<html>", AnswerStyle.OTHER, True),
        (400, b"event submitted without a distinct_id", AnswerStyle.CURRENT, False),
        (
            401,
            b'{"type":"authentication_error","code":"personal_api_key","detail":"no"}',
            AnswerStyle.LEGACY,
            False,
        ),
        (400, b'{"status":400,"error":"bad"}', AnswerStyle.OTHER, False),
    ],
)
def test_both_answer_styles_are_understood(
    status: int, body: bytes, style: AnswerStyle, ok: bool
) -> None:
    meaning = interpret(status, body)
    assert meaning.style is style
    assert meaning.ok is ok
    if not ok:
        assert meaning.guidance


def test_guidance_names_the_fix() -> None:
    assert "phc_" in guidance_for(401, "API key is not valid: personal_api_key")
    assert "which event" not in guidance_for(400, "event submitted without a distinct_id")
    assert "names the event" in guidance_for(400, "event submitted without a distinct_id")
    assert "Retry-After" in guidance_for(429)
    assert "redirect" in guidance_for(301)
