"""The send journal's format and its file: replay, torn and damaged lines, derived uuids."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from composer.core.batch import journal as records
from composer.core.batch.journal import (
    JournalDamaged,
    JournalHeader,
    JournalKind,
    JournalTooNew,
    Outcome,
    assign_derived_uuids,
    derived_uuid,
    replay,
)
from composer.core.batch.rows import BatchRow
from composer.services.journal import JournalLock, SendJournal, read_journal

HEADER = JournalHeader(JournalKind.CLI, "2025-05-01T12:00:00Z", "http://h/batch/", "p", "ab" * 16)


def test_replay_follows_sends_answers_splits_and_held_rows() -> None:
    data = b"".join(
        [
            records.header_line(HEADER),
            records.send_line(1, ["a", "b"]),
            records.ack_line(1, 200, "2025-05-01T12:00:01Z"),
            records.send_line(2, ["c", "d"]),
            records.split_line(2),
            records.send_line(3, ["c"]),
            records.fail_line(3, "503 down"),
            records.send_line(4, ["d"]),
            records.held_line([("e", "distinct_id.missing")]),
            records.send_line(5, ["c"]),  # the failed one, sent again: the later record wins
            records.ack_line(5, 200, "2025-05-01T12:00:02Z"),
        ]
    )
    state = replay(data)
    assert state.acknowledged == {"a", "b", "c"}
    assert state.in_flight == {"d"}
    assert state.outcome("e") is Outcome.HELD
    assert state.next_chunk == 6
    assert state.last_ack_at == "2025-05-01T12:00:02Z"
    assert state.unsettled(["a", "d", "e", "z"]) == ["d", "z"]


def test_a_torn_last_line_and_a_damaged_middle_line_are_ignored() -> None:
    good = records.header_line(HEADER) + records.send_line(1, ["a"])
    data = good + b'{"op":"ack","chunk":\n' + records.ack_line(1, 200, "t") + b'{"op":"se'
    state = replay(data)
    assert state.acknowledged == {"a"}
    assert state.damaged_lines == [3]
    assert state.torn_tail == len(b'{"op":"se')
    assert state.complete_bytes == len(data) - state.torn_tail


def test_an_unreadable_or_newer_header_is_refused() -> None:
    with pytest.raises(JournalDamaged):
        replay(b'{"journal": 1, "kind"')  # torn before its newline: nothing was sent
    with pytest.raises(JournalTooNew):
        replay(b'{"journal": 99, "kind": "cli"}\n')


def test_derived_uuids_are_stable_valid_and_distinct() -> None:
    seed = bytes(range(16))
    first = [derived_uuid(seed, i) for i in range(1000)]
    assert first == [derived_uuid(seed, i) for i in range(1000)]
    assert len(set(first)) == 1000
    assert all(uuid.UUID(u).version == 4 for u in first)
    assert derived_uuid(bytes(16), 0) != first[0]
    rows = [
        BatchRow.of({"event": "a", "distinct_id": "u"}),
        BatchRow.of({"event": "b", "distinct_id": "u", "uuid": str(uuid.UUID(int=7))}),
        BatchRow.of({"event": "c", "distinct_id": "u", "uuid": "not-a-uuid"}),
    ]
    assert assign_derived_uuids(rows, seed) == 2
    assert rows[0].uuid == rows[0].event["uuid"] == first[0]
    assert rows[1].uuid == str(uuid.UUID(int=7))  # its own uuid is kept
    assert rows[2].uuid == f"row-{first[2]}"
    assert rows[2].event["uuid"] == "not-a-uuid"  # what the user wrote is left alone


def test_the_file_is_synced_and_reads_back_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = SendJournal.create(path, HEADER, JournalLock(path).acquire())
    for start in range(0, 300, 100):
        chunk = journal.begin([f"u{i}" for i in range(start, start + 100)])
        journal.acknowledged(chunk, 200)
    journal.failed(journal.begin(["x"]), "500")
    journal.close()
    assert journal.fsyncs >= 1
    state = read_journal(path)
    assert state is not None
    assert len(state.acknowledged) == 300
    assert state.outcome("x") is Outcome.FAILED
    # Reopened after a crash that tore the last line: appending starts on a line of its own.
    with path.open("ab") as handle:
        handle.write(b'{"op":"send","chunk":9,"uu')
    torn = read_journal(path)
    assert torn is not None
    again = SendJournal.reopen(path, torn, JournalLock(path).acquire())
    again.acknowledged(again.begin(["y"]), 200)
    again.discard()
    assert not path.exists()
