"""A big JSON Lines file read by worker processes gives the rows the one-process reader gives.

Compared row by row with services/batch_stream.jsonl_rows on files that hold every kind of
line (uuids given, missing, null, unreadable; bad lines, blank lines, placeholders, events
with findings, CRLF, a byte-order mark), cut into spans of a few hundred bytes so that every
worker takes many; and the workers stop when the reading stops early.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from composer.cli import validate_stream
from composer.core.batch.formats import Problem
from composer.core.batch.rows import UNREAD, BatchRow, RowChecker, read_back
from composer.core.plans.check import is_plan_finding
from composer.services import parallel_rows
from composer.services.batch_stream import StreamedFile, jsonl_rows, open_stream
from composer.services.parallel_rows import ParallelRows, spans
from composer.services.plans import example_plan_path, load_plan
from tests.test_streaming import KEY, LINES, SEED

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity"), reason="reader processes are forked (Linux)"
)

ODD = [
    *LINES,
    b'{"event":"n","distinct_id":"u12","timestamp":"2999-01-01T00:00:00Z"}',  # a finding
    b'{"event":"$identify","distinct_id":"u13","properties":{"$set":{"a":1}}}',
    b'{"event":"o","distinct_id":"u14","properties":{"version":"1.2.3","price":"19.99"}}',
    b'{"event":"p","distinct_id":"c-{{$counter}}"}',  # filled in row order, by the parent
]


def _file(tmp_path: Path, lines: int, seed: int, crlf: bool = False, bom: bool = False) -> Path:
    rng = random.Random(seed)
    ending = b"\r\n" if crlf else b"\n"
    body = []
    for i in range(lines):
        if rng.random() < 0.3:
            body.append(rng.choice(ODD))
        else:
            event = {"event": f"e{i % 7}", "distinct_id": f"user-{i % 13}", "properties": {"i": i}}
            if rng.random() < 0.5:
                event["uuid"] = f"00000000-0000-4000-8000-{i:012d}"
            body.append(orjson.dumps(event))
    path = tmp_path / f"events-{seed}.jsonl"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ending.join(body) + ending)
    return path


def _sequential(path: Path) -> tuple[list[tuple[object, ...]], list[Problem]]:
    problems: list[Problem] = []
    checker = RowChecker(remember=0)
    got = []
    for rows in jsonl_rows(path, problems.append, SEED):
        for row in rows:
            checker.check(row)
            got.append((row.uuid, row.drawn, row.wire, row.event, row.findings))
    return got, problems


def _parallel(
    path: Path, workers: int, block: int
) -> tuple[list[tuple[object, ...]], list[Problem]]:
    problems: list[Problem] = []
    checker = RowChecker(remember=0, trust_clean=True)  # as the send checks them
    got = []
    for rows in ParallelRows(path, workers, block).rows(problems.append, SEED):
        for row in rows:
            checker.check(row)
            read_back(row)
            got.append((row.uuid, row.drawn, row.wire, row.event, row.findings))
    return got, problems


@pytest.mark.parametrize(
    ("seed", "crlf", "bom", "workers", "block"),
    [
        (1, False, False, 2, 300),
        (2, True, True, 2, 97),
        (3, False, True, 3, 1000),
        (4, True, False, 1, 5000),
    ],
)
def test_reader_processes_give_the_rows_of_one_process(
    tmp_path: Path, seed: int, crlf: bool, bom: bool, workers: int, block: int
) -> None:
    path = _file(tmp_path, 600, seed, crlf, bom)
    expected_rows, expected_problems = _sequential(path)
    rows, problems = _parallel(path, workers, block)
    assert problems == expected_problems
    assert len(rows) == len(expected_rows)
    for got, want in zip(rows, expected_rows, strict=True):
        assert got == want
    assert any(drawn for _, drawn, *_ in rows)  # derived uuids were put in place
    assert any(findings for *_, findings in rows)


def test_spans_are_whole_lines_covering_the_file(tmp_path: Path) -> None:
    path = _file(tmp_path, 300, 5)
    data = path.read_bytes()
    for block in (1, 50, 4096, len(data) * 2):
        cut = spans(path, len(data), block)
        assert cut[0][0] == 0
        assert cut[-1][1] == len(data)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(cut))
        assert all(data[end - 1 : end] == b"\n" for _, end in cut[:-1])


def test_clean_rows_hold_no_parsed_event_until_read_back(tmp_path: Path) -> None:
    path = _file(tmp_path, 200, 6)
    reader = ParallelRows(path, 2, 500)
    rows = [row for block in reader.rows(lambda problem: None, SEED) for row in block]
    clean = [row for row in rows if row.findings == ()]
    assert clean
    assert all(row.event is UNREAD for row in clean)
    row = read_back(clean[0])
    assert row.event == orjson.loads(row.wire)
    assert row.event is not UNREAD


def test_the_workers_stop_when_the_reading_stops(tmp_path: Path) -> None:
    path = _file(tmp_path, 2000, 7)
    reader = ParallelRows(path, 2, 200)
    processes = [process for process, _ in reader._readers]
    assert all(process.is_alive() for process in processes)
    next(reader.rows(lambda problem: None, SEED))
    reader.close()
    assert all(not process.is_alive() for process in processes)
    assert all(process.exitcode is not None for process in processes)


def test_a_worker_that_dies_is_reported(tmp_path: Path) -> None:
    path = _file(tmp_path, 2000, 8)
    reader = ParallelRows(path, 2, 200)
    process, _ = reader._readers[1]
    process.kill()
    with pytest.raises(parallel_rows.ReaderFailed, match="stopped"):
        for _ in reader.rows(lambda problem: None, SEED):
            pass
    assert reader._readers == []  # the other one is stopped too


def test_a_send_uses_reader_processes_only_for_a_big_file(tmp_path: Path) -> None:
    small = _file(tmp_path, 50, 9)
    stream = open_stream(str(small), readers=True)
    assert isinstance(stream, StreamedFile)
    assert stream.readers is None
    big = tmp_path / "big.jsonl"
    line = orjson.dumps({"event": "e", "distinct_id": "u", "properties": {"p": "x" * 200}})
    big.write_bytes((line + b"\n") * (parallel_rows.MIN_BYTES // len(line) + 1))
    assert open_stream(str(big)).readers is None  # type: ignore[union-attr]  # not asked
    stream = open_stream(str(big), readers=True)
    assert isinstance(stream, StreamedFile)
    try:
        assert (stream.readers is not None) == (parallel_rows.workers_for(big.stat().st_size) > 0)
        rows = [row for block in stream.sending(lambda problem: None, SEED) for row in block]
        assert len(rows) == stream.scanned.lines
    finally:
        stream.close()
    # An old Mac file (lines ended by CR alone) is read by the parent: spans are cut at LF.
    mac = tmp_path / "mac.jsonl"
    mac.write_bytes((line + b"\r") * (parallel_rows.MIN_BYTES // len(line) + 1))
    stream = open_stream(str(mac), readers=True)
    assert isinstance(stream, StreamedFile)
    assert stream.readers is None


@pytest.mark.parametrize("with_plan", [False, True], ids=["no-plan", "plan"])
def test_validate_with_reader_processes_finds_what_one_process_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_plan: bool
) -> None:
    """Every finding, in the same order with the same rows: the workers' checks, the
    duplicate uuids across spans (the ODD lines repeat theirs), the rows with {{variables}}
    (a counter among them) and the unreadable lines."""
    path = _file(tmp_path, 800, 11)
    plan = load_plan(example_plan_path()) if with_plan else None
    variables = {"user": "someone"}
    monkeypatch.setattr(parallel_rows, "workers_for", lambda size: 0)
    expected = validate_stream.check_stream(str(path), variables, plan, KEY)
    monkeypatch.setattr(parallel_rows, "workers_for", lambda size: 2)
    monkeypatch.setattr(parallel_rows, "ParallelRows", functools.partial(ParallelRows, block=300))
    got = validate_stream.check_stream(str(path), variables, plan, KEY)
    assert got == expected
    assert got is not None
    result = got[1]
    assert not isinstance(result, str)
    assert {"uuid.duplicate", "file.unreadable_line"} <= {f.code for f in result.findings}
    assert any(is_plan_finding(f) for f in result.findings) == with_plan


def test_no_reader_processes_are_forked_beside_other_threads(tmp_path: Path) -> None:
    """A fork copies only the calling thread; a process running others reads in one."""
    import threading

    size = parallel_rows.MIN_BYTES
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert parallel_rows.workers_for(size) == 0
    finally:
        release.set()
        other.join()
    if threading.active_count() == 1:  # the suite may have left a thread of its own
        assert parallel_rows.workers_for(size) == (2 if len(os.sched_getaffinity(0)) >= 2 else 0)


def test_a_file_that_changes_before_the_scan_is_read_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The readers cover the bytes the file had when they started; one appended to before
    the scan (which the journal's identity covers) is read here, to its end."""
    from composer.services import batch_stream

    big = tmp_path / "growing.jsonl"
    line = orjson.dumps({"event": "e", "distinct_id": "u", "properties": {"p": "x" * 200}})
    big.write_bytes((line + b"\n") * (parallel_rows.MIN_BYTES // len(line) + 1))
    scan = batch_stream.scan

    def appended_then_scanned(path: str, **kwargs: bool) -> batch_stream.Scanned:
        with open(path, "ab") as out:
            out.write(line + b"\n")
        return scan(path, **kwargs)

    monkeypatch.setattr(batch_stream, "scan", appended_then_scanned)
    monkeypatch.setattr(parallel_rows, "workers_for", lambda size: 2)
    stream = open_stream(str(big), readers=True)
    assert isinstance(stream, StreamedFile)
    assert stream.readers is None
    rows = [row for block in stream.sending(lambda problem: None, SEED) for row in block]
    assert len(rows) == big.read_bytes().count(b"\n")


def test_requests_are_the_bytes_one_process_sends(tmp_path: Path) -> None:
    """The bodies, not only the rows: a request that holds rows with {{variables}} beside
    rows a reader parsed (whose event is UNREAD) carries every event, as one process's does.
    (A body built from the events alone once sent those rows as {}.)"""
    from composer.core.batch.rows import envelope_bytes, plan_chunks
    from composer.core.templates.variables import Resolver

    path = _file(tmp_path, 600, 12)

    def bodies(blocks: Iterator[list[BatchRow]], trust: bool) -> list[bytes]:
        checker = RowChecker(resolver=Resolver({"user": "someone"}), remember=0, trust_clean=trust)
        rows = [checker.check(row) for block in blocks for row in block]
        sendable = [row for row in rows if not row.blocked]
        return [envelope_bytes(chunk, KEY, False) for chunk in plan_chunks(sendable, max_events=50)]

    one = bodies(jsonl_rows(path, lambda problem: None, SEED), trust=False)
    two = bodies(ParallelRows(path, 2, 300).rows(lambda problem: None, SEED), trust=True)
    assert two == one
    sent = [event for body in two for event in orjson.loads(body)["batch"]]
    assert all(event.get("event") for event in sent)
    assert any(event["distinct_id"] == "someone" for event in sent)


def test_a_file_without_line_feeds_is_read_in_one_process(tmp_path: Path) -> None:
    """A worker holds its span whole: a file whose lines end with CR alone (or one with very
    long lines) would be one span, so no worker is started for it."""
    line = orjson.dumps({"event": "e", "distinct_id": "u", "properties": {"p": "x" * 200}})
    mac = tmp_path / "mac.jsonl"
    mac.write_bytes((line + b"\r") * (parallel_rows.MAX_SPAN_BYTES // len(line) + 10))
    assert spans(mac, mac.stat().st_size) is None
    reader = ParallelRows(mac, 2)
    assert not reader.forked
    assert reader._readers == []
    assert list(reader.rows(lambda problem: None, SEED)) == []
    lf = tmp_path / "lf.jsonl"
    lf.write_bytes((line + b"\n") * (parallel_rows.MAX_SPAN_BYTES // len(line) + 10))
    cut = spans(lf, lf.stat().st_size)
    assert cut is not None
    assert max(end - start for start, end in cut) <= parallel_rows.MAX_SPAN_BYTES


def test_validate_of_a_file_without_line_feeds_gives_the_findings_of_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = orjson.dumps({"event": "e", "distinct_id": "u", "properties": {"p": "x" * 200}})
    mac = tmp_path / "mac.jsonl"
    mac.write_bytes((line + b"\r") * (parallel_rows.MAX_SPAN_BYTES // len(line) + 10))
    monkeypatch.setattr(parallel_rows, "workers_for", lambda size: 0)
    expected = validate_stream.check_stream(str(mac), {}, None, KEY)
    monkeypatch.setattr(parallel_rows, "workers_for", lambda size: 2)
    assert validate_stream.check_stream(str(mac), {}, None, KEY) == expected


def test_a_row_a_reader_parsed_is_judged_by_its_event() -> None:
    """UNREAD is read-only, and a check that is not told to trust the row reads it back."""
    event = {"event": "e", "distinct_id": "null"}  # a warning: an id PostHog never merges
    wire = orjson.dumps(event)
    with pytest.raises(TypeError):
        UNREAD["event"] = "x"  # type: ignore[index]
    row = BatchRow("u", UNREAD, len(wire), (), wire=wire, literal=True)
    RowChecker(remember=0).check(row)
    assert row.event == event
    assert [f.code for f in row.findings or ()] == ["distinct_id.illegal"]
