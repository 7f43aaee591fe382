"""The sandbox's server: loopback only, HTTP/1.1 keep-alive, bounded (see `http.py`).

Each request goes through `composer.core.capture.service.process` (the same rules as PostHog's
capture service) and then into the inbox store. A store failure answers 503, as PostHog does
when Kafka fails, and a bug answers 500; neither takes the server down.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from composer import __version__
from composer.core.capture.hosts import is_loopback
from composer.core.capture.service import (
    MAX_BODY_BYTES,
    SANDBOX_HEADER,
    CaptureOutcome,
    CaptureRequest,
    process,
)
from composer.sandbox import api
from composer.sandbox.defaults import DEFAULT_PORT
from composer.sandbox.http import HttpRequest, HttpResponse, HttpServer, Limits
from composer.sandbox.sdk import answer_sdk_request
from composer.sandbox.sdk_calls import SdkConfig, served_outcome
from composer.sandbox.store import SandboxStore, StoreError, source_of

log = logging.getLogger(__name__)

# Inflating a compressed body can take up to 100 MiB (PostHog's cap); one at a time keeps ten
# gzip bombs at once from taking a gigabyte. Small compressed bodies wait a moment, no more.
_INFLATING = threading.BoundedSemaphore(1)


@dataclass(frozen=True)
class RequestLog:
    """One answered request, for the console log and the window (keys already masked)."""

    when: float
    method: str
    path: str
    status: int
    reply: str
    events: int
    source: str
    user_agent: str
    request_id: int | None
    warnings: tuple[str, ...]

    def line(self) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(self.when))
        what = f"{self.events} event{'s' * (self.events != 1)}" if self.status < 300 else self.reply
        agent = self.user_agent or "unknown client"
        text = f"{clock}  {self.method:<4} {self.path:<10} {self.status}  {what}  ({agent})"
        for warning in self.warnings[:5]:
            text += f"\n          warning: {warning}"
        return text


class RateLimit:
    """Optional events-per-minute limit per key, to see how a client handles 429."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, token: str, events: int, now: float) -> bool:
        with self._lock:
            window = self._seen[token]
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) + events > self.per_minute:
                return False
            window.extend([now] * events)
            return True


class SandboxServer:
    """Serves the capture API on 127.0.0.1; `url` is what clients use as their PostHog host."""

    def __init__(
        self,
        store: SandboxStore,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        on_request: Callable[[RequestLog], None] | None = None,
        read_timeout: float = 10.0,
        idle_timeout: float = 30.0,
        rate_limit: int | None = None,
        workers: int = 4,
        sdk: SdkConfig | None = None,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox listens on this machine only, not on {host}")
        self.store = store
        self.sdk = sdk or SdkConfig()
        self.on_request = on_request
        self.rate_limit = RateLimit(rate_limit) if rate_limit else None
        self.limits = Limits(
            max_body=MAX_BODY_BYTES,
            read_timeout=read_timeout,
            idle_timeout=idle_timeout,
            workers=workers,
        )
        self._sock = _listen(host, port)
        self._http = HttpServer(
            self._sock,
            self._serve,
            limits=self.limits,
            framing_reply=self._framing_reply,
            server_header=f"event-composer-sandbox/{__version__}",
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = str(self._sock.getsockname()[0])
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = self._http.start()
        return self

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def stop(self) -> None:
        self._http.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- one request ---------------------------------------------------------------------------

    def _framing_reply(self, status: int, text: str) -> HttpResponse:
        return _to_http(CaptureOutcome(status, text.encode()))

    def _serve(self, http: HttpRequest) -> HttpResponse:  # a worker thread
        with self.store.answering():
            return self._serve_request(http)

    def _serve_request(self, http: HttpRequest) -> HttpResponse:
        try:
            split = urlsplit(http.target)
        except ValueError as exc:  # "http://[::1": not even a URL
            return self._framing_reply(400, f"malformed request target: {exc}")
        request = CaptureRequest(
            method=http.method,
            path=split.path or "/",
            query=split.query,
            headers=http.headers,
            body=http.body,
            client=http.client,
        )
        return _to_http(self.handle(request))

    def info(self) -> dict[str, object]:
        """Who is listening, and where its inbox is (a window reads it, CI asserts on it)."""
        return {
            "sandbox": "posthog-event-composer",
            "version": __version__,
            "url": self.url,
            "db": self.store.path,
            "pid": os.getpid(),
        }

    def handle(self, request: CaptureRequest) -> CaptureOutcome:
        path = request.path.rstrip("/") or "/"
        if api.is_api_path(path):
            try:
                # What the API says is exact: persons caught up with every stored event.
                self.store.settle()
                return api.answer(
                    request.method, path, request.query, self.store.path, self.info(), self.reset
                )
            except (sqlite3.Error, OSError) as exc:
                log.warning("the sandbox could not read its inbox: %s", exc)
                return CaptureOutcome(503, b"the inbox could not be read, please retry")
        received = time.time()
        try:
            if _inflates(request):
                with _INFLATING:
                    outcome = self._answer(request)
            else:
                outcome = self._answer(request)
            limited = (
                self.rate_limit is not None
                and outcome.events
                and outcome.status < 300
                and not self.rate_limit.allow(outcome.token or "", len(outcome.events), received)
            )
            if limited:
                outcome = CaptureOutcome(
                    429,
                    b"rate limit exceeded: events per minute",
                    headers={"Retry-After": "60", **outcome.headers},
                )
        except Exception:
            log.exception("the sandbox failed on %s %s", request.method, request.path)
            outcome = CaptureOutcome(500, b"internal server error")
        request_id: int | None = None
        if request.path.rstrip("/") not in ("", "/_readiness", "/_liveness") and (
            request.method.upper() not in ("OPTIONS", "HEAD")
        ):
            try:
                request_id = self.store.record(request, outcome, received)
            except (StoreError, OSError, sqlite3.Error) as exc:
                log.warning("the sandbox could not store a request: %s", exc)
                outcome = CaptureOutcome(
                    503, b"transient error, please retry", headers=outcome.headers
                )
        if self.on_request is not None and request_id is not None:
            self.on_request(self._log_entry(request, outcome, received, request_id))
        return outcome

    def _answer(self, request: CaptureRequest) -> CaptureOutcome:
        """Capture (the rules of PostHog's capture service), or one of the SDKs' other calls."""
        path = request.path.rstrip("/") or "/"
        if path == "/s":  # session recordings: checked like capture, kept as a count
            outcome = process(replace(request, path="/e/"))
            outcome.served = "recording"
            outcome.events = []  # counted (offered), not listed among the events
            return outcome
        sdk = answer_sdk_request(
            request.method,
            request.path,
            request.query,
            request.headers,
            request.body,
            self.sdk.settings(),
        )
        if sdk is None:
            return process(request)
        return served_outcome(request, sdk)

    def reset(self) -> None:
        """Empty the inbox and its persons (the window's Clear and POST /_sandbox/reset)."""
        self.store.clear()

    def _log_entry(
        self, request: CaptureRequest, outcome: CaptureOutcome, received: float, request_id: int
    ) -> RequestLog:
        user_agent = request.header("user-agent") or ""
        warnings = tuple(
            f"{f.code} at {f.path}: {f.message}"
            for e in outcome.events
            for f in e.findings
            if f.severity.value == "warning"
        )
        redact = self.store.redact
        return RequestLog(
            received,
            request.method,
            redact(request.path),
            outcome.status,
            redact(outcome.reply_text),
            len(outcome.events),
            source_of(user_agent),
            redact(user_agent),
            request_id,
            tuple(redact(w) for w in warnings),
        )


def _inflates(request: CaptureRequest) -> bool:
    """Whether answering may inflate a compressed payload (gzip by header, hint or magic)."""
    return (
        request.body[:2] == b"\x1f\x8b"
        or "compression=" in request.query
        or bool(request.header("content-encoding"))
        or (request.header("content-type") or "").startswith("application/x-www-form")
    )


def _to_http(outcome: CaptureOutcome) -> HttpResponse:
    headers = [(name, value) for name, value in outcome.headers.items()]
    if outcome.body or outcome.status != 204:
        headers.append(("Content-Type", outcome.content_type))
    headers.append((SANDBOX_HEADER, __version__))
    return HttpResponse(outcome.status, outcome.body, headers)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As http.server does: a restarted sandbox may take its port back from TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock
