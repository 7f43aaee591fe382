"""The window's sandbox process: each start owns the process that answers at its URL."""

from __future__ import annotations

import threading
from pathlib import Path

from composer.sandbox.local import LocalSandbox, probe, start_sandbox_process


def test_two_starts_at_once_each_own_the_process_serving_their_url(tmp_path: Path) -> None:
    # Two windows of one process start their sandboxes at the same moment (on free ports,
    # as the tests run them). Each must keep the process it started: one that read the
    # other's ready file would leave its own process running unowned.
    made: list[LocalSandbox] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(2)

    def start() -> None:
        gate.wait()
        try:  # one data folder, one inbox file: as two windows of one user
            made.append(start_sandbox_process(port=0, db=tmp_path / "inbox.db"))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert errors == []
        assert len(made) == 2
        for sandbox in made:
            assert sandbox.process is not None
            assert sandbox.process.poll() is None
            port = int(sandbox.url.rsplit(":", 1)[1])
            info = probe(port)
            assert info is not None
            assert info["pid"] == sandbox.process.pid
        assert made[0].url != made[1].url
    finally:
        for sandbox in made:
            sandbox.stop()
    leftovers = [p.name for p in tmp_path.rglob(".sandbox-ready-*")]
    assert leftovers == []


def test_two_stores_opening_one_new_inbox_at_once_both_open(tmp_path: Path) -> None:
    """Two sandboxes starting together make one new inbox file: one of them met "database is
    locked" at once while the other switched it to WAL, and its window had no sandbox. Two
    processes, each opening the store the moment a shared file appears."""
    import subprocess
    import sys
    import time

    opener = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from composer.sandbox.store import SandboxStore\n"
        "go = Path(sys.argv[2])\n"
        "while not go.exists():\n"
        "    time.sleep(0.001)\n"
        "SandboxStore(sys.argv[1]).close()\n"
    )
    for round_ in range(10):
        for old in tmp_path.iterdir():
            old.unlink()
        path, go = tmp_path / f"inbox-{round_}.db", tmp_path / f"go-{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", opener, str(path), str(go)], stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        time.sleep(0.5)  # both have imported and wait for the word
        go.touch()
        for proc in procs:
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()[-500:]
        # Neither took the other's half-made inbox for damage and moved it aside.
        kept = {p.name for p in tmp_path.iterdir()} - {go.name}
        assert kept <= {path.name, f"{path.name}-wal", f"{path.name}-shm"}, kept
