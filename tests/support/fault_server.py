"""A real HTTP server on 127.0.0.1 that records requests and misbehaves on request.

Tests queue replies (`Reply`, `Stall`, `Reset`); with the queue empty it answers like PostHog's
capture service: 200 {"status":"Ok"}. `decide` picks a reply per request instead (the n-th
request, its body). `stored` counts the uuids of every event the server kept: those of 2xx
answers, and of `Reset`, which keeps the events and then loses the answer. `hold_request(n)`
keeps the n-th request's events and then holds its answer back until `release()`, so a test
can kill the client with a request in flight at a point of its choosing.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import threading
from collections import Counter, deque
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


def events_in(body: bytes) -> list[dict[str, object]]:
    """The events of a capture body (a /batch/ envelope, a list or one event) with a uuid."""
    import orjson

    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    events = doc.get("batch", [doc]) if isinstance(doc, dict) else doc
    return [e for e in events if isinstance(e, dict) and isinstance(e.get("uuid"), str)]


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
    # (request number from 1, body) -> what to do; None: the queue, then 200.
    decide: Callable[[int, bytes], Behaviour | None] | None = None
    record_uuids: bool = False
    stored: Counter[str] = field(default_factory=Counter)
    stored_events: dict[str, dict[str, object]] = field(default_factory=dict)  # by uuid
    requests_seen: int = 0
    held_uuids: list[str] = field(default_factory=list)  # those of the held request

    def __post_init__(self) -> None:
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer((self.host, 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._hold_at: int | None = None
        self.holding = threading.Event()  # set while the held request waits
        self._released = threading.Event()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def hold_request(self, number: int) -> None:
        """Keep the events of the `number`-th request, then answer nothing until release()."""
        with self._lock:
            self._hold_at = number
            self.holding.clear()
            self._released.clear()

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self._released.set()
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def queue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def _next(self, body: bytes) -> tuple[int, Behaviour]:
        with self._lock:
            self.requests_seen += 1
            number = self.requests_seen
            chosen = self.decide(number, body) if self.decide is not None else None
            if chosen is None:
                chosen = self._queue.popleft() if self._queue else Reply()
            return number, chosen

    def _store(self, body: bytes) -> list[str]:
        events = events_in(body)
        uuids = [str(e["uuid"]) for e in events]
        with self._lock:
            self.stored.update(uuids)
            self.stored_events.update(zip(uuids, events, strict=True))
        return uuids

    def _record(self, item: Recorded) -> None:
        with self._lock:
            self.requests.append(item)


def _make_handler(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, the second waits for the
        # client's delayed ACK, 40 ms a request on Linux.
        disable_nagle_algorithm = True

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
            number, behaviour = server._next(body)
            if number == server._hold_at:
                held = server._store(body) if server.record_uuids else []
                with server._lock:
                    server.held_uuids = held
                server.holding.set()
                server._released.wait()
                # The client is gone (killed); whatever is written now goes nowhere.
                with contextlib.suppress(OSError):
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                self.close_connection = True
                return
            if server.reject_if is not None and server.reject_if(body):
                behaviour = Reply(
                    400, b"event submitted without a distinct_id", (("Content-Type", "text/plain"),)
                )
            elif isinstance(behaviour, Reply) and behaviour.status == 200 and body[:1] == b"{":
                with server._lock:
                    server.events_received += body.count(b'"event":') or 1
            if server.record_uuids and (
                isinstance(behaviour, Reset)
                or (isinstance(behaviour, Reply) and 200 <= behaviour.status < 300)
            ):
                server._store(body)
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
