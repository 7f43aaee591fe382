"""JSON reading and writing with positions in errors; orjson for speed, stdlib as a fallback."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

import orjson

JsonObject = dict[str, Any]

# Python-literal parsing is a convenience for pasted code; above this size it is not worth the risk.
_MAX_PYTHON_LITERAL = 1_000_000


@dataclass(frozen=True, slots=True)
class JsonSyntaxError(Exception):
    """A body that is not valid JSON, with the 1-based line and column of the first problem."""

    message: str
    line: int
    column: int
    position: int

    def __str__(self) -> str:
        return f"invalid JSON at line {self.line}, column {self.column}: {self.message}"


def loads(data: bytes | str) -> Any:
    """Parse JSON text, raising `JsonSyntaxError` with a line and column on failure."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JsonSyntaxError(_plain_message(exc.msg), exc.lineno, exc.colno, exc.pos) from None


def _plain_message(msg: str) -> str:
    if msg.startswith("Input is a zero-length"):
        return "the text is empty"
    return msg


def loads_python_literal(text: str) -> Any:
    """Read a Python dict/list literal (as pasted from `requests.post(json=body)` code).

    Returns None when the text is not a literal made only of JSON-compatible values.
    """
    if len(text) > _MAX_PYTHON_LITERAL:
        return None
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(value, dict | list) or not _json_compatible(value):
        return None
    return value


def _json_compatible(value: Any, depth: int = 0) -> bool:
    if depth > 200:
        return False
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_json_compatible(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_compatible(v, depth + 1) for k, v in value.items())
    return False


def dumps_pretty(value: Any) -> bytes:
    """Two-space indented JSON; the form the preview shows and the composer sends."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2)
    except TypeError:
        # orjson refuses integers beyond 64 bits; the stdlib writes them as they are.
        return json.dumps(value, indent=2, ensure_ascii=False).encode()


def dumps_compact(value: Any) -> bytes:
    """Compact JSON, for sizes and for bulk sending."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def find_duplicate_keys(text: str | bytes) -> list[tuple[list[str | int], str]]:
    """Return (path, key) for every key that appears twice in one object.

    orjson silently keeps the last value; PostHog's parser refuses a duplicated event field, so
    the check needs to know. This uses the stdlib parser, so callers limit it to modest sizes.
    """
    seen: dict[int, list[str]] = {}
    keep: list[Any] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        dups: list[str] = []
        for key, value in pairs:
            if key in obj and key not in dups:
                dups.append(key)
            obj[key] = value
        if dups:
            seen[id(obj)] = dups
            keep.append(obj)
        return obj

    try:
        root = json.loads(text, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return []
    if not seen:
        return []
    found: list[tuple[list[str | int], str]] = []
    stack: list[tuple[Any, list[str | int]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key in seen.get(id(node), ()):
                found.append((path, key))
            stack.extend((v, [*path, k]) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(node))
    found.sort(key=lambda item: [str(p) for p in item[0]])
    return found
