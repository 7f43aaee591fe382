"""The batch builder: a table of events, imports and exports, and chunked sending.

Imports, checks and sends run off the GUI thread with progress and cancel; the table is a
model/view pair over `BatchModel`, addressed by event uuid, with undo and redo. The panel holds
the table, its buttons and the summary line; reading and writing files (`transfer.py`),
sending (`sending.py`) and the send journals that survive a crash (`journals.py`) are
QObjects it owns, which report through signals for the panel to show.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from operator import attrgetter
from pathlib import Path

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from composer.core.batch.formats import ColumnMap, Imported
from composer.core.batch.rows import BatchRow, RowStatus, check_rows, new_uuid
from composer.core.jsonio import JsonObject
from composer.core.plans.model import Plan
from composer.core.templates.variables import Resolver
from composer.ui import heap
from composer.ui.batch import adding
from composer.ui.batch.filtering import BatchFilter
from composer.ui.batch.journals import BatchJournal, JournalKeeper
from composer.ui.batch.model import (
    AddRows,
    BatchModel,
    EditRow,
    MoveRows,
    RemoveRows,
)
from composer.ui.batch.persons import BatchPersons
from composer.ui.batch.sending import BatchSending
from composer.ui.batch.streaming import StreamedSend
from composer.ui.batch.table import batch_table, select_positions, status_line
from composer.ui.batch.transfer import BatchTransfer
from composer.ui.tasks import TaskRunner
from composer.ui.widgets.buttons import tool_button

_BLOCKED = attrgetter("blocked")


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
        self.undo = QUndoStack(self)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._tasks = TaskRunner(self._pool, self)
        # Its own pool: a filter pass must not wait behind an import or a send.
        self._filter_pool = QThreadPool(self)
        self._filter_pool.setMaxThreadCount(1)
        self.proxy = BatchFilter(TaskRunner(self._filter_pool, self), self)
        self.proxy.setSourceModel(self.model)
        self.proxy.settled.connect(self._show_filtered)
        # One Cancel for whichever runs: an import or a send (never both: see _busy).
        self._cancel = threading.Event()
        self._busy = ""  # "import", "send" or ""
        self.checks_running = 0  # checks of rows on the pool (an import's, a recheck's)
        self._quiet = False  # a row is made current without loading it into the form
        self._last_progress = 0.0
        self._noted = ""  # the blocked-rows note last added to the summary line
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
        self.status, self.progress = status_line(self)

        # The panel's jobs. Each reads the panel's busy state (nothing starts while one runs)
        # and reports through signals; the panel shows the reports (see "what a job shows").
        self.journals = JournalKeeper(self.model, self._tasks, lambda: self._busy, self)
        self.sending = BatchSending(
            self.model,
            self._tasks,
            self.journals,
            cancel=self._cancel,
            busy=lambda: self._busy,
            historical=self.historical.isChecked,
            resolver=self.resolver,
            plan=self._plan,
            parent=self,
        )
        self.transfer = BatchTransfer(
            self.model,
            self._tasks,
            cancel=self._cancel,
            busy=lambda: self._busy,
            window=self,
            checker=self._checker,
        )
        self.streamed = StreamedSend(self)  # a file too big for the table, sent streaming
        for job in (self.sending, self.transfer, self.streamed):
            job.started.connect(self._on_started)
            job.progressed.connect(self._on_progressed)
            job.message.connect(self.message)
        self.streamed.stopped.connect(self._on_stopped)
        self.streamed.summary.connect(self._show_summary)
        self.transfer.stream_requested.connect(self.send_streaming)
        self.sending.stopped.connect(self._on_stopped)
        self.sending.summary.connect(self._show_summary)
        self.sending.settled.connect(self._sync_buttons)
        self.transfer.imported.connect(self._on_imported)
        self.transfer.failed.connect(self._on_import_failed)
        self.journals.message.connect(self.message)
        self.journals.summary.connect(self._show_summary)
        self.journals.claimed.connect(self._sync_buttons)

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
        send_bar = QHBoxLayout()
        send_bar.addWidget(self.status, 1)
        send_bar.addWidget(self.progress)
        send_bar.addWidget(self.historical)
        for action_button in (
            self.send_button,
            self.pause_button,
            self.cancel_button,
            self.resend_button,
            self.resume_button,
        ):
            send_bar.addWidget(action_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addLayout(tools)
        layout.addWidget(self.table, 1)
        layout.addLayout(send_bar)
        self.focus_order: list[QWidget] = [
            self.add_button,
            self.duplicate_button,
            self.delete_button,
            self.undo_button,
            self.redo_button,
            self.import_button,
            self.export_button,
            self.filter_text,
            self.filter_choice,
            self.table,
            self.historical,
            self.send_button,
            self.pause_button,
            self.cancel_button,
            self.resend_button,
            self.resume_button,
        ]

        self.filter_text.textChanged.connect(self._apply_filter)
        self.filter_choice.currentTextChanged.connect(lambda: self._apply_filter(now=True))
        self.model.move_requested.connect(self._on_move_requested)
        self.undo.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo.canRedoChanged.connect(self.redo_button.setEnabled)
        # The buttons read every row: once per turn of the event loop, however many changes
        # came in it (a send reports its rows chunk by chunk).
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)
        self._refresh.timeout.connect(self._sync_buttons)
        for change in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            change.connect(self._update_summary)
            change.connect(self._sync_buttons)
        self.model.dataChanged.connect(self._refresh.start)
        # What the rows will do to persons, predicted in order whenever they change.
        self.persons = BatchPersons(self.model, self)
        self.persons.message.connect(self.message)
        # Not while a send or a check runs either: two workers running Python at once left the
        # GUI thread's repaints waiting for the interpreter lock twice as long.
        self.persons.busy = lambda: self._busy == "send" or self.checks_running > 0
        # Rows restored after a crash (the batch draft) take their statuses from the journal.
        self.model.rowsInserted.connect(self.journals.claim)
        self.model.modelReset.connect(self.journals.claim)
        QShortcut(
            QKeySequence.StandardKey.Delete,
            self.table,
            self.delete_selected,
            context=Qt.ShortcutContext.WidgetShortcut,
        )
        self._connect_selection()
        self._set_busy("")
        self.journals.scan()
        QTimer.singleShot(1500, self.sending.warm_up)

    # -- what is shown -----------------------------------------------------------------------

    def _connect_selection(self) -> None:
        selection = self.table.selectionModel()
        selection.currentRowChanged.connect(self._on_current)
        selection.selectionChanged.connect(self._sync_buttons)

    def _apply_filter(self, *_args: object, now: bool = False) -> None:
        """Typing waits for a pause, then the rows are matched off the GUI thread; a verdict
        choice applies at once (still matched off the thread)."""
        self.proxy.set_filter(self.filter_text.text(), self.filter_choice.currentText(), now=now)
        if not self.proxy.active:
            self._show_filtered()

    def _show_filtered(self) -> None:
        # Unfiltered, the view sits on the model itself: nothing to map on big imports, and
        # drag-to-reorder means what it shows.
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

    def select_run(self, uuids: Sequence[str], first: str, last: str) -> int:
        """Select the rows of a past run (listed, or from its first to its last); how many of
        them are still in the batch."""
        if self.proxy.active:  # a filter could hide some of them
            self.filter_text.clear()
            self.filter_choice.setCurrentIndex(0)
        found = self.model.positions_of(uuids, first, last)
        select_positions(self.table, self.model, found)
        return len(found)

    def _update_summary(self, *_args: object) -> None:
        if self._busy:
            return
        rows = self.model.rows
        if not rows:
            self.status.setText("Empty batch. Add the current payload (Ctrl+B) or import a file.")
            return
        # Remembered, so that the verdicts of a check replace the note instead of adding one.
        self._noted = self._blocked_note()
        self.status.setText(f"{len(rows):,} row{'s' * (len(rows) != 1)}.{self._noted}")

    def _blocked_note(self) -> str:
        blocked = sum(map(_BLOCKED, self.model.rows))  # a C loop: 100,000 rows in ~3 ms
        if not blocked:
            return ""
        return (
            f" {blocked:,} held back from Send batch: PostHog would reject or drop"
            f" {'it' if blocked == 1 else 'them'} (Errors lists them)."
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
        failed = idle and RowStatus.FAILED in self.model.statuses()
        self.resend_button.setEnabled(failed)
        self.resume_button.setEnabled(idle and bool(self.journals.resumable_rows(first_only=True)))

    # -- row operations (undoable) ---------------------------------------------------------

    def add_current_requested(self) -> None:
        self.add_requested.emit()

    def add_event(self, event: JsonObject) -> str:
        row = BatchRow.of(event)
        if self.model.row(row.uuid) is not None:  # that uuid is a row already: a new event
            row = BatchRow.of({**event, "uuid": new_uuid()})
        check_rows([row], resolver=self.resolver(), plan=self.plan_provider())
        self.undo.push(AddRows(self.model, [row], None, "Add row"))
        # The form keeps composing the next event; clicking the row edits this one.
        self.select(row.uuid, load=False)
        return row.uuid

    def resolver(self) -> Resolver | None:
        return self.resolver_factory() if self.resolver_factory is not None else None

    def _plan(self) -> Plan | None:
        return self.plan_provider()  # looked up per call: the workspace sets it after start

    def add_events(self, events: Sequence[JsonObject], label: str) -> None:
        """Add a template's events; with rows already here, ask whether to replace them."""
        if not self._busy and events:
            adding.add_template_events(self, self, events, label)

    def recheck(self) -> None:
        """Check every row again (the variables changed)."""
        if self.model.rows and not self._busy:
            self.verify(self.model.rows)

    def duplicate_selected(self) -> None:
        adding.duplicate_rows(self, self.selected_uuids())

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

    # -- importing, exporting (transfer.py) and checking rows -------------------------------

    def choose_import(self) -> None:
        self.transfer.choose_import()

    def import_file(self, path: str, mapping: Sequence[ColumnMap] | None = None) -> None:
        """Read a file off the GUI thread; CSV asks for the column mapping first."""
        self.transfer.import_file(path, mapping)

    def choose_export(self) -> None:
        self.transfer.choose_export()

    def export_file(self, path: str) -> None:
        self.transfer.export_file(path)

    def _on_import_failed(self, exc: Exception) -> None:
        # Also where a failed export or check lands: they run on the same pool.
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
        self._noted = self._blocked_note()  # the import's worker checked the rows
        self.status.setText(text + self._noted)
        self.message.emit(text, 10000)

    def _checker(self) -> Callable[[Sequence[BatchRow]], None]:
        """What checks rows with the variables and plan of now (asked on the GUI thread)."""
        return partial(check_rows, resolver=self.resolver(), plan=self.plan_provider())

    def verify(self, rows: Sequence[BatchRow]) -> None:
        """Check rows in the background; the Check column fills in when done."""
        rows = list(rows)
        if rows:
            work = partial(heap.bulk_work(self._checker()), rows)
            self.checks_running += 1
            self._tasks.run(work, self._on_verified, self._on_check_failed)

    def _on_check_failed(self, exc: Exception) -> None:
        self.checks_running -= 1
        self._on_import_failed(exc)

    def _on_verified(self, _result: object) -> None:
        self.checks_running -= 1
        self.model.refresh_verdicts()
        if not self._busy:  # the import's own report stays; the verdicts add to it, once
            text = self.status.text().removesuffix(self._noted)
            self._noted = self._blocked_note()
            self.status.setText(text + self._noted)

    # -- sending (sending.py) ----------------------------------------------------------------

    def send_all(self) -> None:
        self.sending.send_all()

    def resend_failed(self) -> None:
        self.sending.resend_failed()

    def resume_send(self) -> None:
        """Send what an interrupted send (a crash, a kill, Cancel) did not get acknowledged."""
        self.sending.resume_send()

    def toggle_pause(self) -> None:
        self.pause_button.setText("Resume" if self.sending.toggle_pause() else "Pause")

    def cancel(self) -> None:
        self._cancel.set()
        self.sending.unpause()
        self.streamed.cancel()

    def send_streaming(self, path: str) -> None:
        """Send a JSON Lines file without reading it into the table (streaming.py)."""
        if not self._busy and self.sending.context is not None:
            target, historical = self.sending.context(), self.historical.isChecked()
            self.streamed.send_file(path, target, historical, self.sending.chunk_events)

    @property
    def journal(self) -> BatchJournal | None:
        """The journal of this batch's last send, or None."""
        return self.journals.journal

    # -- what a job shows --------------------------------------------------------------------

    def _on_started(self, job: str, steps: int, text: str) -> None:
        if job == "send":  # a send cancelled while paused left it reading "Resume"
            self.pause_button.setText("Pause")
        self._set_busy(job)
        self.progress.setRange(0, steps)
        self.progress.setValue(0)
        self.status.setText(text)

    def _on_progressed(self, done: int, steps: int, text: str) -> None:
        now = time.monotonic()
        if now - self._last_progress < 0.1:
            return  # ten updates a second are plenty
        self._last_progress = now
        if steps:
            self.progress.setMaximum(steps)
        self.progress.setValue(done)
        if text:
            self.status.setText(text)

    def _on_stopped(self) -> None:
        self._set_busy("")

    def _show_summary(self, text: str, ms: int) -> None:
        self.status.setText(text)
        self.message.emit(text, ms)

    @property
    def busy(self) -> str:
        return self._busy

    def shutdown(self) -> None:
        self._cancel.set()
        self.streamed.cancel()  # its journal keeps what was acknowledged
        self.streamed.wait()
        self.persons.shutdown()
        self._pool.waitForDone(5000)
        # The drafts were flushed first (workspace.shutdown): the journals can be let go.
        self.journals.shutdown()
