"""Whole-process batch sends of one JSON Lines file to one local sink, paired in the same run.

One file of N events (default 100,000; uuid, timestamp and 8 properties each) is sent to a sink
on 127.0.0.1 by whole processes, each timed from spawn to exit (`time.perf_counter` around
`subprocess.run`), so interpreter start-up, imports, reading and parsing the file count for
every contender alike:

- `event-composer send FILE --host SINK` (the real CLI: reads, checks, chunks, keeps its send
  journal with an fsync per answered request; the key from $POSTHOG_PROJECT_API_KEY, the data
  and config folders in a temporary folder per run);
- raw httpx, the reference: a `python -c` script that reads the same file, parses each line with
  orjson and posts `{"api_key": ..., "batch": [...]}` chunks of the CLI's default size with one
  `httpx.Client`;
- the posthog-python SDK (`--skip-sdk` to leave it out): `capture` per event, `flush`,
  `shutdown`;
- the window's batch send: a process that builds the real main window offscreen, imports the
  file into the batch, switches the target to "Other host (not saved)" with the sink's URL and
  the key, then times `Send batch` alone (import and start-up excluded) until it is idle again.

The contenders run once per round, in an order rotated every round; the table gives the median
over the rounds, the range, events/s and the ratio to raw httpx. The sink is reset before every
run and its count checked against N after it (the window's rows must all be marked sent too).
The sink (a separate process: HTTP/1.1 keep-alive, TCP_NODELAY, gzip-aware) reads each body
whole and answers `{"status":"Ok"}` at once; it parses the bodies with orjson and counts their
events when asked for the count, after the contender has exited, so its parsing never competes
with a sender for the CPU. It prints its own ceiling first: the events/s it absorbs from one
httpx client posting bodies serialised before the clock starts (and how fast it then counts
them), so it can be seen not to be the bottleneck. The start-up of
`python -c "import httpx, orjson"` is printed for context, and the window's import time and
peak memory (not part of its send time) too.

Run: PYTHONPATH=. .venv/bin/python benchmarks/batch_send.py [--events N] [--rounds N]
     [--skip-sdk] [--sdk-rounds N] [--skip-window] [--quick]
`--quick` is 20,000 events, one round, no SDK: a smoke run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from composer.core.batch.rows import DEFAULT_CHUNK_EVENTS

ROOT = Path(__file__).resolve().parent.parent
KEY = "phc_benchmark_key_000000000000000000000000"
SDK_FLUSH_AT = 100  # posthog-python's default flush_at: events per request

# The sink: one thread per connection (each contender uses one), keep-alive, no Nagle delay.
# A POST is read whole and answered at once; its body is kept, and decompressed, parsed with
# orjson and counted when the count is asked for (GET), after the contender's process has
# ended: so the sink's parse neither delays a sender nor takes a core from it while it runs.
SINK = r"""
import gzip, threading, orjson
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
bad = 0
bodies = []
lock = threading.Lock()
OK = b'{"status":"Ok"}'
def counted(body, zipped):
    data = orjson.loads(gzip.decompress(body) if zipped else body)
    if isinstance(data, dict) and isinstance(data.get("batch"), list):
        return len(data["batch"])
    return len(data) if isinstance(data, list) else 1
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else small answers wait 40 ms each for a delayed ACK
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with lock:
            bodies.append((body, self.headers.get("Content-Encoding") == "gzip"))
        self._answer(OK, "application/json")
    def do_GET(self):
        global count, bad
        with lock:
            for body, zipped in bodies:
                try:
                    count += counted(body, zipped)
                except Exception:
                    bad += 1  # an unreadable body counts nothing: the delivered check fails
            bodies.clear()
            out = f"{count} {bad}".encode()
        self._answer(out, "text/plain")
    def do_DELETE(self):
        global count, bad
        with lock:
            count = bad = 0
            bodies.clear()
        self._answer(OK, "application/json")
    def _answer(self, out, kind):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""

# argv: file, url, key, chunk
RAW = r"""
import sys, httpx, orjson
path, url, key, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(path, "rb") as f:
    events = [orjson.loads(line) for line in f if line.strip()]
with httpx.Client(timeout=60) as client:
    for start in range(0, len(events), chunk):
        body = orjson.dumps({"api_key": key, "batch": events[start:start + chunk]})
        r = client.post(url + "/batch/", content=body, headers={"Content-Type": "application/json"})
        r.raise_for_status()
"""

# argv: file, url, key
SDK = r"""
import sys, orjson
from posthog import Posthog
path, url, key = sys.argv[1], sys.argv[2], sys.argv[3]
with open(path, "rb") as f:
    events = [orjson.loads(line) for line in f if line.strip()]
sdk = Posthog(key, host=url, max_queue_size=len(events) + 1000, max_retries=0)
for e in events:
    sdk.capture(
        e["event"],
        distinct_id=e["distinct_id"],
        properties=e["properties"],
        timestamp=e["timestamp"],
        uuid=e["uuid"],
    )
sdk.flush()
sdk.shutdown()
"""

# argv: file, url, key. Prints one JSON line: the send's seconds, the rows sent, the chunk size.
WINDOW = r"""
import resource, sys, time, orjson
from composer.core.batch.rows import RowStatus
from window_driver import open_window, wait as turn
path, url, key = sys.argv[1], sys.argv[2], sys.argv[3]
app, window = open_window()

def wait(condition, what):
    turn(app, condition, what)

ws = window.workspace
batch = ws.batch
t0 = time.perf_counter()
batch.import_file(path)
wait(lambda: not batch.busy and len(batch.model.rows) > 0 and not batch.checks_running, "import")
imported = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB, the window's process
# The target: "Other host (not saved)", typed as a user would type it.
window.target.setCurrentIndex(window.target.findData("__other__"))
app.processEvents()
window.host.setText(url)
window.key.setText(key)
app.processEvents()
target = batch.sending.context() if batch.sending.context else None
if target is None or target[0] != url + "/batch/" or target[1] != key:
    raise SystemExit(f"window: the batch target is {target and target[:1]}, not the sink {url}")
for _ in range(50):
    app.processEvents()
t0 = time.perf_counter()
batch.send_all()
wait(lambda: not batch.busy, "the send")
seconds = time.perf_counter() - t0
sent = sum(1 for r in batch.model.rows if r.status is RowStatus.SENT)
report = {"seconds": seconds, "sent": sent, "rows": len(batch.model.rows), "import": imported,
          "peak": peak, "chunk": batch.sending.chunk_events}
print(orjson.dumps(report).decode(), flush=True)
window.close()
app.processEvents()
"""


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


def compile_package() -> None:
    """Bytecode for the package, as an install has it: a checkout run with
    PYTHONDONTWRITEBYTECODE has none, and every run would time the compiler on the modules
    the CLI imports (0.1 s here), which httpx's and orjson's own bytecode spare the
    references."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "composer")], check=True)


def start_sink(code: str = SINK) -> tuple[subprocess.Popen[str], str]:
    """A sink script (it prints its port) started on 127.0.0.1, and its URL."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, f"http://127.0.0.1:{proc.stdout.readline().strip()}"


def app_dirs(folder: Path) -> dict[str, str]:
    """The composer's data, config and cache folders, under `folder`."""
    return {
        f"COMPOSER_{part.upper()}_DIR": str(folder / part) for part in ("data", "config", "cache")
    }


def command_env() -> dict[str, str]:
    """The environment a CLI contender runs in: this checkout's composer, the benchmark's key,
    nothing else of PostHog's from the caller's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")}
    env["PYTHONPATH"] = str(ROOT)
    env["POSTHOG_PROJECT_API_KEY"] = KEY
    return env


def write_file(path: Path, n: int) -> None:
    with path.open("wb") as out:
        for event in events(n):
            out.write(orjson.dumps(event) + b"\n")


@dataclass
class Sink:
    url: str
    client: httpx.Client

    def reset(self) -> None:
        self.client.delete(self.url + "/").raise_for_status()

    def count(self) -> int:
        """The events of every body received since the reset (parsed now); -1 when a body
        could not be parsed."""
        counted, bad = self.client.get(self.url + "/").text.split()
        return -1 if int(bad) else int(counted)


@dataclass
class Ceiling:
    chunk: int
    absorbed: float  # events/s from the first POST to the last answer
    counted: float  # events/s of the deferred parse and count (the GET)


def sink_ceiling(sink: Sink, n: int, chunk: int, repeats: int = 3) -> Ceiling:
    """Events/s the sink absorbs from one httpx client posting bodies serialised beforehand,
    and how fast it then counts them; medians over `repeats`."""
    data = events(n)
    bodies = [
        orjson.dumps({"api_key": KEY, "batch": data[start : start + chunk]})
        for start in range(0, n, chunk)
    ]
    headers = {"Content-Type": "application/json"}
    absorbed, counted = [], []
    with httpx.Client(timeout=60) as client:
        for _ in range(repeats):
            sink.reset()
            client.get(sink.url + "/")  # connected before the clock starts
            t0 = time.perf_counter()
            for body in bodies:
                client.post(sink.url + "/batch/", content=body, headers=headers)
            t1 = time.perf_counter()
            delivered = sink.count()
            t2 = time.perf_counter()
            if delivered != n:
                raise SystemExit(f"sink ceiling: {delivered:,} of {n:,} counted")
            absorbed.append(n / (t1 - t0))
            counted.append(n / (t2 - t1))
    return Ceiling(chunk, statistics.median(absorbed), statistics.median(counted))


@dataclass
class Result:
    name: str
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    imports: list[float] = field(default_factory=list)  # the window's import seconds
    peaks: list[float] = field(default_factory=list)  # and its peak MiB after the import
    chunk: int = 0  # events per request, as the window reports it

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class Contender:
    name: str
    command: Callable[[Path], list[str]]  # given a fresh temporary folder for the run
    env: Callable[[Path], dict[str, str]] = lambda _folder: {}
    # The process reports its own seconds (the window's send alone); else spawn to exit.
    self_timed: bool = False
    rounds: int = 0  # 0: every round


def run_once(
    contender: Contender, sink: Sink, n: int, base_env: dict[str, str]
) -> tuple[float, dict[str, float]]:
    """The run's seconds (and the window's report), its delivery checked."""
    folder = Path(tempfile.mkdtemp(prefix="bench-run-"))
    try:
        env = base_env | contender.env(folder)
        sink.reset()
        t0 = time.perf_counter()
        done = subprocess.run(
            contender.command(folder), env=env, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError(f"exit {done.returncode}: {' | '.join(tail)}")
        extra: dict[str, float] = {}
        if contender.self_timed:
            report = orjson.loads(done.stdout.strip().splitlines()[-1])
            if report["sent"] != n:
                raise RuntimeError(f"the window marked {report['sent']:,} of {n:,} rows sent")
            seconds, extra = float(report["seconds"]), report
        delivered = sink.count()
        if delivered != n:
            raise RuntimeError(f"{delivered:,} of {n:,} events delivered")
        return seconds, extra
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def rotated(items: Sequence[Contender], k: int) -> list[Contender]:
    k %= len(items)
    return [*items[k:], *items[:k]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds (default 3)")
    parser.add_argument("--skip-sdk", action="store_true", help="leave posthog-python out")
    parser.add_argument(
        "--sdk-rounds", type=int, default=0, help="rounds with the SDK (default: every round)"
    )
    parser.add_argument("--skip-window", action="store_true", help="leave the window out")
    parser.add_argument("--quick", action="store_true", help="20,000 events, 1 round, no SDK")
    args = parser.parse_args()
    if args.quick:
        args.events, args.rounds, args.skip_sdk = 20_000, 1, True
    n, rounds = args.events, max(1, args.rounds)
    chunk = DEFAULT_CHUNK_EVENTS  # the CLI's --max-events default, and the window's
    python = sys.executable
    cli = str(Path(python).with_name("event-composer"))
    compile_package()

    work = Path(tempfile.mkdtemp(prefix="bench-batch-send-"))
    source = work / "events.jsonl"
    write_file(source, n)
    size = source.stat().st_size
    base_env = dict(os.environ)
    base_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), base_env.get("PYTHONPATH", "")) if p
    )
    base_env.pop("POSTHOG_HOST", None)
    base_env.pop("POSTHOG_PROJECT_API_KEY", None)

    proc, url = start_sink()
    print(f"{n:,} events in {source} ({size / 1e6:.1f} MB), {rounds} round(s), sink at {url}")
    try:
        with httpx.Client(timeout=30) as client:
            sink = Sink(url, client)
            ceilings = [sink_ceiling(sink, n, c) for c in sorted({chunk, SDK_FLUSH_AT})]
            contenders = [
                Contender(
                    "event-composer send",
                    lambda _f: [cli, "send", str(source), "--host", url],
                    lambda f: app_dirs(f) | {"POSTHOG_PROJECT_API_KEY": KEY},
                ),
                Contender(
                    "raw httpx", lambda _f: [python, "-c", RAW, str(source), url, KEY, str(chunk)]
                ),
            ]
            if not args.skip_sdk:
                contenders.append(
                    Contender(
                        "posthog-python",
                        lambda _f: [python, "-c", SDK, str(source), url, KEY],
                        rounds=args.sdk_rounds,
                    )
                )
            if not args.skip_window:
                # The window's script drives it with benchmarks/window_driver.py.
                here = str(Path(__file__).resolve().parent)
                paths = os.pathsep.join((here, base_env["PYTHONPATH"]))
                window_env = {"QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": paths}
                contenders.append(
                    Contender(
                        "window Send batch",
                        lambda _f: [python, "-c", WINDOW, str(source), url, KEY],
                        lambda f: app_dirs(f) | window_env,
                        self_timed=True,
                    )
                )
            startup = Contender(
                "python -c 'import httpx, orjson'",
                lambda _f: [python, "-c", "import httpx, orjson"],
            )
            results = {c.name: Result(c.name) for c in [*contenders, startup]}
            for r in range(rounds):
                order = [c for c in rotated(contenders, r) if not c.rounds or r < c.rounds]
                print(f"round {r + 1}: " + ", ".join(c.name for c in order), flush=True)
                for contender in [*order, startup]:
                    result = results[contender.name]
                    try:
                        if contender is startup:
                            t0 = time.perf_counter()
                            subprocess.run(contender.command(work), env=base_env, check=True)
                            result.seconds.append(time.perf_counter() - t0)
                        else:
                            seconds, extra = run_once(contender, sink, n, base_env)
                            result.seconds.append(seconds)
                            if extra:
                                result.imports.append(extra["import"])
                                result.peaks.append(extra["peak"])
                                result.chunk = int(extra["chunk"])
                    except (RuntimeError, subprocess.CalledProcessError) as exc:
                        result.failures.append(str(exc))
                        print(f"  {contender.name}: FAILED: {exc}", flush=True)
    finally:
        proc.terminate()
        proc.wait()
        proc.stdout.close()
        shutil.rmtree(work, ignore_errors=True)
    report(results, ceilings, n, chunk, args)


def report(
    results: dict[str, Result],
    ceilings: list[Ceiling],
    n: int,
    chunk: int,
    args: argparse.Namespace,
) -> None:
    print()
    print("sink ceiling (bodies serialised before the clock, posted with one httpx client):")
    for ceiling in ceilings:
        print(
            f"  {ceiling.chunk:>6,} events/request: absorbs {ceiling.absorbed:11,.0f} events/s;"
            f" then parses and counts {ceiling.counted:9,.0f} events/s (outside every clock)"
        )
    raw = results["raw httpx"]
    raw_rate = n / raw.median if raw.seconds else 0.0
    print()
    print(
        f"{'contender':<34} {'median s':>9} {'min–max s':>13} {'events/s':>11} {'× raw':>7}  runs"
    )
    for result in results.values():
        if not result.seconds:
            print(f"{result.name:<34} {'failed':>9}")
            continue
        lo, hi = min(result.seconds), max(result.seconds)
        rate = n / result.median
        startup = result.name.startswith("python -c")
        times = "" if startup or not raw_rate else f"{rate / raw_rate:6.2f}x"
        shown = "" if startup else f"{rate:11,.0f}"
        failed = f", {len(result.failures)} failed" if result.failures else ""
        print(
            f"{result.name:<34} {result.median:9.3f} {lo:6.3f}–{hi:6.3f} {shown:>11} {times:>7}"
            f"  {len(result.seconds)}{failed}"
        )
    window = results.get("window Send batch")
    window_chunk = window.chunk if window is not None and window.chunk else chunk
    print()
    print(f"events per request: event-composer send {chunk:,} (its --max-events default),")
    print(f"  raw httpx {chunk:,} (the same), window {window_chunk:,} (the batch room's default),")
    print(f"  posthog-python {SDK_FLUSH_AT} (its flush_at default)")
    print("every contender is a whole process timed from spawn to exit, except the window:")
    print("  its Send batch alone, from send_all() until the panel is idle; start-up and the")
    if window is not None and window.imports:
        imported, peak = statistics.median(window.imports), statistics.median(window.peaks)
        print(f"  import of the file (median {imported:.2f} s, with its checks) are excluded;")
        print(f"  the window's peak RSS after the import: median {peak:.0f} MiB")
    else:
        print("  import of the file are excluded")
    cli = results["event-composer send"]
    if cli.seconds and raw.seconds:
        ratio = raw.median / cli.median
        print(f"event-composer send / raw httpx:        {ratio:6.2f}x  (target >= 1.0x)")
    sdk = results.get("posthog-python")
    if sdk is not None and sdk.seconds and cli.seconds:
        ratio = sdk.median / cli.median
        runs = len(sdk.seconds)
        print(
            f"event-composer send / posthog-python:   {ratio:6.1f}x  (target >= 30x;"
            f" {runs} SDK run{'s' * (runs != 1)})"
        )
    elif args.skip_sdk:
        print("event-composer send / posthog-python:   skipped (--skip-sdk)")
    if window is not None and window.seconds and cli.seconds:
        ratio = cli.median / window.median
        print(f"window Send batch / event-composer send: {ratio:5.2f}x  (events/s; target >= 0.8x)")
    elif args.skip_window:
        print("window Send batch / event-composer send: skipped (--skip-window)")
    for result in results.values():
        for failure in result.failures:
            print(f"FAILED {result.name}: {failure}")


if __name__ == "__main__":
    main()
