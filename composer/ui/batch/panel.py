"""The batch builder: a table of events, imports and exports, and chunked sending.

Imports, checks and sends run off the GUI thread with progress and cancel; the table is a
model/view pair over `BatchModel`, addressed by event uuid, with undo and redo.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QObject,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from composer.core.batch.formats import ColumnMap, Format, Imported, format_for
from composer.core.batch.rows import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_EVENTS,
    BatchRow,
    RowStatus,
    check_rows,
    held_back_note,
    new_uuid,
)
from composer.core.jsonio import JsonObject
from composer.core.plans.model import Plan
from composer.core.templates.variables import Resolver
from composer.ui import dialogs
from composer.ui.batch.csv_mapping import CsvMappingDialog
from composer.ui.batch.journals import (
    CANCELLED_TEXT,
    BatchJournal,
    find_journals,
    finish_journal,
    new_journal,
    reopen_journal,
)
from composer.ui.batch.model import (
    AddRows,
    BatchFilter,
    BatchModel,
    EditRow,
    MoveRows,
    RemoveRows,
)
from composer.ui.batch.persons import BatchPersons
from composer.ui.batch.table import batch_table
from composer.ui.tasks import TaskRunner
from composer.ui.widgets.buttons import tool_button

# Where a batch goes: the /batch/ URL, the key, and the guard that asks before a production send.
BatchTarget = tuple[str, str, Callable[[int], bool]]
# A finished send's journal stays this long, so a kill before the batch draft has saved the
# rows' new statuses (a few seconds after a send) still finds them; then it goes.
DONE_JOURNAL_KEPT_MS = 10_000

if TYPE_CHECKING:
    from composer.services.batch_sender import BatchSender, Progress, Summary
    from composer.services.transport import Transport

FILE_FILTER = (
    "Events (*.jsonl *.ndjson *.json *.csv);;JSON Lines (*.jsonl);;JSON (*.json);;CSV (*.csv)"
)


class _Bridge(QObject):
    """Carries a worker thread's reports to the GUI thread (queued, because it lives there)."""

    rows = Signal(object, str, str)  # (uuids, status, text)
    progress = Signal(object)


class BatchPanel(QWidget):
    """Signals:
    row_selected(str): a row became current (its uuid); the form edits it.
    message(str, int): a status-bar text.
    add_requested(): "Add current" was pressed; the workspace adds the form's payload.
    """

    row_selected = Signal(str)
    message = Signal(str, int)
    add_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = BatchModel(self)
        self.proxy = BatchFilter(self)
        self.proxy.setSourceModel(self.model)
        self.undo = QUndoStack(self)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._tasks = TaskRunner(self._pool, self)
        self._bridge = _Bridge(self)
        self._bridge.rows.connect(self._on_rows)
        self._bridge.progress.connect(self._on_progress)
        self._cancel = threading.Event()
        self._pause = threading.Event()
        self._busy = ""  # "import", "send" or ""
        self._quiet = False  # a row is made current without loading it into the form
        self._reuse = False  # resending failed rows: keep the values their first send drew
        self._last_progress = 0.0
        self._noted = ""  # the blocked-rows note last added to the summary line
        # The journal of this batch's last send (its lock held), and journals found at start
        # that no rows have claimed yet; matched to rows by uuid as rows come in.
        self.journal: BatchJournal | None = None
        self._found: list[BatchJournal] = []
        self._journals_scanned = False
        self.chunk_events = DEFAULT_CHUNK_EVENTS  # per request; tests send small chunks
        self.chunk_bytes = DEFAULT_CHUNK_BYTES
        self._retiring: BatchJournal | None = None
        self._retire_timer = QTimer(self)
        self._retire_timer.setSingleShot(True)
        self._retire_timer.setInterval(DONE_JOURNAL_KEPT_MS)
        self._retire_timer.timeout.connect(self._retire)
        self.context: Callable[[], BatchTarget | None] | None = None
        self.transport_factory: Callable[[], Transport] | None = None
        # Fills in {{variables}} for checks and sends; None: rows are taken as they are.
        self.resolver_factory: Callable[[], Resolver] | None = None
        self.plan_provider: Callable[[], Plan | None] = lambda: None

        self.table = batch_table(self.model, self)

        button = partial(tool_button, self)

        self.add_button = button(
            "Add current",
            "Add current payload to batch",
            self.add_current_requested,
            "Add the form's payload (Ctrl+B)",
        )
        self.duplicate_button = button("Duplicate", "Duplicate rows", self.duplicate_selected)
        self.delete_button = button("Delete", "Delete rows", self.delete_selected)
        self.undo_button = button("Undo", "Undo batch change", self.undo.undo)
        self.redo_button = button("Redo", "Redo batch change", self.undo.redo)
        self.import_button = button("Import…", "Import batch file", self.choose_import)
        self.export_button = button("Export…", "Export batch", self.choose_export)
        self.filter_text = QLineEdit(self)
        self.filter_text.setPlaceholderText("Filter by event or distinct ID")
        self.filter_text.setAccessibleName("Filter batch")
        self.filter_text.setClearButtonEnabled(True)
        self.filter_choice = QComboBox(self)
        self.filter_choice.addItems(list(BatchFilter.CHOICES))
        self.filter_choice.setAccessibleName("Batch verdict filter")
        self.historical = QCheckBox("Historical migration", self)
        self.historical.setAccessibleName("Historical migration")
        self.historical.setToolTip("For backfills: sets historical_migration on every request")
        self.send_button = button("Send batch", "Send batch", self.send_all)
        self.pause_button = button("Pause", "Pause batch", self.toggle_pause)
        self.cancel_button = button("Cancel", "Cancel batch", self.cancel)
        self.resend_button = button("Resend failed", "Resend failed", self.resend_failed)
        self.resume_button = button(
            "Resume send",
            "Resume batch send",
            self.resume_send,
            "Send the rows an interrupted send did not get acknowledged, with their uuids",
        )
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName("Batch progress")
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.status = QLabel(
            "Empty batch. Add the current payload (Ctrl+B) or import a file.", self
        )
        self.status.setAccessibleName("Batch summary")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.add_button.setText("Add")
        self.filter_text.setMinimumWidth(80)
        tools = QHBoxLayout()
        for widget in (
            self.add_button,
            self.duplicate_button,
            self.delete_button,
            self.undo_button,
            self.redo_button,
            self.import_button,
            self.export_button,
        ):
            tools.addWidget(widget)
        tools.addWidget(self.filter_text, 1)
        tools.addWidget(self.filter_choice)
        sending = QHBoxLayout()
        sending.addWidget(self.status, 1)
        sending.addWidget(self.progress)
        sending.addWidget(self.historical)
        for action_button in (
            self.send_button,
            self.pause_button,
            self.cancel_button,
            self.resend_button,
            self.resume_button,
        ):
            sending.addWidget(action_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addLayout(tools)
        layout.addWidget(self.table, 1)
        layout.addLayout(sending)

        self.filter_text.textChanged.connect(self._apply_filter)
        self.filter_choice.currentTextChanged.connect(self._apply_filter)
        self.model.move_requested.connect(self._on_move_requested)
        self.undo.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo.canRedoChanged.connect(self.redo_button.setEnabled)
        for change in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            change.connect(self._update_summary)
            change.connect(self._sync_buttons)
        self.model.dataChanged.connect(self._sync_buttons)
        # What the rows will do to persons, predicted in order whenever they change.
        self.persons = BatchPersons(self.model, self)
        self.persons.message.connect(self.message)
        # Rows restored after a crash (the batch draft) take their statuses from the journal.
        self.model.rowsInserted.connect(self._claim_journals)
        self.model.modelReset.connect(self._claim_journals)
        QShortcut(
            QKeySequence.StandardKey.Delete,
            self.table,
            self.delete_selected,
            context=Qt.ShortcutContext.WidgetShortcut,
        )
        self._connect_selection()
        self._set_busy("")
        self._tasks.run(find_journals, self._on_journals_found, self._on_journal_failed)

    # -- what is shown -----------------------------------------------------------------------

    def _connect_selection(self) -> None:
        selection = self.table.selectionModel()
        selection.currentRowChanged.connect(self._on_current)
        selection.selectionChanged.connect(self._sync_buttons)

    def _apply_filter(self) -> None:
        self.proxy.set_filter(self.filter_text.text(), self.filter_choice.currentText())
        # Unfiltered, the view sits on the model itself: no per-row filter call on big imports,
        # and drag-to-reorder means what it shows.
        wanted = self.proxy if self.proxy.active else self.model
        if self.table.model() is not wanted:
            self.table.setModel(wanted)
            self._connect_selection()
            self.table.setDragEnabled(wanted is self.model)

    def _source_row(self, index: QModelIndex) -> int:
        if self.table.model() is self.proxy:
            return self.proxy.mapToSource(index).row()
        return index.row()

    def selected_uuids(self) -> list[str]:
        rows = {self._source_row(i) for i in self.table.selectionModel().selectedRows()}
        if not rows and self.table.currentIndex().isValid():
            rows = {self._source_row(self.table.currentIndex())}
        return [self.model.rows[r].uuid for r in sorted(rows) if 0 <= r < len(self.model.rows)]

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and not self._busy and not self._quiet:
            row = self.model.rows[self._source_row(current)]
            self.row_selected.emit(row.uuid)

    def select(self, uuid: str, *, load: bool = True) -> None:
        """Make a row current; with load=False the form is not switched to edit it."""
        position = self.model.position(uuid)
        if position is None:
            return
        index = self.model.index(position, 0)
        if self.table.model() is self.proxy:
            index = self.proxy.mapFromSource(index)
        self._quiet = not load
        try:
            self.table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        finally:
            self._quiet = False
        self.table.scrollTo(index)

    def _update_summary(self, *_args: object) -> None:
        if self._busy:
            return
        rows = self.model.rows
        if not rows:
            self.status.setText("Empty batch. Add the current payload (Ctrl+B) or import a file.")
            return
        self.status.setText(f"{len(rows):,} row{'s' * (len(rows) != 1)}.{self._blocked_note()}")

    def _blocked_note(self) -> str:
        blocked = sum(row.blocked for row in self.model.rows)
        if not blocked:
            return ""
        return (
            f" {blocked:,} PostHog would reject or drop (choose Errors to list them);"
            " Send batch holds them back."
        )

    def _set_busy(self, busy: str) -> None:
        self._busy = busy
        idle = not busy
        self.add_button.setEnabled(idle)
        self.import_button.setEnabled(idle)
        self._sync_buttons()
        self.undo_button.setEnabled(idle and self.undo.canUndo())
        self.redo_button.setEnabled(idle and self.undo.canRedo())
        self.pause_button.setEnabled(busy == "send")
        self.cancel_button.setEnabled(bool(busy))
        self.progress.setVisible(bool(busy))
        self.table.setDragEnabled(idle)

    def _sync_buttons(self, *_args: object) -> None:
        """Buttons that would do nothing are disabled, so their state says what is possible."""
        idle = not self._busy
        rows = self.model.rows
        selected = self.table.selectionModel().hasSelection()
        self.send_button.setEnabled(idle and bool(rows))
        self.export_button.setEnabled(idle and bool(rows))
        self.duplicate_button.setEnabled(idle and selected)
        self.delete_button.setEnabled(idle and selected)
        # While a send runs the scan would repeat per chunk; the end of the send syncs again.
        failed = idle and any(row.status is RowStatus.FAILED for row in rows)
        self.resend_button.setEnabled(failed)
        self.resume_button.setEnabled(idle and bool(self._resumable_rows(first_only=True)))

    # -- row operations (undoable) ---------------------------------------------------------

    def add_current_requested(self) -> None:
        self.add_requested.emit()

    def add_event(self, event: JsonObject) -> str:
        row = BatchRow.of(event)
        if self.model.row(row.uuid) is not None:  # that uuid is a row already: a new event
            row = BatchRow.of({**event, "uuid": new_uuid()})
        check_rows([row], resolver=self._resolver(), plan=self.plan_provider())
        self.undo.push(AddRows(self.model, [row], None, "Add row"))
        # The form keeps composing the next event; clicking the row edits this one.
        self.select(row.uuid, load=False)
        return row.uuid

    def _resolver(self) -> Resolver | None:
        return self.resolver_factory() if self.resolver_factory is not None else None

    def add_events(self, events: Sequence[JsonObject], label: str) -> None:
        """Add a template's events; with rows already here, ask whether to replace them."""
        if self._busy or not events:
            return
        rows = [BatchRow.of(dict(e)) for e in events]
        taken = set(self.model.uuids())
        rows = [
            r if r.uuid not in taken else BatchRow.of({**r.event, "uuid": new_uuid()}) for r in rows
        ]
        if self.model.rows:
            answer = dialogs.choose(
                self,
                "The batch has rows",
                f"Add the {len(rows)} events of {label} to the {len(self.model.rows):,} rows"
                " already in the batch, or replace them?",
                ["Add to the batch", "Replace the batch"],
            )
            if answer is None:
                return
            if answer == "Replace the batch":
                self.undo.beginMacro(f"Replace the batch with {label}")
                self.undo.push(RemoveRows(self.model, self.model.uuids()))
                self.undo.push(AddRows(self.model, rows, None, f"Add {label}"))
                self.undo.endMacro()
                self.verify(rows)
                return
        self.undo.push(AddRows(self.model, rows, None, f"Add {label}"))
        self.verify(rows)

    def recheck(self) -> None:
        """Check every row again (the variables changed)."""
        if self.model.rows and not self._busy:
            self.verify(self.model.rows)

    def duplicate_selected(self) -> None:
        uuids = self.selected_uuids()
        copies = []
        for uuid in uuids:
            source = self.model.row(uuid)
            if source is not None:
                event = {k: v for k, v in source.event.items() if k != "uuid"}
                copies.append(BatchRow.of(event))
        if copies:
            check_rows(copies, resolver=self._resolver(), plan=self.plan_provider())
            last = max(p for u in uuids if (p := self.model.position(u)) is not None)
            self.undo.push(
                AddRows(
                    self.model,
                    copies,
                    last + 1,
                    f"Duplicate {len(copies)} row{'s' * (len(copies) != 1)}",
                )
            )

    def delete_selected(self) -> None:
        uuids = self.selected_uuids()
        if uuids and not self._busy:
            self.undo.push(RemoveRows(self.model, uuids))

    def _on_move_requested(self, uuids: list[str], before: int) -> None:
        if not self._busy:
            self.undo.push(MoveRows(self.model, uuids, before))

    def move_rows(self, uuids: Sequence[str], before: int) -> None:
        self._on_move_requested(list(uuids), before)

    def edit_row(self, uuid: str, event: JsonObject) -> None:
        row = self.model.row(uuid)
        if row is not None and row.event != event and not self._busy:
            self.undo.push(EditRow(self.model, uuid, row.event, event))

    # -- import and export ---------------------------------------------------------------

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import events", "", FILE_FILTER)
        if path:
            self.import_file(path)

    def import_file(self, path: str, mapping: Sequence[ColumnMap] | None = None) -> None:
        """Read a file off the GUI thread; CSV asks for the column mapping first."""
        if self._busy:
            return
        if format_for(path) is Format.CSV and mapping is None:
            from composer.services.batch_files import csv_preview

            try:
                header, sample, automatic = csv_preview(path)
            except OSError as exc:
                self.message.emit(f"Cannot read {path}: {exc.strerror or exc}", 10000)
                return
            chosen = CsvMappingDialog.ask(header, sample, automatic, self)
            if chosen is None:
                return
            mapping = chosen
        from composer.services.batch_files import read_batch_file

        self._cancel.clear()
        self._set_busy("import")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status.setText(f"Importing {Path(path).name}…")
        work = partial(
            read_batch_file,
            path,
            mapping=mapping,
            on_progress=self._report_import,
            cancel=self._cancel,
        )
        self._tasks.run(work, partial(self._on_imported, path), self._on_import_failed)

    def _report_import(self, done: int, total: int) -> None:  # a worker thread
        self._bridge.progress.emit(("import", done, total))

    def _on_import_failed(self, exc: Exception) -> None:
        self._set_busy("")
        from composer.services.batch_files import Cancelled

        text = (
            "Import cancelled; nothing was added."
            if isinstance(exc, Cancelled)
            else (f"The import failed: {exc}")
        )
        self.status.setText(text)
        self.message.emit(text, 10000)

    def _on_imported(self, path: str, result: Imported) -> None:
        self._set_busy("")
        name = Path(path).name
        if result.rows:
            self.undo.push(
                AddRows(
                    self.model, result.rows, None, f"Import {len(result.rows):,} rows from {name}"
                )
            )
        text = f"Imported {len(result.rows):,} rows from {name}."
        if result.problems:
            shown = "; ".join(str(p) for p in result.problems[:3])
            more = f" (and {len(result.problems) - 3} more)" if len(result.problems) > 3 else ""
            text += (
                f" {len(result.problems)} line{'s' * (len(result.problems) != 1)} could"
                f" not be read: {shown}{more}."
            )
            self.status.setToolTip("\n".join(str(p) for p in result.problems[:200]))
        self.status.setText(text)
        self.message.emit(text, 10000)
        self.verify(result.rows)

    def verify(self, rows: Sequence[BatchRow]) -> None:
        """Check rows in the background; the Check column fills in when done."""
        rows = list(rows)
        if rows:
            work = partial(check_rows, rows, resolver=self._resolver(), plan=self.plan_provider())
            self._tasks.run(work, self._on_verified, self._on_import_failed)

    def _on_verified(self, _result: object) -> None:
        self.model.refresh_verdicts()
        if not self._busy:  # the import's own report stays; the verdicts add to it, once
            text = self.status.text().removesuffix(self._noted)
            self._noted = self._blocked_note()
            self.status.setText(text + self._noted)

    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export events", "events.jsonl", FILE_FILTER)
        if path:
            self.export_file(path)

    def export_file(self, path: str) -> None:
        from composer.services.batch_files import write_batch_file

        events = [row.event for row in self.model.rows]
        self._tasks.run(
            partial(write_batch_file, path, events),
            partial(self._on_exported, path, len(events)),
            self._on_import_failed,
        )

    def _on_exported(self, path: str, count: int, fmt: Format) -> None:
        self.message.emit(f"Exported {count:,} rows to {path} ({fmt}).", 8000)

    # -- sending ---------------------------------------------------------------------------

    def send_all(self) -> None:
        self._reuse = False
        if not self.model.rows:
            self.message.emit("The batch is empty: add the current payload (Ctrl+B) first.", 6000)
            return
        self._send(list(self.model.rows), "new")

    def resend_failed(self) -> None:
        rows = [r for r in self.model.rows if r.status is RowStatus.FAILED]
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
        rows = self._resumable_rows()
        if not rows:
            self.message.emit("No interrupted send to resume.", 6000)
            return
        self._reuse = True
        try:
            self._send(rows, "resume")
        finally:
            self._reuse = False

    def _resumable_rows(self, *, first_only: bool = False) -> list[BatchRow]:
        journal = self.journal
        if journal is None or journal.done:
            return []
        found = []
        for row in self.model.rows:
            if row.status is RowStatus.INTERRUPTED and journal.pending(row.uuid):
                found.append(row)
                if first_only:
                    break
        return found

    def _send(self, rows: list[BatchRow], mode: str) -> None:
        """mode: "new" (a journal of its own), "extend" (added to this batch's journal when it
        goes to the same target) or "resume" (this batch's journal)."""
        if self._busy or not rows:
            return
        target = self.context() if self.context else None
        if target is None:
            return
        url, key, confirm = target
        journal = self.journal
        if mode == "resume":
            assert journal is not None
            note = journal.target_note(url, key)
            if note:
                self.status.setText(note)
                self.message.emit(note, 15000)
                return
        if not confirm(len(rows)):
            self.message.emit("Not sent.", 6000)
            return
        from composer.core.batch.journal import Outcome
        from composer.services.batch_sender import BatchSender

        uuids = [r.uuid for r in rows]
        prepare: Callable[[], BatchJournal]
        resent: frozenset[str] = frozenset()
        if mode == "resume" and journal is not None:
            prepare = partial(reopen_journal, journal)
            resent = frozenset(u for u in uuids if journal.state.outcome(u) is Outcome.SENDING)
        elif (
            mode == "extend"
            and journal is not None
            and not journal.done
            and journal.same_target(url, key)
        ):
            prepare = partial(reopen_journal, journal, uuids)
        else:
            prepare = partial(new_journal, url, key, uuids)
        assert self.transport_factory is not None
        sender = BatchSender(
            self.transport_factory(),
            url,
            key,
            historical_migration=self.historical.isChecked(),
            max_bytes=self.chunk_bytes,
            max_events=self.chunk_events,
            on_rows=self._report_rows,
            on_progress=self._report_progress,
            pause=self._pause,
            cancel=self._cancel,
            resolver=self._resolver(),
            plan=self.plan_provider(),
            reuse_resolved=self._reuse,
            resent=resent,
        )
        self._cancel.clear()
        self._pause.clear()
        self.pause_button.setText("Pause")
        self._set_busy("send")
        self.progress.setRange(0, len(rows))
        self.progress.setValue(0)
        self.status.setText(f"Checking and sending {len(rows):,} rows to {url} …")
        # The journal is written (and synced) on a worker before the first request goes out.
        self._tasks.run(
            prepare, partial(self._on_journal_ready, sender, rows), self._on_send_failed
        )

    def _on_journal_ready(
        self, sender: BatchSender, rows: list[BatchRow], journal: BatchJournal
    ) -> None:
        if journal is not self.journal:
            old, self.journal = self.journal, journal
            if old is not None:
                self._tasks.run(old.discard, _ignore, self._on_journal_failed)
        sender.journal = journal.writer
        self._tasks.run(partial(sender.send, rows), self._on_sent, self._on_send_failed)

    def _report_rows(self, uuids: Sequence[str], status: RowStatus, text: str) -> None:
        self._bridge.rows.emit(list(uuids), status.value, text)  # from a worker thread

    def _report_progress(self, progress: Progress) -> None:
        self._bridge.progress.emit(("send", progress))

    @Slot(object, str, str)
    def _on_rows(self, uuids: list[str], status: str, text: str) -> None:
        self.model.set_status(uuids, RowStatus(status), text)

    @Slot(object)
    def _on_progress(self, report: tuple[Any, ...]) -> None:
        now = time.monotonic()
        if now - self._last_progress < 0.1:
            return  # ten updates a second are plenty
        self._last_progress = now
        if report[0] == "import":
            _kind, done, total = report
            self.progress.setValue(int(1000 * done / max(total, 1)))
            return
        progress = report[1]
        self.progress.setMaximum(max(progress.total, 1))
        self.progress.setValue(progress.done)
        eta = f", about {progress.eta:.0f} s left" if progress.eta is not None else ""
        paused = " (paused)" if self._pause.is_set() else ""
        self.status.setText(
            f"{progress.done:,} of {progress.total:,} sent · "
            f"{progress.rate:,.0f} events/s{eta}{paused}"
        )

    def _on_sent(self, summary: Summary) -> None:
        self._set_busy("")
        text = summary.line() + held_back_note(self.model.rows)
        journal = self.journal
        if journal is not None and not journal.done:
            if summary.cancelled:
                unsent = [
                    r.uuid
                    for r in self.model.rows
                    if r.status in (RowStatus.NEW, RowStatus.QUEUED, RowStatus.INTERRUPTED)
                    and journal.pending(r.uuid)
                ]
                self.model.set_status(unsent, RowStatus.INTERRUPTED, CANCELLED_TEXT)
                if unsent:
                    text += f" {len(unsent):,} rows were not sent: Resume batch send sends them."
            elif not self._resumable_rows(first_only=True):
                self._tasks.run(partial(finish_journal, journal), _ignore, self._on_journal_failed)
                self._retire_later(journal)
        self.status.setText(text)
        self.message.emit(text, 15000)
        self.model.refresh_verdicts()
        self._sync_buttons()

    def _on_send_failed(self, exc: Exception) -> None:
        self._set_busy("")
        from composer.services.journal import JournalError

        if isinstance(exc, JournalError):
            text = f"The batch send stopped: {exc}"
        else:
            text = f"The batch send failed inside the composer: {exc}"
        self.status.setText(text)
        self.message.emit(text, 15000)

    # -- journals found at start -------------------------------------------------------------

    def _on_journals_found(self, result: tuple[list[BatchJournal], list[str]]) -> None:
        found, notes = result
        self._found.extend(found)
        self._journals_scanned = True
        for note in notes:
            self.message.emit(note, 15000)
        self._claim_journals()

    def _on_journal_failed(self, exc: Exception) -> None:
        self.message.emit(f"Batch send journal: {exc}", 15000)

    def _claim_journals(self, _parent: object = None, first: int = 0, last: int = -1) -> None:
        """Rows came in (restored from the batch draft after a crash, typically): a journal
        that planned any of them gives them their statuses, and Resume what is left."""
        if not self._found:
            return
        rows = self.model.rows
        added = {r.uuid for r in (rows[first : last + 1] if last >= first else rows)}
        claimed = [j for j in self._found if not added.isdisjoint(j.state.plan or ())]
        if not claimed:
            return
        present = set(self.model.uuids())
        for journal in claimed:  # oldest first: a newer journal's statuses win
            self._found.remove(journal)
            for (status, text), uuids in journal.statuses(present).items():
                self.model.set_status(uuids, status, text)
        newest = claimed[-1]
        for older in claimed[:-1]:
            self._tasks.run(older.discard, _ignore, self._on_journal_failed)
        current = self.journal
        if current is None or newest.state.header.created >= current.state.header.created:
            self.journal = newest
            if current is not None:
                self._tasks.run(current.discard, _ignore, self._on_journal_failed)
        else:
            self._tasks.run(newest.discard, _ignore, self._on_journal_failed)
        if newest is self.journal:
            if newest.done:
                self._retire_later(newest)
            else:
                note = newest.summary(present)
                self.status.setText(note)
                self.message.emit(note, 20000)
        self._sync_buttons()

    def _retire_later(self, journal: BatchJournal) -> None:
        """A settled journal goes once the batch draft has had time to save the statuses."""
        self._retiring = journal
        self._retire_timer.start()

    def _retire(self) -> None:
        journal, self._retiring = self._retiring, None
        if journal is not None and journal is self.journal and journal.done and not self._busy:
            self.journal = None
            self._tasks.run(journal.discard, _ignore, self._on_journal_failed)

    def toggle_pause(self) -> None:
        if self._pause.is_set():
            self._pause.clear()
            self.pause_button.setText("Pause")
        else:
            self._pause.set()
            self.pause_button.setText("Resume")

    def cancel(self) -> None:
        self._cancel.set()
        self._pause.clear()

    @property
    def busy(self) -> str:
        return self._busy

    def shutdown(self) -> None:
        self._cancel.set()
        self.persons.shutdown()
        self._pool.waitForDone(5000)
        # The drafts were flushed first (workspace.shutdown): a settled journal is not needed
        # any more; an unsettled one stays for the next start to offer Resume.
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
