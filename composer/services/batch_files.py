"""Reading and writing batch files, with progress and cancel, for the window and the CLI."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from composer.core.batch.formats import (
    ColumnMap,
    Format,
    Imported,
    Problem,
    auto_mapping,
    csv_events,
    format_for,
    read_csv_header,
    read_json,
    read_jsonl,
    write_csv,
    write_json,
    write_jsonl,
)
from composer.core.jsonio import JsonObject
from composer.files import write_atomic

BLOCK = 4096  # lines per progress report

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


class Cancelled(Exception):
    pass


def read_batch_file(
    path: str | Path,
    *,
    mapping: Sequence[ColumnMap] | None = None,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Imported:
    """Read events from a .json, .jsonl or .csv file. Raises Cancelled, or OSError."""
    path = Path(path)
    data = path.read_bytes()
    fmt = format_for(path.name, data[:4096])
    total = len(data)
    report = on_progress or (lambda done, all_: None)
    if fmt is Format.JSON:
        result = read_json(data)
        report(total, total)
        return result
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if fmt is Format.JSONL:
        result = Imported()
        lines = data.split(b"\n")
        for start in range(0, len(lines), BLOCK):
            if cancel is not None and cancel.is_set():
                raise Cancelled
            read_jsonl(lines[start : start + BLOCK], first_line=start + 1, into=result)
            report(_approx(start + BLOCK, len(lines), total), total)
        return result
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Imported(
            problems=[
                Problem(0, f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8")
            ]
        )
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    if mapping is None:
        mapping = auto_mapping(header, read_csv_header(text)[1])
    result = Imported()
    block: list[list[str]] = []
    first = 2
    for row in reader:
        block.append(row)
        if len(block) == BLOCK:
            if cancel is not None and cancel.is_set():
                raise Cancelled
            csv_events(block, header, mapping, first_line=first, into=result)
            first += len(block)
            block = []
            report(_approx(first, result.lines + BLOCK, total), total)
    csv_events(block, header, mapping, first_line=first, into=result)
    report(total, total)
    return result


def _approx(done: int, of: int, total: int) -> int:
    return min(total, int(total * done / max(of, 1)))


def csv_preview(path: str | Path) -> tuple[list[str], list[list[str]], list[ColumnMap]]:
    """The header, the first rows and the automatic mapping, for the mapping dialog."""
    text = Path(path).read_bytes()[: 2 * 1024 * 1024].decode("utf-8", "replace")
    header, sample = read_csv_header(text)
    return header, sample, auto_mapping(header, sample)


def write_batch_file(path: str | Path, events: Sequence[JsonObject]) -> Format:
    path = Path(path)
    fmt = format_for(path.name)
    data = {Format.JSON: write_json, Format.JSONL: write_jsonl, Format.CSV: write_csv}[fmt](events)
    write_atomic(path, data, 0o644)
    return fmt
