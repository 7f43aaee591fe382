"""The sandbox's answers to everything a PostHog SDK asks besides capture.

Pure functions from a request's parts to an `Answer` (status, headers, body); no sockets, no
storage. posthog-python, posthog-node and posthog-js pointed at the sandbox get the shapes they
parse from PostHog, so none of them logs an error, retries or turns a feature off:

- `flags` — `/flags` (every `v`), `/decide`, and the definitions for local evaluation;
- `remote_config` — `/array/<token>/config` and `config.js`;
- `v1_capture` — `/i/v1/analytics/events` with its per-event results;
- `answer` — the `Answer` type and the CORS headers browsers need;
- `static_assets` — posthog-js's lazily loaded scripts, from a posthog-js `dist` folder;
- `flagfile` — the developer's local flags file;
- `routes` — one entry point that picks the route.

research/sdk-endpoints.md lists every call each SDK makes and where its parser lives.
"""

from composer.sandbox.sdk.answer import Answer, cors_headers, preflight_answer
from composer.sandbox.sdk.flagfile import EMPTY, Flag, FlagFileError, FlagSet, load_flags
from composer.sandbox.sdk.flags import (
    FlagsRequestError,
    flags_answer,
    flags_endpoint_answer,
    local_evaluation_answer,
    local_evaluation_definitions,
    parse_flags_request,
    remote_config_payload_answer,
)
from composer.sandbox.sdk.remote_config import (
    RemoteConfigOptions,
    build_remote_config,
    remote_config_answer,
)
from composer.sandbox.sdk.routes import SdkAnswer, SdkSettings, answer_sdk_request, sdk_route
from composer.sandbox.sdk.static_assets import folder_reader, static_asset_answer
from composer.sandbox.sdk.v1_capture import V1CaptureOutcome, V1Event, v1_capture_answer

__all__ = [
    "EMPTY",
    "Answer",
    "Flag",
    "FlagFileError",
    "FlagSet",
    "FlagsRequestError",
    "RemoteConfigOptions",
    "SdkAnswer",
    "SdkSettings",
    "V1CaptureOutcome",
    "V1Event",
    "answer_sdk_request",
    "build_remote_config",
    "cors_headers",
    "flags_answer",
    "flags_endpoint_answer",
    "folder_reader",
    "load_flags",
    "local_evaluation_answer",
    "local_evaluation_definitions",
    "parse_flags_request",
    "preflight_answer",
    "remote_config_answer",
    "remote_config_payload_answer",
    "sdk_route",
    "static_asset_answer",
    "v1_capture_answer",
]
