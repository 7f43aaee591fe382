"""CSV files as spreadsheets export them: semicolon- or tab-separated, in Windows-1252 (Latin-1);
read by the core, by the command line (a real subprocess against a real local server), and by
the send command's progress line on a real terminal."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest

from composer.core.batch.csv_text import delimiter_of, sniff_delimiter
from composer.core.batch.formats import decode_csv
from composer.services.batch_files import csv_preview, read_batch_file
from tests.support.fault_server import FaultServer

KEY = "phc_cli_test_key_0000000000000000000000000"
# What Excel writes in a German locale: semicolons (the comma is the decimal mark), cp1252.
SEMICOLONS = "event;distinct_id;plan;price\nsigned_up;u1;team;9,99\nsigned_up;u2;free;0\n"
LATIN1 = "event,distinct_id,city\nsigned_up,u1,Köln\nsigned_up,u2,Besançon\n".encode("cp1252")


def test_the_separator_is_sniffed_from_the_first_lines() -> None:
    assert sniff_delimiter(SEMICOLONS) == ";"
    assert sniff_delimiter("event\tdistinct_id\nsigned_up\tu1\n") == "\t"
    assert sniff_delimiter("event,distinct_id\nsigned_up,u1\n") == ","
    # One column, or nothing consistent: a comma, as every CSV reader assumes.
    assert sniff_delimiter("event\nsigned_up\n") == ","
    assert sniff_delimiter("") == ","
    # A semicolon inside a quoted value is not the separator.
    assert sniff_delimiter('event,note\nsigned_up,"a;b"\nsigned_up,"c;d"\n') == ","
    assert [delimiter_of(t) for t in ("comma", ";", "tab", "\\t", "Semicolon")] == [
        ",",
        ";",
        "\t",
        "\t",
        ";",
    ]
    with pytest.raises(ValueError, match="not a CSV separator"):
        delimiter_of("|")


def test_a_semicolon_csv_imports_by_its_guessed_separator(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(SEMICOLONS)
    result = read_batch_file(path)
    assert not result.problems
    # "9,99" is a decimal comma, so the column is text, as it was written.
    assert [(r.event["event"], r.event["distinct_id"]) for r in result.rows] == [
        ("signed_up", "u1"),
        ("signed_up", "u2"),
    ]
    assert [r.event["properties"] for r in result.rows] == [
        {"plan": "team", "price": "9,99"},
        {"plan": "free", "price": "0"},
    ]
    # Told otherwise, the file is one column per line, and no row has an event.
    forced = read_batch_file(path, delimiter=",")
    assert not any("event" in r.event for r in forced.rows)
    preview = csv_preview(path)
    assert (preview.delimiter, preview.header) == (";", ["event", "distinct_id", "plan", "price"])
    assert csv_preview(path, ",").header == ["event;distinct_id;plan;price"]


def test_a_latin1_csv_is_read_as_windows_1252_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(LATIN1)
    result = read_batch_file(path)
    assert result.unreadable is None
    assert [r.event["properties"]["city"] for r in result.rows] == ["Köln", "Besançon"]
    [notice] = result.notices
    assert "not UTF-8 (byte 0xf6 on line 2, column 15)" in notice
    assert "read as Windows-1252 (Latin-1)" in notice
    preview = csv_preview(path)
    assert preview.notice == notice
    assert preview.refusal is None
    # A UTF-8 file says nothing.
    path.write_bytes(LATIN1.decode("cp1252").encode())
    assert read_batch_file(path).notices == []


def test_a_file_that_is_not_text_is_refused_with_its_line(tmp_path: Path) -> None:
    # 0x81 has no character in Windows-1252 (a C1 control code in Latin-1): not a spreadsheet's.
    data = b"event,distinct_id\na,u1\nb,u\xe92\nc,\x81x\n"
    problem = decode_csv(data)
    assert not isinstance(problem, tuple)
    assert problem.fatal
    assert problem.line == 3  # the first byte that is not UTF-8, never "line 0"
    assert str(problem).startswith("line 3: the file is not UTF-8 text (byte 0xe9, column 4)")
    assert "not Windows-1252 or Latin-1 text either (byte 0x81 on line 4, column 3" in str(problem)
    binary = b"event,distinct_id\na,\xff\x01\x02\n"
    refused = decode_csv(binary)
    assert not isinstance(refused, tuple)
    assert refused.line == 2
    assert "looks like a binary file" in refused.message
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    assert read_batch_file(path).unreadable == problem
    assert csv_preview(path).refusal == problem


def test_cli_sends_a_semicolon_and_a_latin1_csv(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text(SEMICOLONS)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(LATIN1)
    env = {"POSTHOG_PROJECT_API_KEY": KEY}
    for path in (semicolons, latin1):
        result = run_cli("send", str(path), "--host", fault_server.url, "--format", "json", env=env)
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        assert (doc["sent"], doc["failed"], doc["held_back"]) == (2, 0, 0)
    first, second = (orjson.loads(r.body)["batch"] for r in fault_server.requests)
    assert first[0]["properties"] == {"plan": "team", "price": "9,99"}
    assert [e["properties"]["city"] for e in second] == ["Köln", "Besançon"]
    # Told before it was sent: the file was not UTF-8 and how it was read.
    assert f"note: {latin1}: not UTF-8 (byte 0xf6 on line 2, column 15)" in result.stderr


def test_cli_delimiter_option(run_cli, tmp_path: Path) -> None:
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text(SEMICOLONS)
    guessed = run_cli("validate", "--format", "json", str(semicolons))
    assert guessed.returncode == 0, guessed.stdout + guessed.stderr
    # As commas, no row has an event name: every row is an error.
    forced = run_cli("validate", "--delimiter", "comma", "--format", "json", str(semicolons))
    assert forced.returncode == 1
    codes = {f["code"] for f in json.loads(forced.stdout)["files"][0]["findings"]}
    assert "event.missing" in codes or any(c.startswith("event.") for c in codes), codes
    tabs = tmp_path / "tabs.csv"
    tabs.write_text(SEMICOLONS.replace(";", "\t"))
    code = run_cli("code", "--lang", "curl", "--delimiter", "tab", str(tabs))
    assert code.returncode == 0, code.stderr
    assert '"plan":"team"' in code.stdout.replace(" ", "")
    bad = run_cli("validate", "--delimiter", "|", str(tabs))
    assert bad.returncode == 2
    assert "'|' is not a CSV separator; use comma, semicolon or tab" in bad.stderr
    refused = tmp_path / "refused.csv"
    refused.write_bytes(b"event,distinct_id\na,u1\nb,\x81\n")
    result = run_cli("validate", str(refused))
    assert result.returncode == 2
    assert "line 3: the file is not UTF-8 text (byte 0x81, column 3)" in result.stdout
    assert "line 0" not in result.stdout + result.stderr


def test_progress_line_erases_what_it_overwrote_on_a_terminal() -> None:
    from composer.cli.send import ProgressLine

    leader, follower = os.openpty()  # a real terminal: isatty() is the kernel's answer
    try:
        with open(follower, "w", encoding="utf-8", closefd=False) as stream:
            bar = ProgressLine(stream)
            assert bar.tty
            bar.show(SimpleNamespace(done=5, total=10, rate=12345.0, eta=100.0))
            time.sleep(0.15)  # the bar redraws at most ten times a second
            bar.show(SimpleNamespace(done=10, total=10, rate=9.0, eta=None))
            bar.finish()
        written = b""
        while not written.endswith(b"\n"):
            written += os.read(leader, 4096)
    finally:
        os.close(leader)
        os.close(follower)
    first, second = written.decode().replace("\r\n", "\n").split("\r")[1:]
    assert first.endswith("12,345 ev/s ETA 100s\x1b[K")
    # The shorter second line clears the tail ("45 ev/s ETA 100s") the first one left.
    assert second == "[" + "#" * 30 + "] 10/10 9 ev/s\x1b[K\n"
