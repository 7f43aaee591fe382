"""The Code tab: the payload as code in a chosen language, its notes, and a copy button."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from composer.core.snippets import LANGUAGES
from composer.ui import names
from composer.ui.code.highlight import CodeHighlighter
from composer.ui.theme import status_colors

# Beyond this the code is shown without colours: highlighting a megabyte body on every
# keystroke would make typing lag, and nobody reads that much code for its colours.
HIGHLIGHT_LIMIT = 200_000
COMMENT_PREFIXES = ("#", "//")


def _first_code_line(code: str) -> int:
    """The number of the first line that is not part of the opening comment."""
    for number, line in enumerate(code.split("\n")):
        if not line.startswith(COMMENT_PREFIXES):
            return number
    return 0


class CodeView(QWidget):
    """Signals:
    shown(): the tab became visible (its code is brought up to date then).
    """

    shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = QComboBox(self)
        self.language.setAccessibleName(names.CODE_LANGUAGE)
        self.language.setObjectName("code_language")
        for language in LANGUAGES:
            self.language.addItem(language.label, language.id)
        self.language.setToolTip("The language or SDK to write the payload in")
        self.include_key = QCheckBox("Include the key", self)
        self.include_key.setAccessibleName(names.INCLUDE_KEY)
        self.include_key.setObjectName("code_include_key")
        self.include_key.setToolTip(
            "Write the project key itself into the code, for this copy only. Without it the"
            " code reads $POSTHOG_PROJECT_API_KEY."
        )
        self.copy_button = QPushButton("Copy code", self)
        self.copy_button.setAccessibleName(names.COPY_CODE)
        self.copy_button.setObjectName("code_copy_button")
        self.copy_button.setToolTip("Copy the code to the clipboard")
        # Nothing in the bar may widen the window: the title gives way first, then the combo.
        self.language.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.language.setMinimumContentsLength(16)  # the longest label
        bar = QHBoxLayout()
        title = QLabel("<b>Code</b> that sends this payload", self)
        title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        title.setMinimumWidth(0)
        bar.addWidget(title, 1)
        bar.addWidget(self.language)
        bar.addWidget(self.include_key)
        bar.addWidget(self.copy_button)

        self.code = QPlainTextEdit(self)
        self.code.setAccessibleName(names.CODE)
        self.code.setObjectName("code_view")
        self.code.setReadOnly(True)
        self.code.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.code.setTabChangesFocus(True)
        self.code.setTabStopDistance(4 * self.code.fontMetrics().horizontalAdvance(" "))
        self.highlighter = CodeHighlighter(self.code.document(), self.code.palette())

        self.notes = QLabel(self)
        self.notes.setAccessibleName(names.CODE_NOTES)
        self.notes.setObjectName("code_notes")
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.PlainText)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.notes.setVisible(False)
        self.key_warning = QLabel(self)
        self.key_warning.setObjectName("code_key_warning")
        self.key_warning.setWordWrap(True)
        self.key_warning.setVisible(False)

        self.notes_box = QScrollArea(self)
        self.notes_box.setWidget(self.notes)
        self.notes_box.setWidgetResizable(True)
        self.notes_box.setFrameShape(QFrame.Shape.NoFrame)
        self.notes_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.notes_box.setMaximumHeight(4 * self.fontMetrics().lineSpacing() + 16)
        self.notes_box.setVisible(False)
        self._code_start = -1  # the first line after the comment; -1: jump there next time

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addLayout(bar)
        layout.addWidget(self.key_warning)
        layout.addWidget(self.code, 1)
        layout.addWidget(self.notes_box)
        self._tint()

    def language_id(self) -> str:
        return str(self.language.currentData())

    def set_language(self, language_id: str) -> None:
        index = self.language.findData(language_id)
        if index >= 0:
            self.language.setCurrentIndex(index)

    def show_code(self, code: str, syntax: str, notes: tuple[str, ...], problem: str = "") -> None:
        """Show `code` (or, with `problem`, why there is none) and its notes.

        The view opens at the first line of code, below the comment of notes (the notes are
        shown under the code as well); a position the user scrolled to is kept."""
        self.highlighter.set_syntax(syntax if len(code) <= HIGHLIGHT_LIMIT else "text")
        if self.code.toPlainText() != code:
            bar = self.code.verticalScrollBar()
            scroll = bar.value()
            stay = self._code_start >= 0 and scroll != self._code_start
            self.code.setPlainText(code)
            self._code_start = _first_code_line(code)
            bar.setValue(scroll if stay else self._code_start)
        self.copy_button.setEnabled(bool(code))
        lines = [problem] if problem else []
        lines += [f"• {note}" for note in notes]
        self.notes.setText("\n".join(lines))
        self.notes.setVisible(bool(lines))
        self.notes_box.setVisible(bool(lines))
        self.notes.setToolTip("What the code cannot send exactly as composed, or what it adds")

    def jump_to_code(self) -> None:
        """Open at the first line of code again (another language, another payload)."""
        self._code_start = -1

    def show_key_warning(self, shown: bool) -> None:
        self.key_warning.setText(
            "The project key is written in this code. It is unticked again after one copy; do"
            " not commit the code."
        )
        self.key_warning.setVisible(shown)

    def _tint(self) -> None:
        colors = status_colors(self.palette())
        base = colors.warning_background.name()
        self.notes.setStyleSheet(f"QLabel#code_notes {{ background: {base}; padding: 4px; }}")
        self.key_warning.setStyleSheet(
            f"QLabel#code_key_warning {{ background: {colors.invalid_background.name()};"
            " padding: 4px; }"
        )

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.shown.emit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.highlighter.set_palette(self.code.palette())
            self._tint()
