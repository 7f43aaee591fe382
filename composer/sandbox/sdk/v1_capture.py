"""Capture v1: `POST /i/v1/analytics/events`, with Bearer auth and a result per event.

posthog-python (`capture_mode="v1"`, capture_v1.py) and posthog-node (capture-v1/sender.js) send
it. The checks and their answers follow PostHog's capture service (rust/capture/src/v1/):
headers first (context.rs `Context::new`: 401 without Authorization, 400 naming every missing
required header, 415 for another content type or encoding), then the batch (process.rs
`validate_batch`, `validate_events`: a bad, missing or repeated uuid fails the whole batch),
then each event (`validate_event`: a bad event is dropped with a reason, the rest go on).

A 200 always carries `{"results": {uuid: {"result": ..., "details"?: ...}}}` (response.rs).
posthog-python treats a 200 without a readable `results` map as a terminal failure and raises
on every `drop` (capture_v1.py `_parse_v1_response`, `_apply_v1_results`), so the map is always
complete. Errors are `{"error", "error_description", "error_uri"}` (error.rs); both SDKs show
`error_description` (capture_v1.py `_v1_error_message`).
"""

from __future__ import annotations

import gzip
import importlib
import uuid as uuidlib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from composer.core import jsonio
from composer.sandbox.sdk.answer import Answer, header, json_answer

# constants.rs ILLEGAL_DISTINCT_IDS, the same list: accepted, with person processing off.
from composer.sandbox.sdk.flagfile import ILLEGAL_DISTINCT_IDS

MAX_BODY = 20 * 1024 * 1024
MAX_DECOMPRESSED = 5 * MAX_BODY
MAX_EVENT_NAME = 200  # constants.rs CAPTURE_V1_MAX_EVENT_NAME_LENGTH
MAX_DISTINCT_ID = 200  # constants.rs CAPTURE_V1_DISTINCT_ID_MAX_SIZE

# context.rs REQUIRED_HEADERS, checked after Authorization.
REQUIRED_HEADERS = (
    "Content-Type",
    "User-Agent",
    "PostHog-Sdk-Info",
    "PostHog-Attempt",
    "PostHog-Request-Id",
    "PostHog-Request-Timestamp",
)
SUPPORTED_ENCODINGS = ("gzip", "deflate", "br", "zstd")  # constants.rs

# The typed `options` and the legacy properties they stand for (capture_v1.py
# `_OPTION_SENTINELS`), so a stored event reads like its /batch/ twin.
_OPTION_PROPERTIES = {
    "cookieless_mode": "$cookieless_mode",
    "disable_skew_correction": "$ignore_sent_at",
    "product_tour_id": "$product_tour_id",
    "process_person_profile": "$process_person_profile",
}
_ERROR_HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate, br, zstd"}


@dataclass(frozen=True)
class V1Event:
    """One event of the batch: its verdict, and the event as /batch/ would have carried it."""

    uuid: str
    result: str  # "ok", "warning" or "drop"
    details: str | None
    event: dict[str, Any]


@dataclass(frozen=True)
class V1CaptureOutcome:
    answer: Answer
    token: str | None = None
    events: tuple[V1Event, ...] = ()
    historical_migration: bool = False
    error: str | None = None  # the error tag of a refused request
    created_at: str | None = None

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """The events PostHog would store (`ok` and `warning`), in the legacy event shape."""
        return [e.event for e in self.events if e.result in ("ok", "warning")]

    def legacy_batch(self) -> dict[str, Any]:
        """A `/batch/` body holding the accepted events, for a store that reads that shape."""
        body: dict[str, Any] = {"api_key": self.token, "batch": self.accepted}
        if self.historical_migration:
            body["historical_migration"] = True
        return body


class _Refused(Exception):
    def __init__(self, status: int, tag: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.tag = tag
        self.description = description


def v1_error_answer(status: int, tag: str, description: str) -> Answer:
    retry = {"Retry-After": "1"} if status in (429, 500, 503) else {}
    body = {
        "error": tag,
        "error_description": description,
        "error_uri": "https://posthog.com/docs/api",
    }
    return json_answer(status, body, {**_ERROR_HEADERS, **retry})


def v1_capture_answer(method: str, headers: Mapping[str, str], body: bytes) -> V1CaptureOutcome:
    """Check a capture v1 request the way PostHog does and answer it."""
    try:
        if method.upper() != "POST":
            return V1CaptureOutcome(Answer(405, {"Allow": "POST, OPTIONS"}, b""), error="method")
        token, sdk_info = _check_headers(headers)
        data = _decode(headers, body)
        created_at, historical, raw_events = _check_batch(data)
        events = tuple(_check_event(raw, sdk_info) for raw in raw_events)
    except _Refused as refused:
        answer = v1_error_answer(refused.status, refused.tag, refused.description)
        return V1CaptureOutcome(answer, error=refused.tag)
    results: dict[str, dict[str, str]] = {}
    for event in events:
        entry = {"result": event.result}
        if event.details:
            entry["details"] = event.details
        results[event.uuid] = entry
    return V1CaptureOutcome(
        json_answer(200, {"results": results}),
        token=token,
        events=events,
        historical_migration=historical,
        created_at=created_at,
    )


def _check_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    auth = header(headers, "authorization")
    if auth is None:
        raise _Refused(
            401,
            "missing_authorization",
            "request is missing the Authorization header; send 'Authorization: Bearer "
            "<project API key>'",
        )
    missing = [name for name in REQUIRED_HEADERS if header(headers, name) is None]
    if missing:
        raise _Refused(
            400, "missing_required_headers", f"request is missing required headers: {missing}"
        )
    if len(auth) <= 7 or auth[:7].lower() != "bearer ":
        raise _Refused(
            400,
            "invalid_header_value",
            "invalid header value: Authorization must use Bearer scheme",
        )
    token = _check_token(auth[7:])
    content_type = header(headers, "content-type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise _Refused(415, "unsupported_content_type", f"unsupported content type: {content_type}")
    request_id = header(headers, "posthog-request-id") or ""
    try:
        uuidlib.UUID(request_id)
    except ValueError:
        raise _Refused(
            400,
            "invalid_header_value",
            f"invalid header value: PostHog-Request-Id is not a valid UUID: {request_id}",
        ) from None
    attempt = (header(headers, "posthog-attempt") or "").strip()
    if not attempt.isdigit() or int(attempt) < 1:
        raise _Refused(
            400,
            "invalid_header_value",
            f"invalid header value: PostHog-Attempt must be a positive integer: {attempt}",
        )
    stamp = header(headers, "posthog-request-timestamp") or ""
    if _rfc3339(stamp) is None:
        raise _Refused(
            400,
            "invalid_header_value",
            f"invalid header value: PostHog-Request-Timestamp is not valid RFC 3339: {stamp}",
        )
    return token, header(headers, "posthog-sdk-info") or ""


def _check_token(raw: str) -> str:
    # token.rs `validate_token`.
    token = raw.strip()
    reason = None
    if not token:
        reason = "empty"
    elif len(token) > 64:
        reason = "too_long"
    elif not token.isascii():
        reason = "not_ascii"
    elif token.startswith("phx_"):
        reason = "personal_api_key"
    elif "\0" in token:
        reason = "null_byte"
    if reason is not None:
        hint = " (this is a personal API key; capture takes the project API key, phc_…)"
        raise _Refused(
            401,
            "invalid_api_token",
            f"The provided API token is not valid: {reason}"
            + (hint if reason == "personal_api_key" else ""),
        )
    return token


def _decode(headers: Mapping[str, str], body: bytes) -> Any:
    if len(body) > MAX_BODY:
        raise _Refused(413, "payload_too_large", f"payload too large: {len(body)} bytes")
    encoding = (header(headers, "content-encoding") or "").strip().lower()
    if encoding and encoding not in SUPPORTED_ENCODINGS:
        raise _Refused(415, "unsupported_encoding", f"unsupported content encoding: {encoding}")
    data = body
    if encoding:
        data = _decompress(encoding, body)
    if not data.strip():
        raise _Refused(400, "empty_body", "request body is empty")
    try:
        return jsonio.loads(data)
    except jsonio.JsonSyntaxError as exc:
        raise _Refused(
            400, "request_parsing_error", f"Failed to parse request body: {exc}"
        ) from None


def _decompress(encoding: str, body: bytes) -> bytes:
    try:
        if encoding == "gzip":
            return _bounded(zlib.decompressobj(16 + zlib.MAX_WBITS), body)
        if encoding == "deflate":
            # Zlib-wrapped, as the SDKs send it (capture_v1.py `_compress_v1`); raw deflate too.
            wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS
            return _bounded(zlib.decompressobj(wbits), body)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise _Refused(
            400, "request_decoding_error", f"Failed to decode request body: {exc}"
        ) from None
    module = {"zstd": "zstandard", "br": "brotli"}[encoding]
    try:
        library: Any = importlib.import_module(module)
    except ImportError:
        raise _Refused(
            415,
            "unsupported_encoding",
            f"the sandbox cannot read {encoding} bodies without the {module} package; install it "
            "or send gzip (posthog-python: capture_compression='gzip')",
        ) from None
    try:
        if encoding == "zstd":
            out = library.ZstdDecompressor().decompress(body, max_output_size=MAX_DECOMPRESSED)
        else:
            out = library.decompress(body)
    except Exception as exc:  # the libraries raise their own error types
        raise _Refused(
            400, "request_decoding_error", f"Failed to decode request body: {exc}"
        ) from None
    return bytes(out)


def _bounded(inflater: Any, body: bytes) -> bytes:
    out = bytes(inflater.decompress(body, MAX_DECOMPRESSED))
    if inflater.unconsumed_tail:
        raise _Refused(413, "payload_too_large", "payload too large once decompressed")
    return out


def _check_batch(data: Any) -> tuple[str, bool, list[dict[str, Any]]]:
    # types.rs `Batch`/`Event` deserialization: a field of the wrong type fails the request.
    if not isinstance(data, dict):
        raise _Refused(400, "request_parsing_error", "Failed to parse request body: not an object")
    created_at = data.get("created_at")
    batch = data.get("batch")
    if not isinstance(created_at, str):
        raise _Refused(
            400, "request_parsing_error", "Failed to parse request body: created_at must be text"
        )
    if not isinstance(batch, list):
        raise _Refused(
            400, "request_parsing_error", "Failed to parse request body: batch must be a list"
        )
    historical = data.get("historical_migration", False)
    if not isinstance(historical, bool):
        raise _Refused(
            400,
            "request_parsing_error",
            "Failed to parse request body: historical_migration must be true or false",
        )
    for index, event in enumerate(batch):
        _check_shape(index, event)
    if not batch:
        raise _Refused(400, "empty_batch", "request batch is empty")
    if _rfc3339(created_at) is None:
        raise _Refused(
            400, "invalid_batch", f"invalid batch: created_at is not valid RFC 3339: {created_at}"
        )
    seen: set[uuidlib.UUID] = set()
    for event in batch:
        raw_uuid = event["uuid"].strip()
        if not raw_uuid:
            raise _Refused(400, "missing_event_uuid", "event submitted without a uuid")
        try:
            parsed = uuidlib.UUID(raw_uuid)
        except ValueError:
            raise _Refused(
                400, "invalid_event_uuid", f"event submitted with an invalid uuid: {raw_uuid}"
            ) from None
        if parsed in seen:
            raise _Refused(400, "duplicate_event_uuid", f"duplicate event uuid: {raw_uuid}")
        seen.add(parsed)
    return created_at, historical, batch


def _check_shape(index: int, event: Any) -> None:
    where = f"Failed to parse request body: batch[{index}]"
    if not isinstance(event, dict):
        raise _Refused(400, "request_parsing_error", f"{where} is not an object")
    for name in ("event", "uuid", "distinct_id", "timestamp"):
        if not isinstance(event.get(name), str):
            problem = "is missing" if name not in event else "must be text"
            raise _Refused(400, "request_parsing_error", f"{where}.{name} {problem}")
    for name in ("session_id", "window_id"):
        if event.get(name) is not None and not isinstance(event[name], str):
            raise _Refused(400, "request_parsing_error", f"{where}.{name} must be text")


def _check_event(raw: dict[str, Any], sdk_info: str) -> V1Event:
    uuid = raw["uuid"].strip()
    name: str = raw["event"]
    distinct_id: str = raw["distinct_id"].strip()
    properties = raw.get("properties", {})
    tag = None
    if name == "$performance_event":
        tag = "dropped_performance_event"
    elif not name:
        tag = "missing_event_name"
    elif len(name.encode()) > MAX_EVENT_NAME:
        tag = "event_name_too_long"
    elif not distinct_id:
        tag = "missing_distinct_id"
    elif len(distinct_id.encode()) > MAX_DISTINCT_ID:
        tag = "distinct_id_too_large"
    elif _rfc3339(raw["timestamp"]) is None:
        tag = "invalid_event_timestamp"
    elif not isinstance(properties, dict):
        tag = "malformed_event_properties"
    options = _check_options(raw.get("options"))
    if tag is None and options is None:
        tag = "invalid_options"
    event = _legacy_event(raw, distinct_id, properties, options or {}, sdk_info)
    if tag is not None:
        return V1Event(uuid, "drop", tag, event)
    if distinct_id.lower() in ILLEGAL_DISTINCT_IDS:
        return V1Event(uuid, "warning", "person_processing_disabled", event)
    return V1Event(uuid, "ok", None, event)


def _check_options(raw: Any) -> dict[str, Any] | None:
    """types.rs `RawOptions::validate`: known options coerced, anything unreadable is None."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        return None
    options: dict[str, Any] = {}
    for name in ("cookieless_mode", "disable_skew_correction", "process_person_profile"):
        value = raw.get(name)
        if value is None:
            continue
        coerced = _coerce_bool(value)
        if coerced is None:
            return None
        options[name] = coerced
    tour = raw.get("product_tour_id")
    if tour is not None:
        if isinstance(tour, str):
            options["product_tour_id"] = tour
        elif isinstance(tour, int) and not isinstance(tour, bool):
            options["product_tour_id"] = str(tour)
        else:
            return None
    return options


def _coerce_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "1": True, "false": False, "0": False}.get(value.strip().lower())
    if isinstance(value, int | float):
        return value != 0
    return None


def _legacy_event(
    raw: Mapping[str, Any],
    distinct_id: str,
    properties: Any,
    options: Mapping[str, Any],
    sdk_info: str,
) -> dict[str, Any]:
    props: dict[str, Any] = dict(properties) if isinstance(properties, dict) else {}
    # The service injects $lib and $lib_version from PostHog-Sdk-Info, split at the last "/"
    # (context.rs `sdk_lib_and_version`), and the top-level session and window ids.
    lib, _, version = sdk_info.rpartition("/")
    if lib.strip() and version.strip():
        props.setdefault("$lib", lib.strip())
        props.setdefault("$lib_version", version.strip())
    for key, prop in (("session_id", "$session_id"), ("window_id", "$window_id")):
        if isinstance(raw.get(key), str):
            props.setdefault(prop, raw[key])
    for key, prop in _OPTION_PROPERTIES.items():
        if key in options:
            props.setdefault(prop, options[key])
    return {
        "event": raw["event"],
        "uuid": raw["uuid"].strip(),
        "distinct_id": distinct_id,
        "timestamp": raw["timestamp"],
        "properties": props,
    }


def _rfc3339(text: str) -> datetime | None:
    """A timestamp with a date, a time and an offset, as chrono's `parse_from_rfc3339` wants."""
    candidate = text.strip()
    if len(candidate) < 20 or candidate[10] not in "Tt ":
        return None
    try:
        parsed = datetime.fromisoformat(candidate.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
