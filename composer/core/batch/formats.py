"""Reading and writing batches: JSON (array, batch envelope, one event), JSON Lines and CSV.

Pure functions over bytes and lines; reading files, progress and cancel live in the caller.
A malformed line is reported with its line number and the rest is read on.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from composer.core.batch.rows import BatchRow
from composer.core.capture.parse import classify
from composer.core.compose.values import PropertyRow, ValueError_, ValueType, convert, infer_row
from composer.core.jsonio import JsonObject, JsonSyntaxError, dumps_compact, dumps_pretty, loads


class Format(StrEnum):
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"


def format_for(name: str, head: bytes = b"") -> Format:
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson")):
        return Format.JSONL
    if lowered.endswith(".csv"):
        return Format.CSV
    if lowered.endswith(".json"):
        return Format.JSON
    stripped = head.lstrip()
    if stripped.startswith(b"["):
        return Format.JSON
    if stripped.startswith(b"{"):
        first_line = stripped.split(b"\n", 1)[0]
        try:
            orjson.loads(first_line)
        except orjson.JSONDecodeError:
            return Format.JSON
        return Format.JSONL if b"\n{" in stripped else Format.JSON
    return Format.CSV


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based; 0 when the problem is the whole file
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class Imported:
    rows: list[BatchRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0


def read_json(data: bytes) -> Imported:
    """A JSON file: an array of events, a batch envelope, or one event."""
    result = Imported()
    try:
        value = loads(data)
    except JsonSyntaxError as exc:
        result.problems.append(Problem(exc.line, f"not valid JSON: {exc.message}"))
        return result
    _shape, events, _paths = classify(value)
    if not events and isinstance(value, dict) and "batch" not in value:
        events = [value]
    for position, event in enumerate(events, start=1):
        if isinstance(event, dict):
            result.rows.append(BatchRow.of(event))
        else:
            result.problems.append(Problem(0, f"item {position} is not an event object"))
    result.lines = len(events)
    return result


def read_jsonl(
    lines: Iterable[bytes], first_line: int = 1, into: Imported | None = None
) -> Imported:
    """JSON Lines: one event per line; blank lines are skipped, bad ones reported."""
    result = into or Imported()
    number = first_line - 1
    rows = result.rows
    for number, raw in enumerate(lines, start=first_line):
        line = raw.strip()
        if not line:
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            result.problems.append(
                Problem(number, f"not valid JSON ({exc.msg}, column {exc.colno})")
            )
            continue
        if not isinstance(event, dict):
            result.problems.append(Problem(number, "not an event object"))
            continue
        rows.append(BatchRow.of(event, len(line)))
    result.lines = max(result.lines, number)
    return result


# -- CSV ---------------------------------------------------------------------------------


class Target(StrEnum):
    EVENT = "event"
    DISTINCT_ID = "distinct_id"
    TIMESTAMP = "timestamp"
    UUID = "uuid"
    PROPERTY = "property"
    SET = "$set"
    SET_ONCE = "$set_once"
    IGNORE = "ignore"


@dataclass
class ColumnMap:
    column: str
    target: Target
    key: str = ""  # the property name, for PROPERTY / SET / SET_ONCE
    type: ValueType = ValueType.STRING


_FIXED = {
    "event": Target.EVENT,
    "distinct_id": Target.DISTINCT_ID,
    "timestamp": Target.TIMESTAMP,
    "uuid": Target.UUID,
}
_PREFIXES = (
    ("properties.", Target.PROPERTY),
    ("$set.", Target.SET),
    ("$set_once.", Target.SET_ONCE),
)


def infer_type(values: Iterable[str]) -> ValueType:
    """The narrowest type every non-empty sample fits; strings when they differ."""
    kinds: set[ValueType] = set()
    for text in values:
        if text == "":
            continue
        kind = infer_row("", _scalar(text)).type
        kinds.add(kind)
        if len(kinds) > 1 or kind is ValueType.STRING:
            return ValueType.STRING
    return kinds.pop() if kinds else ValueType.STRING


def _scalar(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if text[:1] in "{[":
        try:
            return loads(text)
        except JsonSyntaxError:
            return text
    if len(text) > 1 and text[0] == "0" and text[1] != ".":
        return text  # 02134 is a code (a zip, an id), not the number 2134
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if text.lower() not in ("nan", "inf", "-inf", "infinity") else text


def auto_mapping(header: Sequence[str], sample: Sequence[Sequence[str]]) -> list[ColumnMap]:
    """What each column becomes: event, distinct_id, timestamp and uuid by name;
    properties.x, $set.x and $set_once.x by prefix; any other column a property."""
    mapping: list[ColumnMap] = []
    for index, column in enumerate(header):
        name = column.strip()
        values = [row[index] for row in sample if index < len(row)]
        if name.lower() in _FIXED:
            mapping.append(ColumnMap(column, _FIXED[name.lower()]))
            continue
        for prefix, target in _PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                mapping.append(ColumnMap(column, target, name[len(prefix) :], infer_type(values)))
                break
        else:
            mapping.append(ColumnMap(column, Target.PROPERTY, name, infer_type(values)))
    return mapping


def read_csv_header(text: str, sample_size: int = 1000) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    sample = [row for _, row in zip(range(sample_size), reader, strict=False)]
    return header, sample


def csv_events(
    rows: Iterable[Sequence[str]],
    header: Sequence[str],
    mapping: Sequence[ColumnMap],
    first_line: int = 2,
    into: Imported | None = None,
) -> Imported:
    """Events from CSV rows (the header already read); a bad row is reported and skipped."""
    result = into or Imported()
    plan = [(i, m) for i, m in enumerate(mapping) if m.target is not Target.IGNORE]
    number = first_line - 1
    for number, row in enumerate(rows, start=first_line):
        if not any(row):
            continue
        if len(row) != len(header):
            result.problems.append(
                Problem(number, f"has {len(row)} columns; the header has {len(header)}")
            )
            continue
        try:
            event = _event_from_row(row, plan)
        except ValueError_ as exc:
            result.problems.append(Problem(number, str(exc)))
            continue
        result.rows.append(BatchRow.of(event))
    result.lines = max(result.lines, number)
    return result


def _event_from_row(row: Sequence[str], plan: Sequence[tuple[int, ColumnMap]]) -> JsonObject:
    event: JsonObject = {}
    props: JsonObject = {}
    updates: dict[str, JsonObject] = {}
    for index, column in plan:
        text = row[index]
        target = column.target
        if target in (Target.EVENT, Target.DISTINCT_ID, Target.TIMESTAMP, Target.UUID):
            if text != "":
                event[target.value] = text
            continue
        if text == "":
            continue  # an empty cell: the property is not sent
        try:
            value = convert(PropertyRow(column.key, column.type, text))
        except ValueError_ as exc:
            raise ValueError_(f"column {column.column!r}: {exc}") from None
        if target is Target.PROPERTY:
            props[column.key] = value
        else:
            updates.setdefault(target.value, {})[column.key] = value
    if props:
        event["properties"] = props
    event.update(updates)
    return event


# -- writing -----------------------------------------------------------------------------


def write_json(events: Sequence[JsonObject]) -> bytes:
    return dumps_pretty(list(events)) + b"\n"


def write_jsonl(events: Iterable[JsonObject]) -> bytes:
    return b"".join(dumps_compact(e) + b"\n" for e in events)


def write_csv(events: Sequence[JsonObject]) -> bytes:
    """Flat columns: event, distinct_id, timestamp, uuid, then properties.x, $set.x, ..."""
    columns: dict[str, None] = {"event": None, "distinct_id": None, "timestamp": None, "uuid": None}
    for event in events:
        for group in ("properties", "$set", "$set_once"):
            values = event.get(group)
            if isinstance(values, dict):
                for key in values:
                    columns[f"{group}.{key}"] = None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = list(columns)
    writer.writerow(header)
    for event in events:
        row = []
        for column in header:
            if "." in column and column.split(".", 1)[0] in ("properties", "$set", "$set_once"):
                group, key = column.split(".", 1)
                values = event.get(group)
                value = values.get(key, "") if isinstance(values, dict) else ""
                row.append(_cell(value, key in values if isinstance(values, dict) else False))
            else:
                row.append(_cell(event.get(column, ""), column in event))
        writer.writerow(row)
    return out.getvalue().encode()


def _cell(value: Any, present: bool) -> str:
    if not present:
        return ""
    if isinstance(value, str):
        return value
    return dumps_compact(value).decode()
