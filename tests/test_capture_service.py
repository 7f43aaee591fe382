"""The sandbox's capture logic: every reply class of the contract's §9, and what it stores."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
        # RawEngageEvent takes the same field types as RawEvent (event.rs @024dbbe), so a
        # numeric timestamp fits no variant: the untagged text, not the hydration one.
        ({"body": ev(timestamp=1714564800)}, 400, "failed to parse request: data did not match"),
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
    # A query string turns "+" into spaces, and capture leaves them (it restores "+" only in
    # form data): base64 with a raw "+" in ?data= is refused; %2B, as SDKs send it, works.
    spaced = base64.b64encode(orjson.dumps(ev(properties={"q": "???>>>"}))).decode()
    assert "+" in spaced
    assert post("/i/v0/e/", method="GET", query="data=" + spaced).status == 400
    assert post("/i/v0/e/", method="GET", query="data=" + quote(spaced)).status == 200
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


# -- capture fidelity, round 2 (research note capture-round2.md) ---------------------------

# json, not orjson: one vector holds a lone surrogate, which orjson refuses to read.
LZ_VECTORS = json.loads((Path(__file__).parent / "data" / "lzstring" / "vectors.json").read_text())
# '{"event":"lz test","distinct_id":"u1","api_key":"phc_test"}', by npm lz-string 1.5.0.
LZ_EVENT = LZ_VECTORS["vectors"][2]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
P = '{"event":"e","distinct_id":"u","api_key":"phc_x","properties":{"n":%s}}'


@pytest.mark.parametrize(
    ("token", "status", "text", "stored"),
    [
        # token.rs @14b6bb0: trimmed first (trims_surrounding_whitespace), then checked.
        (" phc_x", 200, '{"status":"Ok"}', "phc_x"),
        ("phc_x\n", 200, '{"status":"Ok"}', "phc_x"),
        ("\tphc_x\r\n", 200, '{"status":"Ok"}', "phc_x"),
        ("phc_x\u00a0", 200, '{"status":"Ok"}', "phc_x"),  # U+00A0 is Unicode white space
        ("a" * 64 + " ", 200, '{"status":"Ok"}', "a" * 64),  # 64 once trimmed
        ("   \n", 401, "API key is not valid: empty", None),  # blocks_whitespace_only_token
        ("\t", 401, "API key is not valid: empty", None),
        (" phx_abc", 401, "API key is not valid: personal_api_key", None),
        ("phc_x\u200b", 401, "API key is not valid: not_ascii", None),  # not White_Space
        ("phc_a b", 200, '{"status":"Ok"}', "phc_a b"),  # then no project owns it
    ],
)
def test_tokens_are_trimmed_before_the_shape_check(
    token: str, status: int, text: str, stored: str | None
) -> None:
    outcome = post("/i/v0/e/", {"event": "e", "distinct_id": "u", "api_key": token})
    assert (outcome.status, outcome.reply_text) == (status, text)
    if stored is not None:
        assert outcome.events[0].token == stored
        assert outcome.token == stored


def test_array_tokens_are_compared_untrimmed() -> None:
    body = [{"event": "e", "distinct_id": "u", "api_key": k} for k in ("phc_x", "phc_x ")]
    outcome = post("/i/v0/e/", body)
    assert (outcome.status, outcome.reply_text) == (
        401,
        "batch submitted with inconsistent api_key values",
    )
    envelope = post(
        "/batch/", {"api_key": " phc_x ", "batch": [{"event": "e", "distinct_id": "u"}]}
    )
    assert envelope.status == 200
    assert envelope.token == "phc_x"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (P % "1e400", "failed to parse request: number out of range at line 1 column 72"),
        (P % "1.8e308", "failed to parse request: number out of range at line 1 column 74"),
        (P % "-1e400", "failed to parse request: number out of range at line 1 column 73"),
        (P % ("1" * 310), "failed to parse request: number out of range at line 1 column 377"),
        (P % "NaN", "failed to parse request: expected value at line 1 column 68"),
        (P % "Infinity", "failed to parse request: expected value at line 1 column 68"),
        (P % "-Infinity", "failed to parse request: invalid number at line 1 column 69"),
        (P % "nan", "failed to parse request: expected ident at line 1 column 69"),
        (
            "\ufeff" + P % "1",
            "failed to parse request: expected value at line 1 column 1",
        ),
        (
            P % ("[" * 126 + "]" * 126),
            "failed to parse request: recursion limit exceeded at line 1 column 193",
        ),
        (
            '{"api_key":"phc_x","batch":[{"event":"e","distinct_id":"u","properties":{"n":'
            + "[" * 124
            + "]" * 124
            + "}}]}",
            # envelope, batch, event and properties are 4 levels: the 124th array is the 128th
            "failed to parse request: recursion limit exceeded at line 1 column 201",
        ),
        (
            P % '"\\ud800"',
            "failed to parse request: unexpected end of hex escape at line 1 column 75",
        ),
    ],
)
def test_json_serde_json_refuses(raw: str, text: str) -> None:
    outcome = post("/i/v0/e/", raw=raw.encode())
    assert (outcome.status, outcome.reply_text) == (400, text)
    assert outcome.events == []


def test_json_serde_json_reads() -> None:
    deep = post("/i/v0/e/", raw=(P % ("[" * 125 + "]" * 125)).encode())  # 127 levels
    assert deep.status == 200
    assert post("/i/v0/e/", raw=(P % "1.7976931348623157e308").encode()).status == 200
    tiny = post("/i/v0/e/", raw=(P % "1e-400").encode())
    assert tiny.status == 200
    assert tiny.events[0].normalized["properties"]["n"] == 0.0
    assert "number.underflow" not in {f.code for f in tiny.findings}  # info: not stored


@pytest.mark.parametrize(
    ("path", "body", "status", "text"),
    [
        (
            "/engage/",
            {"event": None, "distinct_id": "u", "api_key": KEY, "$set": {"a": 1}},
            200,
            '{"status":"Ok"}',
        ),
        ("/engage/", {"event": 5, "distinct_id": "u", "api_key": KEY}, 200, '{"status":"Ok"}'),
        (
            "/e/",
            {"event": None, "distinct_id": "u", "api_key": KEY},
            400,
            "failed to hydrate events from request: non-engage request missing event name"
            " attribute",
        ),
        (
            "/engage/",
            {"event": None, "distinct_id": "u", "api_key": KEY, "properties": None},
            400,
            "failed to parse request: data did not match any variant of untagged enum RawRequest",
        ),
        (
            "/engage/",
            [{"event": None, "distinct_id": "u", "api_key": KEY}],
            400,
            "failed to parse request: data did not match any variant of untagged enum RawRequest",
        ),
        (
            "/batch/",
            {"api_key": KEY, "batch": [{"event": None, "distinct_id": "u"}]},
            400,
            "failed to hydrate events from request: non-engage request missing event name"
            " attribute",
        ),
        (
            "/engage/",
            {"api_key": KEY, "batch": [{"event": None, "distinct_id": "u"}]},
            400,
            "event submitted without a distinct_id",
        ),
        (
            "/batch/",
            {"api_key": KEY, "batch": [{"event": "e", "distinct_id": "u", "timestamp": 5}]},
            400,
            "failed to hydrate events from request: non-engage request missing event name"
            " attribute",
        ),
        (
            "/batch/",
            {"$token": KEY, "batch": [{"event": "e", "distinct_id": "u"}]},
            400,
            "failed to hydrate events from request: non-engage request missing event name"
            " attribute",
        ),
        (
            "/batch/",
            {"api_key": None, "batch": [{"event": "e", "distinct_id": "u"}]},
            400,
            "failed to hydrate events from request: non-engage request missing event name"
            " attribute",
        ),
    ],
)
def test_objects_whose_event_does_not_count_fall_to_engage(
    path: str, body: Any, status: int, text: str
) -> None:
    outcome = post(path, body)
    assert (outcome.status, outcome.reply_text) == (status, text)
    if status == 200:
        (stored,) = outcome.events
        assert stored.event == "$identify"
        assert stored.distinct_id == "u"
        assert "event" not in stored.normalized["properties"]


def test_a_repeated_event_name_falls_to_engage() -> None:
    raw = b'{"event":"a","event":"b","distinct_id":"u","api_key":"phc_x"}'
    refused = post("/i/v0/e/", raw=raw)
    assert (refused.status, refused.reply_text) == (
        400,
        "failed to hydrate events from request: non-engage request missing event name attribute",
    )
    identify = post("/engage/", raw=raw)
    assert identify.status == 200
    assert [e.event for e in identify.events] == ["$identify"]
    # Other repeated fields exist on Engage too: nothing fits.
    other = post("/i/v0/e/", raw=b'{"event":"a","distinct_id":"u","distinct_id":"v"}')
    assert other.reply_text.endswith("did not match any variant of untagged enum RawRequest")


def _lz_form(compressed: str, *, quoted: bool = True, extra: str = "&compression=lz64") -> bytes:
    data = quote(compressed, safe="") if quoted else compressed
    return f"data={data}{extra}".encode()


def test_lz64_form_bodies_are_decoded() -> None:
    # posthog-js's form: data=<lz64, url-encoded>&compression=lz64.
    outcome = post("/e/", raw=_lz_form(LZ_EVENT["compressed"]), headers=FORM)
    assert (outcome.status, outcome.reply_text) == (200, '{"status":"Ok"}')
    (stored,) = outcome.events
    assert (stored.event, stored.distinct_id, stored.token) == ("lz test", "u1", "phc_test")
    assert outcome.decoded == LZ_EVENT["text"]
    # The hint in the query (integration_engage_endpoint.rs' form_lz64_urlencoded_payload).
    query = post(
        "/engage/",
        raw=_lz_form(LZ_EVENT["compressed"], extra="&ver=1.2.3"),
        query="_=1714564800000&compression=lz64",
        headers=FORM,
    )
    assert query.status == 200
    assert [e.event for e in query.events] == ["lz test"]
    # An unescaped "+" became a space; capture's Loose base64 check puts it back.
    assert "+" in LZ_EVENT["compressed"]
    unescaped = post("/e/", raw=_lz_form(LZ_EVENT["compressed"], quoted=False), headers=FORM)
    assert unescaped.status == 200
    assert unescaped.events[0].event == "lz test"


@pytest.mark.parametrize("vector", LZ_VECTORS["vectors"][8:20], ids=lambda v: v["compressed"][:8])
def test_lz64_form_bodies_decode_every_vector(vector: dict[str, Any]) -> None:
    # Random texts (not events): decoding works when PostHog's parser is what refuses them.
    outcome = post("/i/v0/e/", raw=_lz_form(vector["compressed"]), headers=FORM)
    assert outcome.decoded == vector["text"]


def test_lz64_batches_and_unicode() -> None:
    (unicode_vector,) = [v for v in LZ_VECTORS["vectors"] if "🦔" in v.get("text", "")][:1]
    outcome = post("/e/", raw=_lz_form(unicode_vector["compressed"]), headers=FORM)
    assert outcome.decoded == unicode_vector["text"]
    (batch_vector,) = [v for v in LZ_VECTORS["vectors"] if "phc_lz64_key" in v.get("text", "")]
    batch = post("/batch/", raw=_lz_form(batch_vector["compressed"]), headers=FORM)
    assert batch.status == 200
    assert [(e.event, e.token) for e in batch.events] == [("$pageview", "phc_lz64_key")]


@pytest.mark.parametrize(
    ("request_args", "status", "text"),
    [
        # Truncated: PostHog's port refuses what JavaScript would call "".
        (
            {"raw": b"data=N4IgpgbmB2AuIC4Q&compression=lz64", "headers": FORM},
            400,
            "failed to decode request: decompress_lz64: failed decompress to UTF16",
        ),
        # No alphabet character: nothing, which is no JSON.
        (
            {"raw": b"data=%21%21%21%21&compression=lz64", "headers": FORM},
            400,
            "failed to parse request: EOF while parsing a value at line 1 column 0",
        ),
        # A lone surrogate in the decoded units.
        (
            {
                "raw": _lz_form(LZ_VECTORS["lone_surrogate"]["compressed"]),
                "headers": FORM,
            },
            400,
            "failed to decode request: decompress_lz64: failed UTF16 to UTF8 conversion",
        ),
        # Raw lz64 (no form) that is canonical base64 ("+QA=" padding): capture's optimistic
        # base64 decode garbles it first, and lz-string then reads "INVALID_UTF8" ("Á").
        (
            {"raw": LZ_VECTORS["vectors"][8]["compressed"].encode(), "query": "compression=lz64"},
            400,
            "failed to parse request: expected value at line 1 column 1",
        ),
    ],
)
def test_lz64_refusals(request_args: dict[str, Any], status: int, text: str) -> None:
    outcome = post("/i/v0/e/", **request_args)
    assert (outcome.status, outcome.reply_text) == (status, text)


def test_raw_lz64_survives_only_with_triple_padding() -> None:
    # "===" is no valid base64, so the optimistic decode fails and keeps the text.
    assert LZ_EVENT["compressed"].endswith("===")
    outcome = post("/i/v0/e/", raw=LZ_EVENT["compressed"].encode(), query="compression=lz64")
    assert outcome.status == 200
    assert outcome.events[0].event == "lz test"
    # An lz64 payload of nothing: serde_json's answer to "", not the empty-body one.
    empty = post("/e/", raw=_lz_form(LZ_VECTORS["vectors"][0]["compressed"]), headers=FORM)
    assert (
        empty.reply_text == "failed to parse request: EOF while parsing a value at line 1 column 0"
    )


def test_lz64_output_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from composer.core.capture import service

    (long_a,) = [v for v in LZ_VECTORS["vectors"] if v.get("repeat", [""])[0] == "a"]
    monkeypatch.setattr(service, "MAX_DECOMPRESSED_BYTES", 1000)
    outcome = post("/e/", raw=_lz_form(long_a["compressed"]), headers=FORM)
    assert (outcome.status, outcome.reply_text) == (
        413,
        "maximum event size exceeded: Decompressed LZ64 payload would exceed 1000 bytes",
    )


def test_form_fields_are_url_decoded_as_serde_urlencoded_does() -> None:
    body = orjson.dumps(ev(event="a b €"))
    plus = b"data=" + quote(body, safe="").replace("%20", "+").encode()
    outcome = post("/e/", raw=plus, headers=FORM)
    assert outcome.status == 200
    assert outcome.events[0].event == "a b €"  # "+" is a space; %E2%82%AC is UTF-8
    # data= after another field (utils.rs @027cd53 is_likely_urlencoded_form, after "&").
    later = post("/e/", raw=b"lib=web&" + plus, headers=FORM)
    assert later.status == 200
    # ver= no longer marks a form; a field given twice is refused.
    assert post("/e/", raw=b"ver=1.2.3", headers=FORM).reply_text == (
        "failed to decode request: expected form data in POST request payload"
    )
    assert post("/e/", raw=plus + b"&" + plus, headers=FORM).reply_text == (
        "failed to decode request: invalid urlencoded form data"
    )


def test_only_canonical_base64_is_unwrapped() -> None:
    body = orjson.dumps(ev(properties={"p": "x"}))
    body += b" " * ((1 - len(body)) % 3)  # one byte over a multiple of 3: "==" padding
    encoded = base64.b64encode(body)
    assert encoded.endswith(b"==")
    # Stray bits in the last character: Python decodes it, Rust's STANDARD engine does not.
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = encoded[-3]
    stray = encoded[:-3] + bytes([alphabet[alphabet.index(last) + 1]]) + b"=="
    assert base64.b64decode(stray) == body
    assert post("/i/v0/e/", raw=encoded).status == 200
    outcome = post("/i/v0/e/", raw=stray)
    assert (outcome.status, outcome.reply_text) == (
        400,
        "failed to parse request: expected value at line 1 column 1",
    )


def test_gzip_that_is_not_utf8() -> None:
    outcome = post("/batch/", raw=gzip.compress(b'{"event": "caf\xe9"}'))
    assert outcome.reply_text == "failed to decode request: invalid gzip data"


def test_heatmap_data_is_split_off_the_event() -> None:
    heatmap = {"https://ex.com/a": [{"x": 160, "y": 320, "target_fixed": False, "type": "click"}]}
    props = {
        "$current_url": "https://ex.com/a",
        "$viewport_height": 900,
        "$viewport_width": 1440,
        "$session_id": "s1",
        "other": "x",
        "$heatmap_data": heatmap,
    }
    outcome = post("/i/v0/e/", ev(event="$pageview", properties=props))
    assert outcome.status == 200
    (stored,) = outcome.events
    assert "$heatmap_data" not in stored.normalized["properties"]
    assert stored.normalized["properties"]["$current_url"] == "https://ex.com/a"
    redirect = stored.normalized["heatmap"]
    assert redirect["event"] == "$$heatmap"
    assert redirect["distinct_id"] == "user-1"
    assert redirect["properties"]["$heatmap_data"] == heatmap
    assert "other" not in redirect["properties"]
    assert {f.code for f in stored.findings} == {"heatmap.data_stripped"}
    # $$heatmap itself is not redirected.
    own = post("/i/v0/e/", ev(event="$$heatmap", properties=props))
    assert own.events[0].normalized["properties"]["$heatmap_data"] == heatmap


def test_offsets_as_capture_computes_them() -> None:
    def stamp(offset: int) -> str:
        return post("/i/v0/e/", ev(offset=offset)).events[0].timestamp

    assert stamp(-5000) == "2024-05-01T12:00:05Z"
    assert stamp(-82_800_000) == "2024-05-02T11:00:00Z"  # exactly 23 h ahead: kept
    assert stamp(-82_800_001) == "2024-05-01T12:00:00Z"  # beyond: the receive time
    assert stamp(315_360_000_000_000) == "1970-01-01T00:00:00Z"  # before year 0: the epoch
    panic = post("/i/v0/e/", ev(offset=9_000_000_000_000_000))
    assert panic.status == 500
    assert "capture panics" in panic.reply_text
    envelope = {
        "api_key": KEY,
        "sent_at": (NOW + timedelta(seconds=10)).isoformat(),
        "batch": [
            {"event": "e", "distinct_id": "u", "timestamp": "2024-05-01T11:00:00Z", "offset": -5000}
        ],
    }
    assert post("/batch/", envelope).events[0].timestamp == "2024-05-01T12:00:05Z"


@pytest.mark.parametrize(
    ("flag", "timestamp"),
    [("true", "2024-05-01T10:59:50Z"), (True, "2024-05-01T11:00:00Z"), (1, "2024-05-01T10:59:50Z")],
)
def test_ignore_sent_at_counts_only_as_a_boolean(flag: Any, timestamp: str) -> None:
    outcome = post(
        "/batch/",
        {
            "api_key": KEY,
            "sent_at": "2024-05-01T12:00:10Z",
            "batch": [
                {
                    "event": "e",
                    "distinct_id": "u",
                    "timestamp": "2024-05-01T11:00:00Z",
                    "properties": {"$ignore_sent_at": flag},
                }
            ],
        },
    )
    (stored,) = outcome.events
    assert stored.timestamp == timestamp
    codes = {f.code for f in stored.findings}
    assert ("properties.ignore_sent_at_type" in codes) is (flag is not True)


def test_numbers_as_capture_and_ingestion_keep_them() -> None:
    order = post(
        "/i/v0/e/",
        raw=b'{"event":"e","distinct_id":"u","api_key":"phc_x",'
        b'"properties":{"order_id":9007199254740993}}',
    )
    (stored,) = order.events
    assert stored.normalized["properties"]["order_id"] == 9007199254740993
    (finding,) = [f for f in stored.findings if f.code == "number.precision_loss"]
    assert "9007199254740992" in finding.message
    assert finding.path == "properties.order_id"
    big = post(
        "/i/v0/e/", raw=b'{"event":"e","distinct_id":18446744073709551616,"api_key":"phc_x"}'
    )
    assert big.events[0].distinct_id == "1.8446744073709552e19"
    exact = post("/i/v0/e/", raw=b'{"event":"e","distinct_id":9007199254740993,"api_key":"phc_x"}')
    assert exact.events[0].distinct_id == "9007199254740993"
    assert post("/i/v0/e/", ev(distinct_id=1e21)).events[0].distinct_id == "1e21"
    assert post("/i/v0/e/", ev(distinct_id=1.5e-7)).events[0].distinct_id == "1.5e-7"


@pytest.mark.parametrize("blank", [" ", "\t\n", "   ", "\r\n\t ", "\u3000"])
def test_a_blank_distinct_id_is_refused(blank: str) -> None:
    # event.rs @024dbbe test_extract_distinct_id_whitespace_only_returns_none.
    outcome = post("/i/v0/e/", ev(distinct_id=blank, properties={"distinct_id": "u"}))
    assert (outcome.status, outcome.reply_text) == (400, "event submitted without a distinct_id")
    kept = post("/i/v0/e/", ev(distinct_id="  hello  "))  # ..._surrounding_whitespace_preserved
    assert kept.events[0].distinct_id == "  hello  "
