"""No reader raises on what a file holds (issue 12): mutated inputs through every reader.

Valid examples (the tutorial bodies, the shipped templates and plan, a JSONL and a CSV made
from them) are mutated byte-wise: lone surrogate escapes, CR/LF variants, huge digits, deep
brackets, truncations, random bytes and invalid UTF-8. Every reader must give rows, problems
or findings; `validate` must exit 0, 1 or 2 and never print "unexpected error".
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer.cli.main import main
from composer.core.batch.formats import (
    csv_records,
    jsonl_lines,
    read_csv_header,
    read_json,
    read_jsonl,
    write_csv,
)
from composer.core.batch.rows import check_rows
from composer.core.capture.parse import BodyEncodingError, parse_text
from composer.core.capture.preflight import CheckOptions, check_body, check_text
from composer.core.jsonio import JsonSyntaxError, dumps_compact, dumps_pretty, loads
from composer.core.plans.check import check_against_plan
from composer.core.plans.reader import parse_plan
from composer.core.plans.yaml12 import read_yaml
from composer.core.templates.document import TemplateError
from composer.core.templates.document import parse as parse_template
from composer.services.batch_files import csv_preview, read_batch_file
from tests.conftest import ROOT, TUTORIAL

RESOURCES = ROOT / "resources"
EXAMPLE_PLAN = RESOURCES / "plans" / "example-tracking-plan.yaml"


def _tutorial_events() -> list[dict[str, Any]]:
    envelope = orjson.loads((TUTORIAL / "batch.curl.json").read_bytes())
    events: list[dict[str, Any]] = envelope["batch"]
    return [*events, orjson.loads((TUTORIAL / "properties_timestamp.curl.json").read_bytes())]


JSON_SEEDS = [p.read_bytes() for p in sorted(TUTORIAL.glob("*.json"))] + [
    p.read_bytes() for p in sorted((RESOURCES / "templates").glob("*.json"))
]
LITERAL_SEEDS = [p.read_bytes() for p in sorted(TUTORIAL.glob("*.txt"))]
JSONL_SEED = b"\n".join(dumps_compact(e) for e in _tutorial_events()) + b"\n"
CSV_SEED = write_csv(_tutorial_events())
PLAN_YAML_SEED = EXAMPLE_PLAN.read_bytes()
PLAN_JSON_SEED = dumps_pretty(read_yaml(EXAMPLE_PLAN.read_text()))

# What breaks parsers: surrogate escapes, line endings, huge numbers, deep nesting, quotes and
# separators, NUL, invalid UTF-8 (a lone continuation byte, a truncated sequence, a UTF-8
# encoded surrogate), byte-order marks, YAML aliases, placeholders.
INSERTS = [
    b"\\ud800",
    b"\\udfff",
    b'"\\ud83d"',
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\r",
    b"9" * 5000,
    b"-" + b"9" * 400,
    b"1e400",
    b"0." + b"7" * 5000,
    b"[" * 2000,
    b'{"a":' * 1100,
    b"]" * 40,
    b"x" * 140_000,
    b'"',
    b",",
    b":",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"&a [*a]",
    b"\t",
    b"{{user}}",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with one to four byte-level mutations."""
    data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(
            st.sampled_from(
                ["insert", "insert", "insert", "truncate", "bytes", "cr", "crlf", "mixed", "cut"]
            )
        )
        if op == "insert":
            data = data[:at] + draw(st.sampled_from(INSERTS)) + data[at:]
        elif op == "truncate":
            data = data[:at]
        elif op == "bytes":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif op == "cr":
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
        elif op == "crlf":
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        elif op == "mixed":
            data = data[:at] + data[at:].replace(b"\n", b"\r\n", 3).replace(b"\n", b"\r", 2)
        else:
            end = draw(st.integers(at, min(len(data), at + 40)))
            data = data[:at] + data[end:]
    return data


FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- the pure readers ------------------------------------------------------------------------


@FUZZ
@given(mutated(JSON_SEEDS + LITERAL_SEEDS))
def test_json_readers_never_raise(data: bytes) -> None:
    error = None
    try:
        loads(data)
    except JsonSyntaxError as exc:
        error = exc
    if error is not None:
        assert error.line >= 1
        assert error.column >= 1
        assert error.fix
    try:
        parsed = parse_text(data)
    except (JsonSyntaxError, BodyEncodingError):
        pass
    else:
        dumps_pretty(parsed.value)  # whatever parsed can be written again
    for options in (CheckOptions(), CheckOptions(python_literals=False, api_key="phc_k")):
        result = check_text(data, options)
        assert result.findings or result.events
    imported = read_json(data)
    assert imported.rows or imported.problems or imported.lines == 0
    check_rows(imported.rows)
    with contextlib.suppress(TemplateError):
        parse_template(data, "fuzzed")


@FUZZ
@given(mutated([JSONL_SEED]))
def test_jsonl_reader_never_raises(data: bytes) -> None:
    imported = read_jsonl(jsonl_lines(data))
    for problem in imported.problems:
        assert problem.line >= 1
        assert problem.message
        assert problem.fix
    check_rows(imported.rows)
    for row in imported.rows:
        check_body({"api_key": "phc_k", "batch": [row.event]})


@FUZZ
@given(mutated([CSV_SEED]))
def test_csv_reader_never_raises(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    for line, record in csv_records(text):
        assert line >= 1
        assert isinstance(record, list) or record.message
    read_csv_header(text)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv"
        path.write_bytes(data)
        csv_preview(path)
        imported = read_batch_file(path)
    for problem in imported.problems:
        assert problem.message
        assert problem.fix
    check_rows(imported.rows)


@FUZZ
@given(mutated([PLAN_YAML_SEED, PLAN_JSON_SEED]))
def test_plan_reader_never_raises(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    for source in ("plan.yaml", "plan.json"):
        plan = parse_plan(text, source)
        for problem in plan.problems:
            assert "could not be read" not in problem.message, problem
        for event in _tutorial_events():
            check_against_plan(event, plan)


# -- validate: in-process and in a subprocess ----------------------------------------------

KINDS = {
    ".json": JSON_SEEDS,
    ".txt": LITERAL_SEEDS,
    ".jsonl": [JSONL_SEED],
    ".csv": [CSV_SEED],
}


def run_main(*args: str) -> tuple[int, str, str]:
    """`main` in this process, with stdout and stderr captured as bytes are written."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with mock.patch.object(sys, "stdout", out), mock.patch.object(sys, "stderr", err):
        status = main(list(args))
        out.flush()
        err.flush()
    stdout = out.buffer.getvalue().decode()
    stderr = err.buffer.getvalue().decode()
    return status, stdout, stderr


def assert_clean(status: int, stdout: str, stderr: str) -> None:
    assert status in (0, 1, 2), (status, stdout, stderr)
    assert "unexpected error" not in stderr
    assert "Traceback" not in stdout + stderr


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_validate_in_process_exits_0_1_or_2(data: st.DataObject) -> None:
    suffix = data.draw(st.sampled_from(sorted(KINDS)))
    body = data.draw(mutated(KINDS[suffix]))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(body)
        assert_clean(*run_main("validate", str(path)))
        status, stdout, stderr = run_main("validate", "--format", "json", str(path))
        assert_clean(status, stdout, stderr)
        [document] = orjson.loads(stdout)["files"]
        assert document["ok"] is (status == 0)
        assert_clean(*run_main("validate", "--plan", str(EXAMPLE_PLAN), str(path)))
        assert_clean(*run_main("plan", "infer", str(path)))


def run_module(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None):
    """`python -m composer` on this worktree's code (not an installed copy)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "composer", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        env=full_env,
        timeout=120,
        check=False,
    )


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(sorted(KINDS)), min_size=8, max_size=8), st.data())
def test_validate_subprocess_exits_0_1_or_2(suffixes: list[str], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, suffix in enumerate(suffixes):
            path = Path(folder) / f"input-{i}{suffix}"
            path.write_bytes(data.draw(mutated(KINDS[suffix])))
            paths.append(str(path))
        for extra in ([], ["--format", "json"]):
            proc = run_module("validate", *extra, *paths)
            stderr = proc.stderr.decode()
            assert_clean(proc.returncode, proc.stdout.decode(), stderr)
            if extra:
                assert len(orjson.loads(proc.stdout)["files"]) == len(paths)


# -- the reported cases, one by one ----------------------------------------------------------

EVENT = '{"api_key": "phc_parsers_test_key_0123456789", "event": "signed_up", "distinct_id": "u1"'
ROW = '{"event": "signed_up", "distinct_id": "u1"'  # a row of a JSONL file: no key of its own


def write(folder: Path, name: str, data: bytes | str) -> str:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def test_lone_surrogate_in_json_is_a_finding_with_its_place(tmp_path: Path) -> None:
    body = write(tmp_path, "event.json", EVENT + ', "properties": {"name": "caf\\ud800"}}')
    status, stdout, stderr = run_main("validate", body)
    assert status == 1
    assert stderr == ""
    # serde_json's words and place (it stops after the escape's closing quote): PostHog's reply.
    assert "body.invalid_json  at line 1, column 124" in stdout
    assert "The body is not valid JSON: unexpected end of hex escape (line 1, column 124)." in (
        stdout
    )
    assert "unexpected end of hex escape at line 1 column 124" in stdout
    assert "fix: Write the character itself, or both halves of its pair" in stdout
    # Quoted like Python (this used to be read through the literal fallback, and crashed).
    literal = write(tmp_path, "event.txt", "{'event': 'a\\ud800', 'distinct_id': 'u'}")
    status, stdout, _ = run_main("validate", literal)
    assert status == 1
    assert "body.invalid_json" in stdout
    # A JSONL line with one: that line named, the others checked.
    lines = write(tmp_path, "events.jsonl", f'{ROW}}}\n{ROW[:-1]}\\ud800"}}\n{ROW}}}\n')
    status, stdout, _ = run_main("validate", "--format", "json", lines)
    assert status == 1
    [document] = orjson.loads(stdout)["files"]
    assert document["events"] == 2
    [finding] = document["findings"]
    assert finding["code"] == "file.unreadable_line"
    assert finding["path"] == "line 2"
    assert finding["message"].startswith("line 2: not valid JSON (no low surrogate in string")


def test_a_csv_field_over_131072_characters_is_read(tmp_path: Path) -> None:
    long = "x" * 131_073  # one over Python csv's default field_size_limit
    path = write(tmp_path, "events.csv", f"event,distinct_id,note\nsigned_up,u1,{long}\ne,u2,n\n")
    status, stdout, stderr = run_main("validate", "--format", "json", path)
    assert (status, stderr) == (0, "")
    assert orjson.loads(stdout)["files"][0]["events"] == 2
    (first, _second) = read_batch_file(path).rows
    assert first.event["properties"]["note"] == long
    # Over PostHog's 1 MB event limit: the check says so, as it does for JSON.
    huge = write(tmp_path, "huge.csv", f"event,distinct_id,note\nsigned_up,u1,{'x' * 1_100_000}\n")
    status, stdout, _ = run_main("validate", huge)
    assert status == 1
    assert "event.too_large" in stdout


def test_a_bare_cr_in_an_unquoted_csv_field_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "events.csv", "event,distinct_id\nsigned\rup,u1\nok,u2\nok,u3\n")
    status, stdout, _ = run_main("validate", path)
    assert status == 1
    assert "/events.csv: FAILED (2 events, 1 error, 0 warnings)" in stdout
    assert "error   file.unreadable_line  at line 2" in stdout
    assert "line 2: a carriage return (CR) inside an unquoted field" in stdout
    assert 'fix: Put the field in double quotes ("...") or remove the CR' in stdout
    [problem] = read_batch_file(path).problems
    assert (problem.line, problem.fatal) == (2, False)
    # Quoted, the CR is part of the value.
    quoted = write(tmp_path, "quoted.csv", 'event,distinct_id\n"signed\rup",u1\n')
    assert read_batch_file(quoted).rows[0].event["event"] == "signed\rup"


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_csv_and_jsonl_line_endings(tmp_path: Path, ending: str) -> None:
    text = ending.join(["event,distinct_id", "a,u1", "b,u2", "c,u3", ""])
    assert [r.event["event"] for r in read_batch_file(write(tmp_path, "e.csv", text)).rows] == [
        "a",
        "b",
        "c",
    ]
    lines = ending.join([EVENT + "}", EVENT + "}", ""])
    imported = read_batch_file(write(tmp_path, "e.jsonl", lines))
    assert (len(imported.rows), imported.problems) == (2, [])


def test_mixed_line_endings(tmp_path: Path) -> None:
    text = "event,distinct_id\r\na,u1\nb,u2\r\nc,u3\n"
    assert len(read_batch_file(write(tmp_path, "e.csv", text)).rows) == 3
    lines = (EVENT + "}\r\n") + (EVENT + "}\n") + (EVENT + "}\r") + "nope\n" + EVENT + "}"
    imported = read_batch_file(write(tmp_path, "e.jsonl", lines))
    assert len(imported.rows) == 4
    assert [p.line for p in imported.problems] == [4]


def test_a_5000_digit_number(tmp_path: Path) -> None:
    digits = "9" * 5000
    # In CSV the automatic mapping takes it as text: no JSON number can hold it.
    path = write(tmp_path, "events.csv", f"event,distinct_id,n\nsigned_up,u1,{digits}\n")
    status, stdout, stderr = run_main("validate", path)
    assert (status, stderr) == (0, "")
    (row,) = read_batch_file(path).rows
    assert row.event["properties"]["n"] == digits
    # Mapped as a number by hand: that row is named and skipped, the others are read.
    from composer.core.batch.formats import auto_mapping
    from composer.core.compose.values import ValueType

    two = write(tmp_path, "two.csv", f"event,distinct_id,n\na,u1,{digits}\nb,u2,7\n")
    mapping = auto_mapping(["event", "distinct_id", "n"], [["a", "u1", "1"]])
    assert mapping[2].type is ValueType.NUMBER
    imported = read_batch_file(two, mapping=mapping)
    assert [r.event["properties"]["n"] for r in imported.rows] == [7]
    [problem] = imported.problems
    assert problem.line == 2
    assert problem.message == (
        "column 'n': '99999999999999999999'… (5,000 characters) is too large for a number:"
        " PostHog reads numbers as 64-bit floats, up to about 1.8e308. Write it as text (type"
        " string), or use a smaller number."
    )
    # In a JSON body: a finding with the place and the fix.
    body = write(tmp_path, "event.json", EVENT + ', "properties": {"n": ' + digits + "}}")
    status, stdout, _ = run_main("validate", body)
    assert status == 1
    # serde_json reports the number where it ends (column 110 + 5,000 - 1).
    assert "number.out_of_range  at line 1, column 5110" in stdout
    assert "number out of range at line 1 column 5110" in stdout
    assert "beyond what a 64-bit float holds" in stdout
    # 1e400 is no longer taken through the Python-literal fallback as inf.
    e400 = write(tmp_path, "e400.json", EVENT + ', "properties": {"n": 1e400}}')
    status, stdout, _ = run_main("validate", e400)
    assert status == 1
    assert "number.out_of_range" in stdout
    assert "python_literal" not in stdout
    # In a plan: a problem on its line.
    rules = f"version: 1\nevents:\n  a:\n    properties:\n      n: {{maximum: {digits}}}\n"
    plan = write(tmp_path, "plan.yaml", rules)
    status, _stdout, stderr = run_main("plan", "check", plan)
    assert status == 2
    assert "plan.yaml:5: not valid YAML: a number of 5,000 digits is too long." in stderr


def test_2000_deep_nesting(tmp_path: Path) -> None:
    deep = "[" * 2000 + "]" * 2000
    body = write(tmp_path, "event.json", EVENT + ', "properties": {"x": ' + deep + "}}")
    status, stdout, _ = run_main("validate", body)
    assert status == 1
    # serde_json stops at the 128th open bracket (the event object is the first).
    assert "json.too_deep  at line 1, column 236" in stdout
    assert "recursion limit exceeded at line 1 column 236" in stdout
    assert "fix: Flatten the nesting" in stdout
    lines = write(tmp_path, "events.jsonl", f'{ROW}}}\n{ROW}, "p": {deep}}}\n')
    status, stdout, _ = run_main("validate", lines)
    assert status == 1
    assert "FAILED (1 event, 1 error" in stdout
    assert "line 2: not valid JSON (depth limit exceeded" in stdout
    # Just under orjson's limit (1,024) and over Python's recursion limit: no crash, and
    # refused as PostHog refuses it (serde_json's limit is 128).
    near = "[" * 1010 + "]" * 1010
    body = write(tmp_path, "near.json", EVENT + ', "properties": {"x": ' + near + "}}")
    status, stdout, stderr = run_main("validate", body)
    assert (status, stderr) == (1, "")
    assert "json.too_deep" in stdout
    nested: list[Any] = []
    for _ in range(5000):
        nested = [nested]
    result = check_body({"event": "e", "distinct_id": "u", "properties": {"x": nested}})
    assert "json.too_deep" in {f.code for f in result.findings}
    assert dumps_compact(nested).startswith(b"[[[[")
    plan = write(tmp_path, "plan.yaml", "version: 1\nevents:\n  a: " + "[" * 2000 + "]" * 2000)
    status, _stdout, stderr = run_main("plan", "check", plan)
    assert status == 2
    assert "nests lists and mappings too deeply to read" in stderr


def test_recursion_in_a_rule_is_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    from composer.core.capture.preflight import check

    def endless(*_args: Any) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(check, "check_event", endless)
    result = check_text(EVENT + ', "timestamp": 5}')
    [finding] = [f for f in result.findings if f.code == "body.too_deep"]
    assert finding.message.startswith("The body nests arrays and objects too deeply to check")
    assert result.predicted.status == 400


def test_unreadable_files_exit_2_with_the_place(tmp_path: Path) -> None:
    # A spreadsheet's Windows-1252 CSV is read, saying so (tests/test_csv_dialects.py); bytes
    # that are no Windows-1252 text either are refused, naming the first line that is not UTF-8.
    latin1 = write(tmp_path, "events.csv", b"event,distinct_id\na,u1\ncaf\xe9,u2\nb,\x81\n")
    status, stdout, _ = run_main("validate", latin1)
    assert status == 2
    assert (
        "events.csv: cannot read: line 3: the file is not UTF-8 text (byte 0xe9, column 4), and"
        " not Windows-1252 or Latin-1 text either (byte 0x81 on line 4, column 3" in stdout
    )
    assert "fix: Save it as UTF-8" in stdout
    utf16 = write(tmp_path, "events.jsonl", (EVENT + "}\n").encode("utf-16"))
    status, stdout, _ = run_main("validate", utf16)
    assert status == 2
    assert "the file is UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8" in stdout
    body = write(tmp_path, "event.json", (EVENT + "}").encode("utf-16"))
    status, stdout, _ = run_main("validate", "--format", "json", body)
    assert status == 2
    [document] = orjson.loads(stdout)["files"]
    assert document["findings"][0]["code"] == "file.unreadable"
    assert "UTF-16" in document["findings"][0]["message"]
    header = write(tmp_path, "header.csv", "event,dist\rinct_id\na,u1\n")
    status, stdout, _ = run_main("validate", header)
    assert status == 2
    assert "line 1: the header cannot be read: a carriage return (CR)" in stdout
    # send refuses the same files with one line and exit 2 (it used to say "holds no event").
    proc = run_module(
        "send", latin1, "--host", "http://127.0.0.1:9", env={"POSTHOG_PROJECT_API_KEY": "phc_k"}
    )
    assert proc.returncode == 2
    assert b"events.csv: line 3: the file is not UTF-8 text (byte 0xe9, column 4)" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_the_reported_cases_in_a_subprocess(tmp_path: Path) -> None:
    files = [
        write(tmp_path, "surrogate.json", EVENT + ', "x": "\\ud800"}'),
        write(tmp_path, "long.csv", f"event,distinct_id,note\na,u1,{'x' * 131_073}\n"),
        write(tmp_path, "cr.csv", "event,distinct_id\na\rb,u1\n"),
        write(tmp_path, "digits.csv", f"event,distinct_id,n\na,u1,{'9' * 5000}\n"),
        write(tmp_path, "deep.json", "[" * 2000 + "]" * 2000),
    ]
    expected = {"surrogate.json": 1, "long.csv": 0, "cr.csv": 1, "digits.csv": 0, "deep.json": 1}
    for path in files:
        proc = run_module("validate", path)
        assert proc.returncode == expected[Path(path).name], proc.stdout + proc.stderr
        assert proc.stderr == b"", proc.stderr
    proc = run_module("validate", "--format", "json", *files)
    assert proc.returncode == 1
    verdicts = [d["ok"] for d in orjson.loads(proc.stdout)["files"]]
    assert verdicts == [False, True, False, True, False]
    # A file name that is not UTF-8 is printed as an escape, not a crash.
    proc = run_module("validate", os.fsdecode(bytes(tmp_path) + b"/caf\xe9.json"))
    assert proc.returncode == 2
    assert b"caf\\udce9.json: no such file" in proc.stdout


# -- validate --profile ------------------------------------------------------------------


def test_validate_with_a_profile_checks_the_body_as_send_sends_it(tmp_path: Path) -> None:
    assert run_module("profile", "storage", "plaintext").returncode == 0
    key = "phc_test"  # a placeholder's shape: the warning about it would quote the key
    added = run_module("profile", "add", "Staging", "--host", "eu", stdin=f"{key}\n".encode())
    assert added.returncode == 0, added.stderr
    event = write(tmp_path, "event.json", '{"event": "signed_up", "distinct_id": "u1"}')

    alone = run_module("validate", event)
    assert alone.returncode == 1
    assert b"token.missing" in alone.stdout

    with_profile = run_module("validate", event, "--profile", "Staging")
    assert with_profile.returncode == 0, with_profile.stdout
    assert b"token.missing" not in with_profile.stdout
    assert b"token.placeholder  at api_key" in with_profile.stdout
    assert b"'phc_****' looks like a placeholder" in with_profile.stdout
    assert key.encode() not in with_profile.stdout + with_profile.stderr

    # The profile's key replaces a key in the file, as send's does.
    keyed = write(
        tmp_path, "keyed.json", '{"api_key": "phx_key", "event": "e", "distinct_id": "u"}'
    )
    assert run_module("validate", keyed).returncode == 1
    replaced = run_module("validate", "--format", "json", keyed, "--profile", "Staging")
    assert replaced.returncode == 0
    codes = {f["code"] for f in orjson.loads(replaced.stdout)["files"][0]["findings"]}
    assert codes == {"token.placeholder"}
    assert key.encode() not in replaced.stdout

    # $POSTHOG_PROJECT_API_KEY wins over the profile's key, as in send.
    personal = "phx_personal_key_in_the_environment"
    env = {"POSTHOG_PROJECT_API_KEY": personal}
    overridden = run_module("validate", event, "--profile", "Staging", env=env)
    assert overridden.returncode == 1
    assert b"token.personal_key" in overridden.stdout
    assert personal.encode() not in overridden.stdout

    # Rows files: the key goes on every /batch/ envelope; its findings come first.
    rows = write(tmp_path, "events.jsonl", '{"event": "e", "distinct_id": "u"}\n')
    checked = run_module("validate", rows, "--profile", "Staging", env=env)
    assert checked.returncode == 1
    assert b"token.personal_key  at api_key" in checked.stdout
    assert personal.encode() not in checked.stdout


def test_validate_with_a_profile_in_the_secret_service(secret_service: Any, tmp_path: Path) -> None:
    key = "phc_parsers_secret_service_key_0123456789"
    added = run_module("profile", "add", "Prod", "--host", "us", stdin=f"{key}\n".encode())
    assert added.returncode == 0, added.stderr
    event = write(tmp_path, "event.json", '{"event": "signed_up", "distinct_id": "u1"}')
    status, stdout, stderr = run_main("validate", "--format", "json", event, "--profile", "Prod")
    assert status == 0, stdout + stderr
    assert orjson.loads(stdout)["files"][0]["findings"] == []
    assert key not in stdout + stderr
