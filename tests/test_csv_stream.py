"""A UTF-8 CSV file is sent and checked as it is read, a block of records at a time
(services/batch_stream.py's csv_rows), with exactly the rows and problems of the whole-file
reader; a CSV file in Windows-1252 is still read whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.core.batch.formats import Problem
from composer.core.batch.journal import assign_derived_uuids
from composer.services import batch_files, batch_stream
from composer.services.batch_files import read_batch_file
from composer.services.batch_stream import csv_layout, csv_rows, scan

SEED = b"0123456789abcdef"

FILES = {
    "ordinary": b"Event Name,User,When,plan,seats\n"
    b"signed_up,u1,2024-05-01T12:00:00Z,team,3\n"
    b"checkout,u2,2024-05-01T12:01:00Z,solo,1\n"
    b"\n"
    b"checkout,u3,,team,\n",
    "quoted lines, bad rows": b"event,distinct_id,properties.note\n"
    b'a,u1,"two\nlines"\n'
    b"b,u2\n"  # a column short
    b"c,u3,fine\n"
    b'd,u4,"never closed\n'
    b"e,u5,x\n",
    "CR inside an unquoted field": b"event,distinct_id\r\na,u1\r\nb\rc,u2\r\nd,u3\r\n",
    "CR-ended lines": b"event,distinct_id\ra,u1\rb,u2\r",
    "byte-order mark, semicolons": b"\xef\xbb\xbfevent;distinct_id;properties.price\n"
    b"buy;u1;19.99\nbuy;u2;5\n",
    "header only": b"event,distinct_id\n",
    "uuids given": b"event,distinct_id,uuid\n"
    b"a,u1,0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b\nb,u2,\nc,u3,not-a-uuid\n",
}


def _whole(path: Path) -> tuple[list[dict[str, object]], list[Problem]]:
    imported = read_batch_file(path)
    assign_derived_uuids(imported.rows, SEED)
    return [r.event for r in imported.rows], imported.problems


def _streamed(path: Path) -> tuple[list[dict[str, object]], list[Problem]]:
    scanned = scan(path, utf8=True)
    assert scanned.utf8
    layout = csv_layout(path, cr_only=scanned.cr_only)
    assert not isinstance(layout, Problem)
    problems: list[Problem] = []
    events = [row.event for rows in csv_rows(path, layout, problems.append, SEED) for row in rows]
    return events, problems


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("block", [1, 2, 4096])
def test_streamed_rows_and_problems_are_the_whole_file_readers(
    name: str, block: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_stream, "CSV_BLOCK_RECORDS", block)  # blocks edges everywhere
    path = tmp_path / "events.csv"
    path.write_bytes(FILES[name])
    assert _streamed(path) == _whole(path)


def test_the_mapping_samples_the_first_thousand_rows_however_wide(tmp_path: Path) -> None:
    """Rows of 3 KB: the first 1,000 of them are 3 MB, more than any fixed sample of bytes.
    Row 901 says the column is text; the whole-file reader sees it, so must the stream."""
    pad = "x" * 3000
    lines = ["event,distinct_id,properties.n,properties.pad"]
    lines += [f"e,u{i},{i},{pad}" for i in range(900)] + [f"e,u900,abc,{pad}"]
    lines += [f"e,u{i},{i},{pad}" for i in range(901, 1100)]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    streamed, whole = _streamed(path), _whole(path)
    assert streamed == whole
    assert len(streamed[0]) == 1100
    assert streamed[0][900]["properties"]["n"] == "abc"  # type: ignore[index]


def test_a_header_read_by_cr_as_the_whole_file_is(tmp_path: Path) -> None:
    """No LF in the first lines but one later: the file is split by LF, as the whole-file
    reader splits it, so its header (a CR inside it) cannot be read either way."""
    path = tmp_path / "late-lf.csv"
    path.write_bytes(b"event,distinct_id\ra,u1\r" + b"b,u2\r" * 400_000 + b"c,u3\n")
    scanned = scan(path, utf8=True)
    refusal = csv_layout(path, cr_only=scanned.cr_only)
    assert isinstance(refusal, Problem)
    assert refusal == read_batch_file(path).unreadable


def test_a_file_not_utf8_is_known_from_the_scan(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes("event,distinct_id,properties.city\nvisit,u1,Düsseldorf\n".encode("cp1252"))
    assert not scan(path, utf8=True).utf8
    cut = tmp_path / "cut.csv"
    cut.write_bytes("event,distinct_id\nvisit,Jürgen".encode()[:-5])  # a character cut off
    assert not scan(cut, utf8=True).utf8


def _csv(path: Path, n: int, encoding: str = "utf-8") -> Path:
    lines = ["event,distinct_id,properties.city"]
    lines += [f"visit,user-{i},Köln" for i in range(n)]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_send_and_validate_stream_a_utf8_csv_and_read_a_legacy_one_whole(
    fault_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from composer.cli.main import main

    whole_reads: list[str] = []
    reader = batch_files.read_batch_file

    def spy(path: str | Path, **kwargs: object) -> object:
        whole_reads.append(Path(path).name)
        return reader(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch_files, "read_batch_file", spy)
    fault_server.record_uuids = True
    monkeypatch.setenv("POSTHOG_PROJECT_API_KEY", "phc_csv_stream_test_key_000000001")
    utf8 = _csv(tmp_path / "utf8.csv", 2_500)
    legacy = _csv(tmp_path / "legacy.csv", 30, "cp1252")
    for path in (utf8, legacy):
        assert main(["send", str(path), "--host", fault_server.url, "--yes"]) == 0
        assert main(["validate", str(path)]) == 0
    assert whole_reads == ["legacy.csv", "legacy.csv"]  # send's and validate's, not utf8.csv
    stored = fault_server.stored_events.values()
    assert {e["properties"]["city"] for e in stored} == {"Köln"}  # type: ignore[index]
    assert len(fault_server.stored_events) == 2_530


def test_a_header_that_cannot_be_read_is_the_same_refusal(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_bytes(b"event,dist\rinct_id\na,u1\n")  # a CR inside an unquoted header field
    refusal = csv_layout(path)
    assert isinstance(refusal, Problem)
    assert refusal == read_batch_file(path).unreadable
