"""The sandbox room: the local sandbox the window starts (or finds running) and its inbox."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot
from PySide6.QtWidgets import QWidget

from composer.sandbox.local import LocalSandbox, start_local_sandbox
from composer.ui.sandbox.inbox import InboxPane
from composer.ui.tasks import submit


class SandboxRoom(QObject):
    """Signals:
    started(str): the sandbox answers at this URL.
    message(str, int): a status-bar text.
    """

    started = Signal(str)
    message = Signal(str, int)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.local: LocalSandbox | None = None
        self.inbox = InboxPane(parent)
        self._pool = QThreadPool(self)

    def start(self) -> None:
        """Start (or find) the local sandbox on a worker thread; the inbox follows it."""
        submit(self._pool, self, start_local_sandbox, self._on_started, self._on_failed)

    @Slot(int, object)
    def _on_started(self, _tag: int, sandbox: LocalSandbox) -> None:
        self.local = sandbox
        self.inbox.watch(sandbox.db, sandbox.url, sandbox.note)
        self.started.emit(sandbox.url)
        if sandbox.note:
            self.message.emit(sandbox.note, 10000)

    @Slot(int, object)
    def _on_failed(self, _tag: int, exc: BaseException) -> None:
        text = f"The local sandbox could not start: {exc}"
        self.inbox.where.setText(text)
        self.message.emit(text, 15000)

    def shutdown(self) -> None:
        """Stop the inbox and the sandbox this window started."""
        self.inbox.stop()
        self._pool.waitForDone(5000)
        if self.local is not None:
            self.local.stop()
            self.local = None
