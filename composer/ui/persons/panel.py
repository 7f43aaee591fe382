"""The Persons view: the sandbox's persons and groups as PostHog's ingestion left them.

Every read runs on one worker thread. A refresh is asked for whenever the inbox's count
changes, and those asks are coalesced: one read at a time, and at most one more queued behind
it however many events arrive meanwhile. Each read takes the first page of persons (more as the
table scrolls), the counts and the groups; choosing a person shows its properties with the
event that wrote each (event names are looked up once per uuid) and the persons merged into it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from PySide6.QtCore import QModelIndex, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from composer.core.jsonio import dumps_pretty
from composer.sandbox.persons import PersonRow, read_event_names
from composer.ui import names
from composer.ui.persons.model import (
    PAGE,
    GroupRow,
    GroupsModel,
    MergeRow,
    MergesModel,
    PersonsModel,
    PropertiesModel,
    Snapshot,
    ids_text,
    property_rows,
    read_snapshot,
)
from composer.ui.tasks import TaskRunner
from composer.ui.widgets.json_view import JsonView
from composer.ui.widgets.tabs import NamedTabs

COALESCE_MS = 200  # how long refresh asks gather before one read answers them all
SEARCH_MS = 250  # typing pause before a search reads


class PlaceholderTable(QTableView):
    """A table that says why it is empty (in the palette's placeholder colour), so an empty
    pane reads as a state, not as a fault."""

    def __init__(self, name: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.placeholder = placeholder
        self._weights: tuple[float, ...] = ()
        self._fitting = False
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        self.horizontalHeader().setHighlightSections(False)

    def fit_columns(self, *weights: float) -> None:
        """Share the width among the columns by weight, as the pane resizes, until the user
        drags a column edge: the right-hand pane is narrow, and a horizontal scroll bar would
        hide the last column (where each property's event is)."""
        self._weights = weights
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.sectionResized.connect(self._on_section_resized)
        self._fit()

    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        # The stretched last column follows the others; any other resize not ours is a drag.
        if not self._fitting and column < len(self._weights) - 1:
            self._weights = ()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if not self._weights:
            return
        width = self.viewport().width()
        self._fitting = True
        try:
            for column, weight in enumerate(self._weights[:-1]):
                self.horizontalHeader().resizeSection(column, max(int(width * weight), 40))
        finally:
            self._fitting = False

    def set_placeholder(self, text: str) -> None:
        if text != self.placeholder:
            self.placeholder = text
            self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if model.rowCount() or not self.placeholder:
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        area = self.viewport().rect().adjusted(16, 12, -16, -12)
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        painter.drawText(area, int(flags), self.placeholder)
        painter.end()


class PersonsPanel(QWidget):
    """Signals: count_changed(int): how many persons the sandbox holds.

    A failed read is said in the count label (the next ask reads again), not in the status bar:
    a locked file would otherwise repeat the same message on every event.
    """

    count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db: str | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # reads one after another, never a pile of them
        self._tasks = TaskRunner(self._pool, self)
        self._limit = PAGE
        self._reading = False
        self._dirty = False  # asked for while a read ran: read again when it answers
        self._total = -1
        self._shown: PersonRow | None = None
        self._shown_group: GroupRow | None = None
        self._names: dict[str, str] = {}  # event uuid -> name, for "Set by event"
        self._asked: set[str] = set()  # uuids already looked up (found or not)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._refresh)

        self.search = QLineEdit(self)
        self.search.setAccessibleName(names.PERSON_SEARCH)
        self.search.setPlaceholderText("Search: a distinct ID or a property value")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search)
        self.search.returnPressed.connect(self._refresh)
        self.count = QLabel(self)
        self.count.setAccessibleName(names.PERSONS_COUNT)

        self.persons_model = PersonsModel(self._load_more, self)
        self.table = PlaceholderTable(names.PERSONS, "The sandbox is starting…", self)
        self.table.setObjectName("persons_table")
        self.table.setModel(self.persons_model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().currentRowChanged.connect(self._on_person_current)

        self.summary = QLabel(self)
        self.summary.setAccessibleName(names.PERSON_SUMMARY)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.properties_model = PropertiesModel(self)
        self.properties_model.names = self._names  # one lookup serves both property tables
        self.properties = PlaceholderTable(names.PERSON_PROPERTIES, "", self)
        self.properties.setModel(self.properties_model)
        self.properties.fit_columns(0.32, 0.24, 0.44)
        self.merges_model = MergesModel(self)
        self.merges = PlaceholderTable(names.MERGE_HISTORY, "", self)
        self.merges.setModel(self.merges_model)
        self.merges.fit_columns(0.36, 0.30, 0.34)
        self.json = JsonView(self)
        self.json.setAccessibleName(names.PERSON_JSON)
        self.detail = NamedTabs(names.PERSON_DETAILS, self, document_mode=True)
        self.detail.addTab(self.properties, "Properties")
        self.detail.addTab(self.merges, "Merge history")
        self.detail.addTab(self.json, "JSON")
        detail_box = QWidget(self)
        detail_layout = QVBoxLayout(detail_box)
        detail_layout.setContentsMargins(0, 4, 0, 0)
        detail_layout.addWidget(self.summary)
        detail_layout.addWidget(self.detail, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("persons_splitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(detail_box)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)

        self.groups_model = GroupsModel(self)
        self.groups = PlaceholderTable(names.GROUPS, "", self)
        self.groups.setObjectName("groups_table")
        self.groups.setModel(self.groups_model)
        groups_header = self.groups.horizontalHeader()
        groups_header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        groups_header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        groups_header.setStretchLastSection(True)
        self.groups.selectionModel().currentRowChanged.connect(self._on_group_current)
        self.group_properties_model = PropertiesModel(self)
        self.group_properties_model.names = self._names
        self.group_properties = PlaceholderTable(names.GROUP_DETAILS, "", self)
        self.group_properties.setModel(self.group_properties_model)
        self.group_properties.fit_columns(0.32, 0.24, 0.44)
        self.groups_splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.groups_splitter.addWidget(self.groups)
        self.groups_splitter.addWidget(self.group_properties)
        self.groups_splitter.setChildrenCollapsible(False)

        self.tabs = NamedTabs(names.PERSONS_AND_GROUPS, self, document_mode=True)
        self.tabs.addTab(self.splitter, "Persons")
        self.tabs.addTab(self.groups_splitter, "Groups")
        # The count sits in the tab bar's free corner, so the search keeps the whole row.
        self.tabs.setCornerWidget(self.count, Qt.Corner.TopRightCorner)
        self.count.setContentsMargins(0, 0, 4, 0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.tabs, 1)
        self._show_person(None)
        self._show_group(None)

    # -- following the sandbox -------------------------------------------------------------

    def watch(self, db: str) -> None:
        """Follow the persons of this inbox file (the sandbox room's)."""
        if db == self.db:
            self.schedule_refresh()
            return
        self.db = db
        self._limit = PAGE
        self._forget_events()
        self.persons_model.sync([], False)
        self.groups_model.set_rows([])
        self._show_person(None)
        self._show_group(None)
        self._refresh()

    def schedule_refresh(self, _count: int = 0) -> None:
        """Read again soon; asks that come faster than reads answer are merged into one."""
        if self.db is not None and not self._timer.isActive():
            self._timer.start(COALESCE_MS)

    @property
    def idle(self) -> bool:
        return self._tasks.idle and not self._timer.isActive() and not self._dirty

    def shutdown(self) -> None:
        self._timer.stop()
        self._pool.clear()
        self._pool.waitForDone(5000)

    # -- reading -----------------------------------------------------------------------------

    def _on_search(self, _text: str) -> None:
        self._limit = PAGE
        self._timer.start(SEARCH_MS)  # restarted by every key: one read when typing pauses

    def _load_more(self) -> None:
        self._limit += PAGE
        self._refresh()

    def _refresh(self) -> None:
        self._timer.stop()
        if self.db is None:
            return
        if self._reading:
            self._dirty = True
            return
        self._reading = True
        self._dirty = False
        work = partial(read_snapshot, self.db, self.search.text(), self._limit)
        self._tasks.run(work, partial(self._on_snapshot, self.db), self._on_failed)

    def _on_snapshot(self, db: str, snapshot: Snapshot) -> None:
        self._reading = False
        if db == self.db and snapshot.search == self.search.text().strip():
            self._apply(snapshot)
        else:
            self._dirty = True  # another file or another search since: its answer is moot
        if self._dirty:
            self.schedule_refresh()

    def _on_failed(self, exc: Exception) -> None:
        # A locked or half-written file: say so where the count is; the next ask reads again.
        self._reading = False
        self.count.setText("Reading persons failed")
        self.count.setToolTip(f"Reading the sandbox's persons failed: {exc}")
        if self._dirty:
            self.schedule_refresh()

    def _apply(self, snapshot: Snapshot) -> None:
        if snapshot.total == 0:
            self._forget_events()  # the inbox was cleared: uuids seen so far are gone
        current = self._shown.uuid if self._shown is not None else None
        scroll = self.table.verticalScrollBar().value()
        if self.persons_model.sync(snapshot.persons, snapshot.more):
            row = self.persons_model.row_of(current) if current else -1
            if row >= 0:
                self.table.setCurrentIndex(self.persons_model.index(row, 0))
            else:
                self._show_person(None)  # merged into another person, or reset
            self.table.verticalScrollBar().setValue(scroll)
        else:
            index = self.table.currentIndex()
            self._show_person(self.persons_model.rows[index.row()] if index.isValid() else None)
        self._apply_groups(snapshot.groups)
        self._show_counts(snapshot)
        if snapshot.total != self._total:
            self._total = snapshot.total
            self.count_changed.emit(snapshot.total)

    def _apply_groups(self, groups: list[GroupRow]) -> None:
        if groups == self.groups_model.rows:
            return
        shown = self._shown_group
        self.groups_model.set_rows(groups)
        key = (shown.group_type, shown.key) if shown is not None else None
        row = next((i for i, g in enumerate(groups) if (g.group_type, g.key) == key), -1)
        if row >= 0:
            self.groups.setCurrentIndex(self.groups_model.index(row, 0))
        else:
            self._show_group(None)

    def _show_counts(self, snapshot: Snapshot) -> None:
        total, matching, search = snapshot.total, snapshot.matching, snapshot.search
        groups = len(snapshot.groups)
        if search:  # the tab titles count the matching groups; the corner has little room
            self.count.setText(f"{matching:,} of {total:,} match")
        else:
            self.count.setText(
                f"{total:,} person{'s' * (total != 1)} · {groups:,} group{'s' * (groups != 1)}"
            )
        self.count.setToolTip(f"Read from {self.db}" if self.db else "")
        self.tabs.setTabText(0, f"Persons ({matching:,})" if matching else "Persons")
        self.tabs.setTabText(1, f"Groups ({groups:,})" if groups else "Groups")
        if total == 0:
            self.table.set_placeholder(
                "No persons yet. Every event the sandbox accepts goes through PostHog's person"
                " processing: send one (from here or from an SDK pointed at the sandbox) and"
                " its person shows here."
            )
        else:
            self.table.set_placeholder(
                f"No person has a distinct ID or a property value containing “{search}”."
            )
        if snapshot.groups_total == 0:
            self.groups.set_placeholder("No groups yet: a $groupidentify event creates one.")
        else:
            self.groups.set_placeholder(f"No group's type, key or property contains “{search}”.")

    # -- a person's details ------------------------------------------------------------------

    def _on_person_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        rows = self.persons_model.rows
        self._show_person(rows[current.row()] if current.isValid() else None)

    def _show_person(self, person: PersonRow | None) -> None:
        if person is not None and person == self._shown:
            return  # unchanged by this refresh: keep the tables' scroll and selection
        self._shown = person
        if person is None:
            self.summary.setText("Choose a person to see its properties and merges.")
            self.properties_model.set_rows([])
            self.merges_model.set_rows([])
            self.json.set_text("")
            self.properties.set_placeholder(
                "Choose a person above: each property shows with the event that set it."
            )
            self.merges.set_placeholder("Choose a person above to see the persons merged into it.")
            self.detail.setTabText(0, "Properties")
            self.detail.setTabText(1, "Merge history")
            return
        kind = "Identified" if person.is_identified else "Anonymous"
        created = f", created {_when(person.created_at)}" if person.created_at else ""
        self.summary.setText(
            f"{kind} person{created}\nuuid {person.uuid}\n"
            f"Distinct IDs: {ids_text(person.distinct_ids, 20)}"
        )
        self.properties_model.set_rows(property_rows(person.properties, person.sources))
        self.properties.set_placeholder("No properties.")
        merges = [MergeRow.from_dict(m) for m in person.merged_from]
        self.merges_model.set_rows(merges)
        self.merges.set_placeholder("No merges: no other person was merged into this one.")
        self.detail.setTabText(0, f"Properties ({len(person.properties)})")
        self.detail.setTabText(1, f"Merge history ({len(merges)})" if merges else "Merge history")
        self.json.set_text(dumps_pretty(person.to_dict()).decode())
        self._look_up(self.properties_model.uuids())

    def _on_group_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        rows = self.groups_model.rows
        self._show_group(rows[current.row()] if current.isValid() else None)

    def _show_group(self, group: GroupRow | None) -> None:
        self._shown_group = group
        if group is None:
            self.group_properties_model.set_rows([])
            self.group_properties.set_placeholder(
                "Choose a group above: each property shows with the event that set it."
            )
            return
        self.group_properties_model.set_rows(property_rows(group.properties, group.sources))
        self.group_properties.set_placeholder("No properties.")
        self._look_up(self.group_properties_model.uuids())

    def _look_up(self, uuids: set[str]) -> None:
        missing = uuids - self._asked
        if missing and self.db is not None:
            self._asked |= missing
            work = partial(read_event_names, self.db, missing)
            self._tasks.run(work, self._on_names, self._on_names_failed)

    def _on_names(self, found: dict[str, str]) -> None:
        if found:
            self.properties_model.set_names(found)
            self.group_properties_model.set_names(found)

    def _on_names_failed(self, _exc: Exception) -> None:
        self._asked.clear()  # ask again with the next person shown

    def _forget_events(self) -> None:
        self._names.clear()
        self._asked.clear()


def _when(timestamp: str) -> str:
    """An ISO timestamp as "2024-05-01 12:03:04 UTC" (what fits the narrow pane)."""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    if moment.tzinfo is None:
        return f"{moment:%Y-%m-%d %H:%M:%S}"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
