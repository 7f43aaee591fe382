"""Work off the GUI thread: a QRunnable that reports through a signals object.

The signals object is parented to a GUI-thread QObject, so Qt delivers its signals on the GUI
thread (queued) and destroys it there, never on a pool thread. Connect its signals to bound
methods of QObjects, not to lambdas, so that the queued delivery holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

T = TypeVar("T")


class TaskSignals(QObject):
    """Signals: done(tag, result) and failed(tag, exception), on the owner's thread."""

    done = Signal(int, object)
    failed = Signal(int, object)


class Task(QRunnable):
    def __init__(self, fn: Callable[[], object], signals: TaskSignals, tag: int = 0) -> None:
        super().__init__()
        self.signals = signals
        self._fn = fn
        self._tag = tag

    def run(self) -> None:  # a pool thread: no widgets here
        try:
            result = self._fn()
        except Exception as exc:  # reported to the GUI thread, never swallowed
            self.signals.failed.emit(self._tag, exc)
        else:
            self.signals.done.emit(self._tag, result)


def submit(
    pool: QThreadPool,
    owner: QObject,
    fn: Callable[[], T],
    on_done: Callable[[int, T], None],
    on_failed: Callable[[int, Exception], None],
    tag: int = 0,
) -> TaskSignals:
    """Run `fn` on `pool`; `on_done`/`on_failed` (bound QObject methods) get its outcome."""
    signals = TaskSignals(owner)
    signals.done.connect(on_done)
    signals.failed.connect(on_failed)
    signals.done.connect(signals.deleteLater)
    signals.failed.connect(signals.deleteLater)
    pool.start(Task(fn, signals, tag))
    return signals


class TaskRunner(QObject):
    """Runs callables on a pool and calls back on the GUI thread, with any bound context.

    The callbacks may be partials or lambdas: they are called from `_done`/`_failed`, bound
    slots of this GUI-thread object, so they always run on the GUI thread.
    """

    def __init__(self, pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        # Results cross the thread boundary as objects; run() has matched each callback's
        # type to its function's result.
        self._pending: dict[int, tuple[Callable[[Any], None], Callable[[Exception], None]]] = {}
        self._next = 0

    def run(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None],
        on_failed: Callable[[Exception], None],
    ) -> None:
        self._next += 1
        self._pending[self._next] = (on_done, on_failed)
        submit(self.pool, self, fn, self._done, self._failed, tag=self._next)

    @property
    def idle(self) -> bool:
        return not self._pending

    @Slot(int, object)
    def _done(self, tag: int, result: Any) -> None:
        on_done, _ = self._pending.pop(tag)
        on_done(result)

    @Slot(int, object)
    def _failed(self, tag: int, exc: Exception) -> None:
        _, on_failed = self._pending.pop(tag)
        on_failed(exc)
