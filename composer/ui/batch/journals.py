"""The batch room's send journals: one per window batch send, in `journals/window/`.

The window's rows carry their uuids in their events, and the batch draft keeps them, so a
journal needs no key of its own: it lists the uuids it plans to send and is matched to the
rows by them when the rows come back after a crash. A journal whose lock another window
holds belongs to a window that is still running and is left alone. The functions that touch
the disk run on the panel's worker threads.

`JournalKeeper` is the GUI-thread side: it holds this batch's journal, hands the journals found
at start to the rows that come back, and lets a settled journal go. It lives here rather than
in the panel so that everything about surviving a crash is read in one place.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from composer.core.batch.journal import (
    JournalDamaged,
    JournalHeader,
    JournalKind,
    JournalState,
    Outcome,
    host_of,
    key_fingerprint,
)
from composer.core.batch.rows import BatchRow, RowStatus
from composer.files import keep_aside
from composer.services.journal import (
    JournalBusy,
    JournalError,
    JournalLock,
    SendJournal,
    journals_dir,
    read_journal,
    utc_now,
)
from composer.ui.batch.model import BatchModel
from composer.ui.tasks import TaskRunner

# A journal no batch has claimed for this long belongs to rows that are gone.
STALE_SECONDS = 30 * 24 * 3600

INTERRUPTED_TEXT = (
    "not acknowledged: the send stopped before its answer came; Resume batch send sends it"
    " with the same uuid (PostHog deduplicates any that did arrive)"
)
CANCELLED_TEXT = "not sent: the send was cancelled; Resume batch send sends it"
# A finished send's journal stays this long, so a kill before the batch draft has saved the
# rows' new statuses (a few seconds after a send) still finds them; then it goes.
DONE_JOURNAL_KEPT_MS = 10_000


@dataclass
class BatchJournal:
    """A journal the panel holds: its lock is taken; its file is opened for writing on demand."""

    path: Path
    lock: JournalLock
    state: JournalState
    writer: SendJournal | None = None
    _planned: frozenset[str] = field(default=frozenset(), init=False, repr=False)
    _planned_len: int = field(default=-1, init=False, repr=False)

    def open(self) -> SendJournal:  # a worker thread
        if self.writer is None or self.writer.closed:
            self.writer = SendJournal.reopen(self.path, self.state, self.lock)
        return self.writer

    def same_target(self, url: str, api_key: str) -> bool:
        return not self.target_note(url, api_key)

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.discard()
        else:
            self.path.unlink(missing_ok=True)
            self.lock.release(remove=True)

    def release(self) -> None:
        if self.writer is not None:
            self.writer.close()
        else:
            self.lock.release()

    @property
    def done(self) -> bool:
        return self.state.done

    def pending(self, uuid: str) -> bool:
        """Planned, and neither acknowledged, failed nor held back: what Resume sends."""
        plan = self.state.plan or []
        if self._planned_len != len(plan):  # the plan only grows
            self._planned, self._planned_len = frozenset(plan), len(plan)
        if uuid not in self._planned:
            return False
        found = self.state.outcomes.get(uuid)
        return found is None or found[0] is Outcome.SENDING

    def target_note(self, url: str, api_key: str) -> str:
        """Why this journal cannot be resumed against `url` with `api_key`, or ""."""
        header = self.state.header
        if header.url != url:
            return (
                f"The interrupted send went to {host_of(header.url)}; the target is now"
                f" {host_of(url)}. Choose {host_of(header.url)} again to resume it, or use"
                " Send batch to send every row to the new target."
            )
        if header.project != key_fingerprint(api_key):
            return (
                f"The interrupted send went to another project on {host_of(url)} (another"
                " project key). Use that project's key to resume it, or Send batch to send"
                " every row to this project."
            )
        return ""

    def summary(self, present: set[str]) -> str:
        groups = self.statuses(present)
        sent = sum(len(u) for (status, _t), u in groups.items() if status is RowStatus.SENT)
        left = sum(len(u) for (status, _t), u in groups.items() if status is RowStatus.INTERRUPTED)
        when = self.state.last_ack_at or self.state.header.created
        text = (
            f"A batch send to {host_of(self.state.header.url)} stopped"
            f" ({when.replace('T', ' ').replace('Z', ' UTC')}): {sent:,} rows were acknowledged"
        )
        if left:
            return text + f", {left:,} were not; Resume batch send sends those, with their uuids."
        return text + "."

    def statuses(self, present: set[str]) -> dict[tuple[RowStatus, str], list[str]]:
        """What each planned row present in the batch is, grouped for BatchModel.set_status."""
        groups: dict[tuple[RowStatus, str], list[str]] = {}
        for uuid in self.state.plan or ():
            if uuid not in present:
                continue
            found = self.state.outcomes.get(uuid)
            if found is None or found[0] is Outcome.SENDING:
                key = (RowStatus.INTERRUPTED, INTERRUPTED_TEXT)
            elif found[0] is Outcome.ACKED:
                key = (RowStatus.SENT, found[1])
            elif found[0] is Outcome.FAILED:
                key = (RowStatus.FAILED, found[1])
            else:
                key = (RowStatus.HELD, found[1])
            groups.setdefault(key, []).append(uuid)
        return groups


def reopen_journal(journal: BatchJournal, extend: Sequence[str] = ()) -> BatchJournal:
    """Go on writing a journal (a worker thread); `extend` adds rows to its plan."""
    writer = journal.open()
    if extend:
        writer.extend_plan(extend)
    return journal


def finish_journal(journal: BatchJournal) -> None:
    """Every planned row settled (a worker thread)."""
    journal.open().mark_done()


def new_journal(url: str, api_key: str, plan: Sequence[str]) -> BatchJournal:
    """A journal for a send of these rows, on disk (synced) before the first request."""
    folder = journals_dir(JournalKind.WINDOW)
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(6).hex()}.jsonl"
    lock = JournalLock(path).acquire()
    header = JournalHeader(
        kind=JournalKind.WINDOW,
        created=utc_now(),
        url=url,
        project=key_fingerprint(api_key),
        rows=len(plan),
    )
    try:
        writer = SendJournal.create(path, header, lock, plan)
    except JournalError:
        lock.release(remove=True)
        raise
    return BatchJournal(path, lock, writer.state, writer)


def find_journals() -> tuple[list[BatchJournal], list[str]]:
    """Journals no running window holds, oldest first, each with its lock now taken, and
    notes for the status bar. Unreadable ones are kept aside, stale ones removed."""
    folder = journals_dir(JournalKind.WINDOW)
    found: list[BatchJournal] = []
    notes: list[str] = []
    for path in sorted(folder.glob("*.jsonl")):
        lock = JournalLock(path)
        try:
            lock.acquire()
        except JournalBusy:
            continue  # another window is sending it right now
        try:
            state = read_journal(path)
        except (JournalDamaged, JournalError) as exc:
            aside = keep_aside(path)
            lock.release(remove=True)
            notes.append(f"A batch send journal could not be read ({exc}); it is kept as {aside}.")
            continue
        if state is None or state.header.kind is not JournalKind.WINDOW:
            lock.release()
            continue
        if time.time() - path.stat().st_mtime > STALE_SECONDS:
            path.unlink(missing_ok=True)
            lock.release(remove=True)
            continue
        found.append(BatchJournal(path, lock, state))
    found.sort(key=lambda j: j.state.header.created)
    return found, notes


class JournalKeeper(QObject):
    """The journal of this batch's last send (its lock held), and the journals found at start
    that no rows have claimed yet; those are matched to rows by uuid as rows come in.

    Signals:
    message(str, int): a status-bar text.
    summary(str, int): a text for the batch's summary line, and the status bar for that long.
    claimed(): rows took their statuses from a journal: what Resume can do may have changed.
    """

    message = Signal(str, int)
    summary = Signal(str, int)
    claimed = Signal()

    def __init__(
        self,
        model: BatchModel,
        tasks: TaskRunner,
        busy: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.journal: BatchJournal | None = None
        self._model = model
        self._tasks = tasks
        self._busy = busy  # the panel's: a journal is never let go while a send runs
        self._found: list[BatchJournal] = []
        self._retiring: BatchJournal | None = None
        self._retire_timer = QTimer(self)
        self._retire_timer.setSingleShot(True)
        self._retire_timer.setInterval(DONE_JOURNAL_KEPT_MS)
        self._retire_timer.timeout.connect(self._retire)

    def scan(self) -> None:
        """Look for journals left by windows that are gone (on a worker thread)."""
        self._tasks.run(find_journals, self._on_found, self.failed)

    def _on_found(self, result: tuple[list[BatchJournal], list[str]]) -> None:
        found, notes = result
        self._found.extend(found)
        for note in notes:
            self.message.emit(note, 15000)
        self.claim()

    def failed(self, exc: Exception) -> None:
        self.message.emit(f"Batch send journal: {exc}", 15000)

    def claim(self, _parent: object = None, first: int = 0, last: int = -1) -> None:
        """Rows came in (restored from the batch draft after a crash, typically): a journal
        that planned any of them gives them their statuses, and Resume what is left."""
        if not self._found:
            return
        rows = self._model.rows
        added = {r.uuid for r in (rows[first : last + 1] if last >= first else rows)}
        claimed = [j for j in self._found if not added.isdisjoint(j.state.plan or ())]
        if not claimed:
            return
        present = set(self._model.uuids())
        for journal in claimed:  # oldest first: a newer journal's statuses win
            self._found.remove(journal)
            for (status, text), uuids in journal.statuses(present).items():
                self._model.set_status(uuids, status, text)
        newest = claimed[-1]
        for older in claimed[:-1]:
            self._tasks.run(older.discard, _ignore, self.failed)
        current = self.journal
        if current is None or newest.state.header.created >= current.state.header.created:
            self.journal = newest
            if current is not None:
                self._tasks.run(current.discard, _ignore, self.failed)
        else:
            self._tasks.run(newest.discard, _ignore, self.failed)
        if newest is self.journal:
            if newest.done:
                self._retire_later(newest)
            else:
                self.summary.emit(newest.summary(present), 20000)
        self.claimed.emit()

    def resumable_rows(self, *, first_only: bool = False) -> list[BatchRow]:
        """The rows Resume batch send sends: interrupted, and still pending in the journal."""
        journal = self.journal
        if journal is None or journal.done or RowStatus.INTERRUPTED not in self._model.statuses():
            return []
        found = []
        for row in self._model.rows:
            if row.status is RowStatus.INTERRUPTED and journal.pending(row.uuid):
                found.append(row)
                if first_only:
                    break
        return found

    def adopt(self, journal: BatchJournal) -> None:
        """A send writes `journal` now; the one it replaces is not needed any more."""
        if journal is not self.journal:
            old, self.journal = self.journal, journal
            if old is not None:
                self._tasks.run(old.discard, _ignore, self.failed)

    def settle(self, journal: BatchJournal) -> None:
        """Every planned row of `journal` settled: mark it done, and let it go later."""
        self._tasks.run(partial(finish_journal, journal), _ignore, self.failed)
        self._retire_later(journal)

    def _retire_later(self, journal: BatchJournal) -> None:
        """A settled journal goes once the batch draft has had time to save the statuses."""
        self._retiring = journal
        self._retire_timer.start()

    def _retire(self) -> None:
        journal, self._retiring = self._retiring, None
        if journal is not None and journal is self.journal and journal.done and not self._busy():
            self.journal = None
            self._tasks.run(journal.discard, _ignore, self.failed)

    def shutdown(self) -> None:
        """The window closes (the drafts were flushed first, and the pool is done): a settled
        journal is not needed any more; an unsettled one stays for the next start to offer
        Resume."""
        journal, self.journal = self.journal, None
        for held in [*self._found, *([journal] if journal is not None else [])]:
            try:
                if held.done:
                    held.discard()
                else:
                    held.release()
            except OSError:
                continue  # a journal left behind is found again at the next start


def _ignore(_result: object) -> None:
    pass
