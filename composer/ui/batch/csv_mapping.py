"""Choosing what each CSV column becomes: the event name, the distinct id, the timestamp, or a
property (of the event, `$set` or `$set_once`) with a type the user can override; and the
column separator, guessed from the file, which the user can override too."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from composer.core.batch.csv_text import DELIMITERS
from composer.core.batch.formats import ColumnMap, Target
from composer.core.compose.values import ValueType
from composer.services.batch_files import CsvPreview

_TARGET_LABELS = {
    Target.EVENT: "Event name",
    Target.DISTINCT_ID: "Distinct ID",
    Target.TIMESTAMP: "Timestamp",
    Target.UUID: "UUID",
    Target.PROPERTY: "Property",
    Target.SET: "$set property",
    Target.SET_ONCE: "$set_once property",
    Target.IGNORE: "Leave out",
}


_DELIMITER_LABELS = {"comma": "Comma (,)", "semicolon": "Semicolon (;)", "tab": "Tab"}


class CsvMappingDialog(QDialog):
    def __init__(
        self,
        preview: CsvPreview,
        reload: Callable[[str], CsvPreview],
        parent: QWidget | None = None,
    ) -> None:
        """`reload(delimiter)` splits the file again when the user picks another separator."""
        super().__init__(parent)
        self.setWindowTitle("Import CSV: what each column becomes")
        self.setObjectName("csv_mapping_dialog")
        self.resize(760, 520)
        self._reload = reload
        self.rows: list[tuple[ColumnMap, QComboBox, QLineEdit, QComboBox]] = []
        self.delimiter = QComboBox(self)
        self.delimiter.setAccessibleName("Column separator")
        for name, label in _DELIMITER_LABELS.items():
            self.delimiter.addItem(label, DELIMITERS[name])
        self.delimiter.setCurrentIndex(self.delimiter.findData(preview.delimiter))
        self.delimiter.currentIndexChanged.connect(self._on_delimiter)
        separator = QLabel("Columns are separated by (guessed from the file):", self)
        separator.setBuddy(self.delimiter)
        # Told before anything is imported: the file is not UTF-8 and is read as Windows-1252.
        self.encoding = QLabel(preview.notice and f"This file is {preview.notice}.", self)
        self.encoding.setWordWrap(True)
        self.encoding.setAccessibleName("File encoding")
        self.encoding.setVisible(bool(preview.notice))
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._build(preview)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("Mapping problems")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok is not None
        ok.setText("Import")
        ok.setAccessibleName("Import with this mapping")
        self.ok_button = ok
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Columns named event, distinct_id, timestamp and uuid (or the usual Event Name,"
                " User, user_id, When, time), and headers such as properties.plan, $set.email or"
                " $set_once.first_seen, are mapped already; an email column is the distinct ID"
                " when no column names the user, else a $set property. Every other column"
                " becomes an event property; its type was guessed from the first rows.",
                self,
            ),
            0,
        )
        line = QHBoxLayout()
        line.addWidget(separator)
        line.addWidget(self.delimiter)
        line.addStretch(1)
        layout.addLayout(line)
        layout.addWidget(self.encoding)
        layout.addWidget(self._scroll, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self._refresh()
        if self.rows:  # start with the first column, at the top, however many there are
            self.rows[0][1].setFocus()

    def _build(self, preview: CsvPreview) -> None:
        """The grid of columns, for the file split by the chosen separator."""
        header, sample, mapping = preview.header, preview.sample, preview.mapping
        self.rows = []
        grid = QGridLayout()
        for position, title in enumerate(("Column", "First value", "Becomes", "Name", "Type")):
            grid.addWidget(QLabel(f"<b>{title}</b>", self), 0, position)
        for row_number, column in enumerate(mapping, start=1):
            index = list(header).index(column.column)
            first = next((r[index] for r in sample if index < len(r) and r[index]), "")
            target = QComboBox(self)
            target.setAccessibleName(f"Column {column.column}: becomes")
            for value, label in _TARGET_LABELS.items():
                target.addItem(label, value.value)
            target.setCurrentIndex(target.findData(column.target.value))
            key = QLineEdit(column.key, self)
            key.setAccessibleName(f"Column {column.column}: property name")
            kind = QComboBox(self)
            kind.setAccessibleName(f"Column {column.column}: type")
            for value_type in ValueType:
                kind.addItem(value_type.value, value_type.value)
            kind.setCurrentIndex(kind.findData(column.type.value))
            grid.addWidget(QLabel(column.column, self), row_number, 0)
            grid.addWidget(QLabel(first[:40], self), row_number, 1)
            grid.addWidget(target, row_number, 2)
            grid.addWidget(key, row_number, 3)
            grid.addWidget(kind, row_number, 4)
            target.currentIndexChanged.connect(self._refresh)
            self.rows.append((column, target, key, kind))
        inner = QWidget(self)
        inner.setLayout(grid)
        self._scroll.setWidget(inner)  # the previous grid, if any, is deleted with its widget

    def _on_delimiter(self) -> None:
        self._build(self._reload(self.delimiter.currentData()))
        self._refresh()
        self._scroll.verticalScrollBar().setValue(0)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._scroll.verticalScrollBar().setValue(0)

    def mapping(self) -> list[ColumnMap]:
        result = []
        for column, target, key, kind in self.rows:
            result.append(
                ColumnMap(
                    column.column,
                    Target(target.currentData()),
                    key.text().strip() or column.column,
                    ValueType(kind.currentData()),
                )
            )
        return result

    def _refresh(self) -> None:
        chosen = [Target(t.currentData()) for _, t, _, _ in self.rows]
        for _column, target, key, kind in self.rows:
            is_property = Target(target.currentData()) in (
                Target.PROPERTY,
                Target.SET,
                Target.SET_ONCE,
            )
            key.setEnabled(is_property)
            kind.setEnabled(is_property)
        problems = []
        if chosen.count(Target.EVENT) != 1:
            problems.append("Choose exactly one column for the event name.")
        for single in (Target.DISTINCT_ID, Target.TIMESTAMP, Target.UUID):
            if chosen.count(single) > 1:
                problems.append(f"Only one column can be the {_TARGET_LABELS[single].lower()}.")
        if Target.DISTINCT_ID not in chosen:
            problems.append(
                "No column is the distinct ID: PostHog refuses such events (they"
                " will be held back)."
            )
        self.problem.setText(" ".join(problems))
        self.ok_button.setEnabled(not any(p.startswith(("Choose", "Only")) for p in problems))

    @classmethod
    def ask(
        cls,
        preview: CsvPreview,
        reload: Callable[[str], CsvPreview],
        parent: QWidget | None = None,
    ) -> tuple[list[ColumnMap], str] | None:
        """The mapping and the separator chosen, or None when the user cancelled."""
        dialog = cls(preview, reload, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.mapping(), str(dialog.delimiter.currentData())
