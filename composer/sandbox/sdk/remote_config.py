"""Remote config: `/array/<token>/config` (JSON) and `/array/<token>/config.js` (a script).

posthog-js loads one of them on start (remote-config.js `RemoteConfigLoader.load`): the script
when the external-scripts loader is bundled, the JSON otherwise, or after the script failed.
When neither answers, posthog-js treats the config as failed: it stops asking for gzip-js
compression, keeps autocapture off if it was off, and logs "Failed to fetch remote config".

The keys and their defaults follow PostHog's `RemoteConfig.build_config` (posthog/models/
remote_config.py) for a project that has turned on nothing optional: autocapture on, gzip
offered, and every feature that would make posthog-js download a script from `/static/`
(session replay, heatmaps with their dead-click script, web vitals, exception autocapture,
surveys, product tours) off, since the sandbox serves no scripts and a failed load is logged.
Each can be turned on through `RemoteConfigOptions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from composer.core import jsonio
from composer.sandbox.sdk.answer import JAVASCRIPT, Answer, json_answer, text_answer
from composer.sandbox.sdk.flagfile import EMPTY, FlagSet

# posthog/settings: NEW_ANALYTICS_CAPTURE_ENDPOINT, where posthog-js then sends events
# (posthog-core.js `_onRemoteConfig`: `analyticsDefaultEndpoint = config.analytics.endpoint`).
ANALYTICS_ENDPOINT = "/i/v0/e/"
RECORDING_ENDPOINT = "/s/"


@dataclass(frozen=True)
class RemoteConfigOptions:
    """What the sandbox's project has turned on; the defaults load no scripts."""

    autocapture: bool = True
    heatmaps: bool = False
    session_recording: bool = False
    console_log_recording: bool = False
    capture_performance: bool = False  # network timing and web vitals
    exception_autocapture: bool = False
    dead_clicks: bool = False
    surveys: bool = False
    analytics_endpoint: str = ANALYTICS_ENDPOINT
    recording_endpoint: str = RECORDING_ENDPOINT


DEFAULT_OPTIONS = RemoteConfigOptions()


def build_remote_config(
    token: str, flagset: FlagSet = EMPTY, options: RemoteConfigOptions = DEFAULT_OPTIONS
) -> dict[str, Any]:
    """The config object, key for key as `RemoteConfig.build_config` writes it."""
    recording: bool | dict[str, Any] = False
    if options.session_recording:
        recording = {
            "endpoint": options.recording_endpoint,
            "consoleLogRecordingEnabled": options.console_log_recording,
            "recorderVersion": "v2",
            "sampleRate": None,
            "minimumDurationMilliseconds": None,
            "linkedFlag": None,
            "networkPayloadCapture": None,
            "masking": None,
            "urlTriggers": [],
            "urlBlocklist": [],
            "eventTriggers": [],
            "triggerMatchType": None,
            "scriptConfig": None,
        }
    performance: bool | dict[str, Any] = False
    if options.capture_performance:
        performance = {
            "network_timing": True,
            "web_vitals": True,
            "web_vitals_allowed_metrics": None,
        }
    return {
        "token": token,
        "supportedCompression": ["gzip", "gzip-js"],
        # posthog-js skips /flags altogether when this is false (remote-config.js
        # `_onRemoteConfig`), as PostHog does for a project without active flags.
        "hasFeatureFlags": len(flagset) > 0,
        "captureDeadClicks": options.dead_clicks,
        "capturePerformance": performance,
        "autocapture_opt_out": not options.autocapture,
        "autocaptureExceptions": options.exception_autocapture,
        "analytics": {"endpoint": options.analytics_endpoint},
        "elementsChainAsString": True,
        "errorTracking": {
            "autocaptureExceptions": options.exception_autocapture,
            "suppressionRules": [],
        },
        "logs": {"captureConsoleLogs": False},
        "sessionRecording": recording,
        "heatmaps": options.heatmaps,
        "conversations": False,
        # A list of surveys in PostHog; `true` makes posthog-js fetch /api/surveys/.
        "surveys": options.surveys,
        "productTours": False,
        "defaultIdentifiedOnly": True,
        "siteApps": [],
    }


def remote_config_answer(
    token: str,
    as_js: bool,
    flagset: FlagSet = EMPTY,
    options: RemoteConfigOptions = DEFAULT_OPTIONS,
) -> Answer:
    """The answer to `GET /array/<token>/config` (as_js=False) or `.../config.js` (True).

    An empty token is PostHog's 404 (`RemoteConfig.DoesNotExist`, posthog/api/remote_config.py);
    any other token gets the sandbox's config, as the sandbox accepts every project key.
    """
    if not token or any(c in token for c in "/\\'\"<>\n\r"):
        return text_answer(404, "Not found: no project has this token.")
    config = build_remote_config(token, flagset, options)
    if not as_js:
        return json_answer(200, config)
    return Answer(200, {"Content-Type": JAVASCRIPT}, remote_config_js(token, config).encode())


def remote_config_js(token: str, config: Mapping[str, Any]) -> str:
    """The script posthog-js runs: it reads `window._POSTHOG_REMOTE_CONFIG[token].config`.

    Same text as `RemoteConfig.get_config_js_via_token`, whose config carries no `siteApps`
    (the script's own `siteApps` array holds their code; the sandbox has none).
    """
    body = {key: value for key, value in config.items() if key != "siteApps"}
    return (
        "(function() {\n"
        "  window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {};\n"
        f"  window._POSTHOG_REMOTE_CONFIG[{jsonio.dumps_compact(token).decode()}] = {{\n"
        f"    config: {jsonio.dumps_compact(body).decode()},\n"
        "    siteApps: []\n"
        "  }\n"
        "})();"
    )


def legacy_decide_config(
    token: str, flagset: FlagSet = EMPTY, options: RemoteConfigOptions = DEFAULT_OPTIONS
) -> dict[str, Any]:
    """The config fields a `/flags?config=true` or `/decide/` answer carries at top level.

    The flags service merges the remote config into the response and keeps the few keys old
    /decide clients still read (rust/feature-flags/src/api/types.rs `ConfigResponse::fallback`
    and endpoint.rs `get_minimal_flags_response`).
    """
    config = build_remote_config(token, flagset, options)
    config.update(
        {
            "config": {"enable_collect_everything": options.autocapture},
            "toolbarParams": {},
            "isAuthenticated": False,
        }
    )
    return config
