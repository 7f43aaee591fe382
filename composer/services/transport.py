"""Sending a body to a capture endpoint and recording exactly what happened.

One shared `httpx.Client` with explicit timeouts. Retries follow posthog-python: network
errors, 5xx, 408 and 429 (honouring Retry-After); never another 4xx. Every attempt is kept in
the record, and the project key is masked everywhere the record shows the request.
"""

from __future__ import annotations

import gzip as gziplib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from composer import __version__
from composer.core.capture.bodies import mask_key
from composer.core.capture.responses import Interpretation, interpret, is_retryable_status
from composer.services._httpx_lite import httpx

log = logging.getLogger(__name__)

USER_AGENT = f"posthog-event-composer/{__version__}"


class ErrorKind(StrEnum):
    DNS = "dns"
    REFUSED = "refused"
    TLS = "tls"
    CONNECT_TIMEOUT = "connect_timeout"
    READ_TIMEOUT = "read_timeout"
    WRITE_TIMEOUT = "write_timeout"
    RESET = "reset"
    PROTOCOL = "protocol"
    CANCELLED = "cancelled"
    OTHER = "other"


_NOT_RETRIED = frozenset({ErrorKind.DNS, ErrorKind.TLS, ErrorKind.CANCELLED})


@dataclass(frozen=True)
class NetworkError:
    kind: ErrorKind
    message: str  # one line, plain words, what happened
    guidance: str  # what to do about it

    def __str__(self) -> str:
        return f"{self.message} {self.guidance}".strip()


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 15.0  # posthog-python's default request timeout
    write: float = 15.0
    pool: float = 5.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3  # posthog-python: 3 retries, 4 attempts in all
    backoff_base: float = 1.0  # 1, 2, 4 ... seconds
    backoff_cap: float = 30.0
    retry_after_cap: float = 30.0

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        backoff = min(self.backoff_base * 2.0 ** (retry_number - 1), self.backoff_cap)
        if retry_after is not None:
            return min(max(backoff, retry_after), max(self.retry_after_cap, backoff))
        return backoff


NO_RETRIES = RetryPolicy(max_retries=0)


@dataclass(frozen=True)
class Attempt:
    number: int
    waited: float  # seconds slept before this attempt (backoff or Retry-After)
    elapsed: float  # seconds from sending to the end of the answer or the failure
    status: int | None = None
    error: NetworkError | None = None
    retry_after: float | None = None


@dataclass
class ResponseRecord:
    """What was sent and what came back, with the key masked."""

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes  # before compression, key masked
    request_size: int  # bytes on the wire
    gzip: bool
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    elapsed: float = 0.0  # the whole send, retries and waits included
    attempts: list[Attempt] = field(default_factory=list)
    error: NetworkError | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def size(self) -> int:
        return len(self.body)

    @property
    def last_elapsed(self) -> float:
        return self.attempts[-1].elapsed if self.attempts else 0.0

    def header(self, name: str) -> str | None:
        lower = name.lower()
        for key, value in self.response_headers:
            if key.lower() == lower:
                return value
        return None

    @property
    def interpretation(self) -> Interpretation | None:
        if self.status is None:
            return None
        return interpret(self.status, self.body, self.header("content-type") or "")

    def to_dict(self) -> dict[str, Any]:
        body_text = self.body.decode("utf-8", "replace")
        meaning = self.interpretation
        return {
            "method": self.method,
            "url": self.url,
            "request": {
                "headers": dict(self.request_headers),
                "size": self.request_size,
                "gzip": self.gzip,
            },
            "status": self.status,
            "ok": self.ok,
            "headers": dict(self.response_headers),
            "body": body_text,
            "size": self.size,
            "elapsed_ms": round(self.elapsed * 1000, 1),
            "attempts": [
                {
                    "number": a.number,
                    "waited_ms": round(a.waited * 1000, 1),
                    "elapsed_ms": round(a.elapsed * 1000, 1),
                    "status": a.status,
                    "error": None if a.error is None else a.error.kind.value,
                    "retry_after": a.retry_after,
                }
                for a in self.attempts
            ],
            "error": None
            if self.error is None
            else {
                "kind": self.error.kind.value,
                "message": self.error.message,
                "guidance": self.error.guidance,
            },
            "meaning": None
            if meaning is None
            else {
                "style": meaning.style.value,
                "summary": meaning.summary,
                "detail": meaning.detail,
                "guidance": meaning.guidance,
            },
        }


class Cancelled(Exception):
    pass


def redact(data: bytes, secrets: Sequence[str]) -> bytes:
    for secret in secrets:
        if secret:
            data = data.replace(secret.encode(), mask_key(secret).encode())
    return data


def classify_error(exc: Exception, url: str, timeouts: Timeouts) -> NetworkError:
    """Turn an httpx failure into one plain sentence and what to do about it."""
    host = httpx.URL(url).host
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectTimeout):
        return NetworkError(
            ErrorKind.CONNECT_TIMEOUT,
            f"Could not connect to {host} within {timeouts.connect:g} s.",
            "Check the host and your network; a firewall or VPN may be dropping the connection.",
        )
    if isinstance(exc, httpx.ReadTimeout):
        return NetworkError(
            ErrorKind.READ_TIMEOUT,
            f"{host} accepted the request but sent no answer within {timeouts.read:g} s.",
            "The server is overloaded or stalled; try again, or raise the timeout.",
        )
    if isinstance(exc, httpx.WriteTimeout):
        return NetworkError(
            ErrorKind.WRITE_TIMEOUT,
            f"Sending the body to {host} stalled for {timeouts.write:g} s.",
            "Check the network; for large batches, send smaller requests.",
        )
    if isinstance(exc, httpx.PoolTimeout):
        return NetworkError(
            ErrorKind.CONNECT_TIMEOUT,
            "Too many requests were already in flight.",
            "Wait for the others to finish, then send again.",
        )
    for item in chain:
        if isinstance(item, socket.gaierror):
            return NetworkError(
                ErrorKind.DNS,
                f"Could not resolve {host}: the name does not exist or DNS is unreachable.",
                "Check the spelling of the host (us.i.posthog.com, eu.i.posthog.com) and"
                " your connection.",
            )
        if isinstance(item, ssl.SSLCertVerificationError):
            return NetworkError(
                ErrorKind.TLS,
                f"The TLS certificate of {host} could not be verified ({item.verify_message}).",
                "Check the host name; a self-hosted instance needs a certificate your system"
                " trusts.",
            )
        if isinstance(item, ssl.SSLError):
            reason = getattr(item, "reason", None) or str(item)
            hint = (
                " The server seems to speak plain HTTP: use http:// for it."
                if "WRONG_VERSION_NUMBER" in str(reason).upper()
                or "RECORD_LAYER" in str(reason).upper()
                else ""
            )
            return NetworkError(
                ErrorKind.TLS,
                f"The TLS handshake with {host} failed ({reason}).{hint}",
                "Check that the URL's scheme and port match the server.",
            )
        if isinstance(item, ConnectionRefusedError):
            return NetworkError(
                ErrorKind.REFUSED,
                f"{host} refused the connection: nothing is listening on that port.",
                "Check the host and port; is the server running?",
            )
        if isinstance(item, ConnectionResetError | BrokenPipeError):
            return NetworkError(
                ErrorKind.RESET,
                f"{host} reset the connection before the answer was complete.",
                "It is safe to send again; if it keeps happening, a proxy may be cutting it.",
            )
    if isinstance(exc, httpx.RemoteProtocolError):
        return NetworkError(
            ErrorKind.RESET,
            f"{host} closed the connection without a complete answer ({exc}).",
            "It is safe to send again; if it keeps happening, a proxy may be cutting it.",
        )
    if isinstance(exc, httpx.ConnectError):
        return NetworkError(
            ErrorKind.REFUSED, f"Could not connect to {host} ({exc}).", "Check the host and port."
        )
    return NetworkError(ErrorKind.OTHER, f"The request to {host} failed: {exc}.", "")


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Transport:
    """Sends bodies; safe to share between threads (httpx.Client is)."""

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self._given = client
        self._clients: dict[bool, httpx.Client] = {}  # by "is HTTPS", made on first use
        self._lock = threading.Lock()
        self._closed = False

    def _client(self, secure: bool) -> httpx.Client:
        if self._given is not None:
            return self._given
        client = self._clients.get(secure)
        if client is None:
            with self._lock:
                if self._closed:  # as httpx says of a closed client: no new one behind it
                    raise RuntimeError("Cannot send a request, as the transport has been closed.")
                client = self._clients.get(secure)
                if client is None:
                    client = self._clients[secure] = self._make_client(secure)
        return client

    def prepare(self) -> None:
        """Make both clients now (the window, on a worker at start): loading the CA bundle
        holds the interpreter lock, which the first HTTPS send must not take from the GUI."""
        for secure in (False, True):
            self._client(secure)

    def _make_client(self, secure: bool) -> httpx.Client:
        # Loading the CA bundle is 26 ms of every CLI start, and a plain-HTTP target (the
        # sandbox, a local proxy) never makes a TLS handshake: redirects are not followed.
        # Its client gets a context with no CA at all, so a handshake through it could only
        # fail verification, never pass unchecked.
        verify: ssl.SSLContext | bool = True if secure else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return httpx.Client(
            timeout=self.timeouts.to_httpx(),
            follow_redirects=False,  # a redirect is reported, not followed (contract §13.13)
            headers={"User-Agent": USER_AGENT},
            verify=verify,
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            clients = list(self._clients.values())
        for client in clients:
            client.close()
        if self._given is not None:
            self._given.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self,
        url: str,
        body: bytes,
        *,
        secrets: Sequence[str] = (),
        gzip: bool = False,
        cancel: threading.Event | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
        retry: RetryPolicy | None = None,
    ) -> ResponseRecord:
        """POST `body` to `url` exactly as given (gzipped if asked) and record the outcome."""
        policy = retry or self.retry
        headers = {"Content-Type": "application/json"}
        payload = body
        if gzip:
            payload = gziplib.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        record = ResponseRecord(
            method="POST",
            url=url,
            request_headers=[],
            request_body=redact(body, secrets),
            request_size=len(payload),
            gzip=gzip,
        )
        started = time.monotonic()
        waited = 0.0
        for number in range(1, policy.max_retries + 2):
            if cancel is not None and cancel.is_set():
                record.error = _cancelled()
                break
            attempt = self._attempt(url, payload, headers, number, waited, record, secrets)
            record.attempts.append(attempt)
            if on_attempt is not None:
                on_attempt(attempt)
            retryable = (attempt.error is not None and attempt.error.kind not in _NOT_RETRIED) or (
                attempt.status is not None and is_retryable_status(attempt.status)
            )
            if not retryable or number > policy.max_retries:
                break
            waited = policy.delay(number, attempt.retry_after)
            log.debug("retrying %s in %.2f s (attempt %d)", url, waited, number + 1)
            if cancel is not None:
                if cancel.wait(waited):
                    record.error = _cancelled()
                    break
            else:
                time.sleep(waited)
        record.elapsed = time.monotonic() - started
        log.debug("POST %s -> %s in %.1f ms", url, record.status, record.elapsed * 1000)
        return record

    def _attempt(
        self,
        url: str,
        payload: bytes,
        headers: dict[str, str],
        number: int,
        waited: float,
        record: ResponseRecord,
        secrets: Sequence[str],
    ) -> Attempt:
        client = self._client(url[:8].lower() == "https://")
        request = client.build_request("POST", url, content=payload, headers=headers)
        record.request_headers = list(request.headers.multi_items())
        t0 = time.monotonic()
        try:
            response = client.send(request)
        except httpx.HTTPError as exc:
            error = classify_error(exc, url, self.timeouts)
            record.error, record.status, record.response_headers, record.body = error, None, [], b""
            return Attempt(number, waited, time.monotonic() - t0, error=error)
        elapsed = time.monotonic() - t0
        record.error = None
        record.status = response.status_code
        record.response_headers = list(response.headers.multi_items())
        # Redacted too: a server that echoes the request must not put the key into a record.
        record.body = redact(response.content, secrets)
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return Attempt(
            number, waited, elapsed, status=response.status_code, retry_after=retry_after
        )


def _cancelled() -> NetworkError:
    return NetworkError(ErrorKind.CANCELLED, "Cancelled before an answer arrived.", "")
