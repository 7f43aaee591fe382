"""The batch table view: whole rows selected, dragged to reorder, columns sized for a glance."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from composer.ui.batch.model import BatchModel, Column


def batch_table(model: BatchModel, parent: QWidget) -> QTableView:
    table = QTableView(parent)
    table.setModel(model)
    table.setAccessibleName("Batch table")
    table.setObjectName("batch_table")
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
    table.setDragEnabled(True)
    table.setDropIndicatorShown(True)
    table.setDefaultDropAction(Qt.DropAction.MoveAction)
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(22)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    for column, width in (
        (Column.KIND, 90),
        (Column.EVENT, 160),
        (Column.DISTINCT_ID, 140),
        (Column.TIMESTAMP, 170),
        (Column.PROPERTIES, 50),
        (Column.SIZE, 60),
        (Column.VERDICT, 80),
    ):
        header.resizeSection(column, width)
    return table


def select_positions(table: QTableView, model: BatchModel, positions: Sequence[int]) -> None:
    """Select these rows (sorted positions in the model the table shows) and show the first.
    Contiguous positions are one range: a run of 100,000 rows is one selection range."""
    ranges: list[list[int]] = []
    for position in positions:
        if ranges and ranges[-1][1] == position - 1:
            ranges[-1][1] = position
        else:
            ranges.append([position, position])
    selection = QItemSelection()
    for top, bottom in ranges:
        selection.select(model.index(top, 0), model.index(bottom, 0))
    table.selectionModel().select(
        selection,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    if positions:
        table.scrollTo(model.index(positions[0], 0))
