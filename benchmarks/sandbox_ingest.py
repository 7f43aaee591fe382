"""How fast the sandbox ingests, next to a null sink, from one raw-httpx client, same run.

The client posts pre-serialised 1,000-event /batch/ bodies over one keep-alive connection, so
it costs the same against both servers. The null sink (an asyncio server with TCP_NODELAY
that reads each body and answers {"status":"Ok"} in one write) is the ceiling: it shows what
the client and the loopback can do, so the sandbox's figure is not limited by a slow reference.
Both servers run as their own processes; each pair of runs is sink then sandbox, and the
medians of --runs pairs are printed. A single small POST's latency (p50) is printed for both.

Run: .venv/bin/python benchmarks/sandbox_ingest.py [--events 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

KEY = "phc_benchmark_sandbox_ingest_key_0000000"
SINK = r"""
import asyncio, socket, sys
OK = (b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n'
      b'{"status":"Ok"}')
async def client(reader, writer):
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            writer.write(OK)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(client, "127.0.0.1", 0, limit=1 << 20)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


def bodies(events: int, per_batch: int) -> list[bytes]:
    made = []
    for start in range(0, events, per_batch):
        batch = [
            {
                "event": f"event_{i % 20}",
                "distinct_id": f"user-{i % 5000}",
                "timestamp": "2024-05-01T12:00:00.000Z",
                "uuid": str(uuid.UUID(int=i + 1)),
                "properties": {"plan": "team", "seats": i % 50, "source": "web", "price": 12.5},
            }
            for i in range(start, min(start + per_batch, events))
        ]
        made.append(orjson.dumps({"api_key": KEY, "batch": batch}))
    return made


def start(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for _ in range(12):
        line = proc.stdout.readline()
        if line.strip().isdigit():
            return proc, f"http://127.0.0.1:{line.strip()}"
        if line.startswith("Listening on "):
            return proc, line.split()[-1]
    proc.kill()
    raise SystemExit(f"the server did not start: {command}")


def post_all(url: str, payloads: list[bytes]) -> float:
    headers = {"Content-Type": "application/json"}
    with httpx.Client(timeout=60) as client:
        client.post(url + "/batch/", content=payloads[0], headers=headers)  # connect, warm up
        started = time.perf_counter()
        for body in payloads:
            answer = client.post(url + "/batch/", content=body, headers=headers)
            if answer.status_code != 200:
                raise SystemExit(f"{url} answered {answer.status_code}: {answer.text[:200]}")
        return time.perf_counter() - started


def latency(url: str, samples: int = 200) -> float:
    body = orjson.dumps({"api_key": KEY, "batch": [{"event": "e", "distinct_id": "u"}]})
    times = []
    with httpx.Client() as client:
        for _ in range(samples):
            started = time.perf_counter()
            client.post(url + "/batch/", content=body, headers={"Content-Type": "application/json"})
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    payloads = bodies(args.events, args.batch)
    cli = str(Path(sys.executable).parent / "event-composer")
    sink_rates, sandbox_rates, sink_ms, sandbox_ms = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.runs):
            sink, sink_url = start([sys.executable, "-c", SINK])
            try:
                sink_rates.append(args.events / post_all(sink_url, payloads))
                sink_ms.append(latency(sink_url))
            finally:
                sink.kill()
            db = Path(folder) / f"inbox-{run}.sqlite3"
            sandbox, url = start([cli, "sandbox", "--port", "0", "--db", str(db)])
            try:
                sandbox_rates.append(args.events / post_all(url, payloads))
                sandbox_ms.append(latency(url))
                counted = httpx.get(url + "/_sandbox/counts").json()
            finally:
                sandbox.kill()
            expected = args.events + 1 + 200  # the warm-up batch and the latency posts
            if counted["accepted"] + counted["changed"] < expected - args.batch:
                raise SystemExit(f"the sandbox stored {counted}, expected about {expected}")
    sink_rate = statistics.median(sink_rates)
    rate = statistics.median(sandbox_rates)
    print(
        f"{args.events:,} events in {args.batch:,}-event batches, one raw-httpx client,"
        f" median of {args.runs} paired runs"
    )
    print(
        f"  null sink (the ceiling): {sink_rate:>10,.0f} events/s   single POST p50"
        f" {statistics.median(sink_ms):.2f} ms"
    )
    print(
        f"  sandbox:                 {rate:>10,.0f} events/s   single POST p50"
        f" {statistics.median(sandbox_ms):.2f} ms"
    )
    print(f"  sandbox / sink: {rate / sink_rate:.2f}x")


if __name__ == "__main__":
    main()
