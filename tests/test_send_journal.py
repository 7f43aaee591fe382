"""Exactly once across crashes: `event-composer send FILE` killed with SIGKILL and run again.

Real processes (`python -m composer` from this checkout), a real server on 127.0.0.1 that
counts every uuid it stored, and real SIGKILLs. The server holds the answer to a chosen
request back until the client is dead, so each kill lands with one chunk in flight, stored by
the server and never acknowledged: exactly what PostHog sees when a client dies mid-send.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from composer.core.batch import journal as records
from composer.services.journal import JournalLock, cli_journal_path
from composer.services.parallel_rows import MIN_BYTES
from tests.conftest import ROOT
from tests.support.fault_server import FaultServer, Reply, Reset

KEY = "phc_journal_test_key_00000000000000000000"
EVENTS = 20_000
CHUNK = 100  # events per request: 200 requests for the whole file


@pytest.fixture
def server() -> FaultServer:
    s = FaultServer(keep_bodies=False, record_uuids=True).start()
    yield s
    s.stop()


# Padding that makes EVENTS events a file big enough for reader processes (parallel_rows).
BIG = "x" * 420


def events_file(path: Path, n: int, *, with_uuids: bool, pad: str = "") -> Path:
    lines = []
    for i in range(n):
        event: dict[str, object] = {"event": "imported", "distinct_id": f"u{i}", "properties": {}}
        event["properties"] = {"i": i, "pad": pad} if pad else {"i": i}
        if with_uuids:
            event["uuid"] = f"00000000-0000-4000-8000-{i:012d}"
        lines.append(orjson.dumps(event))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def cli_env(tmp_path: Path) -> dict[str, str]:
    """This checkout's composer, the test's data folder (isolated_dirs), a throw-away HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")}
    env["POSTHOG_PROJECT_API_KEY"] = KEY
    env["PYTHONPATH"] = str(ROOT)
    env["HOME"] = str(tmp_path / "home")
    return env


def send_command(path: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "composer",
        "send",
        str(path),
        "--host",
        url,
        "--max-events",
        str(CHUNK),
        *extra,
    ]


def run_send(tmp_path: Path, path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        send_command(path, url, *extra),
        cwd=ROOT,
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def gone(pid: int, seconds: float = 10) -> bool:
    """The process has ended (and been reaped, or is a zombie) within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def killed_send(
    tmp_path: Path,
    path: Path,
    server: FaultServer,
    request: int,
    *extra: str,
    readers: list[int] | None = None,
) -> tuple[list[str], str]:
    """Start a send, SIGKILL it while the server holds its `request`-th request (counted over
    the server's life) in flight; the uuids of that request and the run's stderr. The
    processes the send had then (its readers) go into `readers`."""
    server.hold_request(request)
    with subprocess.Popen(
        send_command(path, server.url, *extra),
        cwd=ROOT,
        env=cli_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert server.holding.wait(60), "the send never reached the request to hold"
            if readers is not None:
                readers.extend(children(proc.pid))
            os.kill(proc.pid, signal.SIGKILL)
            _out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            server.release()
    assert proc.returncode == -signal.SIGKILL
    return list(server.held_uuids), err


def journal_files() -> list[Path]:
    return sorted(cli_journal_path("x").parent.glob("*.jsonl"))


@pytest.mark.parametrize(
    ("with_uuids", "pad"),
    [(True, ""), (False, ""), (False, BIG)],
    ids=["with-uuids", "without-uuids", "without-uuids-read-by-processes"],
)
def test_a_send_killed_three_times_delivers_every_event_once(
    tmp_path: Path, server: FaultServer, with_uuids: bool, pad: str
) -> None:
    path = events_file(tmp_path / "events.jsonl", EVENTS, with_uuids=with_uuids, pad=pad)
    if pad:
        assert path.stat().st_size >= MIN_BYTES
        if len(os.sched_getaffinity(0)) < 2:
            pytest.skip("reader processes need two cores")
    in_flight: list[list[str]] = []
    # About 10 %, 50 % and 90 % of the acknowledged chunks, counted over all runs.
    for number, request in enumerate((20, 100, 180)):
        readers: list[int] = []
        held, err = killed_send(tmp_path, path, server, request, readers=readers)
        assert len(held) == CHUNK
        if pad and number == 0:
            # The file was being read by two processes, and they died with the send.
            assert len(readers) == 2, readers
        assert all(gone(pid) for pid in readers)
        in_flight.append(held)
        if number == 0:
            assert "resuming" not in err
        else:
            assert "resuming: " in err
            assert "already acknowledged by " + server.url in err
            assert "--restart to start over" in err
            assert f"{CHUNK} were in flight when it stopped" in err

    done = run_send(tmp_path, path, server.url)
    assert done.returncode == 0, done.stderr
    acknowledged = 20 - 1 + 80 - 1 + 80 - 1  # per run: the requests before the held one
    assert f"resuming: {acknowledged * CHUNK:,} of {EVENTS:,} already acknowledged" in done.stderr
    assert f"{CHUNK} may be duplicates" in done.stdout  # the last run's in-flight chunk
    assert f"{acknowledged * CHUNK:,} acknowledged by an earlier run" in done.stdout

    # Every event arrived; the only ones that arrived twice are the chunks in flight at the
    # kills, with the same uuids both times, so PostHog keeps one of each.
    assert len(server.stored) == EVENTS
    assert sorted(e["properties"]["i"] for e in server.stored_events.values()) == list(
        range(EVENTS)
    )
    twice = {u for u, count in server.stored.items() if count > 1}
    assert twice == {u for chunk in in_flight for u in chunk}
    assert max(server.stored.values()) == 2
    if with_uuids:
        assert set(server.stored) == {f"00000000-0000-4000-8000-{i:012d}" for i in range(EVENTS)}
    # A complete run leaves no journal behind.
    assert journal_files() == []


@pytest.mark.parametrize("pad", ["", BIG], ids=["small", "read-by-processes"])
def test_half_the_chunks_failing_without_retries_split_cleanly(
    tmp_path: Path, server: FaultServer, pad: str
) -> None:
    # 5,000 events, or as many as make the file big enough for reader processes.
    n = 5_000 if not pad else 20_000
    path = events_file(tmp_path / "events.jsonl", n, with_uuids=False, pad=pad)
    first_run = n // CHUNK  # requests; every second one fails
    server.decide = lambda n, body: Reply(503, b"overloaded") if n <= first_run and n % 2 else None
    result = run_send(tmp_path, path, server.url, "--retries", "0")
    assert result.returncode == 1
    half = n // 2
    assert f"{half:,} sent, {half:,} failed" in result.stdout
    assert "  failed: imported " in result.stdout  # listed by name, read back from the wire
    failed_file = tmp_path / "events.failed.jsonl"
    lines = failed_file.read_bytes().splitlines()
    failed = [orjson.loads(line)["uuid"] for line in lines]
    acknowledged = set(server.stored)
    # Acknowledged and failed are disjoint and together the whole input (uuids were derived
    # for these lines, and the failed file carries them, with the rest of each event).
    assert len(failed) == len(set(failed)) == half
    assert acknowledged.isdisjoint(failed)
    assert len(acknowledged | set(failed)) == n
    stored = {e["properties"]["i"] for e in server.stored_events.values()}
    written = [orjson.loads(line) for line in lines]
    assert {e["properties"]["i"] for e in written} == set(range(n)) - stored
    original = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    for event in written:
        assert {k: v for k, v in event.items() if k != "uuid"} == original[event["properties"]["i"]]
    assert "run the same command again" in result.stdout

    # Sending the failed file delivers the rest with the uuids already drawn.
    again = run_send(tmp_path, failed_file, server.url, "--retries", "0")
    assert again.returncode == 0, again.stderr
    assert len(server.stored) == n
    assert max(server.stored.values()) == 1
    assert sorted(e["properties"]["i"] for e in server.stored_events.values()) == list(range(n))


def test_running_the_same_command_again_retries_only_what_failed(
    tmp_path: Path, server: FaultServer
) -> None:
    path = events_file(tmp_path / "events.jsonl", 1_000, with_uuids=False)
    server.decide = lambda n, body: Reply(500, b"boom") if n in (2, 5) else None
    first = run_send(tmp_path, path, server.url, "--retries", "0")
    assert first.returncode == 1
    failed_file = tmp_path / "events.failed.jsonl"
    assert len(failed_file.read_bytes().splitlines()) == 200
    second = run_send(tmp_path, path, server.url, "--retries", "0")
    assert second.returncode == 0, second.stderr
    assert "resuming: 800 of 1,000 already acknowledged" in second.stderr
    assert "200 sent, 0 failed" in second.stdout
    assert not failed_file.exists()  # nothing is undelivered any more
    assert len(server.stored) == 1_000
    assert max(server.stored.values()) == 1
    assert journal_files() == []


def test_lost_answers_are_retried_with_the_same_uuids_and_counted(
    tmp_path: Path, server: FaultServer
) -> None:
    path = events_file(tmp_path / "events.jsonl", 1_000, with_uuids=False)
    # The server stores requests 3 and 7, then resets the connection before its answer.
    server.decide = lambda n, body: Reset() if n in (3, 7) else None
    result = run_send(tmp_path, path, server.url, "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = orjson.loads(result.stdout)
    assert doc["sent"] == 1_000
    assert doc["may_be_duplicates"] == 2 * CHUNK
    assert len(server.stored) == 1_000
    twice = [u for u, count in server.stored.items() if count == 2]
    assert len(twice) == 2 * CHUNK  # both attempts carried the very same uuids

    start = server.requests_seen
    server.decide = lambda n, body: Reset() if n == start + 1 else None
    lost = run_send(tmp_path, events_file(tmp_path / "b.jsonl", 50, with_uuids=False), server.url)
    assert lost.returncode == 0, lost.stderr
    assert "50 may be duplicates (sent again after their answer was lost" in lost.stdout
    assert "PostHog deduplicates by uuid" in lost.stdout


def test_a_resume_is_refused_against_another_host_or_a_changed_file(
    tmp_path: Path, server: FaultServer
) -> None:
    path = events_file(tmp_path / "events.jsonl", 2_000, with_uuids=False)
    killed_send(tmp_path, path, server, 5)
    other = FaultServer(record_uuids=True).start()
    try:
        refused = run_send(tmp_path, path, other.url)
        assert refused.returncode == 2
        assert f"went to {server.url}" in refused.stderr
        assert f"resuming against {other.url} would skip events it never received" in (
            refused.stderr
        )
        assert "--restart" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert other.requests_seen == 0

        changed = path.read_bytes().replace(b'"u1"', b'"v1"')  # same size, other bytes
        path.write_bytes(changed)
        stale = run_send(tmp_path, path, server.url)
        assert stale.returncode == 2
        assert "has changed since its send" in stale.stderr
        assert "--restart" in stale.stderr

        restarted = run_send(tmp_path, path, other.url, "--restart")
        assert restarted.returncode == 0, restarted.stderr
        assert "starting over" in restarted.stderr
        assert len(other.stored) == 2_000
    finally:
        other.stop()
    assert journal_files() == []


def test_a_torn_last_line_is_ignored_and_reported(tmp_path: Path, server: FaultServer) -> None:
    path = events_file(tmp_path / "events.jsonl", 2_000, with_uuids=True)
    killed_send(tmp_path, path, server, 6)
    (journal,) = journal_files()
    # A crash in the middle of writing a record: half a line, no newline.
    with journal.open("ab") as handle:
        handle.write(b'{"op":"ack","chunk":6,"sta')
    state = records.replay(journal.read_bytes())
    assert state.torn_tail > 0
    result = run_send(tmp_path, path, server.url)
    assert result.returncode == 0, result.stderr
    assert "cut short by the crash" in result.stderr
    assert "resuming: 500 of 2,000 already acknowledged" in result.stderr
    assert len(server.stored) == 2_000


def test_two_sends_of_one_file_at_once_are_refused(tmp_path: Path, server: FaultServer) -> None:
    path = events_file(tmp_path / "events.jsonl", 100, with_uuids=True)
    lock = JournalLock(cli_journal_path(path)).acquire()  # as a running send holds it
    try:
        busy = run_send(tmp_path, path, server.url)
    finally:
        lock.release()
    assert busy.returncode == 2
    assert "another event-composer is sending" in busy.stderr
    assert server.requests_seen == 0


def test_the_failed_file_must_be_json_lines(tmp_path: Path, server: FaultServer) -> None:
    path = events_file(tmp_path / "events.jsonl", 10, with_uuids=True)
    result = run_send(tmp_path, path, server.url, "--failed-file", str(tmp_path / "f.csv"))
    assert result.returncode == 2
    assert "must be JSON Lines" in result.stderr


def test_the_installed_command_runs_this_checkout_and_documents_restart(run_cli) -> None:
    helped = run_cli("send", "--help")
    assert helped.returncode == 0
    assert "--restart" in helped.stdout
