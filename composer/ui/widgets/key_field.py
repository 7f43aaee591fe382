"""The project key's field: masked with whole dots that fit, never a dot cut at an edge.

A masked QLineEdit shows one dot per character and scrolls them like text; a 47-character
key in a toolbar-sized field is then cut mid-dot at the left or right edge. While the field
is not being edited, this one paints as many whole dots as fit instead (the text itself is
unchanged); editing shows Qt's own field.
"""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLineEdit, QStyle, QStyleOptionFrame, QWidget


class KeyField(QLineEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEchoMode(QLineEdit.EchoMode.Password)

    def shown_dots(self) -> int:
        """How many dots the field paints while it is not edited (0: Qt paints it)."""
        if self.hasFocus() or self.echoMode() is not QLineEdit.EchoMode.Password:
            return 0
        if not self.text():
            return 0
        room = self._text_rect().width() - 2
        metrics, mask = self.fontMetrics(), self._mask()
        dots = max(1, min(len(self.text()), room // max(metrics.horizontalAdvance(mask), 1)))
        # A dot's advance is rounded to whole pixels; a row of them is measured as it is drawn.
        while dots > 1 and metrics.horizontalAdvance(mask * dots) > room:
            dots -= 1
        return dots

    def paintEvent(self, event: QPaintEvent) -> None:
        dots = self.shown_dots()
        if not dots:
            super().paintEvent(event)
            return
        option = QStyleOptionFrame()
        self.initStyleOption(option)
        painter = QPainter(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelLineEdit, option, painter, self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(
            self._text_rect().adjusted(1, 0, 0, 0),
            int(self.alignment()),
            self._mask() * dots,
        )
        painter.end()

    def _mask(self) -> str:
        return chr(
            self.style().styleHint(QStyle.StyleHint.SH_LineEdit_PasswordCharacter, None, self)
        )

    def _text_rect(self) -> QRect:
        option = QStyleOptionFrame()
        self.initStyleOption(option)
        rect = self.style().subElementRect(QStyle.SubElement.SE_LineEditContents, option, self)
        margins = self.textMargins()
        return rect.adjusted(
            margins.left() + 2, margins.top(), -margins.right() - 2, -margins.bottom()
        )
