"""The batch room's sends: Send batch, Resend failed and Resume batch send, with their journal.

A send is checked, chunked and posted by the services' `BatchSender` on a worker thread; this
object decides which rows go and with which journal (a new one, this batch's journal extended,
or this batch's journal resumed), carries the sender's reports back to the GUI thread, and
sums the send up when it ends. It owns no widgets: the panel shows what it reports, so the
table, its buttons and the summary line stay in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from composer.core.batch.rows import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_EVENTS,
    BatchRow,
    RowStatus,
    held_note,
)
from composer.core.batch.runs import BatchRun
from composer.core.plans.model import Plan
from composer.core.templates.variables import Resolver
from composer.ui import turns
from composer.ui.batch.journals import (
    CANCELLED_TEXT,
    BatchJournal,
    JournalKeeper,
    new_journal,
    reopen_journal,
)
from composer.ui.batch.model import BatchModel, Positions, Snapshot
from composer.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from composer.services.batch_sender import BatchSender, Progress, Summary
    from composer.services.journal import SendJournal
    from composer.services.transport import Transport

START_DELAY_MS = 40
# Where a batch goes: the /batch/ URL, the key, and the guard that asks before a production send.
BatchTarget = tuple[str, str, Callable[[int], bool]]
# "new": a journal of its own; "extend": added to this batch's journal when it goes to the
# same target; "resume": this batch's journal, for the rows it has not settled.
SendMode = Literal["new", "extend", "resume"]


class _Bridge(QObject):
    """Carries the sender's reports from its worker thread to the GUI thread (queued, because
    it lives there)."""

    rows = Signal(object, str, str)  # (uuids, status, text)
    progress = Signal(object)  # Progress


class BatchSending(QObject):
    """Signals:
    started(str, int, str): a send is under way: "send", its row count and the summary line.
    progressed(int, int, str): rows done, rows in all, and the summary line.
    stopped(): the send ended; the panel is idle again (the summary follows).
    summary(str, int): a text for the summary line, and the status bar for that long.
    settled(): the rows' statuses are final: the buttons may change.
    message(str, int): a status-bar text.
    """

    started = Signal(str, int, str)
    progressed = Signal(int, int, str)
    stopped = Signal()
    summary = Signal(str, int)
    settled = Signal()
    ran = Signal(object)  # BatchRun: the whole run, for the history
    message = Signal(str, int)

    def __init__(
        self,
        model: BatchModel,
        tasks: TaskRunner,
        journals: JournalKeeper,
        *,
        cancel: threading.Event,
        busy: Callable[[], str],
        historical: Callable[[], bool],
        resolver: Callable[[], Resolver | None],
        plan: Callable[[], Plan | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._tasks = tasks
        self._journals = journals
        # The panel's: one Cancel stops an import or a send, and nothing starts while one runs.
        self._cancel = cancel
        self._busy = busy
        # Read when a send starts: the Historical migration box, the {{variables}}, the plan.
        self._historical = historical
        self._resolver = resolver
        self._plan = plan
        self._pause = threading.Event()
        self._reuse = False  # resending failed rows: keep the values their first send drew
        self.context: Callable[[], BatchTarget | None] | None = None
        self.transport_factory: Callable[[], Transport] | None = None
        self.chunk_events = DEFAULT_CHUNK_EVENTS  # per request; tests send small chunks
        self.chunk_bytes = DEFAULT_CHUNK_BYTES
        self._bridge = _Bridge(self)
        self._bridge.rows.connect(self._on_rows)
        self._bridge.progress.connect(self._on_progress)

    def warm_up(self) -> None:
        """Load the sender's modules (httpx among them) on a worker once the window is up,
        not on the GUI thread at the first Send batch (0.3 s there)."""
        self._tasks.run(_load_sender, _ignore, _ignore)

    def send_all(self) -> None:
        self._reuse = False
        if not self._model.rows:
            self.message.emit("The batch is empty: add the current payload (Ctrl+B) first.", 6000)
            return
        self._send(list(self._model.rows), "new")

    def resend_failed(self) -> None:
        rows = [r for r in self._model.rows if r.status is RowStatus.FAILED]
        if not rows:
            self.message.emit("No failed rows to resend.", 6000)
            return
        self._reuse = True  # the same uuids and values: what did arrive is deduplicated
        try:
            self._send(rows, "extend")
        finally:
            self._reuse = False

    def resume_send(self) -> None:
        """Send what an interrupted send (a crash, a kill, Cancel) did not get acknowledged."""
        rows = self._journals.resumable_rows()
        if not rows:
            self.message.emit("No interrupted send to resume.", 6000)
            return
        self._reuse = True
        try:
            self._send(rows, "resume")
        finally:
            self._reuse = False

    def toggle_pause(self) -> bool:
        """Pause the send, or let it go on; True when it is paused now."""
        if self._pause.is_set():
            self._pause.clear()
            return False
        self._pause.set()
        return True

    def unpause(self) -> None:
        """A paused send goes on, so that it notices a cancel."""
        self._pause.clear()

    def _send(self, rows: list[BatchRow], mode: SendMode) -> None:
        if self._busy() or not rows:
            return
        target = self.context() if self.context else None
        if target is None:
            return
        url, key, confirm = target
        journal = self._journals.journal
        if mode == "resume":
            assert journal is not None
            note = journal.target_note(url, key)
            if note:
                self.summary.emit(note, 15000)
                return
        if not confirm(len(rows)):
            self.message.emit("Not sent.", 6000)
            return
        from composer.core.batch.journal import Outcome
        from composer.services.batch_sender import BatchSender

        # Given the rows' uuids on the worker (listing 100,000 of them here took 10 ms).
        prepare: Callable[[list[str]], BatchJournal]
        resent: frozenset[str] = frozenset()
        if mode == "resume" and journal is not None:
            prepare = partial(_reopen_all, journal)
            resent = frozenset(
                r.uuid for r in rows if journal.state.outcome(r.uuid) is Outcome.SENDING
            )
        elif (
            mode == "extend"
            and journal is not None
            and not journal.done
            and journal.same_target(url, key)
        ):
            prepare = partial(reopen_journal, journal)
        else:
            prepare = partial(new_journal, url, key)
        assert self.transport_factory is not None
        # Built on the worker with the transport: an httpx client's TLS context costs the GUI
        # thread 20-40 ms when workers are busy.
        build = partial(
            BatchSender,
            url=url,
            api_key=key,
            historical_migration=self._historical(),
            max_bytes=self.chunk_bytes,
            max_events=self.chunk_events,
            on_rows=self._report_rows,
            on_progress=self._report_progress,
            pause=self._pause,
            cancel=self._cancel,
            resolver=self._resolver(),
            plan=self._plan(),
            reuse_resolved=self._reuse,
            resent=resent,
            # Rows found clean when they came in are not checked again (an edit, a change
            # of plan or of variables checks them again first): the send's worker holds
            # the interpreter lock a fifth as long, and the window stays responsive.
            trust_clean=True,
        )
        self._cancel.clear()
        self._pause.clear()
        self.started.emit("send", len(rows), f"Checking and sending {len(rows):,} rows to {url} …")
        # The journal is written (and synced) on a worker before the first request goes out;
        # the rows' positions are indexed there too, for the status repaints.
        work = partial(
            self._tasks.run,
            partial(_prepare, prepare, rows, self._model.snapshot()),
            partial(self._on_journal_ready, build, rows),
            self._on_send_failed,
        )
        # Once the window has drawn the send's start: the journal and the index hold the
        # interpreter lock in C for 5-15 ms at a time, and drawn meanwhile the start took
        # 50-60 ms. Nothing is sent before the journal is on disk either way.
        QTimer.singleShot(START_DELAY_MS, work)

    def _on_journal_ready(
        self,
        build: Callable[..., BatchSender],
        rows: list[BatchRow],
        prepared: tuple[BatchJournal, Positions],
    ) -> None:
        journal, positions = prepared
        self._journals.adopt(journal)
        self._model.adopt_positions(positions)
        assert self.transport_factory is not None
        work = partial(_send_run, build, self.transport_factory, journal.writer, rows)
        self._tasks.run(work, self._on_sent, self._on_send_failed)

    def _report_rows(self, uuids: Sequence[str], status: RowStatus, text: str) -> None:
        self._bridge.rows.emit(list(uuids), status.value, text)  # from a worker thread

    def _report_progress(self, progress: Progress) -> None:
        self._bridge.progress.emit(progress)  # from a worker thread

    @Slot(object, str, str)
    def _on_rows(self, uuids: list[str], status: str, text: str) -> None:
        # The worker set the statuses on the rows already: only the repaint is left.
        self._model.statuses_set(uuids)

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        eta = f", about {progress.eta:.0f} s left" if progress.eta is not None else ""
        paused = " (paused)" if self._pause.is_set() else ""
        self.progressed.emit(
            progress.done,
            max(progress.total, 1),
            f"{progress.done:,} of {progress.total:,} sent · "
            f"{progress.rate:,.0f} events/s{eta}{paused}",
        )

    def _on_sent(self, sent: _Sent) -> None:
        self._model.flush_statuses()
        summary = sent.summary
        self.stopped.emit()
        positions = ((self._model.position(r.uuid), r) for r in sent.held[:5])
        shown = [(p, r) for p, r in positions if p is not None]
        text = summary.line() + held_note(shown, len(sent.held))
        journal = self._journals.journal
        if journal is not None and not journal.done:
            if summary.cancelled:
                unsent = [
                    r.uuid
                    for r in self._model.rows
                    if r.status in (RowStatus.NEW, RowStatus.QUEUED, RowStatus.INTERRUPTED)
                    and journal.pending(r.uuid)
                ]
                self._model.set_status(unsent, RowStatus.INTERRUPTED, CANCELLED_TEXT)
                if unsent:
                    text += f" {len(unsent):,} rows were not sent: Resume batch send sends them."
            elif not self._journals.resumable_rows(first_only=True):
                self._journals.settle(journal)
        self.summary.emit(text, 15000)
        self._model.refresh_verdicts()
        self.ran.emit(sent.run)
        self.settled.emit()

    def _on_send_failed(self, exc: Exception) -> None:
        self._model.flush_statuses()
        self.stopped.emit()
        from composer.services.journal import JournalError

        if isinstance(exc, JournalError):
            text = f"The batch send stopped: {exc}"
        else:
            text = f"The batch send failed inside the composer: {exc}"
        self.summary.emit(text, 15000)


@dataclass(frozen=True)
class _Sent:
    summary: Summary
    run: BatchRun  # for the history
    held: list[BatchRow]  # the rows its check held back


def _prepare(
    prepare: Callable[[list[str]], BatchJournal], rows: list[BatchRow], snapshot: Snapshot
) -> tuple[BatchJournal, Positions]:
    """A worker thread: the journal, and where each row is (indexing 100,000 rows on the GUI
    thread mid-send stalled it 50-100 ms)."""
    # Each step is a C loop that holds the interpreter lock for 5-15 ms; the GUI thread,
    # busy drawing the send's start, gets the lock between them.
    uuids = list(map(attrgetter("uuid"), rows))
    turns.give()
    journal = prepare(uuids)
    turns.give()
    return journal, snapshot.positions()


def _reopen_all(journal: BatchJournal, _uuids: list[str]) -> BatchJournal:
    """A resume: the journal's own plan, whichever rows are sent again."""
    return reopen_journal(journal)


def _send_run(
    build: Callable[..., BatchSender],
    transport: Callable[[], Transport],
    journal: SendJournal | None,
    rows: list[BatchRow],
) -> _Sent:
    """A worker thread: the send, then what the window says of it (reading every row of a
    100,000-row batch for the names and the held-back rows took ~0.3 s on the GUI thread)."""
    sender = build(transport=transport(), journal=journal)
    summary = sender.send(rows)
    p = summary.progress
    run = BatchRun.of(
        sender.url,
        rows,
        sent=p.sent,
        failed=p.failed,
        held=p.held,
        requests=p.requests,
        elapsed=p.elapsed,
        cancelled=summary.cancelled,
        first_failure=next(iter(summary.failures.values()), ""),
    )
    # Their HELD statuses may not have reached the rows yet; the check's verdict has.
    return _Sent(summary, run, [r for r in rows if r.blocked])


def _load_sender() -> None:
    # httpx too: importing it is ~0.2 s of Python, which at a send's start took the GUI
    # thread's turns at the interpreter lock while the table repainted (stalls of 60-180 ms).
    import encodings.idna  # noqa: F401 - the first request's host name

    import composer.services.batch_sender
    import composer.services.transport  # noqa: F401


def _ignore(_result: object) -> None:
    pass
