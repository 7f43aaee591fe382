"""What the window's send takes from the check its rows had when they came in: a clean
verdict made against the same plan, and the event's wire bytes. Anything edited, unchecked,
flagged or checked against another plan is checked again."""

from __future__ import annotations

from pathlib import Path

import orjson

from composer.core.batch.formats import read_jsonl
from composer.core.batch.journal import assign_derived_uuids
from composer.core.batch.rows import BatchRow, RowChecker, check_rows, envelope_bytes
from composer.core.plans.reader import parse_plan
from composer.services.batch_files import read_batch_file

PLAN = """\
version: 1
allow_unplanned_events: false
events:
  signed_up: {}
"""


def rows(n: int, name: str = "signed_up") -> list[BatchRow]:
    return [
        BatchRow.of({"event": name, "distinct_id": f"u{i}", "properties": {"i": i}})
        for i in range(n)
    ]


def send_check(batch: list[BatchRow], plan: object = None) -> None:
    checker = RowChecker(plan=plan, remember=0, trust_clean=True)  # type: ignore[arg-type]
    for row in batch:
        checker.check(row)


def test_a_clean_row_is_not_checked_again_and_an_edited_one_is() -> None:
    batch = rows(3)
    check_rows(batch)
    assert all(r.findings == () and r.literal for r in batch)
    # Changed behind the check's back: a trusted verdict stands (this is the skip)...
    batch[0].event = {"event": "", "distinct_id": "u0"}
    # ...while an edit forgets the verdict, so the send checks the row again and holds it.
    batch[1].edited({"event": "", "distinct_id": "u1"})
    assert batch[1].findings is None
    assert not batch[1].literal
    send_check(batch)
    assert not batch[0].blocked
    assert batch[1].blocked
    assert not batch[2].blocked


def test_without_trust_every_row_is_checked_again() -> None:
    batch = rows(2)
    check_rows(batch)
    batch[0].event = {"event": "", "distinct_id": "u0"}
    checker = RowChecker(remember=0)
    for row in batch:
        checker.check(row)
    assert batch[0].blocked


def test_a_verdict_made_against_another_plan_is_made_again() -> None:
    plan = parse_plan(PLAN, "plan.yaml")
    other = parse_plan(PLAN, "plan.yaml")  # read again: another plan object
    batch = rows(2, name="unplanned_event")
    check_rows(batch)  # no plan when they came in: clean
    assert all(r.findings == () for r in batch)
    send_check(batch, plan)
    assert all(r.findings for r in batch)  # the plan's finding, made now
    assert all(r.checked_plan is plan for r in batch)
    send_check(batch, other)
    assert all(r.checked_plan is other for r in batch)


def test_a_flagged_row_is_checked_again_and_duplicates_are_still_seen() -> None:
    first = BatchRow.of(
        {"event": "a", "distinct_id": "u", "uuid": "0" * 8 + "-0000-4000-8000-" + "0" * 12}
    )
    second = BatchRow.of({**first.event})
    batch = [first, second]
    check_rows(batch)
    assert first.findings == ()
    assert [f.code for f in second.findings or ()] == ["uuid.duplicate"]
    checker = RowChecker(trust_clean=True)  # remembering uuids, as the window's send does
    for row in batch:
        checker.check(row)
    assert first.findings == ()  # trusted, and its uuid noted for the rows after it
    assert [f.code for f in second.findings or ()] == ["uuid.duplicate"]


def test_rows_keep_their_wire_bytes_and_requests_join_them() -> None:
    batch = rows(3)
    for row in batch:
        assert row.wire == orjson.dumps(row.event)
        assert row.size == len(row.wire)
    body = envelope_bytes(batch, "phc_key", False)
    assert orjson.loads(body) == {"api_key": "phc_key", "batch": [r.event for r in batch]}
    batch[0].edited({"event": "renamed", "distinct_id": "u0"})
    assert batch[0].wire == orjson.dumps({"event": "renamed", "distinct_id": "u0"})
    assert orjson.loads(envelope_bytes(batch, "phc_key", True))["batch"][0]["event"] == "renamed"


def test_derived_uuids_rewrite_the_wire_bytes() -> None:
    batch = rows(2)
    assert all(r.drawn for r in batch)
    assign_derived_uuids(batch, b"seed", 0)
    for row in batch:
        assert row.wire == orjson.dumps(row.event)
        assert orjson.loads(row.wire)["uuid"] == row.uuid


def test_a_jsonl_import_reads_as_read_jsonl_does_with_wire_bytes(tmp_path: Path) -> None:
    lines = [
        b'{"event": "a", "distinct_id": "u1"}',
        b"not json",
        b"",
        b'{"event": "b", "distinct_id": "u2", "uuid": "ABCDEF00-0000-4000-8000-000000000000"}',
        b"[1, 2]",
        b'{"event": "c", "distinct_id": "u3", "properties": {"v": "{{uuid}}"}}',
    ]
    path = tmp_path / "e.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    imported = read_batch_file(path)
    reference = read_jsonl(lines)
    assert [(p.line, p.message) for p in imported.problems] == [
        (p.line, p.message) for p in reference.problems
    ]
    assert imported.lines == reference.lines
    got = [{k: v for k, v in r.event.items() if k != "uuid"} for r in imported.rows]
    want = [{k: v for k, v in r.event.items() if k != "uuid"} for r in reference.rows]
    assert got == want
    assert [r.uuid for r in imported.rows][1] == reference.rows[1].uuid  # a given one, canonical
    for row in imported.rows:
        assert row.wire is not None
        assert orjson.loads(row.wire) == row.event
    # Known from the line, or (the uuid read the slow way) left for the first check's walk.
    assert [r.literal for r in imported.rows] == [True, False, False]


def test_a_file_read_in_pieces_has_the_lines_and_numbers_of_one_read() -> None:
    from composer.core.batch.formats import jsonl_line_blocks, jsonl_lines

    data = b"\xef\xbb\xbf" + b"".join(
        (b'{"i": %d}' % i) + (b"\r\n" if i % 3 else b"\n") + (b"\n" if i % 7 == 0 else b"")
        for i in range(500)
    )
    whole = jsonl_lines(data)
    pieces = list(jsonl_line_blocks(data, size=300))
    assert len(pieces) > 10
    assert [line for _first, lines, _end in pieces for line in lines] == whole
    numbers = [first for first, _lines, _end in pieces]
    counts = [len(lines) for _first, lines, _end in pieces]
    assert numbers == [1 + sum(counts[:i]) for i in range(len(counts))]
    assert pieces[-1][2] == len(data)
