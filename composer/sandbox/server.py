"""The sandbox's HTTP server: loopback only, threaded, HTTP/1.1 keep-alive.

Each request goes through `composer.core.capture.service.process` (the same rules as PostHog's
capture service) and then into the inbox store. A store failure answers 503, as PostHog does
when Kafka fails, and a bug answers 500; neither takes the server down.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import orjson

from composer import __version__
from composer.core.capture.hosts import is_loopback
from composer.core.capture.preflight import replies
from composer.core.capture.service import (
    MAX_BODY_BYTES,
    SANDBOX_HEADER,
    CaptureOutcome,
    CaptureRequest,
    process,
)
from composer.sandbox.store import SandboxStore, StoreError, source_of

log = logging.getLogger(__name__)

DEFAULT_PORT = 8787


@dataclass(frozen=True)
class RequestLog:
    """One answered request, for the console log and the window."""

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
        rate_limit: int | None = None,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox listens on this machine only, not on {host}")
        self.store = store
        self.on_request = on_request
        self.read_timeout = read_timeout
        self.rate_limit = RateLimit(rate_limit) if rate_limit else None
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("_Server", (ThreadingHTTPServer,), {"address_family": family})
        self._server: ThreadingHTTPServer = server_class((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sandbox-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- one request ---------------------------------------------------------------------------

    def info(self) -> CaptureOutcome:
        """`GET /_sandbox`: who is listening, and where its inbox is (for a window to read)."""
        body = orjson.dumps(
            {
                "sandbox": "posthog-event-composer",
                "version": __version__,
                "db": self.store.path,
                "pid": os.getpid(),
            }
        )
        return CaptureOutcome(200, body, "application/json")

    def handle(self, request: CaptureRequest) -> CaptureOutcome:
        if request.path.rstrip("/") == "/_sandbox" and request.method.upper() == "GET":
            return self.info()
        received = time.time()
        try:
            outcome = process(request)
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
            request.method.upper() != "OPTIONS"
        ):
            try:
                request_id = self.store.record(request, outcome, received)
            except (StoreError, OSError, sqlite3.Error) as exc:
                log.warning("the sandbox could not store a request: %s", exc)
                outcome = CaptureOutcome(
                    503, b"transient error, please retry", headers=outcome.headers
                )
        if self.on_request is not None and request_id is not None:
            user_agent = request.header("user-agent") or ""
            warnings = tuple(
                f"{f.code} at {f.path}: {f.message}"
                for e in outcome.events
                for f in e.findings
                if f.severity.value == "warning"
            )
            self.on_request(
                RequestLog(
                    received,
                    request.method,
                    request.path,
                    outcome.status,
                    outcome.reply_text,
                    len(outcome.events),
                    source_of(user_agent),
                    user_agent,
                    request_id,
                    warnings,
                )
            )
        return outcome


class _ClientStalled(Exception):
    pass


def _make_handler(sandbox: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"event-composer-sandbox/{__version__}"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _read_body(self) -> bytes:
            self.connection.settimeout(sandbox.read_timeout)
            try:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    return self._read_chunked()
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    raise ValueError("too large")
                data = self.rfile.read(length) if length else b""
                if len(data) < length:
                    raise _ClientStalled
                return data
            except TimeoutError:
                raise _ClientStalled from None
            finally:
                self.connection.settimeout(None)

        def _read_chunked(self) -> bytes:
            parts: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                total += size
                if total > MAX_BODY_BYTES:
                    raise ValueError("too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline()

        def _handle(self) -> None:
            split = urlsplit(self.path)
            try:
                body = self._read_body()
            except _ClientStalled:
                self._reply(CaptureOutcome(408, b"client stopped sending data"))
                self.close_connection = True
                return
            except ValueError:
                self._reply(
                    CaptureOutcome(
                        413, replies.BODY_TOO_LARGE.format(limit=MAX_BODY_BYTES).encode()
                    )
                )
                self.close_connection = True
                return
            request = CaptureRequest(
                method=self.command,
                path=split.path,
                query=split.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                client=f"{self.client_address[0]}:{self.client_address[1]}",
            )
            self._reply(sandbox.handle(request))

        def _reply(self, outcome: CaptureOutcome) -> None:
            self.send_response(outcome.status)
            if outcome.body or outcome.status not in (204,):
                self.send_header("Content-Type", outcome.content_type)
            for name, value in outcome.headers.items():
                self.send_header(name, value)
            self.send_header(SANDBOX_HEADER, __version__)
            self.send_header("Content-Length", str(len(outcome.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(outcome.body)

        do_GET = _handle
        do_POST = _handle
        do_OPTIONS = _handle
        do_PUT = _handle
        do_DELETE = _handle
        do_PATCH = _handle

    return Handler


def port_in_use(error: OSError) -> bool:
    return error.errno in (errno.EADDRINUSE, errno.EACCES)
