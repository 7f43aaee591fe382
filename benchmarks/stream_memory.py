"""Peak memory of `event-composer validate FILE` and `send FILE` on a JSON Lines file of any
size: both read it a block at a time, so their peak RSS must not grow with the file.

Writes N events (default 10,000,000; the events of batch_send.py, ~330 bytes a line) to a
temporary file, then runs each command as a whole process and reads its peak RSS (its own
high-water mark, and the largest sum of its RSS and its reader processes' while it runs). The
send goes to a sink on 127.0.0.1 that reads each body and drops it (so the sink's memory is
not the sender's concern), with the CLI's default chunking. Prints events, seconds, events/s
and peak RSS for each, and the same for a 100,000-event file as the reference: bounded memory
means the two peaks are about equal.

Run: PYTHONPATH=. .venv/bin/python benchmarks/stream_memory.py [--events N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from batch_send import app_dirs, command_env, compile_package, events, start_sink

LIMIT_MIB = 300  # #17's bound for a 10M-event file

# A sink that reads and forgets: HTTP/1.1 keep-alive, TCP_NODELAY, one answer per body.
SINK = r"""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_POST(self):
        left = int(self.headers["Content-Length"])
        while left:
            left -= len(self.rfile.read(min(left, 1 << 20)))
        out = b'{"status":"Ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def write_file(path: Path, n: int) -> None:
    template = events(20)  # varied names and ids, then a uuid of its own per line
    with path.open("wb") as out:
        for start in range(0, n, 100_000):
            lines = []
            for i in range(start, min(n, start + 100_000)):
                event = dict(template[i % 20])
                event["distinct_id"] = f"user-{i % 5000}"
                event["uuid"] = f"00000000-0000-4000-8000-{i + 1:012x}"
                lines.append(orjson.dumps(event))
            out.write(b"\n".join(lines) + b"\n")


def _status(pid: int, field: str) -> int:
    """A kB field of /proc/PID/status (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, float, int]:
    """Seconds, peak RSS in MiB of the command's own process and of it with its reader
    processes (`send` and `validate` fork two for a big file), exit status.

    The own peak is the kernel's high-water mark (VmHWM in /proc/PID/status), read every 20 ms
    until it exits: wait4's ru_maxrss would count this script's memory too, since a child
    keeps its parent's mark across fork and exec. With the readers: the largest sum, over the
    same polls, of the process's RSS and its children's, so the pages a reader shares with
    its parent (it is forked) count twice, an upper bound."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err_file:  # not a pipe: the progress line would fill one
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err_file)
        own_kib = tree_kib = 0
        while proc.poll() is None:
            own_kib = max(own_kib, _status(proc.pid, "VmHWM:"))
            rss = _status(proc.pid, "VmRSS:") + sum(
                _status(child, "VmRSS:") for child in _children(proc.pid)
            )
            tree_kib = max(tree_kib, rss, own_kib)
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        err_file.seek(0)
        err = err_file.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.stderr.write(err[-2000:])
    return seconds, own_kib / 1024, tree_kib / 1024, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args()
    python = sys.executable
    cli = str(Path(python).with_name("event-composer"))
    compile_package()
    work = Path(tempfile.mkdtemp(prefix="bench-stream-memory-"))
    sink, url = start_sink(SINK)
    env = command_env()
    rows: list[tuple[str, int, float, float, float, int]] = []
    try:
        for n in (100_000, args.events):
            source = work / f"events-{n}.jsonl"
            write_file(source, n)
            size = source.stat().st_size
            print(f"{n:,} events, {size / 1e9:.2f} GB", flush=True)
            for name, command in (
                ("validate", [cli, "validate", str(source)]),
                ("send", [cli, "send", str(source), "--host", url, "--yes"]),
            ):
                seconds, peak, tree, code = run(command, env | app_dirs(work / f"{name}-{n}"))
                rows.append((name, n, seconds, peak, tree, code))
                print(
                    f"  {name:9s} {seconds:8.1f} s  {peak:7.1f} MiB, with readers {tree:7.1f} MiB"
                    f"  exit {code}",
                    flush=True,
                )
            source.unlink()
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    print()
    print(
        f"{'command':10s} {'events':>12s} {'seconds':>9s} {'events/s':>10s} {'peak RSS':>10s}"
        f" {'with readers':>13s}"
    )
    for name, n, seconds, peak, tree, code in rows:
        status = "" if code == 0 else f"  (exit {code})"
        print(
            f"{name:10s} {n:12,d} {seconds:9.1f} {n / seconds:10,.0f} {peak:7.1f} MiB"
            f" {tree:9.1f} MiB{status}"
        )
    for name in ("validate", "send"):
        big = max((r for r in rows if r[0] == name), key=lambda r: r[1])
        verdict = "under" if big[4] < LIMIT_MIB else "OVER"
        print(
            f"{name}: peak {big[3]:.1f} MiB ({big[4]:.1f} MiB with its reader processes) for"
            f" {big[1]:,} events, {verdict} {LIMIT_MIB} MB"
        )


if __name__ == "__main__":
    main()
