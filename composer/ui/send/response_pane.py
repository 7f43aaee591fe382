"""The response pane: status, time, size, headers, body and guidance, for every send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from composer.ui import names
from composer.ui.theme import status_colors
from composer.ui.widgets.json_view import JsonView, pretty_body
from composer.ui.widgets.tabs import NamedTabs

if TYPE_CHECKING:
    from composer.services.transport import ResponseRecord

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class SendEntry:
    """One send of this session, as the history list shows it."""

    when: datetime
    url: str
    events: int
    record: ResponseRecord | None  # None when cancelled before an answer
    note: str = ""
    names: str = ""  # the events sent ("signed_up", "a, b (+3)")

    @property
    def title(self) -> str:
        clock = self.when.strftime("%H:%M:%S")
        what = self.names or f"{self.events} event{'s' * (self.events != 1)}"
        if self.record is None:
            return f"{clock}  cancelled  {what}  → {self.url}"
        status = self.record.status if self.record.status is not None else "no answer"
        return f"{clock}  {status}  {what}  → {self.url}"


class HistoryModel(QAbstractListModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[SendEntry] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return entry.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return entry.note or entry.url
        return None

    def append(self, entry: SendEntry) -> int:
        row = len(self.entries)
        self.beginInsertRows(QModelIndex(), row, row)
        self.entries.append(entry)
        self.endInsertRows()
        return row


class HeadersModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headers: list[tuple[str, str]] = []

    def set_headers(self, headers: list[tuple[str, str]]) -> None:
        self.beginResetModel()
        self.headers = list(headers)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Header", "Value")[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.headers[index.row()][index.column()]
        return None


class ResponsePane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tone = ""  # ok, client_error or server_error: the status line's colour
        self.status_label = QLabel("Nothing sent yet.", self)
        self.status_label.setAccessibleName(names.RESPONSE_STATUS)
        self.status_label.setObjectName("response_status_label")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.time_label = QLabel("", self)
        self.time_label.setAccessibleName(names.RESPONSE_TIME)
        self.time_label.setObjectName("response_time_label")
        self.size_label = QLabel("", self)
        self.size_label.setAccessibleName(names.RESPONSE_SIZE)
        self.guidance_label = QLabel("", self)
        self.guidance_label.setAccessibleName(names.RESPONSE_GUIDANCE)
        self.guidance_label.setObjectName("response_guidance_label")
        self.guidance_label.setWordWrap(True)
        self.guidance_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body = JsonView(self)
        self.body.setAccessibleName(names.RESPONSE_BODY)
        self.body.setObjectName("response_body_view")
        self.headers_model = HeadersModel(self)
        self.headers = QTableView(self)
        self.headers.setModel(self.headers_model)
        self.headers.setAccessibleName(names.RESPONSE_HEADERS)
        self.headers.setObjectName("response_headers_view")
        self.headers.verticalHeader().setVisible(False)
        self.headers.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.headers.horizontalHeader().setStretchLastSection(True)
        self.headers.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_model = HistoryModel(self)
        self.history = QListView(self)
        self.history.setModel(self.history_model)
        self.history.setAccessibleName(names.SEND_HISTORY)
        self.history.setObjectName("send_history_view")

        self.search = QLineEdit(self)
        self.search.setAccessibleName(names.RESPONSE_SEARCH)
        self.search.setPlaceholderText("Find in the body (Enter: next)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._find_first)
        self.search.returnPressed.connect(self.find_next)
        self.raw = QToolButton(self)
        self.raw.setText("Raw")
        self.raw.setCheckable(True)
        self.raw.setAccessibleName(names.RESPONSE_RAW)
        self.raw.setToolTip("Show the body exactly as it came, not indented")
        self.raw.toggled.connect(self._show_body)
        self.copy = QToolButton(self)
        self.copy.setText("Copy")
        self.copy.setAccessibleName(names.RESPONSE_COPY)
        self.copy.setToolTip("Copy the response: status line, headers and body")
        self.copy.clicked.connect(self.copy_response)
        self._shown: SendEntry | None = None

        tabs = NamedTabs("Response views", self, document_mode=True)
        tabs.addTab(self.body, "Body")
        tabs.addTab(self.headers, "Headers")
        self.tabs = tabs
        self.focus_order: list[QWidget] = [
            self.search,
            self.raw,
            self.copy,
            tabs.tabBar(),
            self.body,
            self.headers,
            self.history,
        ]
        tools = QHBoxLayout()
        tools.addWidget(self.search, 1)
        tools.addWidget(self.raw)
        tools.addWidget(self.copy)

        facts = QHBoxLayout()
        facts.addWidget(self.status_label, 1)
        facts.addWidget(self.time_label)
        facts.addWidget(self.size_label)
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(facts)
        top_layout.addWidget(self.guidance_label)
        top_layout.addLayout(tools)
        top_layout.addWidget(tabs, 1)
        history_box = QWidget(self)
        history_layout = QVBoxLayout(history_box)
        history_layout.setContentsMargins(0, 0, 0, 0)
        history_layout.addWidget(QLabel("Sends this session", history_box))
        history_layout.addWidget(self.history, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top)
        split.addWidget(history_box)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setObjectName("response_splitter")
        self.splitter = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self.history.selectionModel().currentChanged.connect(self._on_history_changed)

    def add(self, entry: SendEntry) -> None:
        row = self.history_model.append(entry)
        self.history.setCurrentIndex(self.history_model.index(row))
        self.show_entry(entry)

    def _on_history_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.show_entry(self.history_model.entries[current.row()])

    def show_sending(self, url: str) -> None:
        self.status_label.setText(f"Sending to {url} …")
        self._tone = ""
        self.status_label.setStyleSheet("")
        self.time_label.setText("")
        self.size_label.setText("")
        self.guidance_label.setText("")

    def show_entry(self, entry: SendEntry) -> None:
        self._shown = entry
        record = entry.record
        if record is None:
            self._facts("Cancelled: no answer was waited for.", "server_error")
            self.guidance_label.setText(entry.note)
            self.body.set_text("")
            self.headers_model.set_headers([])
            return
        attempts = len(record.attempts)
        # The whole time, retries and waits included, as the history shows it.
        retried = (
            f" ({attempts} attempts; the last {record.last_elapsed * 1000:.0f} ms)"
            if attempts > 1
            else ""
        )
        self.time_label.setText(f"{record.elapsed * 1000:.0f} ms{retried}")
        self.size_label.setText(f"{record.size:,} bytes")
        self.headers_model.set_headers(record.response_headers)
        self._show_body()
        if record.status is None:
            error = record.error
            self._facts(f"No answer: {error.message if error else ''}", "server_error")
            self.guidance_label.setText(error.guidance if error else "")
            return
        meaning = record.interpretation
        assert meaning is not None
        if record.ok:
            tone = "ok"
        elif record.status >= 500 or record.status in (408, 429):
            tone = "server_error"
        else:
            tone = "client_error"
        self._facts(meaning.summary, tone)
        self.guidance_label.setText(meaning.guidance)

    def _show_body(self, *_args: object) -> None:
        record = self._shown.record if self._shown is not None else None
        if record is None:
            self.body.set_text("")
            return
        raw = record.body.decode("utf-8", "replace")
        self.body.set_text(raw if self.raw.isChecked() else pretty_body(record.body))
        if self.search.text():
            self._find_first()

    def _find_first(self, *_args: object) -> None:
        cursor = self.body.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Start)
        self.body.setTextCursor(cursor)
        self.find_next()

    def find_next(self) -> bool:
        """Select the next place the search text is in the body (wrapping round); False when
        it is nowhere, which the search field shows."""
        text = self.search.text()
        if not text:
            self.search.setStyleSheet("")
            return False
        found = self.body.find(text)
        if not found:  # from the top once more
            cursor = self.body.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.Start)
            self.body.setTextCursor(cursor)
            found = self.body.find(text)
        colors = status_colors(self.palette())
        self.search.setStyleSheet(
            "" if found else f"QLineEdit {{ background: {colors.invalid_background.name()}; }}"
        )
        return found

    def copy_response(self) -> None:
        """The status line, headers and body, as text (the request's key never is in them)."""
        entry = self._shown
        record = entry.record if entry is not None else None
        if record is None:
            QGuiApplication.clipboard().setText(self.status_label.text())
            return
        lines = [self.status_label.text()]
        lines += [f"{name}: {value}" for name, value in record.response_headers]
        lines += ["", record.body.decode("utf-8", "replace")]
        QGuiApplication.clipboard().setText("\n".join(lines))

    def _facts(self, text: str, tone: str) -> None:
        self.status_label.setText(text)
        self._tone = tone
        self._apply_tone()

    def _apply_tone(self) -> None:
        if not self._tone:
            self.status_label.setStyleSheet("")
            return
        # From the application palette: a widget's own palette can lag behind a theme switch.
        color = getattr(status_colors(QApplication.palette()), self._tone).name()
        self.status_label.setStyleSheet(f"color: {color}; font-weight: 700; font-size: 13pt;")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_tone()
