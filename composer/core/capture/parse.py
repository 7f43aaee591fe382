"""Reading any capture body a user pastes or loads: one event, an array, or a batch envelope."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from composer.core import jsonio
from composer.core.jsonio import JsonSyntaxError

# Duplicate-key detection re-parses with the stdlib; above this size it is skipped to stay fast.
DUPLICATE_SCAN_LIMIT = 2 * 1024 * 1024


class BodyShape(StrEnum):
    ONE = "one"  # a single event object
    ARRAY = "array"  # a JSON array of event objects
    BATCH = "batch"  # {"api_key": ..., "batch": [...]}
    ENGAGE = "engage"  # an object without "event" (only /engage/ turns it into $identify)
    INVALID = "invalid"  # a scalar: no capture endpoint reads it


class Syntax(StrEnum):
    JSON = "json"
    PYTHON_LITERAL = "python_literal"


class BodyEncodingError(ValueError):
    """Bytes that are not UTF-8 text."""

    def __init__(self, offset: int, byte: int) -> None:
        super().__init__(f"byte 0x{byte:02x} at offset {offset} is not valid UTF-8")
        self.offset = offset
        self.byte = byte


@dataclass
class ParsedBody:
    value: Any
    shape: BodyShape
    events: list[Any]
    event_paths: list[str]
    syntax: Syntax = Syntax.JSON
    duplicate_keys: list[tuple[list[str | int], str]] = field(default_factory=list)
    had_bom: bool = False


def decode(data: bytes) -> tuple[str, bool]:
    """UTF-8 text of `data` and whether it started with a byte-order mark."""
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    try:
        return data.decode("utf-8"), bom
    except UnicodeDecodeError as exc:
        raise BodyEncodingError(exc.start, data[exc.start]) from None


def classify(value: Any) -> tuple[BodyShape, list[Any], list[str]]:
    """The shape PostHog's untagged parse would try first, and the event items with their paths."""
    if isinstance(value, list):
        return BodyShape.ARRAY, value, [f"[{i}]" for i in range(len(value))]
    if isinstance(value, dict):
        if "batch" in value:
            items = value["batch"]
            if isinstance(items, list):
                return BodyShape.BATCH, items, [f"batch[{i}]" for i in range(len(items))]
            return BodyShape.BATCH, [], []
        if "event" in value:
            return BodyShape.ONE, [value], [""]
        return BodyShape.ENGAGE, [value], [""]
    return BodyShape.INVALID, [], []


def parse_value(value: Any, syntax: Syntax = Syntax.JSON) -> ParsedBody:
    shape, events, paths = classify(value)
    return ParsedBody(value, shape, events, paths, syntax)


def parse_text(text: str | bytes, *, allow_python: bool = True) -> ParsedBody:
    """Parse a body. Raises JsonSyntaxError (with line and column) or BodyEncodingError.

    JSON is tried first; when that fails and the text is a Python dict or list literal (as in
    code that calls `requests.post(..., json=body)`), it is read as that instead.
    """
    bom = False
    if isinstance(text, bytes):
        text, bom = decode(text)
    elif text.startswith("\ufeff"):
        text, bom = text[1:], True
    try:
        value = jsonio.loads(text)
    except JsonSyntaxError:
        literal = jsonio.loads_python_literal(text) if allow_python else None
        if literal is None:
            raise
        parsed = parse_value(literal, Syntax.PYTHON_LITERAL)
        parsed.had_bom = bom
        return parsed
    parsed = parse_value(value)
    parsed.had_bom = bom
    if (
        len(text) <= DUPLICATE_SCAN_LIMIT
        and text.count('"') >= 4
        and jsonio.may_have_duplicate_keys(text, value)
    ):
        parsed.duplicate_keys = jsonio.find_duplicate_keys(text)
    return parsed


__all__ = [
    "BodyEncodingError",
    "BodyShape",
    "JsonSyntaxError",
    "ParsedBody",
    "Syntax",
    "classify",
    "decode",
    "parse_text",
    "parse_value",
]
