"""Files of any size in bounded memory: JSON Lines read block by block, in one pass per line.

The readers are compared with the whole-file reader they stand in for (same lines, same rows,
same problems, same uuids, the very bytes a request carries); the commands are run on a file
big enough that holding every row at once would show in the process's peak memory.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from composer.cli.progress import ProgressLine
from composer.core.batch.formats import Problem, jsonl_lines, read_jsonl
from composer.core.batch.journal import assign_derived_uuids
from composer.core.batch.rows import envelope_bytes
from composer.core.batch.stream import line_blocks, read_rows
from composer.core.jsonio import dumps_compact
from composer.core.templates.variables import has_placeholders
from tests.conftest import ROOT
from tests.support.fault_server import FaultServer

KEY = "phc_streaming_test_key_000000000000000000"
SEED = bytes(range(16))


def test_lines_read_in_blocks_are_the_whole_file_lines() -> None:
    rng = random.Random(7)
    pieces = [b"a", b"{}", b"\n", b"\r", b"\r\n", b" ", b"\xef\xbb\xbf"]
    for _ in range(2000):
        bom = b"\xef\xbb\xbf" if rng.random() < 0.3 else b""
        data = bom + b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        for size in (1, 2, 3, 7, 64):
            blocks = [data[i : i + size] for i in range(0, len(data), size)]
            got: list[bytes] = []
            for first, lines in line_blocks(blocks):
                assert first == len(got) + 1
                got += lines
            assert got == jsonl_lines(data), (data, size)


LINES = [
    b'{"event":"a","distinct_id":"u1","properties":{"plan":"team"}}',
    b'  {"event":"b","distinct_id":"u2","uuid":"0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"}  ',
    b'{"event":"c","distinct_id":"u3","uuid":"0190D5B2-6C1A-7CC1-9A1B-4F3C2E1D0A9C"}',
    b'{"event":"d","distinct_id":"u4","uuid":"not-a-uuid"}',
    b'{"event":"e","distinct_id":"u5","uuid":null}',
    b'{"event":"f","distinct_id":"u6","uuid":7}',
    b"",
    b"not json",
    b"[1, 2]",
    b'{"event":"g","distinct_id":"u7","properties":{"n":123456789012345678901234567890}}',
    b'{"event":"h","distinct_id":"u8","properties":{"s":"\\ud800"}}',
    b'{"event":"i","distinct_id":"{{user}}"}',
    b'{"event":"j","distinct_id":"\\u007b{user}}"}',
    b'{"event":"k","distinct_id":"u9","properties":{"caf\\u00e9":"\\u00e9 ok"}}',
    b'{"event":"l","distinct_id":"u10","properties":{"x":1.0,"y":-0.0,"z":1e300}}',
    b'{"event":"m","distinct_id":"u11","event":"dup"}',
    b"   ",
]


@pytest.mark.parametrize("start", [0, 41])
def test_one_pass_rows_are_the_whole_file_rows(start: int) -> None:
    expected = read_jsonl(LINES, first_line=10)
    assign_derived_uuids(expected.rows, SEED, start)
    problems: list[Problem] = []
    rows = read_rows(LINES, 10, start, problems, SEED)
    assert problems == expected.problems
    assert [r.event for r in rows] == [r.event for r in expected.rows]
    assert [(r.uuid, r.drawn) for r in rows] == [(r.uuid, r.drawn) for r in expected.rows]
    for row in rows:
        assert row.wire == dumps_compact(row.event)
        assert row.size == len(row.wire)
        if row.literal:
            assert not has_placeholders(row.event)
    assert not rows[-1].literal or not has_placeholders(rows[-1].event)
    assert {r.event["distinct_id"] for r in rows if not r.literal} >= {"{{user}}"}


def test_a_request_joined_from_serialised_events_is_the_encoded_one() -> None:
    rows = read_rows(LINES, 1, 0, [], SEED)
    for migration in (False, True):
        joined = envelope_bytes(rows, KEY, migration)
        for row in rows:
            row.wire = None
        assert joined == envelope_bytes(rows, KEY, migration)
        rows = read_rows(LINES, 1, 0, [], SEED)
        assert orjson.loads(joined)["batch"] == [r.event for r in rows]


def test_the_progress_line_says_rate_and_time_left() -> None:
    out = io.StringIO()
    bar = ProgressLine(out, quiet=0)
    bar.show(2_500, 10_000, rate=1_000.0)
    bar.finish()
    assert "2,500/~10,000 1,000 ev/s ETA 8s" in out.getvalue()


# -- bounded memory, measured on the real command ---------------------------------------------

EVENTS = 200_000
# The whole-file reader holds every row (about a kilobyte each for these events): 180 to
# 230 MiB for this file. Streaming holds a few chunks: about 85 MiB, most of it the
# interpreter and its imports.
PEAK_MIB = 150

MEASURE = (
    "import json, resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
    "print(json.dumps([peak, p.returncode, p.stdout.decode(), p.stderr.decode()]))\n"
)


def _big_file(path: Path) -> Path:
    with path.open("wb") as out:
        for i in range(EVENTS):
            event = {"event": "page_viewed", "distinct_id": f"u{i % 977}", "properties": {"n": i}}
            out.write(orjson.dumps(event) + b"\n")
    return path


def _measured(tmp_path: Path, *args: str) -> tuple[float, int, str, str]:
    env = {"PYTHONPATH": str(ROOT), "HOME": str(tmp_path / "home"), "POSTHOG_PROJECT_API_KEY": KEY}
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "composer", *args],
        capture_output=True,
        env={**_inherited(), **env},
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    peak, code, out, err = json.loads(proc.stdout)
    return float(peak), int(code), str(out), str(err)


def _inherited() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")}


def test_validate_and_send_of_a_big_file_stay_in_bounded_memory(tmp_path: Path) -> None:
    path = _big_file(tmp_path / "big.jsonl")
    peak, code, out, err = _measured(tmp_path, "validate", str(path))
    assert code == 0, err
    assert f"ok ({EVENTS} events" in out
    assert peak < PEAK_MIB, f"validate peaked at {peak:.0f} MiB"

    server = FaultServer(keep_bodies=False).start()
    try:
        peak, code, out, err = _measured(tmp_path, "send", str(path), "--host", server.url)
        assert code == 0, err
        assert f"{EVENTS:,} sent, 0 failed" in out
        assert server.events_received == EVENTS
    finally:
        server.stop()
    assert peak < PEAK_MIB, f"send peaked at {peak:.0f} MiB"
