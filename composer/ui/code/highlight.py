"""Colours for code: strings, numbers, keywords and comments of the snippet languages.

A small tokenizer per block (line), with one piece of state carried between lines: an open
multi-line string (the curl body in single quotes, Go's backquoted body). It is enough for the
code the snippets package writes, which is all this view shows.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QPalette, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from composer.ui.theme import is_dark, json_colors

KEYWORDS = {
    "shell": {"curl"},
    "python": {"import", "from", "as", "True", "False", "None", "print", "def", "return"},
    "javascript": {"import", "from", "const", "await", "new", "true", "false", "null"},
    "go": {"package", "import", "func", "if", "return", "defer", "nil", "err"},
    "ruby": {"require", "true", "false", "nil", "puts", "do", "end"},
}
COMMENT = {"shell": "#", "python": "#", "ruby": "#", "javascript": "//", "go": "//"}
# Quotes that may run over several lines, per language (the state is the quote's index + 1).
MULTILINE = {"shell": ("'",), "go": ("`",)}
_NUMBER = re.compile(r"-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b")
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_OUTSIDE = -1


class CodeHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument, palette: QPalette) -> None:
        super().__init__(document)
        self.syntax = "text"
        self._text = ""
        self._wide = False
        self.set_palette(palette)

    def set_palette(self, palette: QPalette) -> None:
        colors = json_colors(palette)
        self._formats: dict[str, QTextCharFormat] = {}
        comment = QColor("#8b949e") if is_dark(palette) else QColor("#5f6b7a")
        for name, color in (
            ("string", colors.string),
            ("number", colors.number),
            ("keyword", colors.keyword),
            ("key", colors.key),
            ("comment", comment),
        ):
            fmt = QTextCharFormat()
            fmt.setForeground(color)
            if name == "comment":
                fmt.setFontItalic(True)
            self._formats[name] = fmt
        self.rehighlight()

    def set_syntax(self, syntax: str) -> None:
        if syntax != self.syntax:
            self.syntax = syntax
            self.rehighlight()

    def _set(self, start: int, count: int, name: str) -> None:
        """Positions in characters; Qt counts UTF-16 units (two for a character beyond the BMP)."""
        if self._wide:
            text = self._text
            begin = len(text[:start].encode("utf-16-le")) // 2
            count = len(text[start : start + count].encode("utf-16-le")) // 2
            start = begin
        self.setFormat(start, count, self._formats[name])

    def highlightBlock(self, text: str) -> None:
        self._text = text
        self._wide = any(ord(c) > 0xFFFF for c in text)
        syntax = self.syntax
        if syntax not in KEYWORDS:
            return
        multiline = MULTILINE.get(syntax, ())
        state = self.previousBlockState()
        i = 0
        if state > 0:  # inside a string that started on an earlier line
            quote = multiline[state - 1]
            end = text.find(quote)
            if end < 0:
                self._set(0, len(text), "string")
                self.setCurrentBlockState(state)
                return
            self._set(0, end + 1, "string")
            i = end + 1
        self.setCurrentBlockState(_OUTSIDE)
        comment = COMMENT[syntax]
        keywords = KEYWORDS[syntax]
        while i < len(text):
            char = text[i]
            if text.startswith(comment, i):
                self._set(i, len(text) - i, "comment")
                return
            if char in "\"'`":
                end = self._string_end(text, i, char, syntax)
                if end < 0:
                    self._set(i, len(text) - i, "string")
                    if char in multiline:
                        self.setCurrentBlockState(multiline.index(char) + 1)
                    return
                name = "key" if text[end + 1 : end + 3].lstrip().startswith(":") else "string"
                if syntax == "ruby" and text[end + 1 :].lstrip().startswith("=>"):
                    name = "key"
                self._set(i, end + 1 - i, name)
                i = end + 1
                continue
            word = _WORD.match(text, i)
            if word:
                if word.group() in keywords:
                    self._set(i, len(word.group()), "keyword")
                i = word.end()
                continue
            number = _NUMBER.match(text, i)
            if number and (i == 0 or not text[i - 1].isalnum()):
                self._set(i, len(number.group()), "number")
                i = number.end()
                continue
            i += 1

    @staticmethod
    def _string_end(text: str, start: int, quote: str, syntax: str) -> int:
        """Where the string opened at `start` closes on this line, or -1."""
        raw = quote == "`" or (syntax == "shell" and quote == "'")
        i = start + 1
        while i < len(text):
            if text[i] == "\\" and not raw:
                i += 2
                continue
            if text[i] == quote:
                return i
            i += 1
        return -1
