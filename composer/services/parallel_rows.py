"""A big JSON Lines file read, checked and encoded by two worker processes, for `send` and
`validate`.

One core parses, checks and serialises about 110,000 events a second, and that, not the
network, is what held `send` below raw httpx; the send itself (the journal, the requests)
needs little. So the file is cut into spans of whole lines, each worker takes every other
span, and the parent takes their results in the file's order: the rows jsonl_rows would
give, with the same uuids, line numbers and problems.

For `send`, little more than the wire bytes crosses the pipe: for an event the fast rules
find clean, its uuid and its encoding (the parent's row holds no parsed event, UNREAD;
rows.read_back parses it again on the rare path that needs it, a failure). Anything else
(an event with findings, a {{placeholder}} to fill, a uuid that needs repair) comes as the
whole row, and the parent checks it again, with its variables. For `validate`, a row's
findings come back, and the parent adds the duplicate-uuid warning in file order.

A worker cannot know how many rows come before its span, and an event without a uuid gets
the one derived from the send's seed and its position: the worker draws a random uuid as a
stand-in and the parent puts the derived one in its place (36 characters for 36: only the
bytes change, and a random uuid occurs nowhere else in the event).

Workers are forked (Linux), from a process with no other thread, before the send starts
its own, and stopped when the reading stops for any reason (the end, Cancel, an error,
Ctrl+C, the parent's death).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from composer.core.batch.formats import Problem
from composer.core.batch.journal import assign_derived_uuids, derived_uuid
from composer.core.batch.rows import UNREAD, BatchRow, RowChecker, new_uuid
from composer.core.batch.stream import BLOCK_BYTES, literal, read_rows
from composer.core.capture.identifiers import UUID_CANONICAL
from composer.core.capture.preflight.fast import future_limit, is_plain
from composer.core.findings import Finding
from composer.core.plans.model import Plan

WORKERS = 2
# Starting and stopping two workers costs 5 to 10 ms (they are forked, with nothing to import),
# about what they save on 2,500 events; under four spans they hardly share the work.
MIN_BYTES = 4 * BLOCK_BYTES
MAX_SPAN_BYTES = 4 * BLOCK_BYTES  # a longer run without LF: the file is read in one process
_BOM = b"\xef\xbb\xbf"


def workers_for(size: int) -> int:
    """How many worker processes read a file of `size` bytes: none where fork is not the way
    to start them (only Linux forks safely), on one core, for a small file, or in a process
    that runs other threads (a fork copies only the calling one, and a lock another held,
    the import lock say, would stay held in the worker for ever)."""
    if not sys.platform.startswith("linux") or size < MIN_BYTES:
        return 0
    if threading.active_count() > 1:
        return 0
    return WORKERS if len(os.sched_getaffinity(0)) >= 2 else 0


def spans(
    path: str | Path, size: int, block: int = BLOCK_BYTES, longest: int = MAX_SPAN_BYTES
) -> list[tuple[int, int]] | None:
    """(start, end) byte ranges of about `block` bytes covering the file, each ending just
    after an LF (or at the end): whole lines, so their line counts add up. None when a span
    would be longer than `longest` (a file of CR-ended lines, or a few huge ones): a worker
    holds its span whole, and that must stay bounded."""
    found: list[tuple[int, int]] = []
    start = 0
    with Path(path).open("rb") as handle:
        while start < size:
            cut = min(start + block, size)
            handle.seek(cut)
            while cut < size and cut - start <= longest:  # on to the next LF
                piece = handle.read(1 << 16)
                at = piece.find(b"\n")
                if at >= 0:
                    cut += at + 1
                    break
                cut = cut + len(piece) if piece else size  # (a file cut short: its end)
            if cut - start > longest:
                return None
            found.append((start, cut))
            start = cut
    return found


@dataclass
class _Span:
    """What a worker made of one span (line numbers and rows counted from the span's start)."""

    lines: int  # lines in the span, blank ones too: the next span's first line follows
    uuids: list[str]
    wires: list[bytes | None]  # None: the row is in `whole`
    drawn: list[int]  # positions whose uuid is a stand-in for a derived one
    whole: dict[int, BatchRow]
    problems: list[Problem]


def _read_span(handle: Any, start: int, end: int, checker: RowChecker) -> _Span:
    """read_rows and the check, for one span, in one loop per line: an event the fast rules
    find clean becomes its uuid and wire bytes, with no row made for it (no copy of the bytes
    either: pickling copies them at their length). Any other line is read by read_rows itself
    and checked by the checker, so its row and problems are exactly theirs."""
    data = _span_bytes(handle, start, end)
    lines = data.splitlines()
    # As read_rows decides it: for the whole span at once, or line by line when some line
    # may hold a {{placeholder}}.
    span_literal = literal(data)
    problems: list[Problem] = []
    uuids: list[str] = []
    wires: list[bytes | None] = []
    drawn: list[int] = []
    whole: dict[int, BatchRow] = {}
    loads, dumps, canonical, plain = orjson.loads, orjson.dumps, UUID_CANONICAL.match, is_plain
    limit = future_limit(checker.now)
    # The first look at a line is read_rows', written out again rather than shared: a
    # generator or call between them costs 0.12 µs an event (timeit), 2% of a worker.
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        try:
            event = loads(line)
        except orjson.JSONDecodeError:
            event = None
        given = event.get("uuid") if type(event) is dict else 0
        if (span_literal or literal(line)) and (
            given is None or (type(given) is str and canonical(given))
        ):
            made = given is None
            uid: str = new_uuid() if given is None else given
            if made:
                event["uuid"] = uid
            try:
                wire = dumps(event)
            except TypeError:
                wire = None
            if wire is not None and plain(event, len(wire), limit, True):
                if made:
                    drawn.append(len(uuids))
                uuids.append(uid)
                wires.append(wire)
                continue
        for row in read_rows([raw], number, 0, problems, None, True):
            if row.literal:
                checker.check(row)
            whole[len(uuids)] = row  # checked again by the parent, with its variables
            uuids.append(row.uuid)
            wires.append(None)
    return _Span(len(lines), uuids, wires, drawn, whole, problems)


SpanReader = Callable[[Any, int, int], object]  # (file, start, end) -> what is sent back


def _work(
    path: str,
    mine: list[tuple[int, int]],
    read: Callable[[], SpanReader],
    out: Connection,
    inherited: list[Connection],
    parent: int,
) -> None:
    """A worker: its spans, in order, each sent as soon as it is read (the pipe's buffer is
    what it may run ahead, so memory stays bounded)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it (Ctrl+C reaches both)
    # The read ends it was forked with: held here, they would keep a pipe open after the
    # parent died, and a worker writing to it would wait forever instead of stopping.
    for connection in inherited:
        connection.close()
    _settle(parent)
    gc.disable()  # no cycles here, and a pass would touch every page shared with the parent
    try:
        reader = read()
        with Path(path).open("rb") as handle:
            for start, end in mine:
                out.send_bytes(pickle.dumps(reader(handle, start, end), 5))
    except BrokenPipeError:
        pass  # the parent stopped reading
    except BaseException:
        with contextlib.suppress(OSError):
            out.send_bytes(pickle.dumps(traceback.format_exc(), 5))
    finally:
        out.close()


def _settle(parent: int) -> None:
    """What the C library does for a worker, from its first moment:

    - SIGKILL it when its parent dies, so a killed send leaves no reader behind (without
      prctl it stops at its next write, to a pipe nobody reads);
    - let malloc keep what a span freed for the next span, instead of handing it back to the
      kernel and faulting it in again. A span is a megabyte read, split and parsed into
      thousands of dicts, then freed, 26 times per 100,000 events: with glibc's default
      thresholds the two workers spent 0.16-0.17 s of system time on that (1,453 brk calls
      for one send, strace -f -c), with these 0.03-0.06 s. What a worker holds stays bounded
      by its largest span, so keeping it costs no more than its peak already did."""
    import ctypes  # imported by the parent before the fork

    try:
        libc = ctypes.CDLL(None)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
        libc.mallopt(_M_MMAP_THRESHOLD, 64 << 20)  # a span's bytes from the heap, not mmap
    except (OSError, AttributeError):
        pass  # not glibc (or no prctl): as it is
    if os.getppid() != parent:
        os._exit(0)  # the parent died before the prctl


_PR_SET_PDEATHSIG = 1
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


class ReaderFailed(RuntimeError):
    """A worker process stopped without reading its spans."""


def for_send() -> SpanReader:
    """A worker's reader for `send`: rows with their wire bytes (_read_span)."""
    checker = RowChecker(datetime.now(UTC), remember=0)
    return lambda handle, start, end: _read_span(handle, start, end, checker)


class ParallelRows:
    """A JSON Lines file read by `workers` processes, span by span, and taken in order.

    For `send` (the default reader), `rows` gives jsonl_rows' rows (wire bytes made, uuids
    derived from the seed); clean rows come checked (findings ()), with UNREAD as their
    event. For `validate`, made with `for_check(plan)`, `findings` gives every row's
    findings, as a RowChecker gives them.

    The workers start here, and may start before the file is scanned (they need no seed:
    the parent derives the uuids), so make it before any thread starts (a fork copies one
    thread only). Take the rows or findings once; close() (or their end) stops the workers."""

    def __init__(
        self,
        path: str | Path,
        workers: int = WORKERS,
        block: int = BLOCK_BYTES,
        read: Callable[[], SpanReader] = for_send,
    ) -> None:
        import ctypes  # noqa: F401  # for _settle, imported before the fork
        import multiprocessing

        assert workers >= 1
        path = str(path)
        self.size = os.path.getsize(path)  # what the spans cover
        cut = spans(path, self.size, block)
        # False: a span would be too long to hold (see spans); no worker was started, and the
        # caller reads the file itself.
        self.forked = cut is not None
        self._spans = cut or []
        context = multiprocessing.get_context("fork")
        self._readers: list[tuple[Any, Connection]] = []
        if cut is None:
            return
        try:
            for w in range(workers):
                receive, send = context.Pipe(duplex=False)
                mine = self._spans[w::workers]
                held = [r for _, r in self._readers] + [receive]
                process = context.Process(
                    target=_work,
                    args=(path, mine, read, send, held, os.getpid()),
                    name=f"reader-{w}",
                    daemon=True,
                )
                process.start()
                send.close()
                self._readers.append((process, receive))
        except BaseException:
            self.close()
            raise

    def _taken(self, on_problem: Callable[[Problem], None]) -> Iterator[Any]:
        """The workers' spans in the file's order, their problems numbered as in the file."""
        try:
            line = 1
            workers = len(self._readers)
            for number in range(len(self._spans) if workers else 0):
                process, receive = self._readers[number % workers]
                try:
                    got = pickle.loads(receive.recv_bytes())
                except EOFError:
                    process.join()
                    raise ReaderFailed(
                        f"a reader process stopped (exit code {process.exitcode})"
                    ) from None
                if isinstance(got, str):
                    raise ReaderFailed(f"a reader process failed:\n{got}")
                for problem in got.problems:
                    on_problem(replace(problem, line=problem.line + line - 1))
                line += got.lines
                yield got
        finally:
            self.close()

    def rows(
        self, on_problem: Callable[[Problem], None], seed: bytes | None
    ) -> Iterator[list[BatchRow]]:
        index = 0
        for got in self._taken(on_problem):
            rows = _rows(got, index, seed)
            index += len(rows)
            if rows:
                yield rows

    def findings(
        self, on_problem: Callable[[Problem], None], checker: RowChecker
    ) -> Iterator[list[tuple[Finding, ...]]]:
        """Each row's findings, a block at a time, as `checker` would make them row by row:
        the workers' check (without uuids remembered) and the duplicate warning from
        `checker`, which also checks the rows with {{variables}}, in order, itself."""
        index = 0
        for got in self._taken(on_problem):
            found: list[tuple[Finding, ...]] = []
            for position, key in enumerate(got.keys):
                at = index + position
                row = got.whole.get(position)
                if row is not None:
                    found.append(checker.check(row, at).findings or ())
                    continue
                own = got.found.get(position, ())
                duplicate = checker.duplicate(key, at)
                found.append(own if duplicate is None else (*own, duplicate))
            index += len(got.keys)
            if found:
                yield found

    def close(self) -> None:
        readers, self._readers = self._readers, []
        for process, receive in readers:
            receive.close()
            if process.is_alive():
                process.terminate()
            process.join()


def started(path: str | Path, read: Callable[[], SpanReader] = for_send) -> ParallelRows | None:
    """Reader processes for this file when they pay and can be forked here (workers_for), and
    its spans can be held (spans); else None, and the caller reads the file itself."""
    workers = workers_for(os.path.getsize(path))
    if not workers:
        return None
    readers = ParallelRows(path, workers, read=read)
    return readers if readers.forked else None


@dataclass
class _Checked:
    """A span as `validate` needs it (rows counted from the span's start)."""

    lines: int
    keys: list[str | None]  # each row's uuid, for the duplicate warning (None: none to compare)
    found: dict[int, tuple[Finding, ...]]  # the findings of the rows that have any
    whole: dict[int, BatchRow]  # rows with {{variables}}: the parent resolves and checks them
    problems: list[Problem]


def for_check(plan: Plan | None, now: datetime) -> Callable[[], SpanReader]:
    """A worker's reader for `validate`: each row checked as `validate` checks it (its size
    the line's, no wire bytes), against `plan`, at the parent checker's `now` (a timestamp
    just inside its future limit must not be judged a moment later)."""

    def made() -> SpanReader:
        checker = RowChecker(now, plan=plan, remember=0)
        fast = plan is None or not plan.usable
        return lambda handle, start, end: _check_span(handle, start, end, checker, fast)

    return made


def _check_span(handle: Any, start: int, end: int, checker: RowChecker, fast: bool) -> _Checked:
    """read_rows and the check for one span. With no plan, an event the fast rules find
    clean gives only its uuid (a drawn one for an event without, as read_rows draws it, so
    the uuids remembered for the duplicate warning are the same); any other line is read
    by read_rows and checked by the checker."""
    data = _span_bytes(handle, start, end)
    lines = data.splitlines()
    span_literal = literal(data)  # as read_rows decides it
    problems: list[Problem] = []
    keys: list[str | None] = []
    found: dict[int, tuple[Finding, ...]] = {}
    whole: dict[int, BatchRow] = {}
    loads, canonical, plain = orjson.loads, UUID_CANONICAL.match, is_plain
    limit = future_limit(checker.now)
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if fast:
            try:
                event = loads(line)
            except orjson.JSONDecodeError:
                event = None
            given = event.get("uuid") if type(event) is dict else 0
            if (
                (span_literal or literal(line))
                and (given is None or (type(given) is str and canonical(given)))
                and plain(event, len(line), limit, True)
            ):
                keys.append(new_uuid() if given is None else given)
                continue
        for row in read_rows([raw], number, 0, problems, None, False):
            if not row.literal:
                whole[len(keys)] = row
                keys.append(None)
                continue
            checker.check(row)
            if row.findings:
                found[len(keys)] = row.findings
            uid = row.event.get("uuid")
            keys.append(uid if type(uid) is str else None)
    return _Checked(len(lines), keys, found, whole, problems)


def _span_bytes(handle: Any, start: int, end: int) -> bytes:
    data = os.pread(handle.fileno(), end - start, start)
    return data[3:] if start == 0 and data.startswith(_BOM) else data


def _rows(span: _Span, index: int, seed: bytes | None) -> list[BatchRow]:
    rows: list[BatchRow] = []
    append = rows.append
    whole = span.whole
    drawn = frozenset(span.drawn)
    for position, (given, encoded) in enumerate(zip(span.uuids, span.wires, strict=True)):
        if encoded is None:
            row = whole[position]
            if seed is not None and row.drawn:
                assign_derived_uuids([row], seed, index + position)
            append(row)
            continue
        uid, wire = given, encoded
        made = position in drawn
        if made and seed is not None:
            uid = derived_uuid(seed, index + position)
            wire = encoded.replace(given.encode(), uid.encode(), 1)
        append(BatchRow(uid, UNREAD, len(wire), (), drawn=made, wire=wire, literal=True))
    return rows
