"""The batch table view (whole rows selected, dragged to reorder, columns sized for a glance)
and the summary line under it."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableView,
    QWidget,
)

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


def status_line(parent: QWidget) -> tuple[QLabel, QProgressBar]:
    """The summary line under the table, and the progress bar beside it.

    Neither changes the table's size as a job starts, runs and ends: re-laid out, the table's
    headers measure 200 rows again, through Python, and while a worker runs Python each of
    those 800 calls waits for the interpreter lock (60-200 ms at a send's start)."""
    progress = QProgressBar(parent)
    progress.setAccessibleName("Batch progress")
    progress.setTextVisible(True)
    policy = progress.sizePolicy()
    policy.setRetainSizeWhenHidden(True)  # the summary keeps its width, shown or hidden
    progress.setSizePolicy(policy)
    progress.setVisible(False)
    status = QLabel("Empty batch. Add the current payload (Ctrl+B) or import a file.", parent)
    status.setAccessibleName("Batch summary")
    # Room for two lines: a summary that wrapped onto a second line made the table shorter.
    status.setMinimumHeight(2 * status.fontMetrics().lineSpacing() + 2)
    status.setWordWrap(True)
    status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return status, progress
