"""Sending 100,000 events to a local server: the composer against two baselines, same run.

(a) posthog-python with a queue big enough to drop nothing; (b) raw httpx posting the same
chunks with one client; (c) the composer's BatchSender, pre-flight check included; (d) the same
with its send journal (an fsync per answered chunk), as `event-composer send` keeps it. The
server is a separate process on 127.0.0.1 that reads each body, parses it as PostHog would and
counts the events, so every contender is also checked for delivering all of them.

Also times importing 100,000 JSON Lines rows into the window's batch table (and its memory).

Run: PYTHONPATH=. .venv/bin/python benchmarks/batch_send.py [--events N] [--chunk N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

SERVER = r"""
import sys, orjson
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else small chunks wait 40 ms each for a delayed ACK
    def log_message(self, *a): pass
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip; body = gzip.decompress(body)
        data = orjson.loads(body)
        count += len(data["batch"]) if isinstance(data, dict) and "batch" in data else 1
        self._ok()
    def do_GET(self):
        out = str(count).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(out)))
        self.end_headers(); self.wfile.write(out)
    def _ok(self):
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "15"); self.end_headers()
        self.wfile.write(b'{"status":"Ok"}')
    def do_DELETE(self):
        global count
        count = 0
        self._ok()
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

KEY = "phc_benchmark_key_000000000000000000000000"


def events(n: int) -> list[dict[str, object]]:
    return [
        {
            "event": f"event_{i % 20}",
            "distinct_id": f"user-{i % 5000}",
            "timestamp": "2024-05-01T12:00:00.000Z",
            "uuid": str(uuid.UUID(int=i + 1)),
            "properties": {
                "plan": "team",
                "seats": i % 50,
                "trial": i % 2 == 0,
                "source": "web",
                "price": 12.5,
                "tags": ["a", "b"],
                "country": "DE",
                "version": "1.2.3",
            },
        }
        for i in range(n)
    ]


def server_count(client: httpx.Client, url: str) -> int:
    return int(client.get(url).text)


def reset(client: httpx.Client, url: str) -> None:
    client.delete(url)


def run_sdk(url: str, n: int) -> float:
    from posthog import Posthog

    data = events(n)
    sdk = Posthog(KEY, host=url, max_queue_size=n + 1000, max_retries=0)
    t0 = time.perf_counter()
    for e in data:
        sdk.capture(
            e["event"],
            distinct_id=e["distinct_id"],
            properties=e["properties"],
            timestamp=e["timestamp"],
            uuid=e["uuid"],
        )
    sdk.flush()
    sdk.shutdown()
    return time.perf_counter() - t0


def run_raw(url: str, n: int, chunk: int) -> float:
    data = events(n)
    with httpx.Client(timeout=60) as client:
        t0 = time.perf_counter()
        for start in range(0, n, chunk):
            body = orjson.dumps({"api_key": KEY, "batch": data[start : start + chunk]})
            client.post(url + "/batch/", content=body, headers={"Content-Type": "application/json"})
        return time.perf_counter() - t0


def run_composer(url: str, n: int, chunk: int) -> float:
    from composer.core.batch.rows import BatchRow
    from composer.services.batch_sender import BatchSender
    from composer.services.transport import Transport

    # The rows exist before Send (the batch table holds them); their sizes come from the import.
    rows = [BatchRow.of(e, 260) for e in events(n)]
    with Transport() as transport:
        t0 = time.perf_counter()
        summary = BatchSender(transport, url + "/batch/", KEY, max_events=chunk).send(rows)
        elapsed = time.perf_counter() - t0
    assert summary.progress.sent == n, summary.line()
    return elapsed


def run_journaled(url: str, n: int, chunk: int) -> float:
    """The composer with the send journal the CLI keeps: one fsync per answered chunk."""
    from composer.core.batch.journal import JournalHeader, JournalKind
    from composer.core.batch.rows import BatchRow
    from composer.services.batch_sender import BatchSender
    from composer.services.journal import JournalLock, SendJournal, utc_now
    from composer.services.transport import Transport

    rows = [BatchRow.of(e, 260) for e in events(n)]
    # In the home folder: /tmp may be a tmpfs, where fsync costs nothing and proves nothing.
    folder = Path(tempfile.mkdtemp(dir=Path.home()))
    path = folder / "bench.jsonl"
    header = JournalHeader(JournalKind.CLI, utc_now(), url + "/batch/", "bench", "00" * 16)
    with Transport() as transport:
        t0 = time.perf_counter()
        journal = SendJournal.create(path, header, JournalLock(path).acquire())
        sender = BatchSender(transport, url + "/batch/", KEY, max_events=chunk, journal=journal)
        summary = sender.send(rows)
        elapsed = time.perf_counter() - t0
    journal.discard()
    assert summary.progress.sent == n, summary.line()
    print(
        f"  journal: {journal.fsyncs} fsyncs, {journal.fsync_seconds * 1000:.1f} ms in fsync"
        f" ({100 * journal.fsync_seconds / elapsed:.1f} % of the send), in {folder}"
    )
    return elapsed


def import_rows(n: int) -> tuple[float, float]:
    """Seconds and peak MiB to import n JSONL rows into the window's batch table model."""
    path = Path(tempfile.mkdtemp()) / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events(n)))
    code = f"""
import resource, time, os
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtWidgets import QApplication, QTableView
app = QApplication([])
from composer.services.batch_files import read_batch_file
from composer.ui.batch.model import BatchModel
view = QTableView(); model = BatchModel(); view.setModel(model); view.show()
t0 = time.perf_counter()
result = read_batch_file({str(path)!r})
model.add_rows(result.rows)
app.processEvents()
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="events per request")
    parser.add_argument("--skip-sdk", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    n = args.events
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = f"http://127.0.0.1:{proc.stdout.readline().strip()}"
    results: dict[str, float] = {}
    try:
        with httpx.Client() as client:
            contenders = [
                ("raw httpx", lambda: run_raw(url, n, args.chunk)),
                ("composer", lambda: run_composer(url, n, args.chunk)),
                ("composer+journal", lambda: run_journaled(url, n, args.chunk)),
            ]
            if not args.skip_sdk:
                contenders.insert(0, ("posthog-python", lambda: run_sdk(url, n)))
            for name, fn in contenders:
                reset(client, url)
                seconds = fn()
                delivered = server_count(client, url)
                results[name] = n / seconds
                print(
                    f"{name:<16} {seconds:6.2f} s  {n / seconds:10,.0f} events/s"
                    f"  ({delivered:,} delivered)"
                )
    finally:
        proc.terminate()
        proc.wait()
        proc.stdout.close()
    ours = results["composer"]
    print(f"composer / raw httpx      {ours / results['raw httpx']:.2f}x (target >= 0.8x)")
    journaled = results["composer+journal"]
    print(f"journal overhead          {100 * (1 - journaled / ours):.1f} % (target: a few %)")
    if "posthog-python" in results:
        print(f"composer / posthog-python {ours / results['posthog-python']:.1f}x (target >= 20x)")
    if args.skip_import:
        return
    seconds, peak = import_rows(n)
    print(
        f"import {n:,} JSONL rows into the batch table: {seconds:.2f} s, peak {peak:.0f} MiB"
        " (targets < 2 s, < 300 MB)"
    )


if __name__ == "__main__":
    main()
