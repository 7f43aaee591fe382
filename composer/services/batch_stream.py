"""A JSON Lines or CSV file read as it is sent or checked: rows block by block, in bounded
memory.

`scan` is one quick pass (about a gigabyte a second) for what must be known before the first
request: the file's identity for the send journal (its SHA-256), about how many events it
holds (for the progress and the journal's header), and whether it is UTF-8 at all.
`jsonl_rows` (or `csv_rows`) then reads it again, a block at a time, as the caller consumes
the rows. A CSV file is streamed only when it is UTF-8 all through (`Scanned.utf8`): one in
Windows-1252 is read whole (services/batch_files.py), as a legacy export is small.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from composer.core.batch.csv_text import SNIFF_BYTES, sniff_delimiter
from composer.core.batch.formats import (
    SAVE_AS_UTF8,
    ColumnMap,
    Format,
    Problem,
    Record,
    auto_mapping,
    csv_events,
    csv_header,
    csv_lines_records,
    encoding_problem,
    format_for,
)
from composer.core.batch.journal import InputIdentity, assign_derived_uuids
from composer.core.batch.rows import BatchRow
from composer.core.batch.stream import BLOCK_BYTES, line_blocks, read_rows
from composer.services.parallel_rows import ParallelRows, started

CSV_BLOCK_RECORDS = 4096  # CSV records turned into rows at a time
MAPPING_SAMPLE_ROWS = 1000  # the rows the automatic mapping looks at (formats.read_csv_header)


@dataclass(frozen=True)
class Scanned:
    identity: InputIdentity
    lines: int  # about how many events: lines that are not blank (bad ones included)
    encoding: str | None  # why the file is plainly not UTF-8 text, or None
    utf8: bool = True  # every byte is UTF-8 (known only when scan was asked to check it)
    cr_only: bool = False  # its lines end with CR alone (an old Mac file)


def scan(path: str | Path, *, digest: bool = True, utf8: bool = False) -> Scanned:
    """The file's identity, its line count and its encoding problem (OSError if unreadable);
    with `utf8`, whether all of it decodes as UTF-8."""
    resolved = Path(path).resolve()
    sha = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")() if utf8 else None
    decodes = True
    lines = blank = 0
    head = b""
    last = b""
    with resolved.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        lf = cr = 0
        while block := handle.read(BLOCK_BYTES):
            if digest:
                sha.update(block)
            if decoder is not None and decodes:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    decodes = False
            if len(head) < 4096:
                head += block[: 4096 - len(head)]
            lf += block.count(b"\n")
            # Blank lines (LF LF, CRLF CRLF); one across a block's edge is not seen (an
            # estimate: the progress and the journal's header say "about").
            blank += block.count(b"\n\n")
            if b"\r" in block:  # one look, not two counts, for the usual file without CR
                cr += block.count(b"\r")
                blank += block.count(b"\n\r\n")
            last = block[-1:]
        lines = lf or cr
        if last and last not in (b"\n", b"\r"):
            lines += 1
        if decoder is not None and decodes:
            try:
                decoder.decode(b"", final=True)  # a character cut off at the end
            except UnicodeDecodeError:
                decodes = False
    identity = InputIdentity(str(resolved), stat.st_size, stat.st_mtime_ns, sha.hexdigest())
    return Scanned(
        identity, max(0, lines - blank), encoding_problem(head), decodes, lf == 0 and cr > 0
    )


def read_blocks(path: str | Path, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    with Path(path).open("rb") as handle:
        while block := handle.read(size):
            yield block


def jsonl_rows(
    path: str | Path,
    on_problem: Callable[[Problem], None],
    seed: bytes | None = None,
    wire: bool = True,
) -> Iterator[list[BatchRow]]:
    """The rows of a JSON Lines file, a block at a time (core/batch/stream.py's read_rows:
    uuids derived from `seed`, and with `wire` their bytes for the request); each line that
    cannot be read goes to `on_problem` (numbered as in the file) and the rest is read on."""
    index = 0
    problems: list[Problem] = []
    for first, lines in line_blocks(read_blocks(path)):
        rows = read_rows(lines, first, index, problems, seed, wire)
        for problem in problems:
            on_problem(problem)
        problems.clear()
        index += len(rows)
        if rows:
            yield rows


def streams(name: str) -> bool:
    """Whether `send` and `validate` read the file named `name` as they go: JSON Lines, and a
    file named .csv (another name is told apart by its first bytes, read whole)."""
    return format_for(name) is Format.JSONL or name.lower().endswith(".csv")


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file is split and mapped: what the whole-file reader would use."""

    delimiter: str
    header: list[str]
    mapping: list[ColumnMap]
    cr_only: bool = False  # scan's, for the whole file: split by CR, not LF


@contextmanager
def _csv_file(
    path: str | Path, delimiter: str | None, cr_only: bool
) -> Iterator[tuple[str, list[str] | Problem, Iterator[Record]]]:
    """The separator (sniffed from the first lines unless given), the header (or the fatal
    problem that it cannot be read) and the records after it, read as they are taken. Lines
    are split as the whole-file reader splits its text: by LF, so a CR alone inside an
    unquoted field stays an error of its line, or by CR in a file of CR-ended lines."""
    with open(path, encoding="utf-8-sig", newline="" if cr_only else "\n") as handle:
        if delimiter is None:
            # One more character than is sniffed, so the sample knows it was cut.
            delimiter = sniff_delimiter(handle.read(SNIFF_BYTES + 1))
            handle.seek(0)
        records = csv_lines_records(handle, delimiter)
        yield delimiter, csv_header(records), records


def csv_layout(
    path: str | Path, delimiter: str | None = None, *, cr_only: bool = False
) -> CsvLayout | Problem:
    """The separator, header and automatic mapping, or the fatal problem that the header
    cannot be read, decided as the whole-file reader (services/batch_files.py) decides them:
    the separator from the first lines, the mapping from the first 1,000 rows that can be
    read (however long they are). The file is UTF-8; `cr_only` is scan's, for all of it."""
    with _csv_file(path, delimiter, cr_only) as (separator, header, records):
        if isinstance(header, Problem):
            return header
        sample: list[list[str]] = []
        for _line, row in records:  # as read_csv_header takes its sample
            if len(sample) >= MAPPING_SAMPLE_ROWS:
                break
            if isinstance(row, list):
                sample.append(row)
    return CsvLayout(separator, header, auto_mapping(header, sample), cr_only)


def csv_rows(
    path: str | Path,
    layout: CsvLayout,
    on_problem: Callable[[Problem], None],
    seed: bytes | None = None,
) -> Iterator[list[BatchRow]]:
    """The rows of a UTF-8 CSV file, a block of records at a time: the rows and problems of
    the whole-file reader (formats.csv_events), with uuids derived from `seed` by position."""
    index = 0
    with _csv_file(path, layout.delimiter, layout.cr_only) as (_delimiter, header, records):
        if isinstance(header, Problem):
            on_problem(header)
            return
        block: list[Record] = []
        for record in records:
            block.append(record)
            if len(block) < CSV_BLOCK_RECORDS:
                continue
            rows = _csv_block(block, layout, on_problem, seed, index)
            index += len(rows)
            block = []
            if rows:
                yield rows
        rows = _csv_block(block, layout, on_problem, seed, index)
        if rows:
            yield rows


def _csv_block(
    block: list[Record],
    layout: CsvLayout,
    on_problem: Callable[[Problem], None],
    seed: bytes | None,
    index: int,
) -> list[BatchRow]:
    if not block:
        return []
    read = csv_events(block, layout.header, layout.mapping)
    for problem in read.problems:
        on_problem(problem)
    if seed is not None:
        assign_derived_uuids(read.rows, seed, index)
    return read.rows


@dataclass(frozen=True)
class StreamedFile:
    """A JSON Lines or UTF-8 CSV file, scanned, to be read a block at a time."""

    path: str
    scanned: Scanned
    layout: CsvLayout | None  # None: JSON Lines
    readers: ParallelRows | None = None  # a big file's reader processes, for a send

    @property
    def events(self) -> int:
        """About how many events it holds (a CSV file's header is none)."""
        return self.scanned.lines - (self.layout is not None)

    def rows(
        self, on_problem: Callable[[Problem], None], seed: bytes | None = None, wire: bool = True
    ) -> Iterator[list[BatchRow]]:
        if self.layout is None:
            return jsonl_rows(self.path, on_problem, seed, wire)
        return csv_rows(self.path, self.layout, on_problem, seed)  # CSV rows always have wire

    def sending(
        self, on_problem: Callable[[Problem], None], seed: bytes | None = None
    ) -> Iterator[list[BatchRow]]:
        """The rows for a send (with their wire bytes): from the reader processes when
        open_stream started them, else read here. Take them once."""
        if self.readers is not None:
            return self.readers.rows(on_problem, seed)
        return self.rows(on_problem, seed)

    def close(self) -> None:
        """Stops the reader processes, if any (the rows' end stops them too)."""
        if self.readers is not None:
            self.readers.close()


def open_stream(
    path: str, delimiter: str | None = None, *, digest: bool = True, readers: bool = False
) -> StreamedFile | Problem | None:
    """The file `streams` says is read as it goes, scanned (OSError if unreadable); a Problem
    when it cannot be read at all (not UTF-8, a CSV header that cannot be read); None for a
    CSV file that is not UTF-8 all through, which the whole-file reader reads as Windows-1252.

    With `readers`, a JSON Lines file big enough for them gets reader processes
    (parallel_rows.py), started before the scan so that they parse while it hashes; call it
    before any thread starts, and close() the file if its rows are not read to the end."""
    is_csv = path.lower().endswith(".csv")
    early: ParallelRows | None = None
    try:
        if readers and not is_csv and format_for(path) is Format.JSONL:
            early = started(path)
        scanned = scan(path, digest=digest, utf8=is_csv)
        if is_csv and (scanned.encoding is not None or not scanned.utf8):
            return None
        if scanned.encoding is not None:
            return Problem(0, scanned.encoding, SAVE_AS_UTF8, fatal=True)
        layout = csv_layout(path, delimiter, cr_only=scanned.cr_only) if is_csv else None
        if isinstance(layout, Problem):
            return layout
        if early is not None and (scanned.cr_only or early.size != scanned.identity.size):
            # Its spans are cut at LF, so an old Mac file is read here; and so is a file that
            # grew or shrank between the spans and the scan (the readers would stop short of
            # what the journal's identity covers).
            early.close()
            early = None
        opened = StreamedFile(path, scanned, layout, early)
        early = None
        return opened
    finally:
        if early is not None:
            early.close()
