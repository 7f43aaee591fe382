"""JSON values written as source code: Python, JavaScript and Ruby literals, shell and Go strings.

Every writer keeps the value exactly: strings through escapes each language reads back the same,
numbers as JSON writes them (the same digits in all four languages), and objects in their order.
`KEY_SENTINEL` anywhere in a value is written as the language's expression for the key (an
environment variable). Values nested deeper than `MAX_LITERAL_DEPTH` are written as a JSON
string the language parses, so that no parser's nesting limit is reached (Python's is 200).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from composer.core.jsonio import dumps_compact
from composer.core.snippets.model import KEY_SENTINEL

MAX_LITERAL_DEPTH = 40
INLINE_WIDTH = 72  # a small object or array fits on one line up to this width

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED = ("\ufeff", "\u2028", "\u2029")


def json_string(text: str) -> str:
    """A double-quoted string as JSON writes it (non-ASCII kept); also a valid Python,
    JavaScript and Go string literal, with the same meaning in each."""
    out = json.dumps(text, ensure_ascii=False)
    # U+FEFF is refused by Go's compiler outside the first byte; U+2028 and U+2029 end lines
    # for many editors (and for JavaScript before ES2019); a lone surrogate cannot be written as
    # UTF-8. They are escaped, which every one of the languages reads back.
    for char in _ESCAPED:
        if char in out:
            out = out.replace(char, f"\\u{ord(char):04x}")
    if _SURROGATE.search(out):
        out = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
    return out


def ruby_string(text: str) -> str:
    """A double-quoted Ruby string: `#` is escaped too, so that nothing is interpolated."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\#':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F or char in _ESCAPED or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{{{code:x}}}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def shell_quote(text: str) -> str:
    """One shell word in single quotes; a quote inside becomes '\\''."""
    return "'" + text.replace("'", "'\\''") + "'"


def number_text(value: int | float) -> str:
    """JSON's digits for a number: the same literal in Python, JavaScript, Ruby and Go."""
    text = dumps_compact(value).decode()
    if isinstance(value, float) and text.isdigit():
        return text + ".0"
    return text


@dataclass(frozen=True)
class Style:
    """How one language writes JSON values."""

    true: str
    false: str
    null: str
    string: Callable[[str], str]
    pair: str  # between a key and its value
    indent: str
    parse_json: Callable[[str], str]  # an expression that parses JSON text (for deep values)
    trailing_comma: bool = True


PYTHON = Style("True", "False", "None", json_string, ": ", "    ", lambda t: f"json.loads({t})")
JAVASCRIPT = Style("true", "false", "null", json_string, ": ", "  ", lambda t: f"JSON.parse({t})")
RUBY = Style("true", "false", "nil", ruby_string, " => ", "  ", lambda t: f"JSON.parse({t})")


def literal(value: Any, style: Style, key_expr: str, level: int = 0) -> str:
    """`value` as `style`'s literal, indented as if it started at `level`."""
    return _Writer(style, key_expr).write(value, level, 0)


def needs_json_parse(value: Any) -> bool:
    """Whether `literal` writes part of `value` as parsed JSON text (deep nesting)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= MAX_LITERAL_DEPTH:
                return True
            items = node.values() if isinstance(node, dict) else node
            stack.extend((item, depth + 1) for item in items)
    return False


class _Writer:
    def __init__(self, style: Style, key_expr: str) -> None:
        self.style = style
        self.key_expr = key_expr

    def scalar(self, value: Any) -> str:
        s = self.style
        if value is None:
            return s.null
        if value is True:
            return s.true
        if value is False:
            return s.false
        if isinstance(value, str):
            return self.key_expr if value == KEY_SENTINEL else s.string(value)
        if isinstance(value, int | float):
            return number_text(value)
        raise TypeError(f"not a JSON value: {type(value).__name__}")

    def inline(self, value: Any, budget: int) -> str | None:
        """`value` on one line if it fits in `budget` characters and holds no containers."""
        if isinstance(value, dict):
            if not value:
                return "{}"
            parts = []
            for name, item in value.items():
                if isinstance(item, dict | list) and item:
                    return None
                parts.append(self.scalar(name) + self.style.pair + self.scalar_or_empty(item))
            text = "{" + ", ".join(parts) + "}"
        elif isinstance(value, list):
            if not value:
                return "[]"
            if any(isinstance(item, dict | list) and item for item in value):
                return None
            text = "[" + ", ".join(self.scalar_or_empty(item) for item in value) + "]"
        else:
            return self.scalar(value)
        return text if len(text) <= budget else None

    def scalar_or_empty(self, value: Any) -> str:
        if isinstance(value, dict):
            return "{}"
        if isinstance(value, list):
            return "[]"
        return self.scalar(value)

    def write(self, value: Any, level: int, depth: int) -> str:
        if not isinstance(value, dict | list):
            return self.scalar(value)
        if not value:
            return "{}" if isinstance(value, dict) else "[]"
        if depth >= MAX_LITERAL_DEPTH:
            return self.style.parse_json(self.style.string(dumps_compact(value).decode()))
        pad = self.style.indent * level
        budget = INLINE_WIDTH - len(pad)
        one_line = self.inline(value, budget) if level > 0 else None
        if one_line is not None:
            return one_line
        inner = self.style.indent * (level + 1)
        lines: list[str] = []
        if isinstance(value, dict):
            for name, item in value.items():
                text = self.write(item, level + 1, depth + 1)
                lines.append(inner + self.scalar(name) + self.style.pair + text)
            opening, closing = "{", "}"
        else:
            for item in value:
                lines.append(inner + self.write(item, level + 1, depth + 1))
            opening, closing = "[", "]"
        tail = "," if self.style.trailing_comma else ""
        body = ",\n".join(lines) + tail
        return f"{opening}\n{body}\n{pad}{closing}"
