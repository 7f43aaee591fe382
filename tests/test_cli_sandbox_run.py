"""`event-composer sandbox run -- COMMAND`: the CI gate, with the real posthog-python SDK in
the command it runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

PLAN = """\
version: 1
allow_unplanned_events: false
events:
  signed_up:
    properties:
      plan: {type: string, enum: [free, team], required: true}
"""


def snippet(*calls: str) -> list[str]:
    """A posthog-python program that reads the host and key the sandbox run gives it."""
    body = "\n".join(
        [
            "import os",
            "from posthog import Posthog",
            "p = Posthog(os.environ['POSTHOG_PROJECT_API_KEY'], host=os.environ['POSTHOG_HOST'],"
            " sync_mode=True, max_retries=0)",
            *calls,
            "p.shutdown()",
        ]
    )
    return [sys.executable, "-c", body]


def test_good_events_pass_the_gate(run_cli, tmp_path: Path) -> None:
    plan = tmp_path / "tracking-plan.yaml"
    plan.write_text(PLAN)
    report = tmp_path / "report.json"
    result = run_cli(
        "sandbox", "run", "--plan", str(plan), "--report-json", str(report), "--",
        *snippet("p.capture('signed_up', distinct_id='u1', properties={'plan': 'team'})"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Sandbox report: 1 events in 1 requests: 1 accepted" in result.stderr
    assert "OK: nothing PostHog would refuse or drop" in result.stderr
    doc = json.loads(report.read_text())
    assert doc["events"] == {"signed_up": 1}
    assert doc["plan_breaks"] == []


def test_an_event_that_breaks_the_plan_fails_the_gate_and_is_named(run_cli, tmp_path: Path) -> None:
    plan = tmp_path / "tracking-plan.yaml"
    plan.write_text(PLAN)
    result = run_cli(
        "sandbox", "run", "--plan", str(plan), "--",
        *snippet(
            "p.capture('signed_up', distinct_id='u1', properties={'plan': 'enterprise'})",
            "p.capture('checkout', distinct_id='u1')",
        ),
    )  # fmt: skip
    assert result.returncode == 1
    assert "plan: signed_up: plan.enum" in result.stderr
    assert "plan: checkout: plan.unplanned_event" in result.stderr
    assert "FAILED: 2 event(s) break the tracking plan" in result.stderr
    softened = run_cli(
        "sandbox", "run", "--plan", str(plan), "--allow", "plan", "--",
        *snippet("p.capture('checkout', distinct_id='u1')"),
    )  # fmt: skip
    assert softened.returncode == 0, softened.stderr


def test_a_refused_request_and_a_missing_expected_event_fail(run_cli, tmp_path: Path) -> None:
    expect = tmp_path / "expected.json"
    expect.write_text(json.dumps(["signed_up", {"event": "paid", "count": 2}]))
    poster = (
        "import httpx, os; httpx.post(os.environ['POSTHOG_SANDBOX_URL'] + '/batch/',"
        " json={'api_key': os.environ['POSTHOG_PROJECT_API_KEY'], 'batch': [{'event': 'x'}]})"
    )
    result = run_cli(
        "sandbox", "run", "--expect", str(expect), "--",
        *snippet("p.capture('signed_up', distinct_id='u1')", "p.capture('paid', distinct_id='u1')"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "missing: paid x2 (arrived 1)" in result.stderr
    refused = run_cli("sandbox", "run", "--", sys.executable, "-c", poster)
    assert refused.returncode == 1
    assert "rejected: POST /batch/ -> 400 event submitted without a distinct_id" in refused.stderr
    allowed = run_cli("sandbox", "run", "--allow", "rejected", "--", sys.executable, "-c", poster)
    assert allowed.returncode == 0


def test_the_commands_own_failure_is_the_gates_exit(run_cli) -> None:
    failing = run_cli("sandbox", "run", "--", sys.executable, "-c", "raise SystemExit(3)")
    assert failing.returncode == 1
    assert "the command exited with 3" in failing.stderr
    usage = run_cli("sandbox", "run")
    assert usage.returncode == 2
    assert "give the command to run after --" in usage.stderr
    bad = run_cli("sandbox", "run", "--allow", "nonsense", "--", "true")
    assert bad.returncode == 2
    assert "--allow takes rejected, dropped, plan, missing" in bad.stderr
