"""The exact texts PostHog's capture service answers with (contract §9.1)."""

from __future__ import annotations

PARSE_FAILED = "failed to parse request: data did not match any variant of untagged enum RawRequest"
NOT_ENGAGE = (
    "failed to hydrate events from request: non-engage request missing event name attribute"
)
NO_EVENTS = "request holds no event"
NO_DATA = "request missing data payload"
EMPTY_EVENT_NAME = "event submitted with an empty event name"
NO_DISTINCT_ID = "event submitted without a distinct_id"
BAD_COOKIELESS = "event submitted with invalid cookieless mode"
NO_API_KEY = "event submitted without an api_key"
INCONSISTENT_KEYS = "batch submitted with inconsistent api_key values"
BODY_TOO_LARGE = "maximum event size exceeded: Request body exceeds limit of {limit} bytes"
EVENT_TOO_LARGE = "maximum event size exceeded: Event rejected by kafka during send"
UTF8 = "failed to decode request: invalid UTF8 in request payload"
NOT_FOUND = "Not Found"
OK_BODY = '{"status":"Ok"}'
# PostHog's `now - offset` panics (chrono overflow) and the connection is dropped: there is no
# reply text. The sandbox answers this labelled 500 instead of pretending either way.
OFFSET_PANIC = (
    "sandbox: no reply from PostHog: capture panics computing now - offset (chrono overflow)"
    " and drops the connection"
)


def invalid_key(reason: str) -> str:
    return f"API key is not valid: {reason}"


def parse_failed(detail: str) -> str:
    return f"failed to parse request: {detail}"
