"""How long the window's GUI thread stalls while it works: a 10 ms heartbeat timer on the GUI
thread, and the longest gap between its ticks (and how many gaps exceed 50 ms) during each
operation on 100,000 events.

Operations: `ingest` (another process sends 100,000 events to the window's sandbox, which the
inbox and the persons view follow), `import` (a 100,000-line JSONL file into the batch),
`filter` (typing "checkout" into the batch filter over 100,000 rows), `check` (every row
checked again, as after a change of variables or plan), `send` (the batch sent
to the sandbox), `predict` (persons predicted for a 10,000-row batch). Each runs in a fresh
window (offscreen); the reference is the heartbeat of the same window sitting idle.

Exits with status 1 when any stall is over 50 ms.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_stalls.py [ingest import ...]
     [--diagnose FILE]

`--diagnose FILE` says what a stall was: 35 ms into any gap of the heartbeat, faulthandler
writes every thread's stack to FILE (it runs from a C thread, so it catches a C call that
holds the interpreter lock), then a "GAP" line with the gap's length; and every collection
of the cyclic garbage collector over 5 ms is written with its generation and the code that
set it off (gen2 passes on a worker were the import's last stalls).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import window_driver
from window_driver import open_window

SETTLE_S = 1.0
STALL_LIMIT_MS = 50
OPERATIONS = ("idle", "ingest", "import", "filter", "check", "send", "predict")
SENDER = r"""
import sys, httpx, orjson, uuid
url, n = sys.argv[1], int(sys.argv[2])
with httpx.Client(timeout=120) as client:
    for start in range(0, n, 1000):
        batch = [
            {"event": f"e{i % 20}", "distinct_id": f"u{i % 5000}", "uuid": str(uuid.uuid4()),
             "properties": {"plan": "team", "i": i}}
            for i in range(start, start + 1000)
        ]
        body = {"api_key": "phc_stall_bench_key_000", "batch": batch}
        client.post(url + "/batch/", content=orjson.dumps(body))
"""


class Diagnosis:
    """Stacks at each late heartbeat and slow collections, written to one file."""

    def __init__(self, path: str) -> None:
        import faulthandler
        import gc
        import threading

        self.out = open(path, "w", encoding="utf-8")  # noqa: SIM115 (open until the end)
        self._faulthandler = faulthandler
        self._threading = threading
        self._started = 0.0
        gc.callbacks.append(self._collected)

    def beat(self, gap: float) -> None:
        if gap > 0.035:
            self.out.write(f"=== GAP {gap * 1000:.0f} ms (the stacks above are from it)\n")
            self.out.flush()
        self._faulthandler.cancel_dump_traceback_later()
        self._faulthandler.dump_traceback_later(0.035, repeat=False, file=self.out)

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = (time.perf_counter() - self._started) * 1000
        if took > 5:
            frames = [f for f in _stack() if "composer" in f]
            self.out.write(
                f"--- GC gen{info['generation']} {took:.0f} ms, collected {info['collected']},"
                f" thread {self._threading.current_thread().name}: {' < '.join(frames[:4])}\n"
            )
            self.out.flush()


def _stack() -> list[str]:
    import traceback

    return [
        f"{f.filename.rsplit('/', 1)[-1]}:{f.name}" for f in reversed(traceback.extract_stack())
    ]


class Heartbeat:
    diagnosis: Diagnosis | None = None  # --diagnose

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        if self.diagnosis is not None:
            self.diagnosis.beat(now - self._last)
        self._last = now

    def start(self) -> None:
        self._last = time.perf_counter()
        self.gaps.clear()
        self.timer.start()

    def stop(self) -> tuple[float, int]:
        self.timer.stop()
        longest = max(self.gaps, default=0.0)
        return longest * 1000, sum(1 for g in self.gaps if g > 0.05)


def write_jsonl(path: Path, n: int, name: str = "checkout") -> None:
    with path.open("wb") as out:
        for i in range(n):
            event = {
                "event": name if i % 7 == 0 else f"event_{i % 20}",
                "distinct_id": f"user-{i % 5000}",
                "uuid": str(uuid.UUID(int=i + 1)),
                "properties": {"plan": "team", "seats": i % 50},
            }
            out.write(orjson.dumps(event) + b"\n")


def run(operation: str, events: int) -> tuple[float, int, float]:
    app, window = open_window()

    def wait(condition: Callable[[], bool], timeout: float = 600) -> None:
        window_driver.wait(app, condition, operation, timeout)

    ws = window.workspace
    folder = Path(tempfile.mkdtemp())
    batch = ws.batch
    if operation in ("filter", "check", "send", "predict"):
        source = folder / "events.jsonl"
        write_jsonl(source, 10_000 if operation == "predict" else events)
        batch.import_file(str(source))
        wait(lambda: not batch.busy and len(batch.model.rows) > 0 and not batch.checks_running)
        wait(lambda: batch.persons.idle)
        for _ in range(50):
            app.processEvents()
    if operation == "import":  # written before the heartbeat starts: it is not the window's
        write_jsonl(folder / "events.jsonl", events)
    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    if operation == "idle":
        wait(lambda: time.perf_counter() - started > 3)
    elif operation == "ingest":
        assert ws.sandbox.local is not None
        sender = subprocess.Popen([sys.executable, "-c", SENDER, ws.sandbox.local.url, str(events)])
        wait(lambda: sender.poll() is not None)
        wait(lambda: ws.inbox.model.rowCount() >= events, timeout=300)
    elif operation == "import":
        batch.import_file(str(folder / "events.jsonl"))
        wait(lambda: not batch.busy and len(batch.model.rows) >= events)
    elif operation == "filter":
        line = batch.filter_text
        for char in "checkout":
            line.setText(line.text() + char)
            app.processEvents()
        wait(lambda: time.perf_counter() - started > 2)
    elif operation == "check":
        batch.recheck()
        wait(lambda: not batch.checks_running)
    elif operation == "send":
        batch.send_all()
        wait(lambda: not batch.busy)
    elif operation == "predict":
        batch.persons.schedule()
        wait(lambda: not batch.persons.idle)
        wait(lambda: batch.persons.idle)
    elapsed = time.perf_counter() - started
    # What the window does once the work is reported done (the summary, the buttons, the
    # history entry) is part of the operation: the heartbeat runs on for a second after.
    settled = time.perf_counter()
    wait(lambda: time.perf_counter() - settled > SETTLE_S)
    longest, over = beat.stop()
    window.close()
    return longest, over, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("operations", nargs="*", default=list(OPERATIONS))
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--diagnose", metavar="FILE", help="write what each stall was to FILE")
    args = parser.parse_args()
    if args.diagnose:
        Heartbeat.diagnosis = Diagnosis(args.diagnose)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["COMPOSER_SANDBOX_PORT"] = "0"
    print(f"{'operation':<10} {'longest stall':>14} {'stalls > 50 ms':>15} {'took':>8}")
    worst = 0.0
    for operation in args.operations:
        # A home per operation: a window restores the drafts the last one left (100,000 rows).
        home = tempfile.mkdtemp()
        os.environ["COMPOSER_DATA_DIR"] = str(Path(home) / "data")
        os.environ["COMPOSER_CONFIG_DIR"] = str(Path(home) / "config")
        longest, over, elapsed = run(operation, args.events)
        print(f"{operation:<10} {longest:>11.0f} ms {over:>15} {elapsed:>7.1f}s", flush=True)
        worst = max(worst, longest)
    if worst > STALL_LIMIT_MS:  # #16: no stall over 50 ms; a script can tell by the status
        raise SystemExit(f"a stall of {worst:.0f} ms, over the {STALL_LIMIT_MS} ms bound")


if __name__ == "__main__":
    main()
