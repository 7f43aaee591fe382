"""Which SDK route a request is for, and its answer: one pure entry point for a server.

`answer_sdk_request` returns None for a path that is not an SDK route (capture `/e/`,
`/batch/`, `/i/v0/e/` and the rest stay with `composer.core.capture`). Every answer, errors
included, carries the CORS headers, and `OPTIONS` on any SDK route is its preflight.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from composer.sandbox.sdk.answer import Answer, json_answer, preflight_answer, with_cors
from composer.sandbox.sdk.flagfile import EMPTY, FlagSet
from composer.sandbox.sdk.flags import (
    flags_endpoint_answer,
    local_evaluation_answer,
    remote_config_payload_answer,
)
from composer.sandbox.sdk.remote_config import (
    DEFAULT_OPTIONS,
    RemoteConfigOptions,
    remote_config_answer,
)
from composer.sandbox.sdk.static_assets import (
    AssetReader,
    static_asset_answer,
    static_asset_name,
)
from composer.sandbox.sdk.v1_capture import V1CaptureOutcome, v1_capture_answer

_ARRAY = re.compile(r"^/array/(?P<token>[^/]*)/(?P<file>config|config\.js)$")
_REMOTE_PAYLOAD = re.compile(
    r"^/api/(?:projects|environments)/[^/]+/feature_flags/(?P<key>[^/]+)/remote_config$"
)

# The GET lists posthog-js asks for when a feature is on, answered empty: the sandbox has no
# surveys, early access features, web experiments or product tours. Field names are the ones
# posthog-js reads (browser-common surveys.js `response.json.surveys`, feature-flags.js
# `earlyAccessFeatures`, web-experiments.js `experiments`, posthog-product-tours.js
# `product_tours`).
_EMPTY_LISTS: dict[str, dict[str, Any]] = {
    "/api/surveys": {"surveys": []},
    "/api/early_access_features": {"earlyAccessFeatures": []},
    "/api/web_experiments": {"experiments": []},
    "/api/product_tours": {"product_tours": []},
}


@dataclass(frozen=True)
class SdkSettings:
    """What the sandbox serves: its flags, its project's switches, its personal key if any,
    and where posthog-js's own scripts come from (see static_assets.py)."""

    flagset: FlagSet = EMPTY
    options: RemoteConfigOptions = DEFAULT_OPTIONS
    personal_api_key: str | None = None
    read_asset: AssetReader | None = None


@dataclass(frozen=True)
class SdkAnswer:
    route: str
    answer: Answer
    capture: V1CaptureOutcome | None = None  # the checked events of a capture v1 request


def sdk_route(path: str) -> str | None:
    """The SDK route a path hits (trailing slash or not), or None for any other path."""
    trimmed = path.rstrip("/") or "/"
    if trimmed in ("/flags", "/decide"):
        return trimmed[1:]
    if trimmed in ("/flags/definitions", "/api/feature_flag/local_evaluation"):
        return "definitions"
    if trimmed == "/i/v1/analytics/events":
        return "v1_capture"
    match = _ARRAY.match(trimmed)
    if match:
        return "config.js" if match["file"] == "config.js" else "config"
    if _REMOTE_PAYLOAD.match(trimmed):
        return "remote_config_payload"
    if trimmed in _EMPTY_LISTS:
        return trimmed.removeprefix("/api/")
    if static_asset_name(path) is not None:
        return "static"
    return None


def answer_sdk_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    settings: SdkSettings = SdkSettings(),  # frozen, so one shared default is safe
) -> SdkAnswer | None:
    route = sdk_route(path)
    if route is None:
        return None
    if method.upper() == "OPTIONS":
        return SdkAnswer(route, preflight_answer(headers))
    answer, capture = _answer(route, method, path, query, headers, body, settings)
    return SdkAnswer(route, with_cors(answer, headers), capture)


def _answer(
    route: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    settings: SdkSettings,
) -> tuple[Answer, V1CaptureOutcome | None]:
    verb = method.upper()
    if route in ("flags", "decide"):
        answer = flags_endpoint_answer(
            method, path, query, headers, body, settings.flagset, settings.options
        )
        return answer, None
    if route == "v1_capture":
        outcome = v1_capture_answer(method, headers, body)
        return outcome.answer, outcome
    if verb not in ("GET", "HEAD"):
        return Answer(405, {"Allow": "GET, HEAD, OPTIONS"}, b""), None
    trimmed = path.rstrip("/")
    if route == "definitions":
        answer = local_evaluation_answer(
            settings.flagset, headers, query, personal_api_key=settings.personal_api_key
        )
    elif route in ("config", "config.js"):
        match = _ARRAY.match(trimmed)
        token = match["token"] if match else ""
        answer = remote_config_answer(
            token, route == "config.js", settings.flagset, settings.options
        )
    elif route == "static":
        answer = static_asset_answer(path, settings.read_asset)
    elif route == "remote_config_payload":
        key = _REMOTE_PAYLOAD.match(trimmed)
        answer = remote_config_payload_answer(settings.flagset, key["key"] if key else "", headers)
    else:
        answer = json_answer(200, _EMPTY_LISTS["/api/" + route])
    if verb == "HEAD":
        answer = Answer(answer.status, answer.headers, b"")
    return answer, None
