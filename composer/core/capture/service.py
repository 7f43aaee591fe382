"""PostHog's capture service, as a pure function from a request to a reply and stored events.

This is what the local sandbox runs. It follows the capture contract and the second round of
research on the current rust/capture (capture-round2.md): routes with and without the trailing
slash, the payload from `?data=` or the body, form bodies and base64 as payload/common.rs
@61bafba and utils.rs @027cd53 read them (027cd53 is newer than 7ad97d2, which the contract
read: it moved lz64 to common_compression, dropped `ver=` from the form prefixes and looks for
them after `&` too), gzip by header or by magic bytes and lz64 as decompression.rs @027cd53
decodes them, the parse order and its 400s, the token rules and their 401s, the size limits and
413, `{"status":"Ok"}` on success, plain-text errors and `beacon=1`. The rules that decide the
reply are the pre-flight check's, so the sandbox and the check cannot disagree. What capture
does to an accepted event (the stored distinct_id, the trimmed token, the time from `offset`,
`$heatmap_data` split off) is done here the way capture does it.
No I/O happens here: the server in `composer.sandbox` does the sockets and the storage.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import uuid as uuidlib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, parse_qsl

from composer.core.capture import identifiers, lzstring
from composer.core.capture.bodies import TOKEN_FIELDS
from composer.core.capture.parse import BodyShape
from composer.core.capture.preflight import CheckOptions, CheckResult, check_text, replies
from composer.core.capture.preflight.heatmaps import has_heatmap_data, heatmap_redirect
from composer.core.capture.timestamps import (
    FUTURE_LIMIT,
    OffsetOutcome,
    format_rfc3339,
    offset_time,
    parse_timestamp,
)
from composer.core.capture.variants import ENVELOPE_TOKEN_FIELDS
from composer.core.findings import Finding, Severity, Stage
from composer.core.jsonio import JsonObject

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_DECOMPRESSED_BYTES = 5 * MAX_BODY_BYTES
MAX_EVENT_NAME = 200
SANDBOX_HEADER = "X-Event-Composer-Sandbox"

_ROUTES = frozenset({"/i/v0/e", "/e", "/capture", "/track", "/engage", "/batch"})
_LEGACY_UNWRAP = frozenset({"/e", "/capture", "/engage", "/track"})
_CORS_METHODS = "GET, POST, OPTIONS"


@dataclass(frozen=True)
class CaptureRequest:
    method: str
    path: str  # without the query string
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""
    client: str = ""  # the peer address, for $ip

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class StoredEvent:
    """An event as PostHog would store it, with what ingestion would do to it afterwards."""

    index: int  # position in the request
    event: str
    distinct_id: str
    uuid: str
    timestamp: str
    token: str
    normalized: JsonObject
    findings: list[Finding]


@dataclass
class CaptureOutcome:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    events: list[StoredEvent] = field(default_factory=list)
    filtered: int = 0  # $performance_event items dropped at parse time
    offered: int = 0  # the event objects the request held (0 when it could not be parsed)
    served: str = ""  # an SDK call besides capture that was answered: "flags", "config", ...
    decoded: str | None = None  # the payload text after decoding, for the inbox's detail view
    token: str | None = None
    findings: list[Finding] = field(default_factory=list)  # why it was refused, or warnings

    @property
    def reply_text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _text(status: int, text: str) -> CaptureOutcome:
    return CaptureOutcome(status, text.encode())


def _cors(request: CaptureRequest) -> dict[str, str]:
    origin = request.header("origin") or "*"
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": _CORS_METHODS,
        "Vary": "Origin",
    }
    wanted = request.header("access-control-request-headers")
    if wanted:
        headers["Access-Control-Allow-Headers"] = wanted
    return headers


def route(path: str) -> str | None:
    """The capture route a path hits (no trailing slash), or None for an unknown path."""
    trimmed = path.rstrip("/") or "/"
    return trimmed if trimmed in _ROUTES else None


def process(
    request: CaptureRequest,
    *,
    now: datetime | None = None,
    new_uuid: Callable[[], str] = lambda: str(uuidlib.uuid4()),
) -> CaptureOutcome:
    """Answer one request the way PostHog's capture service does."""
    now = now or datetime.now(UTC)
    outcome = _process(request, now, new_uuid)
    outcome.headers.update(_cors(request))
    return outcome


def _process(request: CaptureRequest, now: datetime, new_uuid: Callable[[], str]) -> CaptureOutcome:
    method = request.method.upper()
    path = request.path or "/"
    if path.rstrip("/") in ("", "/_readiness", "/_liveness") and method in ("GET", "HEAD"):
        return _text(200, "capture" if path.rstrip("/") == "" else "ok")
    capture_route = route(path)
    if capture_route is None:
        return CaptureOutcome(404, b"")
    if method == "OPTIONS":
        return CaptureOutcome(200, b"")
    if method not in ("GET", "POST"):
        return CaptureOutcome(405, b"")
    if len(request.body) > MAX_BODY_BYTES:
        return _text(413, replies.BODY_TOO_LARGE.format(limit=MAX_BODY_BYTES))
    query = parse_qs(request.query, keep_blank_values=True)
    try:
        text = _decode_payload(request, query, capture_route)
    except _Refused as refused:
        return _text(refused.status, refused.text)
    return _accept(request, query, capture_route, text, now, new_uuid)


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


# utils.rs @027cd53: only the first 128 bytes are looked at to guess what a payload is.
_SNIFF = 128
_FORM_MIME = "application/x-www-form-urlencoded"
_FORM_PREFIXES = (b"data=", b"_=", b"ip=", b"compression=")
_STRICT_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_LOOSE_B64 = _STRICT_B64 | {ord(" ")}


def _likely_form(payload: bytes) -> bool:
    """`is_likely_urlencoded_form`: `data=`, `_=`, `ip=` or `compression=` at the start or
    right after an `&`, within the first 128 bytes (`ver=` no longer counts)."""
    head = payload[:_SNIFF]
    return any(head.startswith(prefix) or b"&" + prefix in head for prefix in _FORM_PREFIXES)


def _likely_base64(payload: bytes, *, loose: bool = False) -> bool:
    """`is_likely_base64`: the first 128 bytes are base64 characters (and spaces, for form
    data whose `+` became spaces), and the whole length is a multiple of 4."""
    allowed = _LOOSE_B64 if loose else _STRICT_B64
    return bool(payload) and len(payload) % 4 == 0 and all(b in allowed for b in payload[:_SNIFF])


def _decode_base64(data: bytes) -> bytes | None:
    """Rust's base64 STANDARD engine: canonical padding and no stray trailing bits, or None.
    (Python's b64decode accepts non-canonical trailing bits; re-encoding catches them.)"""
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if base64.b64encode(decoded) == data else None


def _compression(value: str | None) -> str | None:
    """payload/types.rs @0f759a5 `Compression`: case-insensitive names; others unsupported."""
    if value is None:
        return None
    return _COMPRESSIONS.get(value.lower())


_COMPRESSIONS = {
    "gzip": "gzip",
    "gzip-js": "gzip",
    "lz64": "lz64",
    "lz-string": "lz64",
    "base64": "base64",
    "b64": "base64",
}


def _decode_form(payload: bytes) -> tuple[str | None, str | None]:
    """serde_urlencoded into EventFormData {data, compression}: `+` is a space, %XX bytes are
    UTF-8 (lossy), other fields are ignored, and a field given twice is refused."""
    try:
        pairs = parse_qsl(payload.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    except ValueError:
        raise _Refused(400, "failed to decode request: invalid urlencoded form data") from None
    found: dict[str, str] = {}
    for name_text, value_text in pairs:
        name = name_text.encode("latin-1").decode("utf-8", "replace")
        if name not in ("data", "compression"):
            continue
        if name in found:
            raise _Refused(400, "failed to decode request: invalid urlencoded form data")
        found[name] = value_text.encode("latin-1").decode("utf-8", "replace")
    return found.get("data"), found.get("compression")


def _decode_payload(request: CaptureRequest, query: Mapping[str, list[str]], path: str) -> str:
    """payload/common.rs @61bafba `extract_payload_bytes`, then decompression.rs @027cd53
    `decompress_payload`."""
    data_param = _first(query, "data")
    if data_param:
        # A query string's "+" is a space, and stays one: capture restores "+" only in form
        # data that looks like base64.
        raw = data_param.encode()
    elif request.body:
        raw = request.body
    else:
        raise _Refused(400, replies.NO_DATA)
    # The optimistic unwrap of a payload that is base64 as a whole; a failure keeps the bytes.
    if not _likely_form(raw) and _likely_base64(raw):
        raw = _decode_base64(raw) or raw
    form_data: str | None = None
    form_compression: str | None = None
    if request.header("content-type") == _FORM_MIME:
        if not _likely_form(raw):
            raise _Refused(
                400, "failed to decode request: expected form data in POST request payload"
            )
        form_data, form_compression = _decode_form(raw)
        if form_data is not None and _likely_base64(form_data.encode(), loose=True):
            form_data = form_data.replace(" ", "+")
    header = request.header("content-encoding")
    hint = (
        _compression(_first(query, "compression"))
        or _compression(form_compression)
        or (_HEADER_COMPRESSIONS.get(header) if header is not None else None)
    )
    payload = form_data.encode() if form_data is not None else raw
    if hint == "gzip" or payload.startswith(b"\x1f\x8b\x08"):
        try:
            text = _gunzip(payload).decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused(400, "failed to decode request: invalid gzip data") from None
    elif hint == "lz64":
        text = _lz64(payload)
    else:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused(400, replies.UTF8) from None
    if not text:
        # Decoding left nothing (an empty form field, an empty lz64 stream): serde_json's
        # answer to "", not the empty-body one.
        raise _Refused(400, replies.parse_failed("EOF while parsing a value at line 1 column 0"))
    if path in _LEGACY_UNWRAP and _likely_base64(text.encode()):
        unwrapped = _decode_base64(text.encode())
        if unwrapped is not None:
            with contextlib.suppress(UnicodeDecodeError):  # capture keeps it as it was then
                text = unwrapped.decode("utf-8")
    return text


# utils.rs `extract_compression`: the header is matched exactly, not lower-cased.
_HEADER_COMPRESSIONS = {
    "gzip": "gzip",
    "gzip-js": "gzip",
    "lz64": "lz64",
    "lz-string": "lz64",
    "base64": "base64",
    "b64": "base64",
}


def _lz64(payload: bytes) -> str:
    """decompression.rs @027cd53 `decompress_lz64_to_string`, with PostHog's capped port of
    lz-string (composer.core.capture.lzstring)."""
    try:
        compressed = payload.decode("utf-8")
    except UnicodeDecodeError:
        compressed = "INVALID_UTF8"  # `from_utf8(payload).unwrap_or("INVALID_UTF8")`
    try:
        units = lzstring.decompress_units(compressed, MAX_DECOMPRESSED_BYTES)
    except lzstring.Lz64TooLarge:
        raise _Refused(
            413,
            "maximum event size exceeded: Decompressed LZ64 payload would exceed"
            f" {MAX_DECOMPRESSED_BYTES} bytes",
        ) from None
    except lzstring.Lz64Invalid:
        raise _Refused(
            400, "failed to decode request: decompress_lz64: failed decompress to UTF16"
        ) from None
    try:
        text = lzstring.units_to_text(units)
    except UnicodeDecodeError:
        raise _Refused(
            400, "failed to decode request: decompress_lz64: failed UTF16 to UTF8 conversion"
        ) from None
    if len(text.encode("utf-8")) > MAX_DECOMPRESSED_BYTES:
        raise _Refused(413, "maximum event size exceeded: lz64 request payload size limit exceeded")
    return text


def _gunzip(data: bytes) -> bytes:
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(data, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error:
        raise _Refused(400, "failed to decode request: invalid GZIP data") from None
    if len(out) > MAX_DECOMPRESSED_BYTES:
        raise _Refused(
            413,
            "maximum event size exceeded: Decompressed payload would exceed"
            f" {MAX_DECOMPRESSED_BYTES} bytes",
        )
    return out


def _accept(
    request: CaptureRequest,
    query: Mapping[str, list[str]],
    path: str,
    text: str,
    now: datetime,
    new_uuid: Callable[[], str],
) -> CaptureOutcome:
    result = check_text(
        text,
        CheckOptions(
            endpoint=path + "/", now=now, wire_size=len(request.body), python_literals=False
        ),
    )
    predicted = result.predicted
    if predicted.status != 200:
        outcome = _text(predicted.status, predicted.body)
        outcome.decoded = text
        outcome.findings = result.findings
        outcome.offered = result.events
        return outcome
    assert result.parsed is not None
    sent_at = _sent_at(result, query)
    stored: list[StoredEvent] = []
    filtered = 0
    envelope_token = _envelope_token(result)
    ctx = _Context(
        path,
        envelope_token,
        sent_at,
        format_rfc3339(sent_at) if sent_at else None,
        now,
        format_rfc3339(now),
        request.client.rsplit(":", 1)[0].strip("[]") if request.client else "",
        new_uuid,
    )
    # An object (or an envelope that is no batch) whose event name does not count on /engage/
    # is stored as one $identify event (v0_request.rs `events(path)`).
    items = [result.parsed.value] if result.engage else result.parsed.events
    single = result.engage or result.shape in (BodyShape.ONE, BodyShape.ENGAGE)
    for index, given in enumerate(items):
        assert isinstance(given, dict)  # anything else was refused above
        item = {k: v for k, v in given.items() if k != "event"} if result.engage else given
        if not result.engage and item.get("event") == "$performance_event":
            filtered += 1
            continue
        key = None if single else index
        findings = [
            f
            for f in result.by_event.get(key, [])
            if f.stage is Stage.AFTER_REPLY and f.severity is not Severity.ERROR
        ]
        stored.append(_normalize(item, index, ctx, findings))
    beacon = _first(query, "beacon") == "1"
    outcome = (
        CaptureOutcome(204, b"")
        if beacon
        else CaptureOutcome(200, replies.OK_BODY.encode(), "application/json")
    )
    outcome.events = stored
    outcome.filtered = filtered
    outcome.offered = result.events
    outcome.decoded = text
    outcome.token = envelope_token or (stored[0].token if stored else None)
    outcome.findings = [f for f in result.findings if f.severity is not Severity.INFO]
    return outcome


def _envelope_token(result: CheckResult) -> str | None:
    if result.shape is not BodyShape.BATCH or result.parsed is None or result.engage:
        return None
    envelope = result.parsed.value
    for name in ENVELOPE_TOKEN_FIELDS:
        if isinstance(envelope.get(name), str):
            # token.rs @14b6bb0: "The trimmed token is returned and must be used by callers".
            return identifiers.rust_trim(str(envelope[name]))
    return None


def _sent_at(result: CheckResult, query: Mapping[str, list[str]]) -> datetime | None:
    """The client's send time: the batch envelope's sent_at, else ?_= or ?sent_at= in ms."""
    if result.shape is BodyShape.BATCH and result.parsed is not None:
        value = result.parsed.value.get("sent_at")
        if isinstance(value, str):
            parsed = parse_timestamp(value)
            if parsed.exact and parsed.value is not None:
                return parsed.value
    for name in ("_", "sent_at"):
        raw = _first(query, name)
        if raw and raw.isdigit():
            when = datetime.fromtimestamp(int(raw) / 1000, UTC)
            if when.year > 2020:  # a value in seconds lands in 1970: capture ignores it
                return when
    return None


def _event_token(item: JsonObject) -> str | None:
    for name in TOKEN_FIELDS:
        if isinstance(item.get(name), str):
            return identifiers.rust_trim(str(item[name]))
    props = item.get("properties")
    if isinstance(props, dict) and isinstance(props.get("token"), str):
        return identifiers.rust_trim(str(props["token"]))
    return None


@dataclass(frozen=True)
class _Context:
    """What every event of one request shares, worked out once."""

    path: str
    envelope_token: str | None
    sent_at: datetime | None
    sent_at_text: str | None
    now: datetime
    now_text: str
    client_ip: str
    new_uuid: Callable[[], str]


def _normalize(item: JsonObject, index: int, ctx: _Context, findings: list[Finding]) -> StoredEvent:
    path, envelope_token, sent_at, now = ctx.path, ctx.envelope_token, ctx.sent_at, ctx.now
    now_text, sent_at_text, client_ip, new_uuid = (
        ctx.now_text,
        ctx.sent_at_text,
        ctx.client_ip,
        ctx.new_uuid,
    )
    name = item.get("event")
    if not isinstance(name, str):
        name = "$identify"  # an engage object on /engage/
    name = name[:MAX_EVENT_NAME]
    props: JsonObject = dict(item["properties"]) if isinstance(item.get("properties"), dict) else {}
    raw_id = item.get("distinct_id", item.get("$distinct_id"))
    if raw_id is None:
        raw_id = props.get("distinct_id")
    distinct_id = identifiers.stored_distinct_id(raw_id)
    for field_name in ("$set", "$set_once"):
        top = item.get(field_name)
        if isinstance(top, dict):
            inner = props.get(field_name)
            merged = dict(inner) if isinstance(inner, dict) else {}
            merged.update(top)  # the top-level value wins on a clash
            props[field_name] = merged
    heatmap: JsonObject | None = None
    if name != "$$heatmap" and has_heatmap_data(props):
        # analytics.rs: the event goes on without $heatmap_data, and a $$heatmap record with
        # the heatmap properties goes to the heatmaps topic (kept here for the inbox).
        heatmap = heatmap_redirect(distinct_id, props)
        props.pop("$heatmap_data", None)
    if "$ip" not in props and client_ip:
        props["$ip"] = client_ip
    given = item.get("uuid")
    event_uuid = (
        identifiers.canonical_uuid(given) if isinstance(given, str) and given else None
    ) or new_uuid()
    token = envelope_token or _event_token(item) or ""
    when = _event_time(item, props, sent_at, now)
    normalized: JsonObject = {
        "uuid": event_uuid,
        "event": name,
        "distinct_id": distinct_id,
        "properties": props,
        "timestamp": now_text if when is now else format_rfc3339(when),
        "now": now_text,
        "sent_at": sent_at_text,
        "endpoint": path + "/",
    }
    if heatmap is not None:
        normalized["heatmap"] = heatmap
    return StoredEvent(
        index, name, distinct_id, event_uuid, normalized["timestamp"], token, normalized, findings
    )


def _event_time(
    item: JsonObject, props: JsonObject, sent_at: datetime | None, now: datetime
) -> datetime:
    """Capture's timestamp algorithm (timestamp.rs @1acee2e): skew correction, offset, future
    clamp, years outside 0..9999 -> the epoch."""
    when = now
    raw = item.get("timestamp")
    if isinstance(raw, str):
        parsed = parse_timestamp(raw)
        if parsed.value is not None:
            # `$ignore_sent_at` counts only as the JSON boolean true (analytics.rs as_bool).
            if sent_at is not None and props.get("$ignore_sent_at") is not True:
                when = now + (parsed.value - sent_at)
            else:
                when = parsed.value
    offset = item.get("offset")
    if isinstance(offset, int) and not isinstance(offset, bool):
        outcome, at = offset_time(now, offset)
        # PANIC was answered by the check (no normal reply); the rest have a time.
        assert outcome is not OffsetOutcome.PANIC
        assert at is not None
        return at
    if when - now > FUTURE_LIMIT:
        when = now
    return when
