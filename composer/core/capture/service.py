"""PostHog's capture service, as a pure function from a request to a reply and stored events.

This is what the local sandbox runs. It follows the capture contract: routes with and without
the trailing slash, the payload from `?data=` or the body, form bodies, base64, gzip by header
or by magic bytes, the parse order and its 400s, the token rules and their 401s, the size
limits and 413, `{"status":"Ok"}` on success, plain-text errors and `beacon=1`. The rules that
decide the reply are the pre-flight check's, so the sandbox and the check cannot disagree.
No I/O happens here: the server in `composer.sandbox` does the sockets and the storage.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid as uuidlib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from composer.core.capture import identifiers
from composer.core.capture.bodies import TOKEN_FIELDS
from composer.core.capture.parse import BodyShape
from composer.core.capture.preflight import CheckOptions, CheckResult, check_text, replies
from composer.core.capture.timestamps import FUTURE_LIMIT, format_rfc3339, parse_timestamp
from composer.core.findings import Finding, Severity, Stage
from composer.core.jsonio import JsonObject

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_DECOMPRESSED_BYTES = 5 * MAX_BODY_BYTES
MAX_EVENT_NAME = 200
SANDBOX_HEADER = "X-Event-Composer-Sandbox"

_ROUTES = frozenset({"/i/v0/e", "/e", "/capture", "/track", "/engage", "/batch"})
_LEGACY_UNWRAP = frozenset({"/e", "/capture", "/engage", "/track"})
_FORM_PREFIXES = (b"data=", b"ver=", b"_=", b"ip=", b"compression=")
_STRICT_BASE64 = re.compile(rb"^[A-Za-z0-9+/]+={0,2}$")
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


def _looks_base64(data: bytes) -> bool:
    return (
        len(data) % 4 == 0
        and bool(_STRICT_BASE64.match(data))
        and not data.startswith(_FORM_PREFIXES)
    )


def _maybe_base64(data: bytes) -> bytes:
    """Capture's optimistic unwrap: strict base64 is decoded; if that fails, keep the bytes."""
    if data and _looks_base64(data):
        try:
            return base64.b64decode(data, validate=True)
        except binascii.Error:
            return data
    return data


def _decode_payload(request: CaptureRequest, query: Mapping[str, list[str]], path: str) -> str:
    data_param = _first(query, "data")
    form_compression: str | None = None
    is_form = False
    if data_param:
        # A query string turns "+" into a space; base64 needs it back.
        raw = data_param.replace(" ", "+").encode()
    else:
        raw = request.body
        if request.header("content-type") == "application/x-www-form-urlencoded":
            if not raw.startswith(_FORM_PREFIXES):
                raise _Refused(
                    400, "failed to decode request: expected form data in POST request payload"
                )
            form = parse_qs(raw.decode("latin-1"), keep_blank_values=True)
            raw = (_first(form, "data") or "").replace(" ", "+").encode("latin-1")
            form_compression = _first(form, "compression")
            is_form = True
    if not raw:
        raise _Refused(400, replies.NO_DATA)
    if not is_form:
        raw = _maybe_base64(raw)  # the optimistic unwrap applies to the payload as sent
    hint = (
        _first(query, "compression") or form_compression or request.header("content-encoding") or ""
    ).lower()
    if hint in ("gzip", "gzip-js") or raw.startswith(b"\x1f\x8b\x08"):
        raw = _gunzip(raw)
    elif hint in ("lz64", "lz-string"):
        raise _Refused(
            400, "failed to decode request: lz64 compression is not supported by the sandbox"
        )
    elif hint in ("base64", "b64"):
        raw = _maybe_base64(raw)  # already unwrapped above when it was plain base64
    if len(raw) > MAX_DECOMPRESSED_BYTES:
        raise _Refused(
            413,
            "maximum event size exceeded: Decompressed payload would exceed"
            f" {MAX_DECOMPRESSED_BYTES} bytes",
        )
    if path in _LEGACY_UNWRAP:
        raw = _maybe_base64(raw.strip())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(400, replies.UTF8) from None


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
    if text.startswith("\ufeff"):
        return _text(400, replies.parse_failed("expected value at line 1 column 1"))
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
    for index, item in enumerate(result.parsed.events):
        assert isinstance(item, dict)  # anything else was refused above
        if item.get("event") == "$performance_event":
            filtered += 1
            continue
        key = None if result.shape in (BodyShape.ONE, BodyShape.ENGAGE) else index
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
    if result.shape is not BodyShape.BATCH or result.parsed is None:
        return None
    envelope = result.parsed.value
    for name in TOKEN_FIELDS:
        if isinstance(envelope.get(name), str):
            return str(envelope[name])
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
            return str(item[name])
    props = item.get("properties")
    if isinstance(props, dict) and isinstance(props.get("token"), str):
        return str(props["token"])
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
    distinct_id = identifiers.stringify_distinct_id(raw_id).replace("\x00", "\ufffd")
    distinct_id = distinct_id[: identifiers.MAX_DISTINCT_ID_CHARS]
    for field_name in ("$set", "$set_once"):
        top = item.get(field_name)
        if isinstance(top, dict):
            inner = props.get(field_name)
            merged = dict(inner) if isinstance(inner, dict) else {}
            merged.update(top)  # the top-level value wins on a clash
            props[field_name] = merged
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
    return StoredEvent(
        index, name, distinct_id, event_uuid, normalized["timestamp"], token, normalized, findings
    )


def _event_time(
    item: JsonObject, props: JsonObject, sent_at: datetime | None, now: datetime
) -> datetime:
    """Capture's timestamp algorithm (contract §10): skew correction, offset, future clamp."""
    when = now
    raw = item.get("timestamp")
    if isinstance(raw, str):
        parsed = parse_timestamp(raw)
        if parsed.value is not None:
            if sent_at is not None and props.get("$ignore_sent_at") is not True:
                when = now + (parsed.value - sent_at)
            else:
                when = parsed.value
    offset = item.get("offset")
    if isinstance(offset, int) and not isinstance(offset, bool):
        when = now - timedelta(milliseconds=offset)
    if when - now > FUTURE_LIMIT:
        when = now
    return when
