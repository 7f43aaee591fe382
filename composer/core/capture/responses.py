"""What a capture response means: both answer styles, and guidance in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson


class AnswerStyle(StrEnum):
    CURRENT = "current"  # capture-rs: {"status":"Ok"}, errors as plain text
    LEGACY = "legacy"  # Django: {"status": 1}, errors as {"type","code","detail","attr"}
    OTHER = "other"  # a proxy, a fork, or something that is not PostHog


@dataclass(frozen=True)
class Interpretation:
    ok: bool
    style: AnswerStyle
    summary: str  # one line: what the server said
    detail: str  # the server's own error text, when there is one
    guidance: str  # what it means and what to do; empty for a plain success


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def interpret(status: int, body: bytes, content_type: str = "") -> Interpretation:
    """Read a capture response of either style."""
    data = _json(body) if body.strip()[:1] in (b"{", b"[") else None
    text = body.decode("utf-8", "replace").strip()
    if 200 <= status < 300:
        if status == 204:
            return Interpretation(True, AnswerStyle.CURRENT, "204 No Content (beacon)", "", "")
        if isinstance(data, dict) and data.get("status") == "Ok":
            style = AnswerStyle.CURRENT
        elif isinstance(data, dict) and data.get("status") == 1:
            style = AnswerStyle.LEGACY
        else:
            style = AnswerStyle.OTHER
        guidance = _SUCCESS_NOTE
        if style is AnswerStyle.OTHER:
            guidance = (
                "The server answered 2xx, but not with PostHog's success body; check that the"
                " host is a PostHog ingestion host and not a proxy or web page."
            )
        return Interpretation(True, style, f"{status} accepted", "", guidance)
    style = AnswerStyle.CURRENT
    detail = text
    if isinstance(data, dict) and ("detail" in data or "code" in data):
        style = AnswerStyle.LEGACY
        detail = str(data.get("detail") or data.get("code") or text)
    elif isinstance(data, dict) and "error" in data:
        style = AnswerStyle.OTHER
        detail = str(data["error"])
    code = data.get("code") if isinstance(data, dict) else None
    return Interpretation(
        False,
        style,
        f"{status} {_REASONS.get(status, 'error')}",
        detail[:2000],
        guidance_for(status, detail, code if isinstance(code, str) else None),
    )


_SUCCESS_NOTE = (
    "Accepted. A 200 does not promise the event is stored: an unknown project key, a quota"
    " limit or an ingestion rule can still drop it without telling you."
)

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# (status, text the server's message contains) -> guidance. The first match wins.
_GUIDANCE: list[tuple[int, str, str]] = [
    (
        401,
        "personal_api_key",
        "That is a personal API key; use the project API key (phc_...) from Project settings.",
    ),
    (401, "empty", "The project API key is empty; enter the project key (phc_...)."),
    (
        401,
        "too_long",
        "The key is longer than 64 bytes; check that only the project key was pasted.",
    ),
    (
        401,
        "not_ascii",
        "The key has non-ASCII characters; retype it (pasting can add invisible ones).",
    ),
    (401, "null_byte", "The key contains a NUL character; retype it."),
    (
        401,
        "without an api_key",
        "No project API key reached PostHog; add api_key to the body (the key field does this).",
    ),
    (
        401,
        "missing_api_key",
        "No project API key reached PostHog; add api_key to the body (the key field does this).",
    ),
    (
        401,
        "inconsistent",
        "The events carry different project keys; send one project's events per request.",
    ),
    (
        401,
        "invalid or has expired",
        "PostHog knows no project with this key: check for a typo, a deleted project, or a key"
        " from the other region (US vs EU).",
    ),
    (
        # api.rs @33230e0 `UnknownToken` (under TOKEN_VALIDATION_MODE=enforce); a0f7f82 had the
        # "invalid or has expired" text above.
        401,
        "does not belong to any project",
        "PostHog knows no project with this key: check for a typo, a deleted project, or a key"
        " from the other region (US vs EU).",
    ),
    (
        400,
        "distinct_id",
        "An event has no usable distinct_id; PostHog refused the whole request. The pre-flight"
        " check names the event.",
    ),
    (400, "empty event name", "An event has an empty name; PostHog refused the whole request."),
    (
        400,
        "missing event name",
        'PostHog did not read the body as events: an event lacks "event", or a batch envelope'
        " lacks a top-level api_key.",
    ),
    (
        400,
        "did not match any variant",
        "A field has the wrong type somewhere (a number timestamp, a bad uuid, properties that"
        " are not an object). PostHog does not say which event; the pre-flight check does.",
    ),
    (400, "cookieless", "$cookieless_mode must be true or false."),
    (400, "holds no event", "The request holds no event; add at least one."),
    (400, "missing data payload", "The body was empty."),
    (
        400,
        "failed to decode",
        "PostHog could not decode the body (compression, encoding or form data).",
    ),
    (400, "failed to parse", "The body is not valid JSON for PostHog."),
    (
        413,
        "",
        "The request or one event is too large: PostHog takes up to 20 MiB per request and about"
        " 1 MB per event. Split the batch, or move large values out of the event.",
    ),
    (408, "", "The upload stalled and PostHog gave up waiting; send again."),
    (
        429,
        "",
        "PostHog (or a proxy) asked to slow down; wait for the Retry-After time, then resend.",
    ),
    (402, "", "The project is over its billing limit; events are not being ingested."),
    (
        404,
        "",
        "No capture endpoint at this path: check the endpoint, and that the host is an"
        " ingestion host (us.i.posthog.com), not the app host.",
    ),
    (405, "", "Capture endpoints take GET, POST and OPTIONS only."),
    (503, "", "PostHog could not store the events just now; resend later (it is safe to retry)."),
    (500, "", "The server failed; resend later. If it persists, check PostHog's status page."),
    (502, "", "A proxy in front of PostHog failed; resend later."),
    (504, "", "A proxy in front of PostHog timed out; resend later."),
]


def guidance_for(status: int, detail: str = "", code: str | None = None) -> str:
    """Plain-words guidance for a failed capture response."""
    haystack = f"{detail} {code or ''}".lower()
    for want_status, needle, text in _GUIDANCE:
        if want_status == status and needle in haystack:
            return text
    if 500 <= status < 600:
        return "The server failed; resend later."
    if 300 <= status < 400:
        return (
            "The server answered with a redirect, which the composer does not follow: the host"
            " is probably wrong (http:// instead of https://, or an app host)."
        )
    return "The server refused the request; see its answer above."


def is_retryable_status(status: int) -> bool:
    """What posthog-python retries: 5xx, 408 and 429; never another 4xx."""
    return status >= 500 or status in (408, 429)
