"""The batch room's send journals: one per window batch send, in `journals/window/`.

The window's rows carry their uuids in their events, and the batch draft keeps them, so a
journal needs no key of its own: it lists the uuids it plans to send and is matched to the
rows by them when the rows come back after a crash. A journal whose lock another window
holds belongs to a window that is still running and is left alone. The functions that touch
the disk run on the panel's worker threads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from composer.core.batch.journal import (
    JournalDamaged,
    JournalHeader,
    JournalKind,
    JournalState,
    Outcome,
    host_of,
    key_fingerprint,
)
from composer.core.batch.rows import RowStatus
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

# A journal no batch has claimed for this long belongs to rows that are gone.
STALE_SECONDS = 30 * 24 * 3600

INTERRUPTED_TEXT = (
    "not acknowledged: the send stopped before its answer came; Resume batch send sends it"
    " with the same uuid (PostHog deduplicates any that did arrive)"
)
CANCELLED_TEXT = "not sent: the send was cancelled; Resume batch send sends it"


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
