"""The Inbox: what the local sandbox received, live, with the raw request and the stored event.

The inbox file is read on a worker thread a few times a second (only rows newer than the last
seen), so events sent by other programs to `event-composer sandbox` show up here too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import IntEnum
from functools import partial
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from composer.core.jsonio import dumps_pretty
from composer.core.plans.check import check_against_plan
from composer.core.plans.model import Plan
from composer.sandbox.store import InboxEvent, InboxRequest, read_events_for, read_requests_after
from composer.ui import dialogs, heap, turns
from composer.ui.tasks import submit
from composer.ui.theme import status_colors
from composer.ui.widgets.json_view import JsonView, pretty_body
from composer.ui.widgets.tabs import NamedTabs

Index = QModelIndex | QPersistentModelIndex
POLL_MS = 500
BACKLOG_POLL_MS = 30
BUSY_BACKLOG_POLL_MS = 200
REQUESTS_PER_POLL = 200
EVENTS_PER_POLL = 2000
FINDINGS_MIN_PX = 150  # room for "1 warning · 3 plan errors" to read, elided at worst


class Column(IntEnum):
    TIME = 0
    EVENT = 1
    DISTINCT_ID = 2
    SOURCE = 3
    FINDINGS = 4
    PERSON = 5  # what person processing did: merged, refused, updated properties


@dataclass(frozen=True)
class InboxRow:
    request: InboxRequest
    event: InboxEvent | None  # None: a refused request, or one whose events were all filtered
    plan: tuple[dict[str, str], ...] = ()  # what the active tracking plan says of the event

    @property
    def refused(self) -> bool:
        # An SDK call answered 304 (definitions not changed) was served, not refused.
        return self.request.status >= (400 if self.request.served else 300)

    @property
    def findings(self) -> list[dict[str, str]]:
        own = self.event.findings if self.event is not None else self.request.findings
        return [*own, *self.plan]

    def checked(self, plan: Plan | None) -> InboxRow:
        if plan is None or self.event is None:
            return replace(self, plan=()) if self.plan else self
        found = check_against_plan(self.event.normalized, plan)
        return replace(self, plan=tuple(f.to_dict() for f in found))


def rows_for(requests: list[InboxRequest], events: list[InboxEvent]) -> list[InboxRow]:
    by_request: dict[int, list[InboxEvent]] = {}
    for event in events:
        by_request.setdefault(event.request_id, []).append(event)
    rows: list[InboxRow] = []
    for request in requests:
        accepted = by_request.get(request.id, [])
        if accepted:
            rows.extend(InboxRow(request, e) for e in accepted)
        else:
            rows.append(InboxRow(request, None))
    return rows


class InboxModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[InboxRow] = []
        self.plan: Plan | None = None

    def replace_checked(self, checked: list[InboxRow]) -> None:
        """The first rows, checked against the current plan (rows appended meanwhile were
        checked as they came)."""
        if not checked or len(self.rows) < len(checked):
            return  # cleared meanwhile: those rows are gone
        if self.rows[len(checked) - 1].request.id != checked[-1].request.id:
            return
        self.rows[: len(checked)] = checked
        self.dataChanged.emit(
            self.index(0, Column.FINDINGS), self.index(len(checked) - 1, Column.FINDINGS)
        )

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Time", "Event", "Distinct ID", "Source", "Findings", "Person")[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ForegroundRole and row.refused:
            return status_colors(QApplication.palette()).client_error
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Column.FINDINGS and row.findings:
                return "\n".join(f"{f['code']}: {f['message']}" for f in row.findings)
            if column is Column.PERSON and row.event is not None and row.event.person:
                return _person_tooltip(row.event.person)
            if row.refused:
                return (
                    f"PostHog would refuse this request: {row.request.status} {row.request.reply}"
                )
            return None
        if role == Qt.ItemDataRole.DecorationRole and column is Column.PERSON:
            # PostHog records an ingestion warning (a refused merge, say) but still answers 200.
            person = row.event.person if row.event is not None else None
            if person and person.get("warnings"):
                return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            return None
        if role == Qt.ItemDataRole.DecorationRole and column is Column.FINDINGS:
            severities = {f["severity"] for f in row.findings}
            style = QApplication.style()
            if row.refused or "error" in severities:
                return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
            if "warning" in severities:
                return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return None

    @staticmethod
    def _text(row: InboxRow, column: Column) -> str:
        request, event = row.request, row.event
        if column is Column.TIME:
            return time.strftime("%H:%M:%S", time.localtime(request.received_at))
        if column is Column.SOURCE:
            agent = request.user_agent.split(" ")[0] if request.user_agent else "unknown"
            return "this app" if request.source == "composer" else f"external ({agent})"
        if event is None:
            if column is Column.EVENT:
                if row.refused:
                    return f"refused: {request.status} {request.reply}"[:120]
                if request.served == "recording":
                    return f"served: session recording ({request.offered} snapshots)"
                if request.served:
                    return f"served: {request.served}"
                return f"{request.filtered} filtered event(s)"
            if column is Column.DISTINCT_ID:
                return f"{request.method} {request.path}"
            return ""
        if column is Column.EVENT:
            return event.event
        if column is Column.DISTINCT_ID:
            return event.distinct_id
        if column is Column.PERSON:
            return event.person_summary
        warnings = sum(1 for f in event.findings if f["severity"] == "warning")
        text = f"{warnings} warning{'s' * (warnings != 1)}" if warnings else "none"
        broken = sum(1 for f in row.plan if f["severity"] == "error")
        if broken:
            text += f" · {broken} plan error{'s' * (broken != 1)}"
        return text

    def append(self, rows: list[InboxRow]) -> None:
        """Rows already checked against the plan (on the worker that read them)."""
        if not rows:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self.rows.extend(rows)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows = []
        self.endResetModel()


def _person_tooltip(outcome: dict[str, Any]) -> str:
    lines = [str(outcome.get("summary", ""))]
    lines += [f"PostHog warns: {w['type']}: {w['message']}" for w in outcome.get("warnings", [])]
    lines += [str(n["message"]) for n in outcome.get("notes", [])]
    return "\n".join(line for line in lines if line)


def _read_new(db: str, after: int, plan: Plan | None) -> tuple[list[InboxRow], int, Any, bool]:
    """The next rows, a bounded helping at a time: this runs on a thread that shares the
    window's interpreter lock, so reading 100,000 events at once would stall the window."""
    requests = read_requests_after(db, after, REQUESTS_PER_POLL)
    more = len(requests) == REQUESTS_PER_POLL
    taken: list[InboxRequest] = []
    events_seen = 0
    for request in requests:
        if taken and events_seen + request.events > EVENTS_PER_POLL:
            more = True
            break
        taken.append(request)
        events_seen += request.events
    if not taken:  # the usual poll: nothing new, nothing to keep (and nothing to freeze)
        return [], after, plan, more
    with heap.bulk():
        events = read_events_for(db, [r.id for r in taken], turns.give)
        rows = []
        for done, row in enumerate(rows_for(taken, events), 1):
            rows.append(row.checked(plan))
            if done % 1000 == 0:
                turns.give()
    return rows, taken[-1].id, plan, more


def _check_all(rows: list[InboxRow], plan: Plan | None) -> tuple[Plan | None, list[InboxRow]]:
    return plan, [row.checked(plan) for row in rows]


def _reset(url: str) -> None:
    """Ask the sandbox to empty its inbox and persons: it holds its persons in memory too, so
    the file alone must not be emptied behind its back."""
    import urllib.request

    request = urllib.request.Request(f"{url}/_sandbox/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


class InboxPane(QWidget):
    """Signals: count_changed(int): how many rows the inbox shows."""

    count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db: str | None = None
        self.url = ""
        self._last_id = 0
        self._polling = False
        # True while this window sends a batch: the backlog (the batch's own events, most of
        # it) is read a helping every BUSY_BACKLOG_POLL_MS, so the reading's Python does not
        # compete with the send's for the interpreter lock the GUI thread needs.
        self.busy: Callable[[], bool] = lambda: False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # polls and clears run one after another

        self.model = InboxModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Inbox")
        self.table.setObjectName("inbox_table")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        # Sized once from the font, not ResizeToContents: that re-measured up to 1,000 rows on
        # every append, 50-700 ms of the GUI thread per helping while 100,000 events arrived.
        header.setSectionResizeMode(Column.TIME, QHeaderView.ResizeMode.Interactive)
        width = self.table.fontMetrics().horizontalAdvance("00:00:00") + 24
        header.resizeSection(Column.TIME, width)
        header.setSectionResizeMode(Column.EVENT, QHeaderView.ResizeMode.Interactive)
        # Narrow enough that the findings are still read at 1024 px wide, where the list has
        # about 610 px; the person column after them takes what is left.
        header.resizeSection(Column.EVENT, 150)
        header.resizeSection(Column.DISTINCT_ID, 125)
        header.resizeSection(Column.SOURCE, 90)
        header.resizeSection(Column.FINDINGS, FINDINGS_MIN_PX)
        header.setStretchLastSection(True)
        self.where = QLabel("The sandbox is starting…", self)
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where.setAccessibleName("Sandbox address")
        self.clear_button = QPushButton("Clear inbox", self)
        self.clear_button.setAccessibleName("Clear inbox")
        self.clear_button.clicked.connect(self.clear)

        self.event_view = JsonView(self)
        self.event_view.setAccessibleName("Stored event")
        self.request_view = JsonView(self)
        self.request_view.setAccessibleName("Raw request")
        self.findings_view = JsonView(self)
        self.findings_view.setAccessibleName("What PostHog would do")
        self.detail = NamedTabs("Inbox detail", self, document_mode=True)
        self.detail.addTab(self.event_view, "Stored event")
        self.detail.addTab(self.request_view, "Raw request")
        self.detail.addTab(self.findings_view, "Findings")
        self.person_view = JsonView(self)
        self.person_view.setAccessibleName("What happened to the person")
        self.detail.addTab(self.person_view, "Person")

        top = QHBoxLayout()
        top.addWidget(self.where, 1)
        top.addWidget(self.clear_button)
        # The inbox has the window's width: the events on the left, the one chosen beside them.
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        self.splitter = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)

    def watch(self, db: str, url: str, note: str = "") -> None:
        """Follow an inbox file; rows already in it are shown too."""
        self.db = db
        self.url = url
        self._last_id = 0
        self.model.clear()
        text = f"Sandbox at <b>{url}</b>: use it as the PostHog host, with any project key."
        self.where.setText(text + (f"<br>{note}" if note else ""))
        self._timer.start()
        self.poll()

    def stop(self) -> None:
        self._timer.stop()
        self._pool.clear()
        self._pool.waitForDone(2000)

    def poll(self) -> None:
        if self.db is None or self._polling:
            return
        self._polling = True
        submit(
            self._pool,
            self,
            partial(_read_new, self.db, self._last_id, self.model.plan),
            self._on_polled,
            self._on_poll_failed,
        )

    @Slot(int, object)
    def _on_polled(self, _tag: int, result: Any) -> None:
        self._polling = False
        rows, last, plan, more = result
        if more:  # a backlog: read on soon, in helpings, rather than all at once
            QTimer.singleShot(BUSY_BACKLOG_POLL_MS if self.busy() else BACKLOG_POLL_MS, self.poll)
        self._last_id = max(self._last_id, int(last))
        if plan is not self.model.plan:  # the plan changed while these were read
            rows = [row.checked(self.model.plan) for row in rows]
        if rows:
            follow = not self.table.currentIndex().isValid() or (
                self.table.currentIndex().row() == self.model.rowCount() - 1
            )
            self.model.append(rows)
            self.count_changed.emit(self.model.rowCount())
            if follow:
                self.table.scrollToBottom()

    @Slot(int, object)
    def _on_poll_failed(self, _tag: int, exc: Any) -> None:
        # A locked or missing file: say so, and try again on the next tick.
        self._polling = False
        self.where.setToolTip(f"Reading the inbox failed: {exc}")

    def clear(self) -> None:
        if self.db is None:
            return
        if not dialogs.confirm(
            self,
            "Clear the inbox?",
            "Every request and event the sandbox kept is deleted.",
            "Clear inbox",
        ):
            return
        submit(self._pool, self, partial(_reset, self.url), self._on_cleared, self._on_poll_failed)

    @Slot(int, object)
    def _on_cleared(self, _tag: int, _result: Any) -> None:
        self.model.clear()
        self.count_changed.emit(0)
        self._show(None)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show(self.model.rows[current.row()] if current.isValid() else None)

    def _show(self, row: InboxRow | None) -> None:
        if row is None:
            for view in (self.event_view, self.request_view, self.findings_view, self.person_view):
                view.set_text("")
            return
        request = row.request
        self.event_view.set_text(
            dumps_pretty(row.event.normalized).decode()
            if row.event is not None
            else f"No event was stored: PostHog would answer {request.status} {request.reply}"
        )
        headers = "\n".join(f"{k}: {v}" for k, v in sorted(request.headers.items()))
        query = f"?{request.query}" if request.query else ""
        body = pretty_body(request.body.encode())
        self.request_view.set_text(
            f"{request.method} {request.path}{query}\n{headers}\n\n{body}"
            f"\n\n→ {request.status} {request.reply}"
        )
        findings = row.findings
        self.findings_view.set_text(
            dumps_pretty(findings).decode()
            if findings
            else "Nothing: PostHog would store this event as it is."
        )
        outcome = row.event.person if row.event is not None else None
        self.person_view.set_text(
            f"{_person_tooltip(outcome)}\n\n{dumps_pretty(outcome).decode()}"
            if outcome
            else "No person processing: the request stored no event."
        )

    def events(self) -> list[Any]:
        """The stored events, for plan counts and for learning a plan."""
        return [row.event.normalized for row in self.model.rows if row.event is not None]

    def set_plan(self, plan: Plan | None) -> None:
        """Check every stored event against a new plan, on a worker thread."""
        self.model.plan = plan  # rows polled from now on are checked against it
        rows = list(self.model.rows)
        submit(
            self._pool,
            self,
            partial(_check_all, rows, plan),
            self._on_rechecked,
            self._on_poll_failed,
        )

    @Slot(int, object)
    def _on_rechecked(self, _tag: int, result: Any) -> None:
        plan, checked = result
        if plan is not self.model.plan:
            return  # an older plan's answer
        self.model.replace_checked(checked)
        current = self.table.currentIndex()
        if current.isValid():
            self._show(self.model.rows[current.row()])

    def select_last(self) -> None:
        if self.model.rowCount():
            self.table.selectRow(self.model.rowCount() - 1)
