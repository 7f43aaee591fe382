"""The sandbox's HTTP/1.1 plumbing: bounded, timed, and strict about framing.

One asyncio loop on its own thread owns every socket, so idle keep-alive connections cost a
few kilobytes each and never hold a worker; request handling (parsing, the capture rules, the
inbox) runs on a small thread pool. h11 does the framing, so a negative, missing-but-needed or
garbage Content-Length, a bad chunk size or a malformed request line is a 400, never a read
until the client gives up. Limits:

- the head of a request: 64 KiB;
- a body: `max_body` bytes on the wire (PostHog's 20 MiB), checked against Content-Length
  before reading and while reading a chunked body: 413;
- bodies over 1 MiB are read a few at a time (`large_bodies`), so many large uploads at once
  wait for their turn instead of all sitting in memory;
- a client that stops sending mid-request gets 408 after `read_timeout`; a connection idle
  between requests is closed after `idle_timeout`;
- a client that hangs up is simply forgotten: no traceback, a debug line in the log.

Replies go out in one write with TCP_NODELAY: a reply split over two segments would wait for
the client's delayed ACK (40 ms on Linux) before the second part left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus

import h11

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
LARGE_BODY = 1024 * 1024
READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # names in lower case; repeated headers joined with ", "
    body: bytes
    client: str  # "host:port" of the peer


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False  # close the connection after this reply
    to_head: bool = False  # the answer to HEAD: its headers say the body's length, no body


@dataclass(frozen=True)
class Limits:
    max_body: int = 20 * 1024 * 1024
    read_timeout: float = 10.0
    idle_timeout: float = 30.0
    workers: int = 4
    large_bodies: int = 4  # bodies over 1 MiB read at once


Handler = Callable[[HttpRequest], HttpResponse]
# What the handler answers when the framing itself is wrong: (status, text).
FramingReply = Callable[[int, str], HttpResponse]


class _Stalled(Exception):
    """The client stopped sending in the middle of a request."""


class _Closed(Exception):
    """The client closed the connection (or went idle too long) between requests."""


class HttpServer:
    """Serves `handler` on a bound, listening socket until stop()."""

    def __init__(
        self,
        sock: socket.socket,
        handler: Handler,
        *,
        limits: Limits,
        framing_reply: FramingReply,
        server_header: str,
    ) -> None:
        self._sock = sock
        self._handler = handler
        self._limits = limits
        self._framing_reply = framing_reply
        self._server_header = server_header.encode()
        self._pool = ThreadPoolExecutor(limits.workers, thread_name_prefix="sandbox-worker")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._done = threading.Event()
        self._connections: set[asyncio.Task[None]] = set()
        self._large: asyncio.Semaphore | None = None

    # -- lifetime ------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Run the loop in this thread until stop() (from another thread) or Ctrl+C."""
        try:
            asyncio.run(self._serve())
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._done.set()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sandbox-server", daemon=True)
        thread.start()
        self._ready.wait(5)
        return thread

    def stop(self, timeout: float = 5.0) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                loop.call_soon_threadsafe(stopping.set)
            self._done.wait(timeout)
        with contextlib.suppress(OSError):
            self._sock.close()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._large = asyncio.Semaphore(self._limits.large_bodies)
        server = await asyncio.start_server(self._accept, sock=self._sock, limit=READ_CHUNK)
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._connections):
                task.cancel()
            if self._connections:
                await asyncio.wait(self._connections, timeout=2)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = writer.get_extra_info("peername") or ("", 0)
        client = f"{peer[0]}:{peer[1]}"
        try:
            await self._connection(reader, writer, client)
        except (_Closed, ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except Exception:  # a bug: one connection lost, the server keeps serving
            log.exception("the sandbox failed on a connection from %s", client)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    # -- one connection ------------------------------------------------------------------------

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: str
    ) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        while True:
            try:
                response = await self._one_request(conn, reader, writer, client)
            except h11.RemoteProtocolError as exc:
                response = self._framing_reply(400, f"malformed request: {exc}")
                response.close = True
            except _Stalled:
                response = self._framing_reply(408, "client stopped sending data")
                response.close = True
            if response is None:
                return
            await self._reply(conn, writer, response)
            if response.close or conn.our_state is not h11.DONE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return  # the request was not read to its end: the connection cannot go on

    async def _one_request(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client: str,
    ) -> HttpResponse | None:
        event = await self._next(conn, reader, idle=True)
        if isinstance(event, h11.ConnectionClosed):
            raise _Closed
        assert isinstance(event, h11.Request)
        headers: dict[str, str] = {}
        for raw_name, raw_value in event.headers:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        request_head = (event.method.decode("latin-1"), event.target.decode("latin-1"), headers)
        declared = headers.get("content-length")
        limit = self._limits.max_body
        if declared is not None and int(declared) > limit:
            return self._too_large(limit)
        large = declared is not None and int(declared) > LARGE_BODY
        if conn.client_is_waiting_for_100_continue:
            writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
        assert self._large is not None
        if large:
            await self._large.acquire()
        try:
            body = await self._read_body(conn, reader, limit, large)
            if body is None:
                return self._too_large(limit)
            method, target, headers = request_head
            request = HttpRequest(method, target, headers, body, client)
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(self._pool, self._handler, request)
            response.to_head = method.upper() == "HEAD"
            return response
        finally:
            if large:
                self._large.release()

    async def _read_body(
        self, conn: h11.Connection, reader: asyncio.StreamReader, limit: int, large: bool
    ) -> bytes | None:
        """The whole body, or None when it grows past `limit` (a chunked body)."""
        parts: list[bytes] = []
        total = 0
        assert self._large is not None
        while True:
            event = await self._next(conn, reader, idle=False)
            if isinstance(event, h11.Data):
                total += len(event.data)
                if total > limit:
                    return None
                if not large and total > LARGE_BODY:
                    # A chunked body turned out large: wait for a turn like the others.
                    await self._large.acquire()
                    large = True
                    try:
                        rest = await self._read_body(conn, reader, limit - total, True)
                    finally:
                        self._large.release()
                    return None if rest is None else b"".join([*parts, event.data, rest])
                parts.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            elif isinstance(event, h11.ConnectionClosed):
                raise _Stalled

    async def _next(
        self, conn: h11.Connection, reader: asyncio.StreamReader, *, idle: bool
    ) -> h11.Event:
        """The next h11 event, reading as needed. Waiting for a new request uses the idle
        timeout; anything once a request has begun uses the read timeout."""
        while True:
            event = conn.next_event()
            if event is h11.PAUSED:
                raise _Closed  # a pipelined request while this one is answered
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            between = idle and conn.their_state is h11.IDLE and not conn.trailing_data[0]
            timeout = self._limits.idle_timeout if between else self._limits.read_timeout
            try:
                data = await asyncio.wait_for(reader.read(READ_CHUNK), timeout)
            except TimeoutError:
                if between:
                    raise _Closed from None
                raise _Stalled from None
            if not data and conn.their_state is h11.IDLE:
                raise _Closed
            conn.receive_data(data)

    def _too_large(self, limit: int) -> HttpResponse:
        response = self._framing_reply(
            413, f"maximum event size exceeded: Request body exceeds limit of {limit} bytes"
        )
        response.close = True
        return response

    async def _reply(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, response: HttpResponse
    ) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        headers.append((b"Server", self._server_header))
        if response.status not in (204, 304):
            headers.append((b"Content-Length", str(len(response.body)).encode()))
        if response.close:
            headers.append((b"Connection", b"close"))
        try:
            reason = HTTPStatus(response.status).phrase.encode()
        except ValueError:
            reason = b""
        data = conn.send(h11.Response(status_code=response.status, headers=headers, reason=reason))
        if response.body and not response.to_head and conn.our_state is h11.SEND_BODY:
            data += conn.send(h11.Data(data=response.body))
        data += conn.send(h11.EndOfMessage())
        writer.write(data)
        await writer.drain()
