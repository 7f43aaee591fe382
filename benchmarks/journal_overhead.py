"""What the send journal costs: 100,000 events to a fast local server, with and without it.

The same BatchSender runs alternately without a journal and with the journal
`event-composer send` keeps (a "send" line before each request, an "ack" fsynced after each
answer), several times per chunk size; the medians are compared. `--profile` runs cProfile in
both of the send's threads (the checking thread and the sender thread, where the journal
writes) and prints where the time goes.

Run: PYTHONPATH=. .venv/bin/python benchmarks/journal_overhead.py [--chunks 10000,1000,100]
The journal is written under the home folder: /tmp may be a tmpfs, where fsync is free.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.batch_send import KEY, SERVER, events


def send(url: str, n: int, chunk: int, *, journaled: bool, profile: bool) -> dict[str, Any]:
    from composer.core.batch.journal import JournalHeader, JournalKind
    from composer.core.batch.rows import BatchRow
    from composer.services import batch_sender
    from composer.services.batch_sender import BatchSender
    from composer.services.journal import JournalLock, SendJournal, utc_now
    from composer.services.transport import Transport

    rows = [BatchRow.of(e, 260) for e in events(n)]
    profilers: list[cProfile.Profile] = []
    original = batch_sender.BatchSender._post_all
    if profile:

        def profiled(self: BatchSender, *args: Any) -> None:
            profiler = cProfile.Profile()
            profilers.append(profiler)
            profiler.runcall(original, self, *args)

        batch_sender.BatchSender._post_all = profiled  # type: ignore[method-assign]
    journal = None
    with Transport() as transport:
        main = cProfile.Profile() if profile else None
        t0, cpu0 = time.perf_counter(), time.process_time()
        if main is not None:
            main.enable()
        if journaled:
            path = Path(tempfile.mkdtemp(dir=Path.home())) / "bench.jsonl"
            header = JournalHeader(JournalKind.CLI, utc_now(), url, "bench", "00" * 16, rows=n)
            journal = SendJournal.create(path, header, JournalLock(path).acquire())
        sender = BatchSender(transport, url + "/batch/", KEY, max_events=chunk, journal=journal)
        summary = sender.send(rows)
        if journal is not None:
            journal.close()  # waits for the last fsync: part of the cost
        if main is not None:
            main.disable()
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    batch_sender.BatchSender._post_all = original  # type: ignore[method-assign]
    assert summary.progress.sent == n, summary.line()
    result: dict[str, Any] = {"seconds": elapsed, "cpu": cpu}
    if journal is not None:
        result["fsyncs"] = journal.fsyncs
        result["fsync_seconds"] = journal.fsync_seconds
        journal.path.unlink()
    if main is not None:
        for name, profiler in (("checking thread", main), ("sender thread", profilers[0])):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
            print(f"--- cProfile, {name} (journaled={journaled}, chunk={chunk})")
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:4000])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--chunks", default="10000,1000,100", help="events per request")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one journaled run")
    args = parser.parse_args()
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = f"http://127.0.0.1:{proc.stdout.readline().strip()}"
    try:
        for chunk in (int(c) for c in args.chunks.split(",")):
            send(url, args.events, chunk, journaled=True, profile=False)  # warm up
            plain, journaled, fsyncs, fsync_time = [], [], 0, []
            for _ in range(args.repeat):
                plain.append(send(url, args.events, chunk, journaled=False, profile=False))
                journaled.append(send(url, args.events, chunk, journaled=True, profile=False))
            fsyncs = statistics.median(r["fsyncs"] for r in journaled)
            fsync_time = statistics.median(r["fsync_seconds"] for r in journaled)
            print(f"chunk {chunk:,} ({args.events // chunk} requests), {args.repeat} runs each:")
            for what, key, pick in (
                ("wall, median", "seconds", statistics.median),
                ("wall, best", "seconds", min),
                ("CPU, median", "cpu", statistics.median),
            ):
                p = pick(r[key] for r in plain)
                j = pick(r[key] for r in journaled)
                print(
                    f"  {what:<13} {p:6.2f} s without the journal, {j:6.2f} s with it:"
                    f" {100 * (j - p) / p:+5.1f} %"
                )
            print(
                f"  {fsyncs:.0f} fsyncs taking {1000 * fsync_time:.0f} ms per send (median), on"
                " the journal's own thread"
            )
            if args.profile:
                send(url, args.events, chunk, journaled=True, profile=True)
    finally:
        proc.terminate()
        proc.wait()
        proc.stdout.close()


if __name__ == "__main__":
    main()
