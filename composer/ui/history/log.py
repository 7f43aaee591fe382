"""The history's store and its one worker thread, kept apart from the History tab.

Every send is recorded from the window's first send on, while the tab itself is built only
when it is first opened (composer/ui/widgets/lazy.py): building it for the first send's entry
cost the GUI thread 25-50 ms at the end of a batch send. The tab, once built, reads and
writes through this same log, so every use of the SQLite file stays on one thread, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from PySide6.QtCore import QObject, QThreadPool, Signal

from composer import settings as app_settings
from composer.services.history import HistoryEntry, HistoryStore, default_path
from composer.ui.tasks import TaskRunner

T = TypeVar("T")


class HistoryLog(QObject):
    """Signals:
    opened(): the store is open (`loaded` and `note` say how it went).
    added(): an entry was written.
    message(str, int): for the status bar: what went wrong, or a history file kept aside.
    """

    opened = Signal()
    added = Signal()
    message = Signal(str, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store: HistoryStore | None = None
        self.loaded: app_settings.Loaded | None = None
        self.note = ""  # what opening the store had to say (a corrupt file kept aside)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # SQLite from one thread; writes in order
        self._tasks = TaskRunner(self._pool, self)
        self.start()  # its answer arrives on the event loop, once its owner is wired

    @property
    def is_open(self) -> bool:
        return self.loaded is not None

    @property
    def idle(self) -> bool:
        return self._tasks.idle

    def start(self) -> None:
        self._tasks.run(self._open, self._on_opened, self._on_failed)

    def _open(self) -> tuple[app_settings.Loaded, str]:  # the worker thread
        loaded = app_settings.load()
        self.store = HistoryStore(default_path())
        self.store.prune(keep_days=loaded.settings.history_days)
        return loaded, self.store.note

    def _on_opened(self, result: tuple[app_settings.Loaded, str]) -> None:
        self.loaded, self.note = result
        self.opened.emit()
        if self.note:  # a history file that could not be read, kept aside
            self.message.emit(self.note, 15000)

    def _on_failed(self, exc: Exception) -> None:
        self.message.emit(f"History: {exc}", 15000)

    def run(
        self,
        fn: Callable[[HistoryStore], T],
        on_done: Callable[[T], None],
        on_failed: Callable[[Exception], None] | None = None,
    ) -> None:
        """`fn(store)` on the history's thread, after whatever was asked for before it."""
        self._tasks.run(partial(self._with_store, fn), on_done, on_failed or self._on_failed)

    def _with_store(self, fn: Callable[[HistoryStore], T]) -> T:
        if self.store is None:
            raise RuntimeError("the history is not available")
        return fn(self.store)

    def record(self, entry: HistoryEntry, secrets: tuple[str, ...]) -> None:
        # An entry recorded before the store is open waits behind opening, on the one thread.
        self.run(lambda store: store.add(entry, secrets), self._on_added)

    def _on_added(self, _id: object) -> None:
        self.added.emit()

    def shutdown(self) -> None:
        self._pool.waitForDone(5000)
        if self.store is not None:
            self.store.close()
