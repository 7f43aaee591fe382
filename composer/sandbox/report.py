"""What arrived in a sandbox during a run, judged for CI: `event-composer sandbox run`.

The report counts the events (accepted, changed, dropped, rejected), lists the persons and the
refused merges, the findings PostHog would act on, the events that break a tracking plan, and
the expected events that did not arrive. `failures` says which of those fail the run.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import orjson

from composer.core.plans.check import check_against_plan
from composer.core.plans.model import Plan
from composer.sandbox.persons import read_persons

# What can fail a run, and what `--allow` takes.
FAILING = ("rejected", "dropped", "plan", "missing")


@dataclass(frozen=True)
class Expectation:
    """An event that must have arrived: its name, and optionally its distinct id, a subset of
    its properties and how many times (at least)."""

    event: str
    distinct_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    count: int = 1

    def matches(self, stored: dict[str, Any]) -> bool:
        if stored.get("event") != self.event:
            return False
        if self.distinct_id is not None and stored.get("distinct_id") != self.distinct_id:
            return False
        props = stored.get("properties") or {}
        return all(props.get(k) == v for k, v in self.properties.items())

    def describe(self) -> str:
        parts = [self.event]
        if self.distinct_id is not None:
            parts.append(f"distinct_id={self.distinct_id}")
        parts += [f"{k}={orjson.dumps(v).decode()}" for k, v in self.properties.items()]
        return " ".join(parts) + (f" x{self.count}" if self.count != 1 else "")


def expectations_from(doc: Any) -> list[Expectation]:
    """Read an --expect document: a list of event names, or of {event, distinct_id,
    properties, count} objects (JSON or YAML). Raises ValueError saying what is wrong."""
    if isinstance(doc, dict) and "events" in doc:
        doc = doc["events"]
    if not isinstance(doc, list):
        raise ValueError("the expectations are a list of event names or {event: ...} objects")
    found: list[Expectation] = []
    for index, item in enumerate(doc):
        if isinstance(item, str):
            found.append(Expectation(item))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("event"), str):
            raise ValueError(f"item {index + 1} needs an event name: {{event: signed_up}}")
        count = item.get("count", 1)
        props = item.get("properties", {})
        distinct_id = item.get("distinct_id")
        if not isinstance(count, int) or count < 1 or not isinstance(props, dict):
            raise ValueError(
                f"item {index + 1}: count is a whole number of 1 or more and properties a mapping"
            )
        found.append(
            Expectation(
                item["event"],
                None if distinct_id is None else str(distinct_id),
                props,
                count,
            )
        )
    return found


@dataclass
class Report:
    requests: int = 0
    accepted: int = 0
    changed: int = 0
    dropped: int = 0
    rejected: int = 0
    refused_requests: list[dict[str, Any]] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    findings: list[dict[str, Any]] = field(default_factory=list)  # warnings, with their event
    dropped_events: list[dict[str, Any]] = field(default_factory=list)
    person_warnings: list[dict[str, Any]] = field(default_factory=list)
    persons: int = 0
    plan_breaks: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def failures(self, allow: Iterable[str] = ()) -> list[str]:
        """Why the run fails ([] when it passes), leaving out what `allow` names."""
        allowed = set(allow)
        why: list[str] = []
        if self.rejected and "rejected" not in allowed:
            why.append(f"{self.rejected} event(s) in requests PostHog would refuse")
        if self.dropped and "dropped" not in allowed:
            why.append(f"{self.dropped} event(s) PostHog would accept and then drop")
        if self.plan_breaks and "plan" not in allowed:
            why.append(f"{len(self.plan_breaks)} event(s) break the tracking plan")
        if self.missing and "missing" not in allowed:
            why.append(f"{len(self.missing)} expected event(s) did not arrive")
        return why

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "counts": {
                "accepted": self.accepted,
                "changed": self.changed,
                "dropped": self.dropped,
                "rejected": self.rejected,
            },
            "events": dict(self.events),
            "refused_requests": self.refused_requests,
            "findings": self.findings,
            "dropped_events": self.dropped_events,
            "persons": self.persons,
            "person_warnings": self.person_warnings,
            "plan_breaks": self.plan_breaks,
            "missing": self.missing,
        }

    def lines(self, allow: Iterable[str] = ()) -> list[str]:
        """The report as the terminal shows it."""
        out = [
            f"Sandbox report: {sum(self.events.values()) + self.rejected:,} events in"
            f" {self.requests:,} requests: {self.accepted:,} accepted, {self.changed:,} changed,"
            f" {self.dropped:,} dropped, {self.rejected:,} rejected; {self.persons:,} persons."
        ]
        if self.events:
            names = ", ".join(f"{name} x{n}" for name, n in self.events.most_common(12))
            out.append(f"  events: {names}")
        for refused in self.refused_requests[:10]:
            out.append(
                f"  rejected: {refused['method']} {refused['path']} -> {refused['status']}"
                f" {refused['reply']}"
            )
        for item in self.dropped_events[:10]:
            out.append(f"  dropped: {item['event']} ({item['distinct_id']}): {item['why']}")
        for item in self.findings[:20]:
            out.append(
                f"  warning: {item['event']}: {item['code']} at {item['path']}: {item['message']}"
            )
        for item in self.person_warnings[:10]:
            out.append(f"  person: {item['event']} ({item['distinct_id']}): {item['type']}:")
            out.append(f"           {item['message']}")
        for item in self.plan_breaks[:20]:
            out.append(
                f"  plan: {item['event']}: {item['code']} at {item['path']}: {item['message']}"
            )
        for name in self.missing:
            out.append(f"  missing: {name}")
        why = self.failures(allow)
        out.append(
            "  FAILED: " + "; ".join(why)
            if why
            else "  OK: nothing PostHog would refuse or drop, nothing the plan forbids."
        )
        return out


def build_report(db: str, plan: Plan | None = None, expected: Sequence[Expectation] = ()) -> Report:
    report = Report()
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        report.requests = conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        for method, path, status, reply, offered in conn.execute(
            "SELECT method, path, status, reply, offered FROM requests"
            " WHERE status >= 400 AND served = '' ORDER BY id"
        ):
            report.rejected += offered
            report.refused_requests.append(
                {
                    "method": method,
                    "path": path,
                    "status": status,
                    "reply": reply,
                    "events": offered,
                }
            )
        report.dropped += conn.execute(
            "SELECT COALESCE(SUM(filtered), 0) FROM requests"
        ).fetchone()[0]
        stored: list[dict[str, Any]] = []
        for event, distinct_id, verdict, normalized, findings, outcome in conn.execute(
            "SELECT e.event, e.distinct_id, e.verdict, e.normalized, e.findings, p.outcome"
            " FROM events e LEFT JOIN event_persons p ON p.event_id = e.id ORDER BY e.id"
        ):
            report.events[event] += 1
            value = orjson.loads(normalized)
            stored.append(value)
            setattr(report, verdict, getattr(report, verdict) + 1)
            notes = orjson.loads(findings)
            for f in notes:
                if f.get("severity") == "warning":
                    report.findings.append({"event": event, **f})
            person = orjson.loads(outcome) if outcome else None
            if verdict == "dropped":
                why = "; ".join(f["code"] for f in notes) or (person or {}).get("summary", "")
                report.dropped_events.append(
                    {"event": event, "distinct_id": distinct_id, "why": why}
                )
            for warning in (person or {}).get("warnings", []):
                report.person_warnings.append(
                    {"event": event, "distinct_id": distinct_id, **warning}
                )
    report.persons = len(read_persons(db, limit=100_000))
    if plan is not None and plan.usable:
        for value in stored:
            for f in check_against_plan(value, plan):
                if f.severity.value == "error":
                    report.plan_breaks.append(
                        {
                            "event": value.get("event"),
                            "code": f.code,
                            "path": f.path,
                            "message": f.message,
                        }
                    )
    for expectation in expected:
        arrived = sum(1 for value in stored if expectation.matches(value))
        if arrived < expectation.count:
            report.missing.append(f"{expectation.describe()} (arrived {arrived})")
    return report
