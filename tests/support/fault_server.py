"""A real HTTP server on 127.0.0.1 that records requests and misbehaves on request.

Tests queue replies (`Reply`, `Stall`, `Reset`); with the queue empty it answers like PostHog's
capture service: 200 {"status":"Ok"}.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b'{"status":"Ok"}'
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)


@dataclass(frozen=True)
class Stall:
    """Read the request, then say nothing for `seconds` (the client's read timeout fires)."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Reset:
    """Start an answer, then drop the connection with a TCP reset halfway through the body."""


Behaviour = Reply | Stall | Reset


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    raw_body: bytes  # as it came over the wire
    body: bytes  # gunzipped when the request said Content-Encoding: gzip


@dataclass
class FaultServer:
    host: str = "127.0.0.1"
    requests: list[Recorded] = field(default_factory=list)
    # Answer 400 (as PostHog does for a batch with one bad event) when this says so.
    reject_if: Callable[[bytes], bool] | None = None
    keep_bodies: bool = True  # big batch tests keep only the event count
    events_received: int = 0

    def __post_init__(self) -> None:
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer((self.host, 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def queue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def _next(self) -> Behaviour:
        with self._lock:
            return self._queue.popleft() if self._queue else Reply()

    def _record(self, item: Recorded) -> None:
        with self._lock:
            self.requests.append(item)


def _make_handler(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self) -> None:
            raw = self._read_body()
            body = raw
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(raw)
            if server.keep_bodies:
                server._record(
                    Recorded(self.command, self.path, dict(self.headers.items()), raw, body)
                )
            behaviour = server._next()
            if server.reject_if is not None and server.reject_if(body):
                behaviour = Reply(
                    400, b"event submitted without a distinct_id", (("Content-Type", "text/plain"),)
                )
            elif isinstance(behaviour, Reply) and behaviour.status == 200 and body[:1] == b"{":
                with server._lock:
                    server.events_received += body.count(b'"event":') or 1
            if isinstance(behaviour, Stall):
                server._stop.wait(behaviour.seconds)
                self.close_connection = True
                return
            if isinstance(behaviour, Reset):
                self.wfile.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b'Content-Length: 100\r\n\r\n{"stat'
                )
                self.wfile.flush()
                # SO_LINGER with a zero timeout turns close() into a TCP RST.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            self.send_response(behaviour.status)
            for name, value in behaviour.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(behaviour.body)))
            self.end_headers()
            self.wfile.write(behaviour.body)

        do_POST = _handle
        do_GET = _handle

    return Handler


def unused_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
