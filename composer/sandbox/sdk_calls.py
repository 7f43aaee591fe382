"""The SDKs' calls besides capture, as the sandbox serves them: its flags file (re-read when it
changes), the project switches remote config reports, and the answers kept in the inbox as
served (not refused), with their bodies decoded.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from composer.core.capture.service import CaptureOutcome, CaptureRequest, process
from composer.sandbox.sdk import (
    EMPTY,
    FlagFileError,
    FlagSet,
    RemoteConfigOptions,
    SdkAnswer,
    SdkSettings,
    folder_reader,
    load_flags,
)
from composer.sandbox.sdk.flags import FlagsRequestError, decode_flags_body, parse_query

log = logging.getLogger(__name__)

FLAGS_ENV = "COMPOSER_SANDBOX_FLAGS"
POSTHOG_JS_ENV = "COMPOSER_POSTHOG_JS_DIST"


@dataclass
class SdkConfig:
    """What the sandbox tells SDKs: flags from `flags_file` (None: no flags), remote config
    `options`, the personal key local evaluation must bring (None: any), and the folder of
    posthog-js's own scripts (its `dist`) for the lazy-loaded extensions."""

    flags_file: Path | None = None
    options: RemoteConfigOptions = field(default_factory=RemoteConfigOptions)
    personal_api_key: str | None = None
    posthog_js_dist: Path | None = None
    problem: str = ""  # why the flags file could not be used ("" when it could)
    _flags: FlagSet = EMPTY
    _stamp: tuple[float, int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_environment(cls, flags_file: str | None = None) -> SdkConfig:
        chosen = flags_file or os.environ.get(FLAGS_ENV)
        dist = os.environ.get(POSTHOG_JS_ENV)
        return cls(
            flags_file=Path(chosen).expanduser() if chosen else None,
            posthog_js_dist=Path(dist).expanduser() if dist else None,
        )

    def flags(self) -> FlagSet:
        """The flags file as it is now: read again when it changed, the last good one kept
        (and the problem said) while it does not parse."""
        path = self.flags_file
        if path is None:
            return EMPTY
        try:
            stat = path.stat()
        except OSError:
            with self._lock:
                self.problem = f"{path}: no such flags file; no flags are served."
                self._flags, self._stamp = EMPTY, None
            return EMPTY
        stamp = (stat.st_mtime, stat.st_size)
        with self._lock:
            if stamp == self._stamp:
                return self._flags
            try:
                self._flags = load_flags(path.read_text(encoding="utf-8"), filename=str(path))
                self.problem = ""
            except (FlagFileError, OSError, UnicodeDecodeError) as exc:
                self.problem = str(exc)
                log.warning("the sandbox keeps its last flags: %s", exc)
            self._stamp = stamp
            return self._flags

    def settings(self) -> SdkSettings:
        read = folder_reader(self.posthog_js_dist) if self.posthog_js_dist else None
        return SdkSettings(self.flags(), self.options, self.personal_api_key, read)


def served_outcome(request: CaptureRequest, sdk: SdkAnswer) -> CaptureOutcome:
    """An SDK call's answer as the inbox keeps it: served, its body decoded, and for capture
    v1 the events it carried stored as /batch/ would store them."""
    answer = sdk.answer
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-type"}
    outcome = CaptureOutcome(
        answer.status,
        answer.body,
        answer.headers.get("Content-Type", "text/plain; charset=utf-8"),
        headers,
        served=sdk.route,
    )
    outcome.decoded = _decoded(request, sdk)
    capture = sdk.capture
    if capture is not None and capture.accepted and answer.status < 300:
        legacy = CaptureRequest(
            method="POST",
            path="/batch/",
            headers={"content-type": "application/json", **_kept(request.headers)},
            body=orjson.dumps(capture.legacy_batch()),
            client=request.client,
        )
        stored = process(legacy)
        outcome.events = stored.events
        outcome.token = capture.token
        outcome.offered = len(capture.events)
        outcome.findings = stored.findings
    return outcome


def _kept(headers: Mapping[str, str]) -> dict[str, str]:
    # The v1 request's user agent and origin, so the stored events say who sent them.
    return {k: v for k, v in headers.items() if k in ("user-agent", "origin")}


def _decoded(request: CaptureRequest, sdk: SdkAnswer) -> str | None:
    """The request body as text for the inbox's detail (None: keep the raw body)."""
    if not request.body:
        return None
    if sdk.route in ("flags", "decide"):
        try:
            value = decode_flags_body(
                request.body, parse_query(request.query), request.header("content-type")
            )
        except FlagsRequestError:
            return None
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    if sdk.capture is not None and sdk.capture.events:
        events = [e.event for e in sdk.capture.events]
        return orjson.dumps(events, option=orjson.OPT_INDENT_2, default=str).decode()
    return None
