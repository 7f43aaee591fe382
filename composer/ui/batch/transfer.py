"""The batch room's files: importing events from JSON Lines, JSON or CSV, and exporting the rows.

Files are read and written on the panel's worker threads, an import with progress and the
panel's Cancel; a CSV file asks for its column mapping and separator first. This object only
moves events between files and the panel: the panel adds what was read to the table (one
undoable step) and shows the progress and the summary line, so the table's rules stay in one
place.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QWidget

from composer.core.batch.formats import ColumnMap, Format, Imported, format_for
from composer.core.batch.rows import BatchRow
from composer.services.batch_stream import streams
from composer.ui import dialogs, heap
from composer.ui.batch import streaming
from composer.ui.batch.csv_mapping import CsvMappingDialog
from composer.ui.batch.model import BatchModel
from composer.ui.tasks import TaskRunner

FILE_FILTER = (
    "Events (*.jsonl *.ndjson *.json *.csv);;JSON Lines (*.jsonl);;JSON (*.json);;CSV (*.csv)"
)
IMPORT_STEPS = 1000  # the progress bar counts thousandths of the file


class _Bridge(QObject):
    """Carries the reader's progress from its worker thread to the GUI thread (queued, because
    it lives there)."""

    progress = Signal(int)  # thousandths of the file read


class BatchTransfer(QObject):
    """Signals:
    started(str, int, str): an import is under way: "import", its progress steps, the summary
        line.
    progressed(int, int, str): steps done (the other two are 0 and "": unchanged).
    imported(str, object): the file's path and what was read from it (an `Imported`).
    failed(object): reading or writing raised (an Exception); nothing was added.
    message(str, int): a status-bar text.
    """

    started = Signal(str, int, str)
    progressed = Signal(int, int, str)
    imported = Signal(str, object)
    stream_requested = Signal(str)  # a JSON Lines file too big for the table, to send streaming
    failed = Signal(object)
    message = Signal(str, int)

    def __init__(
        self,
        model: BatchModel,
        tasks: TaskRunner,
        *,
        cancel: threading.Event,
        busy: Callable[[], str],
        window: QWidget,
        checker: Callable[[], Callable[[Sequence[BatchRow]], None]] | None = None,
    ) -> None:
        """`checker()`, asked when an import starts, checks the rows read, on the import's
        worker, before they reach the table."""
        super().__init__(window)
        self._checker = checker
        self._model = model
        self._tasks = tasks
        # The panel's: one Cancel stops an import or a send, and nothing starts while one runs.
        self._cancel = cancel
        self._busy = busy
        self._window = window  # the file and mapping dialogs' parent
        self._bridge = _Bridge(self)
        self._bridge.progress.connect(self._on_progress)

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._window, "Import events", "", FILE_FILTER)
        if path:
            self.import_file(path)

    def import_file(
        self, path: str, mapping: Sequence[ColumnMap] | None = None, delimiter: str | None = None
    ) -> None:
        """Read a file off the GUI thread; CSV asks for the column mapping and separator first
        (and tells when the file is not UTF-8), unless `mapping` is given."""
        if self._busy():
            return
        size = _size(path) if streams(path) else 0  # what `send` reads as it sends
        if size > streaming.STREAM_OFFER_BYTES:
            mapped = " with the automatic column mapping" if format_for(path) is Format.CSV else ""
            answer = dialogs.choose(
                self._window,
                "A file too big for the table",
                f"{Path(path).name} is {size / 2**20:,.0f} MiB, about"
                f" {streaming.estimate_events(size):,} events: the batch table holds"
                " every row in memory. Send it streaming instead? It is read, checked and sent"
                f" a block at a time{mapped}, the events not delivered are written to"
                f" {Path(path).stem}.failed.jsonl, and a send that stops goes on where it"
                " stopped when the file is sent again.",
                [SEND_STREAMING, IMPORT_ANYWAY],
            )
            if answer is None:
                return
            if answer == SEND_STREAMING:
                self.stream_requested.emit(path)
                return
        if format_for(path) is Format.CSV and mapping is None:
            from composer.services.batch_files import csv_preview

            try:
                preview = csv_preview(path, delimiter)
            except OSError as exc:
                self.message.emit(f"Cannot read {path}: {exc.strerror or exc}", 10000)
                return
            # A file that cannot be read at all goes straight to the import, which reports why
            # and where, as for JSON; there is nothing to map.
            if preview.refusal is None:
                chosen = CsvMappingDialog.ask(preview, partial(csv_preview, path), self._window)
                if chosen is None:
                    return
                mapping, delimiter = chosen
        from composer.services.batch_files import read_batch_file

        self._cancel.clear()
        self.started.emit("import", IMPORT_STEPS, f"Importing {Path(path).name}…")
        read = partial(
            read_batch_file,
            path,
            mapping=mapping,
            delimiter=delimiter,
            on_progress=self._report,
            cancel=self._cancel,
        )
        check = self._checker() if self._checker is not None else None
        work = partial(heap.bulk_work(_read_and_check), read, check)
        self._tasks.run(work, partial(self.imported.emit, path), self.failed.emit)

    def _report(self, done: int, total: int) -> None:  # a worker thread
        self._bridge.progress.emit(int(IMPORT_STEPS * done / max(total, 1)))

    @Slot(int)
    def _on_progress(self, steps: int) -> None:
        self.progressed.emit(steps, 0, "")

    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Export events", "events.jsonl", FILE_FILTER
        )
        if path:
            self.export_file(path)

    def export_file(self, path: str) -> None:
        from composer.services.batch_files import write_batch_file

        events = [row.event for row in self._model.rows]
        self._tasks.run(
            partial(write_batch_file, path, events),
            partial(self._on_exported, path, len(events)),
            self.failed.emit,
        )

    def _on_exported(self, path: str, count: int, fmt: Format) -> None:
        self.message.emit(f"Exported {count:,} rows to {path} ({fmt}).", 8000)


SEND_STREAMING = "Send it streaming"
IMPORT_ANYWAY = "Import it anyway"


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # the import says why it cannot be read


def _read_and_check(
    read: Callable[[], Imported], check: Callable[[Sequence[BatchRow]], None] | None
) -> Imported:
    """A worker thread: the file's rows, checked before they reach the table. Checked after,
    the check's Python ran while the GUI thread painted the new rows, and every one of the
    paint's calls into Python waited for the interpreter lock (a 0.5 s stall)."""
    result = read()
    if check is not None:
        check(result.rows)
    return result
