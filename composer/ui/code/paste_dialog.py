"""Edit → Paste from code…: a text box for a curl command, Python code or a JSON body."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from composer.ui import names
from composer.ui.theme import status_colors

HINT = (
    "Paste a curl command (with -d, --data-raw, --json, -H, several lines joined with \\ …),"
    " Python code that posts a body with requests or httpx, or a JSON body. The form takes"
    " its body and endpoint; the key stays the target's."
)


class PasteCodeDialog(QDialog):
    """Window-modal and non-blocking (`open()`): `apply(text)` returns a problem to show, a
    message and the line it is on (the dialog stays open, the text as typed, the cursor on that
    line), or None (the dialog closes)."""

    def __init__(
        self, apply: Callable[[str], tuple[str, int | None] | None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("paste_code_dialog")
        self.setWindowTitle("Paste from code")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.resize(720, 480)
        self._apply = apply
        hint = QLabel(HINT, self)
        hint.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setAccessibleName(names.PASTE_CODE)
        self.text.setObjectName("paste_code_text")
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setPlaceholderText(
            "curl -H 'Content-Type: application/json' -d '{\"api_key\": ..., \"event\": ...}'"
            " https://us.i.posthog.com/i/v0/e/"
        )
        self.error = QLabel(self)
        self.error.setObjectName("paste_code_error")
        self.error.setAccessibleName(names.PASTE_ERROR)
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setVisible(False)
        color = status_colors(self.palette()).client_error.name()
        self.error.setStyleSheet(f"QLabel#paste_code_error {{ color: {color}; }}")
        buttons = QDialogButtonBox(self)
        self.fill = QPushButton("Fill the form", self)
        self.fill.setAccessibleName("Fill the form")
        self.fill.setDefault(True)
        buttons.addButton(self.fill, QDialogButtonBox.ButtonRole.AcceptRole)
        self.from_clipboard = QPushButton("Paste clipboard", self)
        self.from_clipboard.setAccessibleName("Paste the clipboard")
        buttons.addButton(self.from_clipboard, QDialogButtonBox.ButtonRole.ActionRole)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel pasting")
        self.fill.clicked.connect(self.try_fill)
        self.from_clipboard.clicked.connect(self.paste_clipboard)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.text.setFocus()

    def paste_clipboard(self) -> None:
        self.text.setPlainText(QGuiApplication.clipboard().text())
        self.error.setVisible(False)

    def try_fill(self) -> None:
        problem = self._apply(self.text.toPlainText())
        if problem is None:
            self.error.setVisible(False)
            self.accept()
            return
        message, line = problem
        self.error.setText(message)
        self.error.setVisible(True)
        if line:
            block = self.text.document().findBlockByNumber(line - 1)
            if block.isValid():
                cursor = self.text.textCursor()
                cursor.setPosition(block.position())
                self.text.setTextCursor(cursor)
                self.text.centerCursor()
        self.text.setFocus()
