"""The history tab: every send this app made, kept in SQLite across restarts.

The store is used from one worker thread only; the table is a model over the rows of the last
search, fetched a page at a time as the view scrolls.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from composer import settings as app_settings
from composer.core.batch.runs import KIND as RUN_KIND
from composer.core.jsonio import JsonSyntaxError, loads
from composer.services.history import RETENTION_CHOICES, HistoryEntry, HistoryStore, default_path
from composer.ui.history.log import HistoryLog
from composer.ui.theme import status_colors
from composer.ui.widgets.buttons import tool_button

Index = QModelIndex | QPersistentModelIndex
PAGE = 200
COLUMNS = ("Sent", "Status", "Profile", "Host", "Endpoint", "Events", "What", "Time")


class HistoryModel(QAbstractTableModel):
    """Rows of the current search; more are fetched when the view scrolls to the end."""

    def __init__(self, panel: HistoryPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.entries: list[HistoryEntry] = []
        self.more = False

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(entry, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            colors = status_colors(self.panel.palette())
            if entry.status is None or entry.status >= 500:
                return colors.server_error
            return colors.ok if entry.status < 300 else colors.client_error
        if role == Qt.ItemDataRole.ToolTipRole and column == 1 and entry.error:
            return entry.error
        return None

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self.more

    def fetchMore(self, parent: Index) -> None:
        if not parent.isValid() and self.more:
            self.more = False  # one page at a time
            self.panel.fetch_page(len(self.entries))

    def replace(self, entries: list[HistoryEntry], more: bool) -> None:
        self.beginResetModel()
        self.entries = entries
        self.more = more
        self.endResetModel()

    def extend(self, entries: list[HistoryEntry], more: bool) -> None:
        if entries:
            first = len(self.entries)
            self.beginInsertRows(QModelIndex(), first, first + len(entries) - 1)
            self.entries.extend(entries)
            self.endInsertRows()
        self.more = more


def _cell(entry: HistoryEntry, column: int) -> str:
    match column:
        case 0:
            return entry.sent_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        case 1:
            return str(entry.status) if entry.status is not None else "no answer"
        case 2:
            return entry.profile
        case 3:
            return entry.host
        case 4:
            return entry.endpoint
        case 5:
            return str(entry.events)
        case 6:
            return entry.event_names
        case _:
            return f"{entry.elapsed_ms:.0f} ms" if entry.elapsed_ms is not None else ""


class HistoryPanel(QWidget):
    """Signals:
    show_requested(HistoryEntry): a full entry to show in the response pane.
    reopen_requested(HistoryEntry): a full entry to open as a new composition.
    resend_requested(HistoryEntry): a full entry to send again.
    message(str, int): a status-bar text.
    """

    show_requested = Signal(HistoryEntry)
    reopen_requested = Signal(HistoryEntry)
    resend_requested = Signal(HistoryEntry)
    rows_requested = Signal(HistoryEntry)  # a batch run: show its rows in the batch
    message = Signal(str, int)

    def __init__(self, log: HistoryLog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # The store and its thread: the workspace's, recording sends before this tab exists.
        self.log = log
        self._generation = 0  # a newer search makes older answers moot
        self._settings = app_settings.Settings()
        self._compare: CompareDialog | None = None
        self.opened = False

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search sends: event, status, host, profile, body")
        self.search.setAccessibleName("Search history")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._search_timer.start)

        button = partial(tool_button, self)

        self.reopen_button = button(
            "Open as new",
            "Open as new composition",
            self.reopen_selected,
            "Put this send's body in the form, as a new payload",
        )
        self.resend_button = button(
            "Resend",
            "Resend",
            self.resend_selected,
            "Send this body again to the current profile's host, with its key",
        )
        self.rows_button = button(
            "Show rows",
            "Show rows of batch run",
            self.show_rows_selected,
            "Select this batch run's rows in the batch table",
        )
        self.compare_button = button(
            "Compare",
            "Compare responses",
            self.compare_selected,
            "Choose two sends to see their answers side by side",
        )
        self.delete_button = button("Delete", "Delete history entries", self.delete_selected)
        self.retention = QComboBox(self)
        self.retention.setAccessibleName("Keep history")
        self.retention.setToolTip("Older sends are removed from the history")
        for label, days in RETENTION_CHOICES:
            self.retention.addItem(f"Keep {label.lower()}", days)
        self.retention.activated.connect(self._on_retention)
        self.count = QLabel(self)
        self.count.setAccessibleName("History count")

        self.model = HistoryModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("History table")
        self.table.setObjectName("history_table")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for column, width in enumerate((150, 80, 120, 190, 80, 55, 260, 70)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _i: self._open_selected())

        tools = QHBoxLayout()
        tools.addWidget(self.search, 1)
        for widget in (
            self.reopen_button,
            self.resend_button,
            self.rows_button,
            self.compare_button,
            self.delete_button,
            self.retention,
        ):
            tools.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 0)
        layout.addLayout(tools)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        self._sync_buttons()

    # -- the store -----------------------------------------------------------------------------

    @property
    def store(self) -> HistoryStore | None:
        return self.log.store

    def start(self) -> None:
        """Show the history once its store is open (it may be already: the log opens it
        when the window starts)."""
        self.log.added.connect(self.refresh)
        if self.log.is_open:
            self._on_opened()
        else:
            self.log.opened.connect(self._on_opened)

    def _on_opened(self) -> None:
        loaded = self.log.loaded
        assert loaded is not None
        self._settings = loaded.settings
        self.retention.setCurrentIndex(
            max(self.retention.findData(loaded.settings.history_days), 0)
        )
        self.opened = True
        self.refresh()

    def _on_failed(self, exc: Exception) -> None:
        self.message.emit(f"History: {exc}", 15000)

    # -- searching -----------------------------------------------------------------------------

    def refresh(self) -> None:
        if self.store is None:
            return
        self._generation += 1
        work = partial(_search, self.search.text(), 0)
        self.log.run(work, partial(self._on_page, self._generation, True), self._on_failed)

    def fetch_page(self, offset: int) -> None:
        work = partial(_search, self.search.text(), offset)
        self.log.run(work, partial(self._on_page, self._generation, False), self._on_failed)

    def _on_page(
        self, generation: int, first: bool, result: tuple[list[HistoryEntry], int]
    ) -> None:
        if generation != self._generation:
            return
        rows, total = result
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        if first:
            self.model.replace(rows, more)
        else:
            self.model.extend(rows, more)
        shown = len(self.model.entries)
        searched = f" matching {self.search.text()!r}" if self.search.text().strip() else ""
        self.count.setText(
            f"{shown:,}{'+' if more else ''} send{'s' * (shown != 1)}{searched}; {total:,} kept"
            f" in {default_path()}"
        )
        self._sync_buttons()

    # -- selection and actions -------------------------------------------------------------------

    def selected(self) -> list[HistoryEntry]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.entries[r] for r in rows if r < len(self.model.entries)]

    def _sync_buttons(self, *_args: object) -> None:
        chosen = self.selected()
        count = len(chosen)
        run = count == 1 and chosen[0].kind == RUN_KIND
        self.reopen_button.setEnabled(count == 1 and not run)
        self.resend_button.setEnabled(count == 1 and not run)
        self.rows_button.setEnabled(run)
        self.compare_button.setEnabled(count == 2)
        self.delete_button.setEnabled(count >= 1)

    def _on_selection(self, *_args: object) -> None:
        self._sync_buttons()
        chosen = self.selected()
        if len(chosen) == 1:
            self._load(chosen[0], self.show_requested.emit)

    def _load(self, entry: HistoryEntry, then: Callable[[HistoryEntry], None]) -> None:
        def get(store: HistoryStore) -> HistoryEntry | None:
            assert entry.id is not None
            return store.get(entry.id)

        def done(full: HistoryEntry | None) -> None:
            if full is None:
                self.message.emit("That send is no longer in the history.", 6000)
                self.refresh()
            else:
                then(full)

        self.log.run(get, done, self._on_failed)

    def _open_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1 and chosen[0].kind == RUN_KIND:
            self.show_rows_selected()
        else:
            self.reopen_selected()

    def reopen_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1:
            self._load(chosen[0], self.reopen_requested.emit)

    def resend_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1:
            self._load(chosen[0], self.resend_requested.emit)

    def show_rows_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1 and chosen[0].kind == RUN_KIND:
            self._load(chosen[0], self.rows_requested.emit)

    def compare_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) != 2:
            self.message.emit("Choose two sends to compare (Ctrl+click the second).", 6000)
            return
        older, newer = sorted(chosen, key=lambda e: e.sent_at)
        self._load(older, lambda left: self._load(newer, partial(self._show_compare, left)))

    def _show_compare(self, left: HistoryEntry, right: HistoryEntry) -> None:
        if self._compare is None:
            self._compare = CompareDialog(self)
        self._compare.show_pair(left, right)
        self._compare.show()
        self._compare.raise_()

    def delete_selected(self) -> None:
        ids = [e.id for e in self.selected() if e.id is not None]
        if not ids:
            return

        def delete(store: HistoryStore) -> int:
            return store.delete(ids)

        self.log.run(delete, lambda _n: self.refresh(), self._on_failed)

    def _on_retention(self, _index: int) -> None:
        days = self.retention.currentData()
        self._settings.history_days = days

        def apply(store: HistoryStore) -> int:
            app_settings.update(history_days=days)
            return store.prune(keep_days=days)

        def done(removed: int) -> None:
            kept = "forever" if days is None else f"for {days} days"
            self.message.emit(f"History is kept {kept}; {removed} older sends removed.", 8000)
            self.refresh()

        self.log.run(apply, done, self._on_failed)

    @property
    def idle(self) -> bool:
        return self.log.idle


def _search(text: str, offset: int, store: HistoryStore) -> tuple[list[HistoryEntry], int]:
    rows = store.search(text, limit=PAGE + 1, offset=offset)
    return rows, store.count()


def describe(entry: HistoryEntry) -> str:
    """A send as text to compare: what was sent, then the answer (status, headers, body).
    JSON is indented with its keys sorted, so two sends line up key by key whatever order
    their keys were written in."""
    status = str(entry.status) if entry.status is not None else "no answer"
    lines = [
        f"{status}  {entry.url}  ({entry.event_names or 'request'})",
        f"sent {entry.sent_at.astimezone():%Y-%m-%d %H:%M:%S}",
        "",
        "— request —",
        _json_text(entry.body),
        "",
        f"— answer: {status} —",
    ]
    if entry.error:
        lines.append(entry.error)
    lines.extend(f"{name}: {value}" for name, value in entry.response_headers)
    lines.append("")
    lines.append(_json_text(entry.response_body))
    return "\n".join(lines)


def _json_text(data: bytes) -> str:
    try:
        return orjson.dumps(loads(data), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    except (JsonSyntaxError, ValueError, TypeError):
        return data.decode("utf-8", "replace")


class CompareDialog(QDialog):
    """Two answers side by side; lines that differ are marked on both sides."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare sends")
        self.setObjectName("compare_dialog")
        self.left = QPlainTextEdit(self)
        self.left.setAccessibleName("Older response")  # the request and its answer
        self.right = QPlainTextEdit(self)
        self.right.setAccessibleName("Newer response")
        for view in (self.left, self.right):
            view.setReadOnly(True)
            view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.summary = QLabel(self)
        self.summary.setAccessibleName("Comparison summary")
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.left)
        splitter.addWidget(self.right)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)
        self.resize(1000, 560)
        self.differing: list[int] = []

    def show_pair(self, left: HistoryEntry, right: HistoryEntry) -> None:
        a, b = describe(left).splitlines(), describe(right).splitlines()
        self.left.setPlainText("\n".join(a))
        self.right.setPlainText("\n".join(b))
        matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        left_lines: list[int] = []
        right_lines: list[int] = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                left_lines.extend(range(i1, i2))
                right_lines.extend(range(j1, j2))
        self._mark(self.left, left_lines)
        self._mark(self.right, right_lines)
        self.differing = right_lines
        same = not left_lines and not right_lines
        self.summary.setText(
            "The two sends and their answers are the same."
            if same
            else f"{len(right_lines)} line{'s' * (len(right_lines) != 1)} differ (marked)."
        )

    def _mark(self, view: QPlainTextEdit, lines: list[int]) -> None:
        colors = status_colors(self.palette())
        selections = []
        for number in lines:
            block = view.document().findBlockByNumber(number)
            selection = QTextEdit.ExtraSelection()
            fmt = QTextCharFormat()
            fmt.setBackground(colors.warning_background)
            fmt.setProperty(QTextCharFormat.Property.FullWidthSelection, True)
            selection.format = fmt
            cursor = QTextCursor(block)
            selection.cursor = cursor
            selections.append(selection)
        view.setExtraSelections(selections)
