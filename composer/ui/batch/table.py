"""The batch table view: whole rows selected, dragged to reorder, columns sized for a glance."""

from __future__ import annotations

from PySide6.QtCore import Qt
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
