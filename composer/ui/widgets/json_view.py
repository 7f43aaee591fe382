"""A JSON text view that stays fast with megabyte bodies.

Two things keep it fast. Updates replace only the span that changed (common prefix and suffix
are kept), so editing one property of a 1 MB body touches one line. And highlighting is lazy:
only blocks that scroll into view are coloured, each once per revision, instead of a
QSyntaxHighlighter pass over every line.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QRect, Signal
from PySide6.QtGui import QFontDatabase, QTextCharFormat, QTextCursor, QTextFormat, QTextLayout
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

from composer.core.jsonio import JsonSyntaxError, dumps_pretty, loads
from composer.ui.theme import JsonColors, json_colors

_TOKEN = re.compile(
    r'("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b'
)
_UNHIGHLIGHTED = -1


def _utf16_length(text: str) -> int:
    """Qt counts positions in UTF-16 units; characters beyond the BMP take two."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _common_prefix(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search over slice comparisons: memcmp speed, log n steps
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str, prefix: int) -> int:
    lo, hi = 0, min(len(a), len(b)) - prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class JsonView(QPlainTextEdit):
    """Shows (and in edit mode, edits) JSON text with lazy syntax colouring.

    Signals:
        edited: the user changed the text (only in edit mode).
    """

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._setting = False
        self._colors = json_colors(self.palette())
        self._formats = self._make_formats(self._colors)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setTabChangesFocus(True)
        self.updateRequest.connect(self._on_update_request)
        self.textChanged.connect(self._on_text_changed)

    # -- content -----------------------------------------------------------------------------

    def text(self) -> str:
        return self._text if self.isReadOnly() else self.toPlainText()

    def set_text(self, text: str) -> None:
        """Show `text`, changing only the part that differs from what is shown."""
        old = self.text()
        if text == old:
            return
        prefix = _common_prefix(old, text)
        suffix = _common_suffix(old, text, prefix)
        start = _utf16_length(old[:prefix])
        end = start + _utf16_length(old[prefix : len(old) - suffix])
        self._setting = True
        try:
            cursor = QTextCursor(self.document())
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText(text[prefix : len(text) - suffix])
        finally:
            self._setting = False
        self._text = text

    def set_editable(self, editable: bool) -> None:
        self._text = self.toPlainText()
        self.setReadOnly(not editable)
        self.setUndoRedoEnabled(editable)
        self.setTabChangesFocus(not editable)

    # -- locations -----------------------------------------------------------------------------

    def go_to(self, line: int, column: int) -> None:
        """Put the cursor at a 1-based line and column and bring it into view."""
        block = self.document().findBlockByNumber(max(0, line - 1))
        if not block.isValid():
            return
        cursor = QTextCursor(block)
        column_units = _utf16_length(block.text()[: max(0, column - 1)])
        cursor.setPosition(block.position() + min(column_units, block.length() - 1))
        self.setTextCursor(cursor)
        self.centerCursor()
        self.setFocus()

    def mark_line(self, line: int | None) -> None:
        """Tint one line (an error position), or clear the tint with None."""
        if line is None:
            self.setExtraSelections([])
            return
        block = self.document().findBlockByNumber(max(0, line - 1))
        selection = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setBackground(self._colors.error_background)
        fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
        selection.format = fmt
        cursor = QTextCursor(block)
        selection.cursor = cursor
        self.setExtraSelections([selection])

    # -- highlighting ------------------------------------------------------------------------

    @staticmethod
    def _make_formats(colors: JsonColors) -> dict[str, QTextCharFormat]:
        formats: dict[str, QTextCharFormat] = {}
        for name in ("key", "string", "number", "keyword"):
            fmt = QTextCharFormat()
            fmt.setForeground(getattr(colors, name))
            formats[name] = fmt
        return formats

    def _ranges(self, text: str) -> list[QTextLayout.FormatRange]:
        ranges: list[QTextLayout.FormatRange] = []
        formats = self._formats
        for m in _TOKEN.finditer(text):
            if m.group(1) is not None:
                group, name = 1, "key" if m.group(2) else "string"
            elif m.group(3) is not None:
                group, name = 3, "number"
            else:
                group, name = 4, "keyword"
            r = QTextLayout.FormatRange()
            r.start = _utf16_length(text[: m.start(group)])
            r.length = _utf16_length(m.group(group))
            r.format = formats[name]
            ranges.append(r)
        return ranges

    def _on_update_request(self, _rect: QRect, _dy: int) -> None:
        self.highlight_visible()

    def highlight_visible(self) -> int:
        """Colour the blocks on screen that changed since they were last coloured."""
        block = self.firstVisibleBlock()
        offset = self.contentOffset()
        bottom = self.viewport().height()
        done = 0
        while block.isValid():
            top = self.blockBoundingGeometry(block).translated(offset).top()
            if top > bottom:
                break
            if block.userState() != block.revision():
                layout = block.layout()
                layout.setFormats(self._ranges(block.text()))
                block.setUserState(block.revision())
                done += 1
            block = block.next()
        if done:
            self.viewport().update()
        return done

    def _on_text_changed(self) -> None:
        if not self._setting and not self.isReadOnly():
            self.edited.emit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._colors = json_colors(self.palette())
            self._formats = self._make_formats(self._colors)
            block = self.document().firstBlock()
            while block.isValid():  # recolour everything lazily with the new palette
                block.setUserState(_UNHIGHLIGHTED)
                block = block.next()
            self.highlight_visible()


def pretty_body(body: bytes) -> str:
    """Indented JSON when the body is JSON, else the text as it came."""
    text = body.decode("utf-8", "replace")
    if text.strip()[:1] in ("{", "["):
        try:
            return dumps_pretty(loads(body)).decode()
        except JsonSyntaxError:
            pass
    return text
