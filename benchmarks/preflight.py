"""Times the pre-flight check on 100,000 events and prints microseconds per event.

Baseline in the same run: parsing the same body with orjson alone (the floor for any check
that reads the body). Run: .venv/bin/python benchmarks/preflight.py [--events N]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import orjson

from composer.core.capture.preflight import CheckOptions, check_body, check_text


def make_batch(n: int) -> dict[str, object]:
    events = [
        {
            "event": f"event_{i % 20}",
            "distinct_id": f"user-{i % 5000}",
            "timestamp": "2024-05-01T12:00:00.000Z",
            "uuid": str(uuid.UUID(int=i)),
            "properties": {
                "plan": "team",
                "seats": i % 50,
                "trial": i % 2 == 0,
                "source": "web",
                "price": 12.5,
                "tags": ["a", "b"],
                "$groups": {"company": f"c{i % 100}"},
                "$set": {"email": f"user{i}@example.com"},
            },
        }
        for i in range(n)
    ]
    return {"api_key": "phc_benchmark_key_0000000000000000000000", "batch": events}


def best_of(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    body = make_batch(args.events)
    text = orjson.dumps(body)
    options = CheckOptions(endpoint="/batch/")
    result = check_body(body, options)
    # One 100k-event body is over PostHog's 20 MiB limit; that finding is expected here.
    assert {f.code for f in result.errors} <= {"body.too_large"}, result.errors[:3]

    parse_best, _ = best_of(args.runs, lambda: orjson.loads(text))
    value_best, value_median = best_of(args.runs, lambda: check_body(body, options))
    text_best, text_median = best_of(args.runs, lambda: check_text(text, options))
    n = args.events
    print(f"events: {n:,}  body: {len(text) / 1024 / 1024:.1f} MiB  runs: {args.runs} (best)")
    print(f"baseline  orjson.loads only        {parse_best * 1e6 / n:8.2f} us/event")
    print(
        f"check_body (built value)           {value_best * 1e6 / n:8.2f} us/event"
        f"  (median {value_median * 1e6 / n:.2f})  {value_best / parse_best:5.1f}x baseline"
    )
    print(
        f"check_text (parse + check)         {text_best * 1e6 / n:8.2f} us/event"
        f"  (median {text_median * 1e6 / n:.2f})  {text_best / parse_best:5.1f}x baseline"
    )
    print(f"whole batch: {text_best:.2f} s for {n:,} events")


if __name__ == "__main__":
    main()
