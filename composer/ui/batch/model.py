"""The batch table's model: rows keyed by event uuid, and the undoable operations on them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from operator import attrgetter
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QIcon, QUndoCommand
from PySide6.QtWidgets import QApplication, QStyle

from composer.core.batch.rows import BatchRow, RowStatus
from composer.core.findings import Severity
from composer.core.jsonio import JsonObject, dumps_compact
from composer.ui.theme import status_colors

Index = QModelIndex | QPersistentModelIndex
MIME = "application/x-event-composer-rows"


STATUS_REPAINT_MS = 250
_STATUS = attrgetter("status")
_UUID = attrgetter("uuid")


class Column(IntEnum):
    KIND = 0
    EVENT = 1
    DISTINCT_ID = 2
    TIMESTAMP = 3
    PROPERTIES = 4
    SIZE = 5
    VERDICT = 6
    STATUS = 7


_HEADERS = ("Kind", "Event", "Distinct ID", "Timestamp", "Props", "Size", "Check", "Status")
_ICONS = {
    Severity.ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
    Severity.WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
    Severity.INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
}


@dataclass(frozen=True)
class Positions:
    index: dict[str, int]
    version: int


@dataclass(frozen=True)
class Snapshot:
    rows: list[BatchRow]
    version: int

    def positions(self) -> Positions:
        # One C loop (map, zip, dict), not a comprehension: a worker's Python bytecode makes
        # each of the GUI thread's calls into Python wait its turn at the interpreter lock,
        # while a C loop of a few milliseconds holds it once.
        index = dict(zip(map(_UUID, self.rows), range(len(self.rows)), strict=True))
        return Positions(index, self.version)


class BatchModel(QAbstractTableModel):
    """Signals: move_requested(list[str], int): rows dragged to a new position (before row)."""

    move_requested = Signal(object, int)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[BatchRow] = []
        self._positions: dict[str, int] | None = None
        self._version = 0  # moves on with every change of order, so an index built off the
        # GUI thread is taken only if the rows are still where it saw them
        self._icons: dict[Severity, QIcon] = {}
        # The statuses rows have, read once per change: the end of a send asked for them four
        # times (the buttons, Resume), 10 ms each over 100,000 rows. Any change the model
        # signals forgets them; a worker's status changes are signalled (statuses_set).
        self._statuses: frozenset[RowStatus] | None = None
        self._repaint: tuple[int, int] | None = None  # the rows whose statuses await a repaint
        self._repaint_timer = QTimer(self)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.setInterval(STATUS_REPAINT_MS)
        self._repaint_timer.timeout.connect(self.flush_statuses)
        for signal in (
            self.dataChanged,
            self.rowsInserted,
            self.rowsRemoved,
            self.rowsMoved,
            self.modelReset,
            self.layoutChanged,
        ):
            signal.connect(self._forget_statuses)

    # -- lookups -------------------------------------------------------------------------------

    def position(self, uuid: str) -> int | None:
        if self._positions is None:
            self._positions = dict(zip(map(_UUID, self.rows), range(len(self.rows)), strict=True))
        return self._positions.get(uuid)

    def snapshot(self) -> Snapshot:
        """The rows in order, for indexing on a worker (a list copy: ~0.3 ms for 100,000)."""
        return Snapshot(list(self.rows), self._version)

    def adopt_positions(self, positions: Positions) -> None:
        if positions.version == self._version and self._positions is None:
            self._positions = positions.index

    def positions_of(self, uuids: Sequence[str], first: str = "", last: str = "") -> list[int]:
        """Where these rows are now, sorted; with no uuids, every row from `first` to `last`."""
        if uuids:
            return sorted(p for u in uuids if (p := self.position(u)) is not None)
        start, end = self.position(first), self.position(last)
        return list(range(start, end + 1)) if start is not None and end is not None else []

    def statuses(self) -> frozenset[RowStatus]:
        """The statuses rows have now. The send's worker sets them on the rows themselves, so
        they are read, not counted as they change; map with attrgetter reads 100,000 rows in
        about 10 ms, a generator takes three times that."""
        if self._statuses is None:
            self._statuses = frozenset(map(_STATUS, self.rows))
        return self._statuses

    def _forget_statuses(self, *_args: object) -> None:
        self._statuses = None

    def row(self, uuid: str) -> BatchRow | None:
        position = self.position(uuid)
        return self.rows[position] if position is not None else None

    def uuids(self) -> list[str]:
        return list(map(_UUID, self.rows))

    # -- Qt model API ----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return _HEADERS[section]
        return str(section + 1)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return _text(row, column)
        if role == Qt.ItemDataRole.DecorationRole and column is Column.VERDICT:
            verdict = row.verdict
            if verdict is None:
                return None
            if verdict not in self._icons:
                self._icons[verdict] = QApplication.style().standardIcon(_ICONS[verdict])
            return self._icons[verdict]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Column.VERDICT and row.all_findings:
                return "\n".join(
                    f"{f.severity.value}: {f.code}: {f.message}" for f in row.all_findings[:8]
                )
            if column is Column.STATUS and row.status_text:
                return row.status_text
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.STATUS:
            colors = status_colors(QApplication.palette())
            if row.status is RowStatus.SENT:
                return colors.ok
            if row.status in (RowStatus.FAILED, RowStatus.HELD):
                return colors.client_error
            if row.status is RowStatus.INTERRUPTED:
                return colors.server_error  # the orange of "try again", not the red of "fix it"
        if role == Qt.ItemDataRole.UserRole:
            return row.uuid
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return base | Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        uuids = list(dict.fromkeys(self.rows[i.row()].uuid for i in indexes if i.isValid()))
        mime = QMimeData()
        mime.setData(MIME, QByteArray(dumps_compact(uuids)))
        return mime

    def dropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index
    ) -> bool:
        if action != Qt.DropAction.MoveAction or not data.hasFormat(MIME):
            return False
        import orjson

        uuids = orjson.loads(bytes(data.data(MIME).data()))
        target = row if row >= 0 else (parent.row() if parent.isValid() else len(self.rows))
        self.move_requested.emit(uuids, target)
        return False  # the move itself happens through the undo stack, not by Qt removing rows

    # -- changes (each one undoable through the commands below) ---------------------------

    def insert_rows(self, rows: Sequence[BatchRow], at: int | None = None) -> None:
        if not rows:
            return
        position = len(self.rows) if at is None else max(0, min(at, len(self.rows)))
        self.beginInsertRows(QModelIndex(), position, position + len(rows) - 1)
        self.rows[position:position] = list(rows)
        self._positions = None
        self._version += 1
        self.endInsertRows()

    def add_rows(self, rows: Sequence[BatchRow]) -> None:
        self.insert_rows(rows)

    def take(self, uuids: Iterable[str]) -> list[tuple[int, BatchRow]]:
        """Remove rows; returns (position, row) pairs, highest position first."""
        positions = sorted({p for u in uuids if (p := self.position(u)) is not None}, reverse=True)
        taken: list[tuple[int, BatchRow]] = []
        if not positions:
            return taken
        # Contiguous runs, removed from the bottom up, keep positions valid and signals few.
        runs: list[tuple[int, int]] = []
        for p in positions:
            if runs and runs[-1][0] == p + 1:
                runs[-1] = (p, runs[-1][1])
            else:
                runs.append((p, p))
        for first, last in runs:
            self.beginRemoveRows(QModelIndex(), first, last)
            removed = self.rows[first : last + 1]
            del self.rows[first : last + 1]
            self._positions = None
            self._version += 1
            self.endRemoveRows()
            taken.extend((first + i, row) for i, row in reversed(list(enumerate(removed))))
        return taken

    def restore(self, taken: Sequence[tuple[int, BatchRow]]) -> None:
        for position, row in sorted(taken, key=lambda item: item[0]):
            self.insert_rows([row], position)

    def set_order(self, uuids: Sequence[str]) -> None:
        by_uuid = {row.uuid: row for row in self.rows}
        self.beginResetModel()
        self.rows = [by_uuid[u] for u in uuids if u in by_uuid]
        self._positions = None
        self._version += 1
        self.endResetModel()

    def replace_event(self, uuid: str, event: JsonObject) -> None:
        position = self.position(uuid)
        if position is None:
            return
        row = self.rows[position]
        row.edited(event)
        row.status = RowStatus.NEW
        row.status_text = ""
        self._changed(position, position)

    def set_status(self, uuids: Sequence[str], status: RowStatus, text: str) -> None:
        positions = [p for u in uuids if (p := self.position(u)) is not None]
        for p in positions:
            self.rows[p].status = status
            self.rows[p].status_text = text
        if positions:
            self._changed(min(positions), max(positions), Column.STATUS, Column.STATUS)

    def statuses_set(self, uuids: Sequence[str]) -> None:
        """Repaint the Status of rows whose statuses a worker set on the rows themselves: a
        chunk's rows are in batch order, so its first and last bound them.

        The repaint waits up to STATUS_REPAINT_MS, joined with the next ones: each repaint
        calls into Python a few hundred times, and while a send's worker runs Python every
        call waits for the interpreter lock (flush_statuses paints at once)."""
        if not uuids:
            return
        self._statuses = None
        ends = [p for p in (self.position(uuids[0]), self.position(uuids[-1])) if p is not None]
        if len(ends) < 2:
            ends = [p for u in uuids if (p := self.position(u)) is not None]
        if not ends:
            return
        first, last = min(ends), max(ends)
        if self._repaint is not None:
            first, last = min(first, self._repaint[0]), max(last, self._repaint[1])
        self._repaint = (first, last)
        if not self._repaint_timer.isActive():
            self._repaint_timer.start()

    def flush_statuses(self) -> None:
        """Paint the statuses set so far now."""
        self._repaint_timer.stop()
        pending, self._repaint = self._repaint, None
        if pending is not None:
            last = min(pending[1], len(self.rows) - 1)
            if pending[0] <= last:
                self._changed(pending[0], last, Column.STATUS, Column.STATUS)

    def refresh_verdicts(self) -> None:
        if self.rows:
            self._changed(0, len(self.rows) - 1, Column.VERDICT, Column.VERDICT)

    def _changed(self, first: int, last: int, left: int = 0, right: int = len(Column) - 1) -> None:
        self.dataChanged.emit(self.index(first, left), self.index(last, right), [])


def _text(row: BatchRow, column: Column) -> str:
    match column:
        case Column.KIND:
            return row.kind_label
        case Column.EVENT:
            return row.name
        case Column.DISTINCT_ID:
            return row.distinct_id
        case Column.TIMESTAMP:
            return row.timestamp
        case Column.PROPERTIES:
            return str(row.property_count)
        case Column.SIZE:
            return f"{row.size:,}"
        case Column.VERDICT:
            if row.findings is None:
                return "…"
            verdict = row.verdict
            return "ok" if verdict is None else verdict.value
        case _:
            return row.status.value  # Column.STATUS


# -- undoable operations ------------------------------------------------------------------


class AddRows(QUndoCommand):
    def __init__(
        self, model: BatchModel, rows: Sequence[BatchRow], at: int | None, text: str
    ) -> None:
        super().__init__(text)
        self.model, self.rows, self.at = model, list(rows), at

    def redo(self) -> None:
        self.model.insert_rows(self.rows, self.at)

    def undo(self) -> None:
        self.model.take(r.uuid for r in self.rows)


class RemoveRows(QUndoCommand):
    def __init__(self, model: BatchModel, uuids: Sequence[str]) -> None:
        super().__init__(f"Delete {len(uuids)} row{'s' * (len(uuids) != 1)}")
        self.model, self.uuids = model, list(uuids)
        self.taken: list[tuple[int, BatchRow]] = []

    def redo(self) -> None:
        self.taken = self.model.take(self.uuids)

    def undo(self) -> None:
        self.model.restore(self.taken)


class MoveRows(QUndoCommand):
    def __init__(self, model: BatchModel, uuids: Sequence[str], before: int) -> None:
        super().__init__(f"Move {len(uuids)} row{'s' * (len(uuids) != 1)}")
        self.model, self.uuids, self.before = model, list(uuids), before
        self.old_order: list[str] = []

    def redo(self) -> None:
        self.old_order = self.model.uuids()
        moving = set(self.uuids)
        order = [u for u in self.old_order if u not in moving]
        anchor = self.old_order[self.before] if self.before < len(self.old_order) else None
        while anchor is not None and anchor in moving:  # dropped onto a moving row
            position = self.old_order.index(anchor) + 1
            anchor = self.old_order[position] if position < len(self.old_order) else None
        at = order.index(anchor) if anchor is not None else len(order)
        order[at:at] = [u for u in self.old_order if u in moving]
        self.model.set_order(order)

    def undo(self) -> None:
        self.model.set_order(self.old_order)


class EditRow(QUndoCommand):
    """Edits of one row from the form merge into a single undo step."""

    ID = 4711

    def __init__(self, model: BatchModel, uuid: str, before: JsonObject, after: JsonObject) -> None:
        super().__init__("Edit row")
        self.model, self.uuid, self.before, self.after = model, uuid, before, after

    def id(self) -> int:
        return self.ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditRow) or other.uuid != self.uuid:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        self.model.replace_event(self.uuid, self.after)

    def undo(self) -> None:
        self.model.replace_event(self.uuid, self.before)
