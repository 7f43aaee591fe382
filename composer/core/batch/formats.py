"""Reading and writing batches: JSON (array, batch envelope, one event), JSON Lines and CSV.

Pure functions over bytes and lines; reading files, progress and cancel live in the caller.
No reader raises on what a file holds. JSON Lines and CSV are line-based: a malformed line is
reported with its line number, what is wrong and how to fix it, and the rest is read on. A
problem that leaves nothing to read (a JSON file that does not parse, a CSV file that is not
UTF-8 or whose header cannot be read, UTF-16 text) is `fatal`: the whole file is unreadable.
A CSV file's separator and legacy encoding are worked out in `csv_text`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from composer.core.batch.csv_text import Legacy, decode_legacy
from composer.core.batch.rows import BatchRow
from composer.core.capture.parse import classify
from composer.core.compose.values import PropertyRow, ValueError_, ValueType, convert, infer_row
from composer.core.jsonio import (
    MAX_JSON_INT,
    JsonObject,
    JsonSyntaxError,
    dumps_compact,
    dumps_pretty,
    loads,
)


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
    message: str  # what is wrong
    fix: str = ""  # how to fix it
    fatal: bool = False  # nothing of the file could be read: the whole file is unreadable

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class Imported:
    rows: list[BatchRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0
    notices: list[str] = field(default_factory=list)  # how it was read (an encoding guessed)

    @property
    def unreadable(self) -> Problem | None:
        """The problem that made the whole file unreadable, if one did."""
        return next((p for p in self.problems if p.fatal), None)


def unreadable(message: str, fix: str, line: int = 0) -> Imported:
    return Imported(problems=[Problem(line, message, fix, fatal=True)])


_BOMS = (  # UTF-32's marks first: they start with UTF-16's
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
SAVE_AS_UTF8 = "Save it as UTF-8 (in most editors: Save as, Encoding: UTF-8)."


def encoding_problem(data: bytes) -> str | None:
    """Why the bytes are plainly not UTF-8 text as a whole (UTF-16 or UTF-32 text, a binary
    file), or None. Each line of such a file would otherwise be reported on its own."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return f"the file is {name} text (it starts with a {name} byte-order mark), not UTF-8"
    head = data[:4096]
    if len(head) >= 4 and head.count(0) * 3 >= len(head):
        return (
            "the file is not UTF-8 text: a third of its bytes or more are NUL, as in UTF-16"
            " text or a binary file"
        )
    return None


def read_json(data: bytes) -> Imported:
    """A JSON file: an array of events, a batch envelope, or one event."""
    result = Imported()
    encoding = encoding_problem(data)
    if encoding is not None:
        return unreadable(encoding, SAVE_AS_UTF8)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a byte-order mark: editors on Windows write one
    try:
        value = loads(data)
    except JsonSyntaxError as exc:
        message = f"not valid JSON: {exc.message} (column {exc.column})"
        return unreadable(message, exc.fix, exc.line)
    _shape, events, _paths = classify(value)
    if not events and isinstance(value, dict) and "batch" not in value:
        events = [value]
    for number, event in enumerate(events, start=1):
        if isinstance(event, dict):
            result.rows.append(BatchRow.of(event))
        else:
            result.problems.append(
                Problem(
                    0,
                    f"item {number} is not an event object",
                    'Make every item an object such as {"event": "...", "distinct_id": "..."}.',
                )
            )
    result.lines = len(events)
    return result


def jsonl_line_blocks(data: bytes, size: int = 1 << 20) -> Iterator[tuple[int, list[bytes], int]]:
    """jsonl_lines a piece at a time: (the first line's number, the lines, the offset after
    them), each piece about `size` bytes and cut after a LF, so the lines and their numbers
    are jsonl_lines'. One splitlines over a 26 MB file held the interpreter lock for 30-50 ms
    in a single call, a stall of the window that read it on a worker."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    number = 1
    while start < len(data):
        cut = data.find(b"\n", start + size)
        end = len(data) if cut < 0 else cut + 1
        lines = data[start:end].splitlines()
        yield number, lines, end
        number += len(lines)
        start = end


def jsonl_lines(data: bytes) -> list[bytes]:
    """The lines of a JSON Lines file: LF, CRLF and CR alone all end a line (a raw CR cannot
    be inside a JSON string, so splitting there never cuts an event), as editors number them."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.splitlines()


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
            event = loads(line)
        except JsonSyntaxError as exc:
            # The column counts from the line's first character, before the strip.
            column = exc.column + (len(raw) - len(raw.lstrip()))
            result.problems.append(
                Problem(number, f"not valid JSON ({exc.message}, column {column})", exc.fix)
            )
            continue
        if not isinstance(event, dict):
            result.problems.append(
                Problem(number, "not an event object", 'Write one {"event": ...} object per line.')
            )
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
# Headers people write in their own exports, by what they stand for (compared folded: lower
# case, with spaces, dashes and dots as underscores). The first column to match a field takes
# it; a later one stays a property.
_ORDINARY = {
    Target.EVENT: ("event_name", "eventname", "event_type", "action"),
    Target.DISTINCT_ID: (
        "distinctid",
        "user",
        "user_id",
        "userid",
        "person",
        "person_id",
        "customer_id",
        "visitor_id",
    ),
    Target.TIMESTAMP: (
        "time",
        "when",
        "date",
        "datetime",
        "event_time",
        "occurred_at",
        "created_at",
        "ts",
    ),
    Target.UUID: ("event_uuid", "event_id", "$uuid"),
}
_EMAIL = ("email", "e_mail", "email_address", "user_email")
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
    if len(text) > 400:
        return text  # no number PostHog reads (a 64-bit float) is written with so many digits
    try:
        number = int(text)
    except ValueError:
        pass
    else:
        return number if abs(number) <= MAX_JSON_INT else text
    try:
        value = float(text)
    except ValueError:
        return text
    # inf, nan and numbers past 1.8e308 are text: JSON has no way to write them.
    return value if math.isfinite(value) else text


def _folded(name: str) -> str:
    return re.sub(r"[\s.\-]+", "_", name.strip().lower())


def _ordinary_targets(header: Sequence[str]) -> dict[int, Target]:
    """Columns whose header names a field the ordinary way ("Event Name", "User", "When")."""
    folded = [_folded(name) for name in header]
    taken: dict[Target, int] = {}
    for index, name in enumerate(folded):  # PostHog's own names first: they are meant exactly
        if name in _FIXED and _FIXED[name] not in taken:
            taken[_FIXED[name]] = index
    for target, names in _ORDINARY.items():
        if target not in taken:
            found = next((i for i, n in enumerate(folded) if n in names), None)
            if found is not None and found not in taken.values():
                taken[target] = found
    if Target.DISTINCT_ID not in taken:  # no user column: the email is who did it
        found = next((i for i, n in enumerate(folded) if n in _EMAIL), None)
        if found is not None and found not in taken.values():
            taken[Target.DISTINCT_ID] = found
    return {index: target for target, index in taken.items()}


def auto_mapping(header: Sequence[str], sample: Sequence[Sequence[str]]) -> list[ColumnMap]:
    """What each column becomes: event, distinct_id, timestamp and uuid by name (PostHog's
    own or the ordinary "Event Name", "User", "When", "user_id", "email"); properties.x,
    $set.x and $set_once.x by prefix; an email beside a user column a $set property; any
    other column a property."""
    fixed = _ordinary_targets(header)
    mapping: list[ColumnMap] = []
    for index, column in enumerate(header):
        name = column.strip()
        values = [row[index] for row in sample if index < len(row)]
        if index in fixed:
            mapping.append(ColumnMap(column, fixed[index]))
            continue
        if _folded(name) in _EMAIL:  # a person property, as the SDKs set it
            mapping.append(ColumnMap(column, Target.SET, "email", ValueType.STRING))
            continue
        for prefix, target in _PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                mapping.append(ColumnMap(column, target, name[len(prefix) :], infer_type(values)))
                break
        else:
            mapping.append(ColumnMap(column, Target.PROPERTY, name, infer_type(values)))
    return mapping


# Python's csv refuses fields over 131,072 characters. A field may be as long as the file
# (2**31 - 1 is the most a C long holds everywhere); the pre-flight check's event-size rule
# then says when one is too big for PostHog, as it does for JSON.
CSV_FIELD_LIMIT = 2**31 - 1

# A CSV record: the line it starts on and its fields, or that line and why it cannot be read.
Record = tuple[int, list[str] | Problem]


def csv_records(text: str, delimiter: str = ",") -> Iterator[Record]:
    """The records of CSV text, each with the line it starts on; a record the csv module
    cannot read is a Problem for its line, and reading goes on at the next line.

    Lines end with LF or CRLF. In such a file a CR alone inside an unquoted field is an error
    of that line (it is not a line break there, and silently splitting the row would import
    half of it); a file whose lines all end with CR alone (old Mac files) is read by CR.
    """
    cr_only = "\n" not in text and "\r" in text
    return csv_lines_records(io.StringIO(text, newline="" if cr_only else "\n"), delimiter)


def csv_lines_records(lines: Iterable[str], delimiter: str = ",") -> Iterator[Record]:
    """csv_records over lines read as it goes (a file opened with newline="\n", or "" for
    one whose lines end with CR alone): the same records, numbered the same way."""
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(lines, delimiter=delimiter)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message, fix = _csv_error(str(exc))
            yield reader.line_num, Problem(reader.line_num, message, fix)
        else:
            yield start, row
        start = reader.line_num + 1


def _csv_error(text: str) -> tuple[str, str]:
    if text.startswith("new-line character seen in unquoted field"):
        return (
            "a carriage return (CR) inside an unquoted field",
            'Put the field in double quotes ("...") or remove the CR; lines end with LF or CRLF.',
        )
    if text.startswith("field larger than field limit"):
        return (
            f"a field is longer than {csv.field_size_limit():,} characters",
            "Shorten it; PostHog takes at most 1 MB per event.",
        )
    if "NUL" in text:
        return "the line holds a NUL byte", "Remove it; if the file is UTF-16, save it as UTF-8."
    return f"cannot be read as CSV ({text})", "Check the quotes and commas on that line."


def decode_csv(data: bytes) -> tuple[str, str] | Problem:
    """The text of a CSV file and a notice when it was not UTF-8 (read as Windows-1252), or
    the fatal problem that leaves nothing to read."""
    encoding = encoding_problem(data)
    if encoding is not None:
        return Problem(0, encoding, SAVE_AS_UTF8, fatal=True)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        legacy = decode_legacy(data, exc.start)
    if isinstance(legacy, Legacy):
        return legacy.text, legacy.notice
    return Problem(legacy.line, legacy.message, SAVE_AS_UTF8, fatal=True)


def read_csv_header(
    text: str, sample_size: int = 1000, delimiter: str = ","
) -> tuple[list[str], list[list[str]]]:
    """The header and the first rows (those that can be read), for the mapping."""
    records = csv_records(text, delimiter)
    header: list[str] = []
    for _line, first in records:
        header = first if isinstance(first, list) else []
        break
    sample: list[list[str]] = []
    for _line, row in records:
        if len(sample) >= sample_size:
            break
        if isinstance(row, list):
            sample.append(row)
    return header, sample


def csv_header(records: Iterator[Record]) -> list[str] | Problem:
    """The header from the first record, or the fatal problem that it cannot be read."""
    for line, first in records:
        if isinstance(first, Problem):
            return Problem(
                line, f"the header cannot be read: {first.message}", first.fix, fatal=True
            )
        return first
    return []


def csv_events(
    rows: Iterable[Sequence[str] | Record],
    header: Sequence[str],
    mapping: Sequence[ColumnMap],
    first_line: int = 2,
    into: Imported | None = None,
) -> Imported:
    """Events from CSV rows (the header already read); a bad row is reported and skipped.

    `rows` are plain rows, numbered from `first_line`, or `csv_records` (line, row) pairs."""
    result = into or Imported()
    plan = [(i, m) for i, m in enumerate(mapping) if m.target is not Target.IGNORE]
    number = first_line - 1
    for index, item in enumerate(rows, start=first_line):
        if isinstance(item, tuple) and isinstance(item[0], int):
            number, row = item
        else:
            number, row = index, item
        if isinstance(row, Problem):
            result.problems.append(row)
            continue
        if not any(row):
            continue
        if len(row) != len(header):
            spans = any("\n" in cell or "\r" in cell for cell in row)
            result.problems.append(
                Problem(
                    number,
                    f"has {len(row)} columns; the header has {len(header)}",
                    'A quote (") that is never closed joins the lines after it into one field;'
                    " close it."
                    if spans
                    else "Give every row the header's columns; quote a field that holds a comma.",
                )
            )
            continue
        try:
            event = _event_from_row(row, plan)
        except ValueError_ as exc:
            result.problems.append(
                Problem(number, str(exc), "Fix the cell, or map its column to another type.")
            )
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
