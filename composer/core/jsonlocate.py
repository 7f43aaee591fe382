"""Finding where a JSON path sits in JSON text, to put the cursor on a finding's location."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from composer.core.jsonpath import split

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


@dataclass
class _Frame:
    is_array: bool
    member: str | int | None  # the current key or index; None before an object's first key
    expect_key: bool = False


def locate(text: str, path: str) -> tuple[int, int] | None:
    """The 1-based (line, column) where the value at `path` is written, or None.

    An object member is located at its key, which is where a reader looks. Invalid JSON is
    followed as far as it goes.
    """
    offset = _find(text, split(path))
    if offset is None:
        return None
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _path(stack: list[_Frame]) -> list[str | int]:
    return [f.member for f in stack if f.member is not None]


def _find(text: str, target: list[str | int]) -> int | None:
    if not target:
        first = re.search(r"\S", text)
        return first.start() if first else None
    stack: list[_Frame] = []
    pending: tuple[str, int] | None = None  # a key read, waiting for its colon
    for m in _TOKENS.finditer(text):
        token = m.group()
        top = stack[-1] if stack else None
        if token in ("{", "["):
            if top is not None and top.is_array and _path(stack) == target:
                return m.start()
            stack.append(_Frame(token == "[", 0 if token == "[" else None, token == "{"))
        elif token in ("}", "]"):
            if stack:
                stack.pop()
        elif top is None:
            continue
        elif token == ",":
            if top.is_array:
                assert isinstance(top.member, int)
                top.member += 1
            else:
                top.expect_key = True
        elif token == ":":
            if pending is not None:
                top.member = pending[0]
                top.expect_key = False
                if _path(stack) == target:
                    return pending[1]
            pending = None
        elif not top.is_array and top.expect_key and token.startswith('"'):
            pending = (_unquote(token), m.start())
        elif top.is_array and _path(stack) == target:
            return m.start()
    return None


def _unquote(token: str) -> str:
    try:
        value = json.loads(token)
    except ValueError:
        return token[1:-1]
    return value if isinstance(value, str) else token[1:-1]
