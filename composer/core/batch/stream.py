"""JSON Lines read block by block: the lines of a file of any size, in bounded memory.

Pure: blocks of bytes in, (first line number, lines) out. Lines end as `bytes.splitlines`
ends them (LF, CRLF or CR alone), numbered as editors number them, so a line reported here
has the number the whole-file reader (formats.jsonl_lines) gives it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

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
