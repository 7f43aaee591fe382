"""What the Persons view shows, as plain rows, and the table models that present them.

The rows are read on a worker thread from the sandbox's inbox file (composer.sandbox.persons):
`read_snapshot` is the one read a refresh makes. The models never touch the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication

from composer.core.jsonio import dumps_compact
from composer.sandbox.persons import PersonRow, count_persons, read_groups, read_persons
from composer.ui.theme import status_colors

Index = QModelIndex | QPersistentModelIndex
R = TypeVar("R")

PAGE = 500  # persons read per refresh; scrolling to the end reads the next page too
MAX_CELL = 300  # characters of a value shown in a cell; the tooltip has more
MAX_TIP = 4000
MAX_IDS_SHOWN = 8

# How a property got its value, in the words of PostHog's event properties.
OPS = {
    "set": "$set",
    "set_once": "$set_once",
    "unset": "$unset",
    "create": "created",
    "merge": "merged in",
}


# -- rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The event that last wrote a property: its index among the events the sandbox processed
    since the inbox was last cleared (0 is the first), its uuid, and how it wrote it."""

    index: int
    uuid: str | None
    op: str

    @classmethod
    def from_list(cls, data: Sequence[Any] | None) -> Source | None:
        if not data or len(data) < 3:
            return None
        return cls(int(data[0]), None if data[1] is None else str(data[1]), str(data[2]))

    def text(self, names: Mapping[str, str]) -> str:
        """How and by which event: "$set by #3 $identify" (the name once it is looked up)."""
        name = names.get(self.uuid or "", "")
        event = f"#{self.index + 1} {name}" if name else f"#{self.index + 1}"
        return f"{OPS.get(self.op, self.op)} by {event}"

    def tooltip(self, names: Mapping[str, str]) -> str:
        name = names.get(self.uuid or "")
        event = f"event #{self.index + 1}" + (f" ({name})" if name else "")
        return (
            f"Set by {event}: counted over the events the sandbox processed since the inbox was"
            f" last cleared\nuuid: {self.uuid or 'none'}\nhow: {OPS.get(self.op, self.op)}"
        )


@dataclass(frozen=True)
class PropertyRow:
    key: str
    value: object
    source: Source | None


def property_rows(properties: Mapping[str, Any], sources: Mapping[str, Any]) -> list[PropertyRow]:
    """The user's own properties first, then PostHog's `$` ones, each alphabetically."""
    keys = sorted(properties, key=lambda k: (k.startswith("$"), k.lower()))
    return [PropertyRow(k, properties[k], Source.from_list(sources.get(k))) for k in keys]


@dataclass(frozen=True)
class MergeRow:
    index: int
    event: str
    person: str
    distinct_ids: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MergeRow:
        return cls(
            int(data.get("event_index", 0)),
            str(data.get("event", "")),
            str(data.get("person", "")),
            tuple(str(d) for d in data.get("distinct_ids", ())),
        )


@dataclass(frozen=True)
class GroupRow:
    group_type: str
    group_type_index: int
    key: str
    properties: dict[str, object]
    sources: dict[str, object]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupRow:
        return cls(
            str(data.get("group_type", "")),
            int(data.get("group_type_index", 0)),
            str(data.get("group_key", "")),
            dict(data.get("properties", {})),
            dict(data.get("sources", {})),
        )

    def matches(self, search: str) -> bool:
        """The persons' search, applied to a group: its type, key or a property value."""
        needle = search.strip().lower()
        if not needle:
            return True
        values = [self.group_type, self.key, *(value_text(v) for v in self.properties.values())]
        return any(needle in v.lower() for v in values)


@dataclass(frozen=True)
class Snapshot:
    """One refresh's read: the first `limit` persons matching `search`, and the groups."""

    search: str
    persons: list[PersonRow]
    more: bool  # more persons match than were read
    matching: int
    total: int
    groups: list[GroupRow]
    groups_total: int


def read_snapshot(db: str, search: str, limit: int) -> Snapshot:  # a worker thread
    needle = search.strip()
    persons = read_persons(db, needle, limit=limit + 1)
    total = count_persons(db)
    matching = count_persons(db, needle) if needle else total
    groups = [GroupRow.from_dict(g) for g in read_groups(db)]
    return Snapshot(
        needle,
        persons[:limit],
        len(persons) > limit,
        matching,
        total,
        [g for g in groups if g.matches(needle)],
        len(groups),
    )


def value_text(value: object) -> str:
    return value if isinstance(value, str) else dumps_compact(value).decode()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ids_text(ids: Sequence[str], limit: int = MAX_IDS_SHOWN) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


# -- models --------------------------------------------------------------------------------


class RowsModel(QAbstractTableModel, Generic[R]):
    """A read-only table over a list of rows; subclasses say what each cell shows."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[R] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        return self.cell(self.rows[index.row()], index.column(), role)

    def cell(self, row: R, column: int, role: int) -> object:
        raise NotImplementedError

    def set_rows(self, rows: list[R]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()


class PersonColumn(IntEnum):
    DISTINCT_IDS = 0
    IDENTIFIED = 1
    PROPERTIES = 2
    MERGES = 3


class PersonsModel(RowsModel[PersonRow]):
    """The persons of the last refresh; `more` asks `load_more` for the next page."""

    HEADERS = ("Distinct IDs", "Identified", "Props", "Merges")

    def __init__(self, load_more: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.more = False
        self._load_more = load_more

    def cell(self, row: PersonRow, column: int, role: int) -> object:
        column = PersonColumn(column)
        if role == Qt.ItemDataRole.DisplayRole:
            if column is PersonColumn.DISTINCT_IDS:
                return ids_text(row.distinct_ids)
            if column is PersonColumn.IDENTIFIED:
                return "identified" if row.is_identified else "anonymous"
            if column is PersonColumn.PROPERTIES:
                return str(len(row.properties))
            return str(len(row.merged_from)) if row.merged_from else ""
        if role == Qt.ItemDataRole.ForegroundRole and column is PersonColumn.IDENTIFIED:
            return status_colors(QApplication.palette()).ok if row.is_identified else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (
            PersonColumn.PROPERTIES,
            PersonColumn.MERGES,
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is PersonColumn.IDENTIFIED:
                return (
                    "Identified: PostHog refuses to merge this person into another one"
                    if row.is_identified
                    else "Anonymous: an $identify or $create_alias can merge it into another"
                )
            return _clip("\n".join([f"person {row.uuid}", *row.distinct_ids]), MAX_TIP)
        return None

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self.more

    def fetchMore(self, parent: Index) -> None:
        if not parent.isValid() and self.more:
            self.more = False  # one page at a time
            self._load_more()

    def sync(self, rows: list[PersonRow], more: bool) -> bool:
        """Show `rows`; returns True when the view was reset (its selection is gone).

        New persons come last (they are ordered by creation), so a refresh usually only
        changes rows in place and appends: the view keeps its selection and scroll then."""
        self.more = more
        old = [r.uuid for r in self.rows]
        if [r.uuid for r in rows[: len(old)]] != old:
            self.set_rows(rows)  # a person merged away or a narrower search: start over
            return True
        changed = [i for i, (a, b) in enumerate(zip(self.rows, rows, strict=False)) if a != b]
        self.rows[: len(old)] = rows[: len(old)]
        if changed:
            last = self.columnCount() - 1
            self.dataChanged.emit(self.index(changed[0], 0), self.index(changed[-1], last))
        if len(rows) > len(old):
            self.beginInsertRows(QModelIndex(), len(old), len(rows) - 1)
            self.rows.extend(rows[len(old) :])
            self.endInsertRows()
        return False

    def row_of(self, uuid: str) -> int:
        return next((i for i, r in enumerate(self.rows) if r.uuid == uuid), -1)


class PropertiesModel(RowsModel[PropertyRow]):
    """A person's (or a group's) properties, each with the event that wrote it."""

    HEADERS = ("Property", "Value", "Set by")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.names: dict[str, str] = {}  # event uuid -> event name, filled in as they are read

    def cell(self, row: PropertyRow, column: int, role: int) -> object:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.key
            if column == 1:
                return _clip(value_text(row.value), MAX_CELL)
            return row.source.text(self.names) if row.source is not None else ""
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return row.key
            if column == 1:
                return _clip(value_text(row.value), MAX_TIP)
            if row.source is not None:
                return row.source.tooltip(self.names)
        return None

    def set_names(self, names: Mapping[str, str]) -> None:
        self.names.update(names)
        if self.rows:
            self.dataChanged.emit(self.index(0, 2), self.index(len(self.rows) - 1, 2))

    def uuids(self) -> set[str]:
        return {r.source.uuid for r in self.rows if r.source is not None and r.source.uuid}


class MergesModel(RowsModel[MergeRow]):
    HEADERS = ("Event", "Merged person", "IDs it brought")

    def cell(self, row: MergeRow, column: int, role: int) -> object:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"#{row.index + 1} {row.event}"
            if column == 1:
                return row.person
            return ids_text(row.distinct_ids)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return (
                    f"Event #{row.index + 1} the sandbox processed ({row.event}) merged person"
                    f" {row.person} into this one; that person no longer exists"
                )
            if column == 2:
                return _clip("\n".join(row.distinct_ids), MAX_TIP)
        return None


class GroupsModel(RowsModel[GroupRow]):
    HEADERS = ("Group type", "Key", "Properties")

    def cell(self, row: GroupRow, column: int, role: int) -> object:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"{row.group_type} ({row.group_type_index})"
            if column == 1:
                return row.key
            return _clip(_properties_text(row.properties), MAX_CELL)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return f"Group type {row.group_type!r}, index {row.group_type_index} ($group_N)"
            if column == 2:
                return _clip(_properties_text(row.properties, "\n"), MAX_TIP)
        return None


def _properties_text(properties: Mapping[str, object], separator: str = " · ") -> str:
    keys = sorted(properties, key=lambda k: (k.startswith("$"), k.lower()))
    return separator.join(f"{k}: {value_text(properties[k])}" for k in keys)
