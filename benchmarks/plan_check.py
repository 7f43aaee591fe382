"""How much a tracking plan adds to checking a batch: 100,000 rows checked by the pre-flight
rules alone (the baseline, in the same run) and with the example plan.

    .venv/bin/python benchmarks/plan_check.py
"""

from __future__ import annotations

import time

from composer.core.batch.rows import BatchRow, check_rows
from composer.services.plans import example_plan_path, load_plan

N = 100_000


def rows() -> list[BatchRow]:
    return [
        BatchRow.of(
            {
                "event": "invoice_paid",
                "distinct_id": f"user-{i}",
                "properties": {
                    "plan": ("free", "team", "enterprise")[i % 3],
                    "amount": i * 1.5,
                    "currency": "EUR" if i % 10 else "euro",  # one row in ten breaks the plan
                    "seats": 1 + i % 50,
                },
            }
        )
        for i in range(N)
    ]


def timed(plan: object) -> float:
    batch = rows()
    start = time.perf_counter()
    check_rows(batch, plan=plan)  # type: ignore[arg-type]
    return time.perf_counter() - start


def main() -> None:
    plan = load_plan(example_plan_path())
    assert not plan.problems
    baseline = min(timed(None) for _ in range(3))
    planned = min(timed(plan) for _ in range(3))
    print(f"{N:,} rows, pre-flight only:  {baseline:.2f} s ({baseline / N * 1e6:.1f} µs/row)")
    print(f"{N:,} rows, with the plan:    {planned:.2f} s ({planned / N * 1e6:.1f} µs/row)")
    print(f"ratio (with plan / pre-flight only): {planned / baseline:.2f}x")


if __name__ == "__main__":
    main()
