"""The batch filter: the rows it keeps are found off the GUI thread, then shown at once.

Typing in the filter waits for a pause (DEBOUNCE_MS), then one pass over a snapshot of the
rows runs on the panel's pool (`composer.core.batch.filtering`); the view gets the result as
a list of source rows. A change of the table's shape while a filter is on is followed at
once by shifting that list (cheap integer work), then the rows are matched again off the GUI
thread, so the view never points at a row that is gone.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractProxyModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from composer.core.batch.filtering import CHOICES, is_active, matching_rows
from composer.ui.batch.model import BatchModel
from composer.ui.tasks import TaskRunner

Index = QModelIndex | QPersistentModelIndex
DEBOUNCE_MS = 200  # typing "checkout" is one pass, not eight


class RowSubset(QAbstractProxyModel):
    """The source rows listed in `rows`, in that order; every column of each."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[int] = []
        self._position: dict[int, int] = {}

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        super().setSourceModel(model)
        model.dataChanged.connect(self._source_data_changed)

    def set_rows(self, rows: list[int]) -> None:
        self.beginResetModel()
        self._set(rows)
        self.endResetModel()

    def _set(self, rows: list[int]) -> None:
        self.rows = rows
        self._position = {source: i for i, source in enumerate(rows)}

    # -- Qt's proxy API --------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.sourceModel().columnCount()

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() or not (0 <= row < len(self.rows)):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, child: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        return QModelIndex()

    def mapToSource(self, proxy: Index) -> QModelIndex:
        if not proxy.isValid() or proxy.row() >= len(self.rows):
            return QModelIndex()
        return self.sourceModel().index(self.rows[proxy.row()], proxy.column())

    def mapFromSource(self, source: Index) -> QModelIndex:
        position = self._position.get(source.row()) if source.isValid() else None
        return QModelIndex() if position is None else self.createIndex(position, source.column())

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Vertical and 0 <= section < len(self.rows):
            section = self.rows[section]  # the row's number in the batch, not in the filter
        return self.sourceModel().headerData(section, orientation, role)

    def _source_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        if self.rows:
            first = self._position.get(top_left.row())
            last = self._position.get(bottom_right.row())
            if first is None or last is None or top_left.row() != bottom_right.row():
                first, last = 0, len(self.rows) - 1  # a range: repaint what is shown
            self.dataChanged.emit(
                self.index(first, top_left.column()), self.index(last, bottom_right.column())
            )

    # -- following the source's shape --------------------------------------------------------

    def removed(self, first: int, last: int) -> None:
        count = last - first + 1
        self._set([r if r < first else r - count for r in self.rows if not first <= r <= last])

    def inserted(self, first: int, last: int, keep: list[int]) -> None:
        count = last - first + 1
        shifted = [r if r < first else r + count for r in self.rows]
        added = [first + i for i in keep]
        self._set(sorted(shifted + added))

    def clamp(self, count: int) -> None:
        self._set([r for r in self.rows if r < count])


class BatchFilter(RowSubset):
    """Text (event name or distinct ID) and verdict filters over a BatchModel.

    Signals: settled(): the rows shown match the filter as it is now.
    """

    CHOICES = CHOICES
    settled = Signal()

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.text = ""
        self.choice: str = CHOICES[0]
        self._generation = 0
        self.pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._match)

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        assert isinstance(model, BatchModel)
        super().setSourceModel(model)
        model.rowsAboutToBeRemoved.connect(self._before_shape)
        model.rowsRemoved.connect(self._after_removed)
        model.rowsAboutToBeInserted.connect(self._before_shape)
        model.rowsInserted.connect(self._after_inserted)
        for about, done in (
            (model.modelAboutToBeReset, model.modelReset),
            (model.layoutAboutToBeChanged, model.layoutChanged),
            (model.rowsAboutToBeMoved, model.rowsMoved),
        ):
            about.connect(self._before_shape)
            done.connect(self._after_reshaped)
        model.dataChanged.connect(self._after_data_changed)

    @property
    def batch(self) -> BatchModel:
        model = self.sourceModel()
        assert isinstance(model, BatchModel)
        return model

    @property
    def active(self) -> bool:
        return is_active(self.text, self.choice)

    def set_filter(self, text: str, choice: str, *, now: bool = False) -> None:
        """Filter by `text` and `choice`, after a pause in typing (or `now`)."""
        self.text, self.choice = text, choice
        self.pending = True
        if now:
            self._timer.stop()
            self._match()
        else:
            self._timer.start()

    def _match(self) -> None:
        self._generation += 1
        generation = self._generation
        if not self.active:
            self._apply(generation, [])  # the view shows the batch itself then
            return
        rows, text, choice = list(self.batch.rows), self.text, self.choice
        self._tasks.run(
            lambda: matching_rows(rows, text, choice),
            lambda found: self._apply(generation, found),
            lambda _exc: self._apply(generation, self.rows),
        )

    def _apply(self, generation: int, found: list[int]) -> None:
        if generation != self._generation:
            return  # the filter or the rows changed while this pass ran
        self.pending = False
        self.set_rows(found)
        self.settled.emit()

    def _rematch(self) -> None:
        """The rows changed under an active filter: match again soon."""
        self._generation += 1  # a pass already running would show rows of before the change
        if self.active:
            self.pending = True
            self._timer.start()

    # -- the source changed ----------------------------------------------------------------

    # Unfiltered, the view shows the batch model itself and this model follows nothing.

    def _before_shape(self, *_args: object) -> None:
        if self.active:
            self.beginResetModel()

    def _after_removed(self, _parent: QModelIndex, first: int, last: int) -> None:
        if self.active:
            self.removed(first, last)
            self.endResetModel()

    def _after_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        if not self.active:
            return
        new = self.batch.rows[first : last + 1]
        # Rows added while filtering show if they match; a big import is matched off-thread.
        keep = (
            matching_rows(new, self.text, self.choice)
            if len(new) <= 1000
            else list(range(len(new)))
        )
        self.inserted(first, last, keep)
        self.endResetModel()
        if len(new) > 1000:
            self._rematch()
        elif self.pending:
            self._generation += 1
            self._timer.start()

    def _after_reshaped(self, *_args: object) -> None:
        if not self.active:
            return
        self.clamp(len(self.batch.rows))
        self.endResetModel()
        self._rematch()

    def _after_data_changed(self, *_args: object) -> None:
        # A verdict or a status changed: a verdict filter may keep other rows now.
        if self.active and self.choice != CHOICES[0]:
            self._rematch()
