"""A JSON Lines file read as it is sent or checked: rows block by block, in bounded memory.

`scan` is one quick pass (about a gigabyte a second) for what must be known before the first
request: the file's identity for the send journal (its SHA-256), about how many events it
holds (for the progress and the journal's header), and whether it is UTF-8 at all.
`jsonl_rows` then reads it again, a block at a time, as the caller consumes the rows.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from composer.core.batch.formats import Problem, encoding_problem
from composer.core.batch.journal import InputIdentity
from composer.core.batch.rows import BatchRow
from composer.core.batch.stream import BLOCK_BYTES, line_blocks, read_rows


@dataclass(frozen=True)
class Scanned:
    identity: InputIdentity
    lines: int  # about how many events: lines that are not blank (bad ones included)
    encoding: str | None  # why the file is plainly not UTF-8 text, or None


def scan(path: str | Path, *, digest: bool = True) -> Scanned:
    """The file's identity, its line count and its encoding problem (OSError if unreadable)."""
    resolved = Path(path).resolve()
    sha = hashlib.sha256()
    lines = blank = 0
    head = b""
    last = b""
    with resolved.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        lf = cr = 0
        while block := handle.read(BLOCK_BYTES):
            if digest:
                sha.update(block)
            if len(head) < 4096:
                head += block[: 4096 - len(head)]
            lf += block.count(b"\n")
            cr += block.count(b"\r")
            # Blank lines (LF LF, CRLF CRLF); one across a block's edge is not seen (an
            # estimate: the progress and the journal's header say "about").
            blank += block.count(b"\n\n") + block.count(b"\n\r\n")
            last = block[-1:]
        lines = lf or cr
        if last and last not in (b"\n", b"\r"):
            lines += 1
    identity = InputIdentity(str(resolved), stat.st_size, stat.st_mtime_ns, sha.hexdigest())
    return Scanned(identity, max(0, lines - blank), encoding_problem(head))


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
