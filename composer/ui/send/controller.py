"""Sends off the GUI thread: a private QThreadPool, tickets, and cancel that never waits.

The transport (and httpx with it) is built on a worker thread the first time it is needed, so
the window shows before httpx is imported. Cancel advances the ticket and sets the attempt's
cancel event: the window is usable at once, a retry wait stops, and a request already on the
wire ends at its timeout with its result ignored.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from composer.ui.tasks import submit

if TYPE_CHECKING:
    from composer.services.transport import ResponseRecord, Transport


@dataclass(frozen=True)
class SendRequest:
    url: str
    body: bytes
    secrets: tuple[str, ...]
    gzip: bool = False
    events: int = 1
    # For the history: where it went and what it was.
    profile: str = ""
    kind: str = ""
    event_names: str = ""
    endpoint: str = ""
    host: str = ""  # the host as typed, for the history


class SendController(QObject):
    """Runs one send at a time from the window's point of view.

    Signals:
        started(SendRequest): a send began.
        finished(SendRequest, ResponseRecord): the answer (or a network failure) arrived.
        failed(SendRequest, str): the send crashed; the text says why.
        cancelled(SendRequest): the user cancelled; any late answer is ignored.
    """

    started = Signal(object)
    finished = Signal(object, object)
    failed = Signal(object, str)
    cancelled = Signal(object)

    def __init__(
        self,
        transport_factory: Callable[[], Transport] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._factory = transport_factory or _default_transport
        self._transport: Transport | None = None
        self._transport_lock = threading.Lock()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(4)  # a cancelled send may still be waiting on its timeout
        self._ticket = 0
        self._live: dict[int, tuple[SendRequest, threading.Event]] = {}

    @property
    def busy(self) -> bool:
        return self._ticket in self._live

    def transport(self) -> Transport:
        with self._transport_lock:
            if self._transport is None:
                self._transport = self._factory()
            return self._transport

    def warm_up(self) -> None:
        """Build the transport and its clients (importing httpx, loading the CA bundle) on a
        worker thread, ahead of the first send."""
        self._pool.start(self._prepare)

    def _prepare(self) -> None:  # a worker thread
        with contextlib.suppress(RuntimeError):  # the window closed first: nothing to warm
            self.transport().prepare()

    @property
    def warm(self) -> bool:
        """The transport is built: a send imports nothing more."""
        return self._transport is not None

    def send(self, request: SendRequest) -> None:
        self._ticket += 1
        ticket = self._ticket
        cancel = threading.Event()

        def work() -> ResponseRecord:
            return self.transport().send(
                request.url,
                request.body,
                secrets=request.secrets,
                gzip=request.gzip,
                cancel=cancel,
            )

        self._live[ticket] = (request, cancel)
        self.started.emit(request)
        submit(self._pool, self, work, self._on_done, self._on_failed, tag=ticket)

    def cancel(self) -> None:
        live = self._live.get(self._ticket)
        if live is None:
            return
        request, cancel = live
        cancel.set()
        self._ticket += 1  # the running task's answer no longer matches
        self.cancelled.emit(request)

    def _finish(self, ticket: int) -> SendRequest | None:
        live = self._live.pop(ticket, None)
        return live[0] if live is not None and ticket == self._ticket else None

    @Slot(int, object)
    def _on_done(self, ticket: int, record: ResponseRecord) -> None:
        request = self._finish(ticket)
        if request is not None:
            self.finished.emit(request, record)

    @Slot(int, object)
    def _on_failed(self, ticket: int, exc: Exception) -> None:
        request = self._finish(ticket)
        if request is not None:
            self.failed.emit(request, f"{type(exc).__name__}: {exc}")

    def shutdown(self, wait_ms: int = 2000) -> None:
        """Stop waiting on retries, give running requests a moment, close the client."""
        for _request, cancel in self._live.values():
            cancel.set()
        self._pool.clear()
        self._pool.waitForDone(wait_ms)
        with self._transport_lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None

    def pending(self) -> Sequence[int]:
        return list(self._live)


def _default_transport() -> Transport:
    from composer.services.transport import Transport

    return Transport()
