"""Reading and writing batch files, with progress and cancel, for the window and the CLI."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from composer.core.batch.csv_text import sniff_delimiter
from composer.core.batch.formats import (
    SAVE_AS_UTF8,
    ColumnMap,
    Format,
    Imported,
    Problem,
    Record,
    auto_mapping,
    csv_events,
    csv_header,
    csv_records,
    decode_csv,
    encoding_problem,
    format_for,
    jsonl_line_blocks,
    read_csv_header,
    read_json,
    unreadable,
    write_csv,
    write_json,
    write_jsonl,
)
from composer.core.batch.stream import read_rows
from composer.core.jsonio import JsonObject
from composer.files import write_atomic

BLOCK = 4096  # lines per progress report
PREVIEW_BYTES = 2 * 1024 * 1024  # the mapping dialog's sample: far more than its 1000 rows

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


class Cancelled(Exception):
    pass


def read_batch_file(
    path: str | Path,
    *,
    mapping: Sequence[ColumnMap] | None = None,
    delimiter: str | None = None,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Imported:
    """Read events from a .json, .jsonl or .csv file. Raises Cancelled, or OSError.

    A CSV file's separator is `delimiter`, or guessed from its first lines when None. A CSV
    file that is not UTF-8 but Windows-1252 is read, and `notices` says so.

    What the file holds never raises: bad lines are `problems` (the rest is read), and a file
    that cannot be read at all has a `fatal` one (`Imported.unreadable`).
    """
    path = Path(path)
    data = path.read_bytes()
    fmt = format_for(path.name, data[:4096])
    total = len(data)
    report = on_progress or (lambda done, all_: None)
    if fmt is Format.JSON:
        result = read_json(data)
        report(total, total)
        return result
    if fmt is Format.JSONL:
        encoding = encoding_problem(data)
        if encoding is not None:
            return unreadable(encoding, SAVE_AS_UTF8)
        result = Imported()
        for first, lines, end in jsonl_line_blocks(data):
            for start in range(0, len(lines), BLOCK):
                if cancel is not None and cancel.is_set():
                    raise Cancelled
                # The streaming reader's one pass per line: read_jsonl's rows and problems,
                # each with its wire bytes kept, so Send batch joins them, not encoding again.
                some = lines[start : start + BLOCK]
                found = read_rows(some, first + start, len(result.rows), result.problems)
                result.rows.extend(found)
                result.lines = first + start + len(some) - 1
            report(end, total)
        return result
    decoded = decode_csv(data)
    if isinstance(decoded, Problem):
        return Imported(problems=[decoded])
    text, notice = decoded
    delimiter = delimiter or sniff_delimiter(text)
    records = csv_records(text, delimiter)
    header = csv_header(records)
    if isinstance(header, Problem):
        return Imported(problems=[header])
    if mapping is None:
        mapping = auto_mapping(header, read_csv_header(text, delimiter=delimiter)[1])
    result = Imported(notices=[notice] if notice else [])
    lines_in_text = max(text.count("\n"), text.count("\r"), 1)
    block: list[Record] = []
    for record in records:
        block.append(record)
        if len(block) == BLOCK:
            if cancel is not None and cancel.is_set():
                raise Cancelled
            csv_events(block, header, mapping, into=result)
            block = []
            report(_approx(record[0], lines_in_text, total), total)
    csv_events(block, header, mapping, into=result)
    report(total, total)
    return result


def _approx(done: int, of: int, total: int) -> int:
    return min(total, int(total * done / max(of, 1)))


@dataclass(frozen=True)
class CsvPreview:
    """What the mapping dialog shows before an import: the header, the first rows, the
    automatic mapping, the separator they were split by, and how the file will be read."""

    header: list[str]
    sample: list[list[str]]
    mapping: list[ColumnMap]
    delimiter: str
    notice: str = ""  # the file is not UTF-8 and will be read as Windows-1252
    refusal: Problem | None = None  # the file cannot be read at all (the import would say so)


def csv_preview(path: str | Path, delimiter: str | None = None) -> CsvPreview:
    """The preview of a CSV file split by `delimiter`, or by the one its first lines suggest."""
    data = Path(path).read_bytes()
    if len(data) > PREVIEW_BYTES:  # whole lines only: a cut UTF-8 character is not an error
        data = data[: data.rfind(b"\n", 0, PREVIEW_BYTES) + 1] or data[:PREVIEW_BYTES]
    decoded = decode_csv(data)
    if isinstance(decoded, Problem):
        # A preview never refuses: an undecodable byte shows as \ufffd, and the dialog says
        # what the import would refuse, and where.
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # or the first column's name would carry it
        text, notice, refusal = data.decode("utf-8", "replace"), "", decoded
    else:
        (text, notice), refusal = decoded, None
    delimiter = delimiter or sniff_delimiter(text)
    header, sample = read_csv_header(text, delimiter=delimiter)
    mapping = auto_mapping(header, sample)
    return CsvPreview(header, sample, mapping, delimiter, notice, refusal)


def write_batch_file(path: str | Path, events: Sequence[JsonObject]) -> Format:
    path = Path(path)
    fmt = format_for(path.name)
    data = {Format.JSON: write_json, Format.JSONL: write_jsonl, Format.CSV: write_csv}[fmt](events)
    write_atomic(path, data, 0o644)
    return fmt
