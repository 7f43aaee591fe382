"""The body preview: exactly the bytes Send sends, or the JSON being edited, with its error."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from composer.ui import names
from composer.ui.widgets.json_view import JsonView


class PreviewPane(QWidget):
    def __init__(self, edit_json: QAction, copy: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = JsonView(self)
        self.view.setAccessibleName(names.JSON_PREVIEW)
        self.view.setObjectName("json_preview_view")
        self.error = QLabel(self)
        self.error.setObjectName("json_error_label")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        self.edit_json_button = QToolButton(self)
        self.edit_json_button.setDefaultAction(edit_json)
        self.edit_json_button.setAccessibleName(names.EDIT_JSON)
        self.copy_button = QToolButton(self)
        self.copy_button.setDefaultAction(copy)
        self.copy_button.setAccessibleName(names.COPY_BODY)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<b>Body</b> — exactly what Send sends", self), 1)
        bar.addWidget(self.edit_json_button)
        bar.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.error)

    def focus_order(self) -> list[QWidget]:
        """The buttons in the header row, then the body."""
        return [self.edit_json_button, self.copy_button, self.view]
