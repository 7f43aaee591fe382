"""Batches without the window: rows, chunking, file formats, and sending with splitting."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest

from composer.core.batch.formats import (
    Target,
    auto_mapping,
    csv_events,
    read_csv_header,
    read_json,
    read_jsonl,
    write_csv,
    write_json,
    write_jsonl,
)
from composer.core.batch.rows import (
    BatchRow,
    RowStatus,
    check_rows,
    envelope_bytes,
    new_uuid,
    plan_chunks,
    with_uuid,
)
from composer.core.compose.values import ValueType
from composer.services.batch_files import read_batch_file
from composer.services.batch_sender import BatchSender
from composer.services.transport import RetryPolicy, Transport
from tests.support.fault_server import FaultServer, Reply

KEY = "phc_batch_core_key_00000000000000000000000"


def events(n: int, **extra: object) -> list[dict[str, object]]:
    return [
        {"event": "e", "distinct_id": f"u{i}", "properties": {"i": i}, **extra} for i in range(n)
    ]


def test_every_row_gets_a_uuid_but_a_bad_one_is_kept() -> None:
    event, uid = with_uuid({"event": "e"})
    assert event["uuid"] == uid
    assert len(uid) == 36
    upper = "0190D5B2-6C1A-7CC1-9A1B-4F3C2E1D0A9B"
    assert with_uuid({"uuid": upper})[1] == upper.lower()
    bad, key = with_uuid({"uuid": "nope"})
    assert bad["uuid"] == "nope"
    assert key.startswith("row-")
    assert len({new_uuid() for _ in range(1000)}) == 1000


def test_chunks_respect_both_caps() -> None:
    rows = [BatchRow.of(e) for e in events(2500)]
    by_count = list(plan_chunks(rows, max_bytes=10**9, max_events=1000))
    assert [len(c) for c in by_count] == [1000, 1000, 500]
    size = rows[0].size
    by_size = list(plan_chunks(rows, max_bytes=300 + size * 100, max_events=10**6))
    assert all(len(c) <= 100 for c in by_size)
    assert sum(len(c) for c in by_size) == 2500
    body = orjson.loads(envelope_bytes(by_count[0], KEY, True))
    assert body["historical_migration"] is True
    assert len(body["batch"]) == 1000


def test_check_rows_finds_errors_and_duplicate_uuids() -> None:
    same = "0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"
    rows = [
        BatchRow.of(e)
        for e in [
            {"event": "ok", "distinct_id": "u"},
            {"event": "", "distinct_id": "u"},
            {"event": "a", "distinct_id": "u", "uuid": same},
            {"event": "b", "distinct_id": "u", "uuid": same},
        ]
    ]
    check_rows(rows)
    assert rows[0].findings == ()
    assert rows[1].blocked
    assert [f.code for f in rows[3].findings or ()] == ["uuid.duplicate"]


def test_json_and_jsonl_reading_reports_bad_lines() -> None:
    envelope = orjson.dumps({"api_key": KEY, "batch": events(3)})
    assert len(read_json(envelope).rows) == 3
    assert len(read_json(orjson.dumps(events(2))).rows) == 2
    assert len(read_json(orjson.dumps(events(1)[0])).rows) == 1
    lines = [orjson.dumps(e) for e in events(3)]
    lines.insert(1, b'{"event": oops}')
    lines.insert(3, b"[1, 2]")
    lines.insert(4, b"")
    result = read_jsonl(lines)
    assert len(result.rows) == 3
    assert [(p.line, p.message.split(" (")[0]) for p in result.problems] == [
        (2, "not valid JSON"),
        (4, "not an event object"),
    ]


def test_csv_mapping_types_and_bad_rows() -> None:
    text = (
        "event,distinct_id,timestamp,plan,seats,trial,zip,properties.note,$set.email,"
        "$set_once.first\n"
        "signed_up,u1,2024-05-01T12:00:00Z,team,5,true,02134,hi,a@x.io,2024\n"
        "signed_up,u2,,free,x,false,10115,,b@x.io,\n"
        "upgraded,u3,,team,7,false,10117,,,\n"
    )
    header, sample = read_csv_header(text)
    mapping = auto_mapping(header, sample)
    by_column = {m.column: m for m in mapping}
    assert by_column["event"].target is Target.EVENT
    assert by_column["seats"].type is ValueType.STRING  # "x" in row 2: strings for all
    assert by_column["trial"].type is ValueType.BOOLEAN
    assert by_column["zip"].type is ValueType.STRING  # leading zero: a code
    assert (by_column["$set.email"].target, by_column["$set.email"].key) == (Target.SET, "email")
    by_column["seats"].type = ValueType.NUMBER  # the user overrides the guess
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))[1:]
    result = csv_events(rows, header, mapping)
    assert [p.line for p in result.problems] == [3]
    assert "'x' is not a number" in result.problems[0].message
    first, third = (r.event for r in result.rows)
    assert first["properties"] == {
        "plan": "team",
        "seats": 5,
        "trial": True,
        "zip": "02134",
        "note": "hi",
    }
    assert first["$set"] == {"email": "a@x.io"}
    assert first["$set_once"] == {"first": 2024}
    assert third["event"] == "upgraded"
    assert "timestamp" not in third


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv"])
def test_export_then_import_round_trips(tmp_path: Path, suffix: str) -> None:
    data = [
        {
            "event": "e",
            "distinct_id": "u1",
            "uuid": new_uuid(),
            "timestamp": "2024-05-01T12:00:00Z",
            "properties": {"plan": "team", "n": 3, "ok": True, "tags": ["a"]},
            "$set": {"email": "a@x.io"},
        }
    ]
    path = tmp_path / f"events{suffix}"
    writer = {".json": write_json, ".jsonl": write_jsonl, ".csv": write_csv}[suffix]
    path.write_bytes(writer(data))
    (row,) = read_batch_file(path).rows
    assert row.event == data[0]


@pytest.fixture
def transport():
    with Transport(retry=RetryPolicy(max_retries=1, backoff_base=0.01)) as t:
        yield t


def test_sending_in_chunks_delivers_everything(fault_server: FaultServer, transport) -> None:
    rows = [BatchRow.of(e) for e in events(2500)]
    seen: list[tuple[int, str]] = []
    sender = BatchSender(
        transport,
        fault_server.url + "/batch/",
        KEY,
        max_events=1000,
        on_rows=lambda uuids, status, text: seen.append((len(uuids), status)),
    )
    summary = sender.send(rows)
    assert (summary.progress.sent, summary.progress.failed) == (2500, 0)
    assert len(fault_server.requests) == 3
    delivered = [e["uuid"] for r in fault_server.requests for e in orjson.loads(r.body)["batch"]]
    assert delivered == [r.uuid for r in rows]
    assert all(r.status is RowStatus.SENT for r in rows)
    assert orjson.loads(fault_server.requests[0].body)["api_key"] == KEY


def test_a_rejected_chunk_is_split_to_isolate_the_bad_event(
    fault_server: FaultServer, transport
) -> None:
    rows = [BatchRow.of(e) for e in events(1000)]
    marked = rows[613].uuid
    fault_server.reject_if = lambda body: marked.encode() in body
    summary = BatchSender(transport, fault_server.url + "/batch/", KEY).send(rows)
    assert summary.progress.failed == 1
    assert summary.progress.sent == 999
    assert list(summary.failures) == [marked]
    assert rows[613].status is RowStatus.FAILED
    assert "400" in rows[613].status_text
    delivered = {
        e["uuid"]
        for r in fault_server.requests
        if not fault_server.reject_if(r.body)
        for e in orjson.loads(r.body)["batch"]
    }
    assert delivered == {r.uuid for r in rows} - {marked}


def test_rows_with_errors_are_held_back(fault_server: FaultServer, transport) -> None:
    data = events(10)
    for i in (2, 5, 7):
        data[i] = {"event": "", "distinct_id": "u"}
    rows = [BatchRow.of(e) for e in data]
    summary = BatchSender(transport, fault_server.url + "/batch/", KEY).send(rows)
    assert (summary.progress.sent, summary.progress.held) == (7, 3)
    assert [i for i, r in enumerate(rows) if r.status is RowStatus.HELD] == [2, 5, 7]
    assert "event.empty" in rows[2].status_text


def test_a_server_error_after_retries_fails_the_chunk(fault_server: FaultServer, transport) -> None:
    fault_server.queue(*[Reply(503, b"transient error, please retry")] * 2)
    rows = [BatchRow.of(e) for e in events(5)]
    summary = BatchSender(transport, fault_server.url + "/batch/", KEY).send(rows)
    assert summary.progress.failed == 5
    assert all(r.status is RowStatus.FAILED for r in rows)
    again = BatchSender(transport, fault_server.url + "/batch/", KEY).send(
        [r for r in rows if r.status is RowStatus.FAILED]
    )
    assert again.progress.sent == 5  # "Resend failed"


def test_cancel_stops_before_the_next_request(fault_server: FaultServer, transport) -> None:
    cancel = threading.Event()
    rows = [BatchRow.of(e) for e in events(50)]
    sender = BatchSender(
        transport,
        fault_server.url + "/batch/",
        KEY,
        max_events=10,
        cancel=cancel,
        on_progress=lambda p: cancel.set() if p.sent >= 10 else None,
    )
    summary = sender.send(rows)
    assert summary.cancelled
    assert summary.progress.sent < 50


def test_a_resend_keeps_the_values_its_first_send_drew() -> None:
    from composer.core.batch.rows import RowChecker
    from composer.core.templates.variables import Resolver

    row = BatchRow.of({"event": "e", "distinct_id": "u", "properties": {"id": "{{$uuid}}"}})
    RowChecker(resolver=Resolver({})).check(row)
    first = row.wire_event["properties"]["id"]
    RowChecker(resolver=Resolver({}), reuse_resolved=True).check(row)
    assert row.wire_event["properties"]["id"] == first
    RowChecker(resolver=Resolver({})).check(row)
    assert row.wire_event["properties"]["id"] != first
    assert row.event["properties"]["id"] == "{{$uuid}}"


def test_a_batch_run_keeps_its_counts_and_a_link_to_its_rows() -> None:
    from composer.core.batch.runs import LINKED_ROWS, BatchRun

    rows = [BatchRow.of({"event": "e", "distinct_id": f"u{i}"}) for i in range(LINKED_ROWS + 1)]
    run = BatchRun.of(
        "http://127.0.0.1:1/batch/",
        rows,
        sent=LINKED_ROWS,
        failed=1,
        held=0,
        requests=2,
        elapsed=1.5,
        cancelled=False,
        first_failure="503 from the server",
    )
    # Too many to list one by one: the first and the last stand for the range.
    assert run.uuids == ()
    assert (run.first, run.last) == (rows[0].uuid, rows[-1].uuid)
    assert not run.ok
    assert BatchRun.from_json(run.to_json()) == run
    small = BatchRun.of(
        "u", rows[:3], sent=3, failed=0, held=0, requests=1, elapsed=0.1, cancelled=False
    )
    assert small.uuids == tuple(r.uuid for r in rows[:3])
    assert small.ok
    assert small.names == "e ×3"
    assert BatchRun.from_json(b"not json") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            ["Event Name", "User", "When", "plan"],
            ["event", "distinct_id", "timestamp", "property"],
        ),
        (["event", "user_id", "time", "email"], ["event", "distinct_id", "timestamp", "$set"]),
        (["action", "email", "date"], ["event", "distinct_id", "timestamp"]),
        # PostHog's own names win over the ordinary ones, which then stay properties.
        (["user", "distinct_id", "event"], ["property", "distinct_id", "event"]),
        (["name", "user"], ["property", "distinct_id"]),  # a name may be a person's
    ],
)
def test_csv_mapping_guesses_ordinary_headers(header: list[str], expected: list[str]) -> None:
    mapping = auto_mapping(header, [["x"] * len(header)])
    assert [m.target.value for m in mapping] == expected
