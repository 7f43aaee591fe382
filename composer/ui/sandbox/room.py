"""The sandbox room: the local sandbox the window starts (or finds running) and its inbox."""

from __future__ import annotations

import threading
from functools import partial

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QWidget

from composer.core.persons import PersonGraph
from composer.sandbox.local import LocalSandbox, start_sandbox_process
from composer.sandbox.persons import read_graph
from composer.ui.sandbox.inbox import InboxPane
from composer.ui.tasks import submit

PERSONS_DELAY_MS = 300  # new events come in bursts: read the persons once they settle


class SandboxRoom(QObject):
    """Signals:
    started(str): the sandbox answers at this URL.
    message(str, int): a status-bar text.
    persons_changed(PersonGraph): the sandbox's persons as they are now (after new events).
    """

    started = Signal(str)
    message = Signal(str, int)
    persons_changed = Signal(PersonGraph)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.local: LocalSandbox | None = None
        self._made: list[LocalSandbox] = []
        self._closed = False  # shut down: a sandbox that starts after that is stopped at once
        self._lock = threading.Lock()
        self.persons = PersonGraph()
        self.inbox = InboxPane(parent)
        self._pool = QThreadPool(self)
        self._persons_pool = QThreadPool(self)
        self._persons_pool.setMaxThreadCount(1)
        self._reading = False
        self._read_again = False
        self._persons_timer = QTimer(self)
        self._persons_timer.setSingleShot(True)
        self._persons_timer.setInterval(PERSONS_DELAY_MS)
        self._persons_timer.timeout.connect(self.read_persons)
        self.inbox.count_changed.connect(self._persons_timer.start)

    def start(self) -> None:
        """Start (or find) the local sandbox on a worker thread; the inbox follows it."""
        submit(self._pool, self, self._start, self._on_started, self._on_failed)

    def _start(self) -> LocalSandbox:  # a worker thread
        sandbox = start_sandbox_process()
        # Kept here at once, not only when the queued "started" arrives: a window closed
        # meanwhile must still stop the process it started. One closed while the process
        # was still starting (past shutdown's wait) stops it here.
        with self._lock:
            closed = self._closed
            if not closed:
                self._made.append(sandbox)
        if closed:
            sandbox.stop()
            raise RuntimeError("the window closed while its sandbox was starting")
        return sandbox

    @Slot(int, object)
    def _on_started(self, _tag: int, sandbox: LocalSandbox) -> None:
        self.local = sandbox
        self.inbox.watch(sandbox.db, sandbox.url, sandbox.note)
        self.started.emit(sandbox.url)
        self.read_persons()
        if sandbox.note:
            self.message.emit(sandbox.note, 10000)

    @Slot(int, object)
    def _on_failed(self, _tag: int, exc: BaseException) -> None:
        text = f"The local sandbox could not start: {exc}"
        self.inbox.where.setText(text)
        self.message.emit(text, 15000)

    def read_persons(self) -> None:
        """Read the sandbox's persons off the GUI thread (a send is predicted against them)."""
        if self.local is None:
            return
        if self._reading:
            self._read_again = True
            return
        self._reading = True
        db = self.local.db
        submit(
            self._persons_pool,
            self,
            partial(read_graph, db),
            self._on_persons,
            self._on_persons_failed,
        )

    @Slot(int, object)
    def _on_persons(self, _tag: int, graph: PersonGraph) -> None:
        self._reading = False
        self.persons = graph
        self.persons_changed.emit(graph)
        if self._read_again:
            self._read_again = False
            self.read_persons()

    @Slot(int, object)
    def _on_persons_failed(self, _tag: int, exc: BaseException) -> None:
        self._reading = False
        self.message.emit(f"The sandbox's persons could not be read: {exc}", 10000)

    def shutdown(self) -> None:
        """Stop the inbox and the sandbox this window started."""
        self._persons_timer.stop()
        self._persons_pool.waitForDone(5000)
        self.inbox.stop()
        self._pool.waitForDone(5000)
        with self._lock:
            self._closed = True
            made, self._made = self._made, []
        for sandbox in made:
            sandbox.stop()
        self.local = None
