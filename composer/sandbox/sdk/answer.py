"""What every builder returns, and the CORS headers a browser needs to read it.

An `Answer` is a plain (status, headers, body) triple, so a server can send it as it is and a
test can unpack it. Header names are in their usual spelling; a server adds Content-Length.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from composer.core import jsonio

JSON = "application/json"
JAVASCRIPT = "application/javascript"
TEXT = "text/plain; charset=utf-8"

# The methods the SDK routes answer. posthog-js sends GET (remote config, surveys) and POST
# (flags, capture); a preflight asks for one of them.
_METHODS = "GET, POST, OPTIONS, HEAD"


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def json(self) -> Any:
        """The body read as JSON (for tests and for the window's inbox view)."""
        return jsonio.loads(self.body)


def json_answer(status: int, value: Any, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, {"Content-Type": JSON, **(headers or {})}, jsonio.dumps_compact(value))


def text_answer(status: int, text: str, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, {"Content-Type": TEXT, **(headers or {})}, text.encode())


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by name, whatever the case of the mapping's keys."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def cors_headers(request_headers: Mapping[str, str]) -> dict[str, str]:
    """The CORS headers for an answer to a browser request (preflight or actual).

    posthog-js calls the sandbox from the app's own origin: `fetch` without credentials
    (posthog-js request.js `_fetch`, default `credentials: "same-origin"`), XHR without
    `withCredentials`, `sendBeacon`, and a `<script crossorigin="anonymous">` for config.js
    (entrypoints/external-scripts-loader.js). Echoing the origin serves all of them, and also an
    app that sets `fetch_options.credentials = "include"`, which "*" would not. Retry-After is
    exposed because posthog-js reads it to back off (request.js `readRetryAfter`).
    """
    origin = header(request_headers, "origin")
    headers = {
        "Access-Control-Allow-Origin": origin or "*",
        "Access-Control-Allow-Methods": _METHODS,
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }
    if origin:
        # Credentials are only valid with an echoed origin, never with "*".
        headers["Access-Control-Allow-Credentials"] = "true"
    wanted = header(request_headers, "access-control-request-headers")
    if wanted:
        # Echo: JSON bodies (Content-Type) and the app's own `request_headers` all pass.
        headers["Access-Control-Allow-Headers"] = wanted
        headers["Vary"] = "Origin, Access-Control-Request-Headers"
    if (header(request_headers, "access-control-request-private-network") or "").lower() == "true":
        # Chrome's Private Network Access: a page on a public origin may only reach 127.0.0.1
        # when the preflight answer says so.
        headers["Access-Control-Allow-Private-Network"] = "true"
    return headers


def preflight_answer(request_headers: Mapping[str, str]) -> Answer:
    """The answer to `OPTIONS` on any SDK route: no body, CORS headers, cached for a while."""
    headers = cors_headers(request_headers)
    # Chromium caps this at two hours; it saves a preflight before every flags reload.
    headers["Access-Control-Max-Age"] = "7200"
    headers["Allow"] = _METHODS
    return Answer(204, headers, b"")


def with_cors(answer: Answer, request_headers: Mapping[str, str]) -> Answer:
    return Answer(answer.status, {**answer.headers, **cors_headers(request_headers)}, answer.body)
