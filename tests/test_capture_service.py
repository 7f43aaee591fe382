"""The sandbox's capture logic: every reply class of the contract's §9, and what it stores."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from composer.core.capture.service import CaptureRequest, process

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
KEY = "phc_capture_service_key_000000000000000"


def post(
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    query: str = "",
    headers: dict[str, str] | None = None,
    method: str = "POST",
):
    data = raw if raw is not None else (orjson.dumps(body) if body is not None else b"")
    request = CaptureRequest(
        method,
        path,
        query,
        {k.lower(): v for k, v in (headers or {}).items()},
        data,
        client="127.0.0.1:5000",
    )
    return process(request, now=NOW, new_uuid=lambda: "00000000-0000-4000-8000-000000000000")


def ev(**fields: Any) -> dict[str, Any]:
    return {"api_key": KEY, "event": "signed_up", "distinct_id": "user-1", **fields}


@pytest.mark.parametrize("path", ["/i/v0/e/", "/i/v0/e", "/e/", "/capture", "/track/", "/batch"])
def test_accepted_on_every_route(path: str) -> None:
    outcome = post(path, ev())
    assert (outcome.status, outcome.body) == (200, b'{"status":"Ok"}')
    assert outcome.content_type == "application/json"
    (stored,) = outcome.events
    assert stored.event == "signed_up"
    assert stored.distinct_id == "user-1"


def test_beacon_answers_204_and_still_stores() -> None:
    outcome = post("/i/v0/e/", ev(), query="beacon=1")
    assert (outcome.status, outcome.body) == (204, b"")
    assert len(outcome.events) == 1


def test_options_health_unknown_path_and_method() -> None:
    options = post(
        "/batch/",
        method="OPTIONS",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Headers": "x"},
    )
    assert options.status == 200
    assert options.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert options.headers["Access-Control-Allow-Headers"] == "x"
    assert post("/", method="GET").body == b"capture"
    assert post("/api/event/", ev()).status == 404
    assert post("/batch/", ev(), method="PUT").status == 405
    assert (
        post("/i/v0/e/", ev(), method="GET", query="data=" + quote(orjson.dumps(ev()))).status
        == 200
    )


@pytest.mark.parametrize(
    ("request_args", "status", "text"),
    [
        ({"raw": b""}, 400, "request missing data payload"),
        (
            {"raw": b"not gzip", "headers": {"Content-Encoding": "gzip"}},
            400,
            "failed to decode request: invalid GZIP data",
        ),
        (
            {"raw": b'{"event": "caf\xe9"}'},
            400,
            "failed to decode request: invalid UTF8 in request payload",
        ),
        (
            {
                "raw": b'{"event":"x"}',
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            400,
            "failed to decode request: expected form data in POST request payload",
        ),
        ({"raw": b'{"event": "x",'}, 400, "failed to parse request:"),
        ({"body": ev(timestamp=1714564800)}, 400, "failed to hydrate events from request"),
        ({"body": [ev(timestamp=1714564800)]}, 400, "failed to parse request:"),
        (
            {"body": {"api_key": KEY, "distinct_id": "u"}},
            400,
            "failed to hydrate events from request: non-engage request missing event name",
        ),
        ({"body": {"api_key": KEY, "batch": []}}, 400, "request holds no event"),
        ({"body": ev(event="")}, 400, "event submitted with an empty event name"),
        ({"body": {"api_key": KEY, "event": "e"}}, 400, "event submitted without a distinct_id"),
        (
            {"body": ev(properties={"$cookieless_mode": 1})},
            400,
            "event submitted with invalid cookieless mode",
        ),
        ({"body": {"event": "e", "distinct_id": "u"}}, 401, "event submitted without an api_key"),
        (
            {"body": [ev(), ev(api_key="phc_other")]},
            401,
            "batch submitted with inconsistent api_key values",
        ),
        ({"body": ev(api_key="phx_personal")}, 401, "API key is not valid: personal_api_key"),
        ({"body": ev(api_key="")}, 401, "API key is not valid: empty"),
        ({"body": ev(api_key="phc_" + "x" * 70)}, 401, "API key is not valid: too_long"),
        ({"body": ev(api_key="phc_é")}, 401, "API key is not valid: not_ascii"),
        ({"body": ev(api_key="phc_a\u0000b")}, 401, "API key is not valid: null_byte"),
        (
            {"raw": b"x" * (20 * 1024 * 1024 + 1)},
            413,
            "maximum event size exceeded: Request body exceeds limit of 20971520 bytes",
        ),
        (
            {"body": ev(properties={"blob": "x" * 1_000_100})},
            413,
            "maximum event size exceeded: Event rejected by kafka during send",
        ),
    ],
)
def test_every_refusal_of_the_contract(
    request_args: dict[str, Any], status: int, text: str
) -> None:
    outcome = post("/i/v0/e/", **request_args)
    assert outcome.status == status
    assert outcome.reply_text.startswith(text)
    assert outcome.content_type.startswith("text/plain")
    assert outcome.events == []


def test_a_decompression_bomb_is_refused_with_413() -> None:
    bomb = gzip.compress(b"{" + b" " * (100 * 1024 * 1024 + 10) + b"}", compresslevel=1)
    outcome = post("/batch/", raw=bomb)
    assert outcome.status == 413
    assert "Decompressed payload would exceed" in outcome.reply_text


def test_a_bad_token_beats_a_missing_distinct_id() -> None:
    assert post("/i/v0/e/", {"api_key": "phx_x", "event": "e"}).status == 401


def test_encodings_capture_reads() -> None:
    body = orjson.dumps(ev())
    assert post("/batch/", raw=gzip.compress(body)).status == 200  # magic bytes, no header
    assert post("/batch/", raw=gzip.compress(body), query="compression=gzip-js").status == 200
    assert post("/i/v0/e/", raw=base64.b64encode(body)).status == 200
    form = b"data=" + quote(base64.b64encode(body)).encode() + b"&compression=base64"
    assert (
        post("/e/", raw=form, headers={"Content-Type": "application/x-www-form-urlencoded"}).status
        == 200
    )
    # A query string turns "+" into spaces; capture turns them back.
    spaced = base64.b64encode(orjson.dumps(ev(properties={"q": "??>>"}))).decode()
    assert "+" in spaced or "/" in spaced
    assert post("/i/v0/e/", method="GET", query="data=" + spaced.replace("+", " ")).status == 200
    double = base64.b64encode(base64.b64encode(body))
    assert post("/capture/", raw=double).status == 200  # legacy routes unwrap twice
    assert post("/i/v0/e/", raw=double).status == 400  # the new route does not
    charset = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    assert post("/e/", raw=form, headers=charset).status == 400  # exact match only


def test_engage_turns_an_unnamed_object_into_identify() -> None:
    outcome = post("/engage/", {"api_key": KEY, "distinct_id": "u", "$set": {"plan": "team"}})
    (stored,) = outcome.events
    assert stored.event == "$identify"
    assert stored.normalized["properties"]["$set"] == {"plan": "team"}


def test_performance_events_are_dropped_before_anything_else() -> None:
    only = post("/batch/", {"batch": [{"event": "$performance_event"}], "api_key": "phx_bad"})
    assert only.status == 200
    assert only.events == []
    mixed = post(
        "/batch/",
        {
            "api_key": KEY,
            "batch": [
                {"event": "$performance_event", "distinct_id": "u"},
                {"event": "kept", "distinct_id": "u"},
            ],
        },
    )
    assert [e.event for e in mixed.events] == ["kept"]
    assert mixed.filtered == 1


def test_normalization_matches_what_posthog_stores() -> None:
    future = (NOW + timedelta(days=3)).isoformat()
    outcome = post(
        "/batch/",
        {
            "api_key": KEY,
            "sent_at": (NOW - timedelta(minutes=10)).isoformat(),
            "batch": [
                {
                    "event": "skewed",
                    "distinct_id": 1.0,
                    "timestamp": (NOW - timedelta(minutes=15)).isoformat(),
                },
                {
                    "event": "future",
                    "distinct_id": "u" * 250,
                    "timestamp": future,
                    "properties": {"$ignore_sent_at": True},
                },
                {
                    "event": "e" * 250,
                    "distinct_id": "a\u0000b",
                    "offset": 60000,
                    "uuid": "0190D5B26C1A7CC19A1B4F3C2E1D0A9B",
                    "$set": {"a": 1},
                    "properties": {"$set": {"a": 0, "b": 2}},
                },
            ],
        },
    )
    assert outcome.status == 200
    skewed, future_event, third = outcome.events
    # timestamp - sent_at = -5 min, applied to the receive time
    assert skewed.timestamp == "2024-05-01T11:55:00Z"
    assert skewed.distinct_id == "1.0"
    assert future_event.timestamp == "2024-05-01T12:00:00Z"  # more than 23 h ahead: now
    assert len(future_event.distinct_id) == 200
    assert {f.code for f in future_event.findings} >= {"distinct_id.too_long", "timestamp.future"}
    assert third.timestamp == "2024-05-01T11:59:00Z"  # offset wins
    assert third.event == "e" * 200
    assert third.distinct_id == "a\ufffdb"
    assert third.uuid == "0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"
    assert third.normalized["properties"]["$set"] == {"a": 1, "b": 2}
    assert third.normalized["properties"]["$ip"] == "127.0.0.1"
    assert skewed.uuid == "00000000-0000-4000-8000-000000000000"  # made by the server


def test_python_literals_are_not_json_to_posthog() -> None:
    outcome = post("/i/v0/e/", raw=b"{'api_key': 'phc_x1', 'event': 'e', 'distinct_id': 'u'}")
    assert outcome.status == 400
