"""JSON Lines read block by block: the lines of a file of any size, in bounded memory.

Pure: blocks of bytes in, (first line number, lines) out. Lines end as `bytes.splitlines`
ends them (LF, CRLF or CR alone), numbered as editors number them, so a line reported here
has the number the whole-file reader (formats.jsonl_lines) gives it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import orjson

from composer.core.batch.formats import Problem, read_jsonl
from composer.core.batch.journal import assign_derived_uuids, derived_uuid
from composer.core.batch.rows import BatchRow, new_uuid
from composer.core.capture.identifiers import UUID_CANONICAL
from composer.core.jsonio import dumps_compact

BLOCK_BYTES = 1 << 20


def line_blocks(blocks: Iterable[bytes]) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the first line, complete lines) for each block read; a line cut by a
    block's end is carried into the next block (a byte-order mark at the start is dropped)."""
    carry = b""
    number = 1
    first = True
    for block in blocks:
        data = carry + block if carry else block
        if first:
            if len(data) < 3 and b"\xef\xbb\xbf".startswith(data):
                carry = data
                continue
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            first = False
        cut = data.rfind(b"\n")
        if cut < 0:
            # No LF: a file of CR-ended lines (old Mac), or one long line. A CR at the very
            # end may be the first half of a CRLF, so it waits for the next block.
            cut = data.rfind(b"\r", 0, len(data) - 1)
        if cut < 0:
            carry = data
            continue
        complete, carry = data[: cut + 1], data[cut + 1 :]
        lines = complete.splitlines()
        if lines:
            yield number, lines
            number += len(lines)
    if carry:
        if first and carry.startswith(b"\xef\xbb\xbf"):
            carry = carry[3:]
        lines = carry.splitlines()
        if lines:
            yield number, lines


def literal(data: bytes) -> bool:
    """No {{placeholder}} can be in these bytes of JSON, nor an escaped brace (\\u007b) that
    might spell one once decoded: their events need no walk for variables."""
    return b"{{" not in data and b"\\u007" not in data


def read_rows(
    lines: Sequence[bytes],
    first_line: int,
    index: int,
    problems: list[Problem],
    seed: bytes | None = None,
    wire: bool = True,
) -> list[BatchRow]:
    """The rows of these JSON Lines, as formats.read_jsonl reads them, in one pass per line:
    parse, uuid, and (with `wire`) the compact JSON that goes on the wire.

    `index` is the first row's position among the file's rows: an event without a uuid gets
    the one derived from `seed` and its position (journal.derived_uuid), as
    assign_derived_uuids would give it, or a random one without a seed. Anything unusual (a
    line orjson refuses, not an object, a uuid not in canonical form) is read by read_jsonl
    itself, so its rows and problems are exactly that reader's."""
    rows: list[BatchRow] = []
    append = rows.append
    # Known for the whole block from two searches, not two per line (0.9 µs an event).
    block_literal = literal(b"".join(lines))
    canonical = UUID_CANONICAL.match
    loads = orjson.loads
    dumps = orjson.dumps
    for number, raw in enumerate(lines, first_line):
        line = raw.strip()
        if not line:
            continue
        try:
            event = loads(line)
        except orjson.JSONDecodeError:
            event = None
        given = event.get("uuid") if type(event) is dict else 0
        if given is None:
            uid = derived_uuid(seed, index + len(rows)) if seed is not None else new_uuid()
            event["uuid"] = uid
            drawn = True
        elif type(given) is str and canonical(given):
            uid, drawn = given, False
        else:
            slow = read_jsonl([raw], first_line=number)
            problems.extend(slow.problems)
            for row in slow.rows:
                if seed is not None:
                    assign_derived_uuids([row], seed, index + len(rows))
                if wire:
                    row.wire = dumps_compact(row.event)
                    row.size = len(row.wire)
                append(row)
            continue
        if wire:
            try:
                # A copy of exactly its length: orjson hands back its 4 KiB work buffer,
                # and thousands of rows wait in the chunks on their way.
                data = memoryview(dumps(event)).tobytes()
            except TypeError:
                data = dumps_compact(event)
            row = BatchRow(uid, event, len(data), drawn=drawn)
            row.wire = data
        else:
            row = BatchRow(uid, event, len(line), drawn=drawn)
        row.literal = block_literal or literal(line)
        append(row)
    return rows
