"""Typed property values as a form edits them: a key, a type, and the text the user typed."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from composer.core.capture.property_types import (
    always_string,
    is_likely_date_text,
    names_a_thing,
    number_in,
)
from composer.core.capture.timestamps import TimestampForm, parse_timestamp
from composer.core.jsonio import JsonSyntaxError, dumps_compact, loads


class ValueType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    NULL = "null"
    OBJECT = "object"
    ARRAY = "array"
    DATETIME = "date-time"


_INT = re.compile(r"^-?(0|[1-9]\d*)$")
# A value that is one {{variable}}: whatever type the row says, it is sent as the placeholder,
# and the variable's own value (a number, a boolean ...) replaces it when the body is resolved.
_WHOLE_PLACEHOLDER = re.compile(r"^\{\{\s*[^{}\s][^{}]*\}\}$")
_FLOAT = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$")


@dataclass
class PropertyRow:
    key: str = ""
    type: ValueType = ValueType.STRING
    text: str = ""
    # A new row's type follows what is typed in it (guess_type) until the user picks one.
    auto_type: bool = field(default=False, compare=False)

    @property
    def blank(self) -> bool:
        return not self.key and not self.text


class ValueError_(ValueError):
    pass


def convert(row: PropertyRow) -> Any:
    """The JSON value of a row; raises ValueError_ with a message that says how to fix it."""
    text = row.text
    if "{{" in text and row.type is not ValueType.NULL and _WHOLE_PLACEHOLDER.match(text.strip()):
        return text.strip()
    match row.type:
        case ValueType.STRING:
            return text
        case ValueType.NUMBER:
            return _number(text)
        case ValueType.BOOLEAN:
            lowered = text.strip().lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            raise ValueError_(f"{text!r} is not a boolean; write true or false.")
        case ValueType.NULL:
            return None
        case ValueType.OBJECT | ValueType.ARRAY:
            want = dict if row.type is ValueType.OBJECT else list
            try:
                value = loads(text or ("{}" if want is dict else "[]"))
            except JsonSyntaxError as exc:
                raise ValueError_(
                    f"not valid JSON ({exc.message} at column {exc.column})."
                ) from None
            if not isinstance(value, want):
                example = '{"a": 1}' if want is dict else "[1, 2]"
                raise ValueError_(f"this is not a JSON {row.type.value}; write it like {example}.")
            return value
        case ValueType.DATETIME:
            parsed = parse_timestamp(text)
            if parsed.form is TimestampForm.UNPARSEABLE:
                raise ValueError_(
                    f"{text!r} is not a date and time; write it like 2024-05-01T12:00:00Z."
                )
            return text.strip()
    raise AssertionError(row.type)  # pragma: no cover - every type is matched above


# PostHog reads every number as a 64-bit float: beyond about 1.8e308 it answers 400.
_MAX_NUMBER = sys.float_info.max
_MAX_DIGITS = 400  # more digits than any number in that range is written with


def _number(text: str) -> int | float:
    stripped = text.strip()
    is_int = _INT.match(stripped) is not None
    if not is_int and not _FLOAT.match(stripped):
        raise ValueError_(f"{_short(text)} is not a number; write digits like 42 or 3.5.")
    whole = re.split("[.eE]", stripped.lstrip("-"), maxsplit=1)[0]
    # Measured before converting: int() refuses more than 4,300 digits with a ValueError.
    too_large = len(whole) > _MAX_DIGITS
    value: int | float = 0
    if not too_large:
        value = int(stripped) if is_int else float(stripped)
        too_large = abs(value) > _MAX_NUMBER  # 1e400 is inf as a float
    if too_large:
        raise ValueError_(
            f"{_short(text)} is too large for a number: PostHog reads numbers as 64-bit floats,"
            " up to about 1.8e308. Write it as text (type string), or use a smaller number."
        )
    return value


def _short(text: str) -> str:
    """The value for a message: a 5,000-digit cell is shown by its start and its length."""
    if len(text) <= 40:
        return repr(text)
    return f"{text[:20]!r}… ({len(text):,} characters)"


def infer_row(key: str, value: Any) -> PropertyRow:
    """A row that shows an existing JSON value, with its type chosen from the value."""
    if isinstance(value, bool):
        return PropertyRow(key, ValueType.BOOLEAN, "true" if value else "false")
    if isinstance(value, int | float):
        return PropertyRow(key, ValueType.NUMBER, dumps_compact(value).decode())
    if value is None:
        return PropertyRow(key, ValueType.NULL, "")
    if isinstance(value, dict):
        return PropertyRow(key, ValueType.OBJECT, dumps_compact(value).decode())
    if isinstance(value, list):
        return PropertyRow(key, ValueType.ARRAY, dumps_compact(value).decode())
    return PropertyRow(key, ValueType.STRING, str(value))


def guess_type(key: str, text: str) -> ValueType:
    """The type a new row should have for what was typed in it: 19.99 is a number, true a
    boolean, 2024-05-01 a date-time, as PostHog would type them had they been sent so."""
    stripped = text.strip()
    if not stripped or always_string(key) or _WHOLE_PLACEHOLDER.match(stripped):
        return ValueType.STRING
    if stripped.lower() in ("true", "false"):
        return ValueType.BOOLEAN
    if not names_a_thing(key) and number_in(stripped) is not None:
        return ValueType.NUMBER
    if stripped[0] in "{[":
        try:
            value = loads(stripped)
        except JsonSyntaxError:
            return ValueType.STRING
        if isinstance(value, dict):
            return ValueType.OBJECT
        if isinstance(value, list):
            return ValueType.ARRAY
        return ValueType.STRING
    if stripped[0].isdigit() and is_likely_date_text(stripped):
        try:
            convert(PropertyRow(key, ValueType.DATETIME, stripped))
        except ValueError_:
            return ValueType.STRING
        return ValueType.DATETIME
    return ValueType.STRING


@dataclass(frozen=True)
class RowProblem:
    row: int
    key: str
    message: str


def rows_to_object(rows: list[PropertyRow]) -> tuple[dict[str, Any], list[RowProblem]]:
    """The object the rows stand for, and what is wrong with the rows left out of it."""
    result: dict[str, Any] = {}
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row.blank and row.type in (ValueType.STRING, ValueType.NULL):
            continue
        if not row.key:
            problems.append(RowProblem(i, row.key, "The key is empty; give the property a name."))
            continue
        if row.key in seen:
            problems.append(
                RowProblem(
                    i,
                    row.key,
                    f"{row.key!r} is already row {seen[row.key] + 1}; a key can appear once.",
                )
            )
            continue
        try:
            value = convert(row)
        except ValueError_ as exc:
            problems.append(RowProblem(i, row.key, str(exc)))
            continue
        seen[row.key] = i
        result[row.key] = value
    return result, problems
