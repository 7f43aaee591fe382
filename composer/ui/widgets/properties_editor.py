"""The key / type / value editor used for properties, $set, $set_once and group properties."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from composer.core.compose.values import (
    PropertyRow,
    RowProblem,
    ValueType,
    guess_type,
    infer_row,
    rows_to_object,
)
from composer.core.jsonio import JsonSyntaxError, loads_python_literal
from composer.core.jsonio import loads as json_loads
from composer.ui.theme import status_colors

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    KEY = 0
    TYPE = 1
    VALUE = 2


_HEADERS = {Column.KEY: "Key", Column.TYPE: "Type", Column.VALUE: "Value"}


class PropertiesModel(QAbstractTableModel):
    """Rows of (key, type, text). Problems are recomputed on every change and shown per row.

    Signals:
        edited: any row changed, was added, removed or moved.
    """

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[PropertyRow] = []
        self._problems: dict[int, str] = {}
        self.choices: dict[str, list[str]] = {}  # key -> values the tracking plan allows
        self._object: tuple[dict[str, Any], list[RowProblem]] = ({}, [])
        self.modelReset.connect(self.edited)
        self.rowsInserted.connect(self.edited)
        self.rowsRemoved.connect(self.edited)
        self.rowsMoved.connect(self.edited)
        self.dataChanged.connect(self.edited)

    # -- Qt model API ----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[Column(section)]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base
        if (
            Column(index.column()) is Column.VALUE
            and self._rows[index.row()].type is ValueType.NULL
        ):
            return base
        return base | Qt.ItemFlag.ItemIsEditable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = Column(index.column())
        problem = self._problems.get(index.row())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if column is Column.KEY:
                return row.key
            if column is Column.TYPE:
                return row.type.value
            return "null" if row.type is ValueType.NULL else row.text
        if role == Qt.ItemDataRole.ToolTipRole and problem:
            return problem
        if role == Qt.ItemDataRole.ToolTipRole and column is Column.TYPE and row.auto_type:
            return (
                f"{row.type.value}: chosen from the value, as PostHog types it. Pick a type to"
                " keep another one."
            )
        if role == Qt.ItemDataRole.BackgroundRole and problem:
            return status_colors(QGuiApplication.palette()).invalid_background
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and problem:
            return f"Invalid: {problem}"
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        row = self._rows[index.row()]
        column = Column(index.column())
        text = "" if value is None else str(value)
        if column is Column.KEY:
            if row.key == text:
                return False
            row.key = text
        elif column is Column.TYPE:
            new_type = ValueType(text)
            row.auto_type = False  # chosen, even when it is the one guessed: keep it
            if row.type is new_type:
                return False
            row.type = new_type
        else:
            if row.text == text:
                return False
            row.text = text
        if row.auto_type and column is not Column.TYPE:
            row.type = guess_type(row.key, row.text)
        self._recheck()
        left = self.index(index.row(), 0)
        right = self.index(index.row(), len(Column) - 1)
        self.dataChanged.emit(left, right, [])
        return True

    # -- our API ---------------------------------------------------------------------------

    def rows(self) -> list[PropertyRow]:
        return [PropertyRow(r.key, r.type, r.text, r.auto_type) for r in self._rows]

    def set_object(self, values: dict[str, Any] | None) -> None:
        self.beginResetModel()
        self._rows = [infer_row(k, v) for k, v in (values or {}).items()]
        self._recheck()
        self.endResetModel()

    def set_rows(self, rows: list[PropertyRow]) -> None:
        """Rows exactly as typed, invalid ones included (a restored draft)."""
        self.beginResetModel()
        self._rows = [PropertyRow(r.key, r.type, r.text, r.auto_type) for r in rows]
        self._recheck()
        self.endResetModel()

    def to_object(self) -> tuple[dict[str, Any], list[RowProblem]]:
        # Every change re-reads the rows (_recheck); reading the form reuses that, as a copy.
        values, problems = self._object
        return dict(values), list(problems)

    def problems(self) -> dict[int, str]:
        return dict(self._problems)

    def add_row(self, row: PropertyRow | None = None, at: int | None = None) -> int:
        position = len(self._rows) if at is None else at
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.insert(position, row or PropertyRow(auto_type=True))
        self._recheck()
        self.endInsertRows()
        return position

    def remove_rows(self, rows: list[int]) -> None:
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._rows):
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self._recheck()
                self.endRemoveRows()

    def move_row(self, row: int, delta: int) -> int:
        target = row + delta
        if not (0 <= row < len(self._rows) and 0 <= target < len(self._rows)):
            return row
        # Qt's destination index counts positions before the move.
        destination = target + 1 if delta > 0 else target
        self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), destination)
        self._rows.insert(target, self._rows.pop(row))
        self._recheck()
        self.endMoveRows()
        return target

    def find_key(self, key: str) -> int | None:
        for i, row in enumerate(self._rows):
            if row.key == key:
                return i
        return None

    def _recheck(self) -> None:
        self._object = rows_to_object(self._rows)
        self._problems = {p.row: p.message for p in self._object[1]}


class _ValueDelegate(QStyledItemDelegate):
    """A drop-down of the allowed values where the tracking plan lists them (still editable:
    the plan advises, the user decides)."""

    def __init__(self, model: PropertiesModel, parent: QWidget) -> None:
        super().__init__(parent)
        self.model = model

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        key = self.model.rows()[index.row()].key
        choices = self.model.choices.get(key)
        if not choices:
            return super().createEditor(parent, option, index)
        combo = QComboBox(parent)
        combo.setEditable(True)
        combo.setAccessibleName(f"Value of {key}")
        combo.addItems(choices)
        return combo

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        if isinstance(editor, QComboBox):
            editor.setCurrentText(str(index.data(Qt.ItemDataRole.EditRole)))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: Any, index: Index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)


class _TypeDelegate(QStyledItemDelegate):
    """A drop-down of the value types for the Type column."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        combo = QComboBox(parent)
        combo.setAccessibleName("Value type")
        combo.addItems([t.value for t in ValueType])
        return combo

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        editor.setCurrentText(str(index.data(Qt.ItemDataRole.EditRole)))

    def setModelData(self, editor: QWidget, model: Any, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)


class PropertiesEditor(QWidget):
    """A table of properties with add, remove, reorder and "paste JSON object".

    Signals:
        edited: the object changed.
        message: a short text for the status bar (why a paste was refused, ...).
    """

    edited = Signal()
    message = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.model = PropertiesModel(self)
        self.model.edited.connect(self.edited)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName(name)
        self.table.setObjectName(name.lower().replace(" ", "_") + "_table")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.table.setItemDelegateForColumn(Column.TYPE, _TypeDelegate(self.table))
        self.table.setItemDelegateForColumn(Column.VALUE, _ValueDelegate(self.model, self.table))
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(Column.KEY, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(Column.TYPE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.VALUE, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(Column.KEY, 140)
        self.table.setTabKeyNavigation(False)

        self.add_button = self._button("+ Add", f"Add row to {name}", self.add_row, "Insert")
        self.remove_button = self._button(
            "− Remove", f"Remove row from {name}", self.remove_selected, "Delete"
        )
        self.up_button = self._button(
            "↑", f"Move row up in {name}", lambda: self.move_selected(-1), "Alt+Up"
        )
        self.down_button = self._button(
            "↓", f"Move row down in {name}", lambda: self.move_selected(1), "Alt+Down"
        )
        self.paste_button = self._button(
            "Paste JSON object",
            f"Paste JSON object into {name}",
            self.paste_json_object,
            "Ctrl+Shift+V",
        )
        self.problem_label = QLabel(self)
        self.problem_label.setWordWrap(True)
        self.problem_label.setVisible(False)
        self.problem_label.setAccessibleName(f"{name} problems")

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.paste_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.problem_label)

        for keys, slot in (
            (QKeySequence.StandardKey.Delete, self.remove_selected),
            (QKeySequence("Alt+Up"), lambda: self.move_selected(-1)),
            (QKeySequence("Alt+Down"), lambda: self.move_selected(1)),
            (QKeySequence("Ctrl+Shift+V"), self.paste_json_object),
            (QKeySequence("Insert"), self.add_row),
        ):
            shortcut = QShortcut(keys, self.table, context=Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)
        self.model.edited.connect(self._show_problems)

    def focus_order(self) -> list[QWidget]:
        """The buttons (above the table on screen), then the table."""
        return [
            self.add_button,
            self.remove_button,
            self.up_button,
            self.down_button,
            self.paste_button,
            self.table,
        ]

    def _button(self, text: str, accessible: str, slot: Any, keys: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setAccessibleName(accessible)
        button.setToolTip(f"{accessible} ({keys} in the table)")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setAutoRaise(False)
        button.clicked.connect(slot)
        return button

    # -- values ------------------------------------------------------------------------------

    def set_object(self, values: dict[str, Any] | None) -> None:
        self.model.set_object(values)

    def set_choices(self, choices: dict[str, list[str]]) -> None:
        """Values offered in a drop-down per key (from the tracking plan's enums)."""
        self.model.choices = choices

    def prefill(self, rows: list[PropertyRow]) -> int:
        """Add the rows whose keys are not here yet; how many were added."""
        existing = {r.key for r in self.model.rows()}
        added = 0
        for row in rows:
            if row.key not in existing:
                self.model.add_row(row)
                added += 1
        return added

    def to_object(self) -> tuple[dict[str, Any], list[RowProblem]]:
        return self.model.to_object()

    # -- actions -----------------------------------------------------------------------------

    def add_row(self) -> None:
        current = self.table.currentIndex()
        at = current.row() + 1 if current.isValid() else None
        row = self.model.add_row(at=at)
        index = self.model.index(row, Column.KEY)
        self.table.setCurrentIndex(index)
        self.table.edit(index)

    def _selected_rows(self) -> list[int]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        if not rows and self.table.currentIndex().isValid():
            rows = {self.table.currentIndex().row()}
        return sorted(rows)

    def remove_selected(self) -> None:
        rows = self._selected_rows()
        if rows:
            self.model.remove_rows(rows)

    def move_selected(self, delta: int) -> None:
        rows = self._selected_rows()
        if len(rows) != 1:
            return
        row = self.model.move_row(rows[0], delta)
        self.table.setCurrentIndex(self.model.index(row, self.table.currentIndex().column()))

    def paste_json_object(self) -> None:
        text = QGuiApplication.clipboard().text()
        self.fill_from_text(text)

    def fill_from_text(self, text: str) -> bool:
        """Replace the rows with the keys of a JSON object; refuse anything else, keeping rows."""
        try:
            value = json_loads(text)
        except JsonSyntaxError as exc:
            value = loads_python_literal(text)
            if value is None:
                self.message.emit(
                    f"{self.name}: the clipboard is not a JSON object ({exc}); nothing changed."
                )
                return False
        if not isinstance(value, dict):
            self.message.emit(f"{self.name}: the clipboard holds JSON, but not an object.")
            return False
        self.model.set_object(value)
        self.message.emit(f"{self.name}: filled {len(value)} rows from the clipboard.")
        return True

    def focus_key(self, key: str | None) -> bool:
        """Select the row with `key` (or the table) and give it focus."""
        row = self.model.find_key(key) if key is not None else None
        if row is not None:
            self.table.setCurrentIndex(self.model.index(row, Column.VALUE))
        self.table.setFocus()
        return row is not None or key is None

    def _show_problems(self) -> None:
        problems = self.model.problems()
        if not problems:
            self.problem_label.setVisible(False)
            return
        first_row, text = min(problems.items())
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        self.problem_label.setText(f"Row {first_row + 1}: {text}{more}")
        self.problem_label.setVisible(True)
