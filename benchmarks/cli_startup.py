"""Start-up of a CLI command against `python -c "import httpx, orjson"`, as whole processes.

Each round runs, in an order rotated every round, the reference (and, for context, the same
with one `httpx.Client()` made, which a real request cannot skip) and three commands on a
JSON Lines file of 100 events: `event-composer validate FILE`, `send FILE --dry-run` and a real
`send FILE --host SINK` (the sink of batch_send.py on 127.0.0.1; the send keeps its journal,
with its fsyncs, in a temporary data folder). Each is timed from spawn to exit; the table
gives medians over the rounds and the ratio to the reference (#17's target: <= 1.5x).

Run: PYTHONPATH=. .venv/bin/python benchmarks/cli_startup.py [--rounds 11]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from batch_send import app_dirs, command_env, compile_package, start_sink, write_file


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[1:3]} exited {done.returncode}: {done.stderr[-500:]!r}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    python = sys.executable
    cli = str(Path(python).with_name("event-composer"))
    compile_package()
    work = Path(tempfile.mkdtemp(prefix="bench-cli-startup-"))
    source = work / "events.jsonl"
    write_file(source, 100)
    sink, url = start_sink()
    env = command_env() | app_dirs(work)
    contenders = {
        "python -c 'import httpx, orjson'": [python, "-c", "import httpx, orjson"],
        # httpx imports httpcore and h11, and loads the CA bundle, on its first client: what
        # any real request pays, and the reference above does not.
        "  ... plus httpx.Client()": [python, "-c", "import httpx, orjson; httpx.Client()"],
        "validate FILE": [cli, "validate", str(source)],
        "send FILE --dry-run": [cli, "send", str(source), "--dry-run", "--host", url],
        "send FILE (real, to the sink)": [cli, "send", str(source), "--host", url],
    }
    names = list(contenders)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    try:
        for round_number in range(args.rounds):
            k = round_number % len(names)
            for name in names[k:] + names[:k]:
                seconds[name].append(timed(contenders[name], env))
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    reference = statistics.median(seconds[names[0]])
    with_client = statistics.median(seconds[names[1]])
    print(f"whole processes, median of {args.rounds} rounds (order rotated), 100 events:")
    for name in names:
        median = statistics.median(seconds[name])
        low, high = min(seconds[name]), max(seconds[name])
        ratio = "" if name == names[0] else f"  {median / reference:.2f}x (target <= 1.5x)"
        if name == names[1]:
            ratio = f"  {median / reference:.2f}x the reference (itself a reference)"
        if name.startswith("send FILE (real"):
            ratio += f", {median / with_client:.2f}x the reference with its client"
        print(f"  {name:34s} {median * 1000:6.0f} ms  ({low * 1000:.0f}-{high * 1000:.0f}){ratio}")


if __name__ == "__main__":
    main()
