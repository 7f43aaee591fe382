"""Autosave: the composition and the batch are written shortly after every change and restored
on the next start, so a crash or a kill loses at most the last moment of work.

Snapshots are taken on the GUI thread (cheap: references to immutable-by-convention event
dicts) and written by one worker thread, so typing never waits for the disk.

Each window writes its own drafts: at start it claims a slot of the drafts folder (adopting the
drafts of a window that is gone, never those of one still open) and holds it until it closes,
so two windows on one HOME keep two batches and two compositions (see services/drafts.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from composer import paths
from composer.core.batch.rows import BatchRow, RowStatus
from composer.services.drafts import DraftRow, DraftSlot, DraftSlots, DraftStore, Restored, Waiting
from composer.ui import heap, turns
from composer.ui.batch.panel import BatchPanel
from composer.ui.compose.form_state import form_state
from composer.ui.compose.room import ComposeRoom
from composer.ui.tasks import TaskRunner

COMPOSITION_DELAY_MS = 400
BATCH_DELAY_MS = 3000


class DraftKeeper(QObject):
    """Signals: message(str, int): a status-bar text (a draft kept aside, a failed save)."""

    message = Signal(str, int)

    def __init__(self, compose: ComposeRoom, batch: BatchPanel) -> None:
        super().__init__(compose)
        self.compose = compose
        self.batch = batch
        self.store: DraftStore | None = None
        self.slot: DraftSlot | None = None  # the drafts this window owns, from start to close
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # writes land in the order they were made
        self._tasks = TaskRunner(self._pool, self)
        self._restored = False
        self._at_start: Any = None  # the form as it was before the draft was read
        self.saves = 0  # composition drafts written, for tests and diagnostics
        self._composition_timer = self._timer(COMPOSITION_DELAY_MS, self.save_composition)
        self._batch_timer = self._timer(BATCH_DELAY_MS, self.save_batch)
        # A write stops where it is when a send or a check starts (the draft on disk stays
        # whole) and is written again once it is over, or when the window closes.
        self._gave_way = threading.Event()  # a write stopped for other work, not yet redone

    def _timer(self, ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    # -- start ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.compose.edited.connect(self._composition_changed)
        model = self.batch.model
        for change in (
            model.rowsInserted,
            model.rowsRemoved,
            model.rowsMoved,
            model.modelReset,
            model.dataChanged,
        ):
            change.connect(self._batch_changed)
        self._at_start = _comparable(form_state(self.compose.form))
        self._tasks.run(heap.bulk_work(self._open), self._on_loaded, self._on_failed)

    def _open(self) -> tuple[Restored, list[BatchRow]]:  # a worker thread
        slots = DraftSlots(paths.data_dir() / "drafts")
        self.slot = slots.claim()
        self.store = self.slot.store
        restored = self.store.load()
        waiting = slots.waiting(but=self.slot.number)
        if waiting:
            restored.notes.append(_waiting_note(waiting))
        # Built here, not in _on_loaded: 100,000 restored rows are 0.24 s of GUI-thread time
        # alone, seconds when workers contend for the interpreter.
        return restored, _batch_rows(restored.rows)

    @property
    def restored(self) -> bool:
        return self._restored

    def _on_loaded(self, opened: tuple[Restored, list[BatchRow]]) -> None:
        restored, rows = opened
        compose, batch = self.compose, self.batch
        set_aside: list[str] = []
        if restored.composition is not None:
            if _comparable(form_state(compose.form)) != self._at_start or compose.raw_mode:
                set_aside.append("composition")  # typed already: keep theirs, keep the draft
            else:
                compose.restore_draft(restored.composition)
        if rows and batch.model.rows:
            set_aside.append("batch")
        elif rows:
            batch.model.add_rows(rows)
            batch.verify(rows)
        for note in restored.notes:
            self.message.emit(note, 15000)
        if set_aside and self.store is not None:
            # Autosave is about to write over the draft: move it aside first, never lose it.
            work = partial(self.store.keep_aside, tuple(set_aside))
            self._tasks.run(work, self._on_set_aside, self._on_failed)
            return
        self._restored = True

    def _on_set_aside(self, kept: Sequence[Path]) -> None:
        self._restored = True
        if kept:
            self.message.emit(
                "The draft from last time was not restored (work had started); it is kept as "
                + " and ".join(str(p) for p in kept)
                + ".",
                20000,
            )

    def _on_failed(self, exc: Exception) -> None:
        # Reading the drafts failed: autosave stays off, so it cannot write over them.
        self.store = None
        self._restored = True
        self.message.emit(
            f"Drafts could not be read ({exc}); autosave is off for this session so that"
            " nothing is written over them.",
            20000,
        )

    # -- saving --------------------------------------------------------------------------------

    def _composition_changed(self) -> None:
        if self._restored and not self._composition_timer.isActive():
            self._composition_timer.start()

    def _batch_changed(self, *_args: object) -> None:
        if self._restored and not self._batch_timer.isActive():
            self._batch_timer.start()

    def save_composition(self) -> None:
        if self.store is None:
            return
        doc = self.compose.draft_state()
        work = partial(self.store.save_composition, doc, self.compose.secrets())
        self._tasks.run(work, self._on_saved, self._on_save_failed)

    def save_batch(self, *, closing: bool = False) -> None:
        """Write the batch draft on the worker; `closing`: now, whatever else runs (the
        window closes, and flush waits for it)."""
        if self.store is None:
            return
        if self._other_work() and not closing:
            self._batch_timer.start()  # mid-send or mid-check: write once it is over
            return
        # The rows are read into the draft on the worker: 100,000 of them took 0.6 s here.
        self._gave_way.clear()
        work = partial(
            heap.quiet_work(_save_rows),
            self.store,
            list(self.batch.model.rows),
            self.compose.secrets(),
            _never if closing else self._should_yield,
        )
        self._tasks.run(work, lambda _r: None, self._on_save_failed)

    def _other_work(self) -> bool:
        return bool(self.batch.busy) or self.batch.checks_running > 0

    def _should_yield(self) -> bool:
        """Asked by the write on its worker: a send or a check runs Python now (two workers
        running Python at once leave the GUI thread's calls waiting twice as long for the
        interpreter lock). The panel's busy state changes on the GUI thread as a send starts."""
        if self._other_work():
            self._gave_way.set()  # flush() writes it before the window goes
            return True
        return False

    def _on_saved(self, _result: None) -> None:
        self.saves += 1

    def _on_save_failed(self, exc: Exception) -> None:
        if isinstance(exc, _Yielded):
            self._batch_timer.start()  # written once the send is over (save_batch waits)
            return
        self.message.emit(f"The draft could not be saved: {exc}", 10000)

    def flush(self) -> None:
        """On close: write what is pending, wait for it, and let the slot go (its drafts stay
        for the next window)."""
        if self._restored and self.store is not None:
            if self._composition_timer.isActive():
                self._composition_timer.stop()
                self.save_composition()
            if self._batch_timer.isActive() and not self.batch.busy:
                self._batch_timer.stop()
                self.save_batch(closing=True)
        self._pool.waitForDone(10000)
        redo = self._gave_way.is_set() and not self.batch.busy
        if redo and self._restored and self.store is not None:
            self.save_batch(closing=True)  # a write that gave way to a check or a send
            self._pool.waitForDone(10000)
        if self.slot is not None and self._pool.activeThreadCount() == 0:
            # Not while a write is still running (a disk stuck past the wait): the lock then
            # goes with the process, and no other window writes this slot in the meantime.
            self.store = None  # nothing more is written without the slot
            self.slot.release()
            self.slot = None


def _batch_rows(saved: Sequence[DraftRow]) -> list[BatchRow]:
    rows = []
    for draft in saved:
        row = BatchRow.of(draft.event)
        try:
            row.status = RowStatus(draft.status)
        except ValueError:
            row.status = RowStatus.NEW
        row.status_text = draft.text
        rows.append(row)
    return rows


def _never() -> bool:
    return False


class _Yielded(Exception):
    """A batch draft write stopped for a send or a check: written again after it."""


def _save_rows(
    store: DraftStore, rows: list[BatchRow], secrets: Sequence[str], stop: Callable[[], bool]
) -> None:
    """A background write no one waits on: it leaves the GUI thread turns at the interpreter
    lock, and stops when a send starts (0.5 s of Python for 100,000 rows stalled the start
    of a send by 60-105 ms)."""

    def pause() -> None:
        if stop():
            raise _Yielded
        turns.give()

    drafts: list[DraftRow] = []
    for start in range(0, len(rows), 1000):  # ~0.5 ms of work a slice
        if start:
            pause()
        drafts.extend(
            DraftRow(r.event, r.status.value, r.status_text) for r in rows[start : start + 1000]
        )
    store.save_batch(drafts, secrets, pause=pause)


def _waiting_note(waiting: Sequence[Waiting]) -> str:
    if len(waiting) == 1:
        (only,) = waiting
        return (
            f"Another window's draft is waiting ({only.describe()}, in {only.folder});"
            " File → New window opens it."
        )
    kinds = "; ".join(w.describe() for w in waiting)
    return (
        f"{len(waiting)} drafts of windows closed earlier are waiting ({kinds}); each new"
        " window (File → New window) opens one of them."
    )


def _comparable(state: dict[str, Any]) -> Any:
    """The form's state without its automatic uuid, which changes on its own."""
    event = {k: v for k, v in state.get("event", {}).items() if k != "uuid"}
    return {**state, "event": event}
