"""Readable paths into a JSON body, such as `batch[3].properties.$set`."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def key(path: str, name: str) -> str:
    """Append an object key, quoting it when it is not a plain identifier."""
    if _PLAIN_KEY.match(name):
        return f"{path}.{name}" if path else name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'{path}["{escaped}"]'


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def join(parts: Iterable[str | int]) -> str:
    path = ""
    for part in parts:
        path = index(path, part) if isinstance(part, int) else key(path, part)
    return path


_TOKEN = re.compile(r'\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\.?([A-Za-z_$][A-Za-z0-9_$]*)')


def split(path: str) -> list[str | int]:
    """The inverse of `join`: `batch[3].properties.$set` -> ["batch", 3, "properties", "$set"]."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m or m.end() == pos:
            break
        if m.group(1) is not None:
            parts.append(int(m.group(1)))
        elif m.group(2) is not None:
            parts.append(m.group(2).replace('\\"', '"').replace("\\\\", "\\"))
        else:
            parts.append(m.group(3))
        pos = m.end()
    return parts
