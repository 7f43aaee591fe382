"""The outcome's warnings and notes as the pre-flight check's Findings."""

from __future__ import annotations

from composer.core.findings import Finding, Severity, Stage
from composer.core.persons.outcome import Outcome


def outcome_findings(outcome: Outcome) -> list[Finding]:
    """Every ingestion warning is a WARNING: PostHog has already answered 200 by then."""
    at = f"$[{outcome.event_index}]"
    findings = [
        Finding(
            Severity.WARNING,
            f"ingestion.{w.type}",
            at,
            w.message,
            "",
            event_index=outcome.event_index,
            stage=Stage.AFTER_REPLY,
        )
        for w in outcome.warnings
    ]
    findings += [
        Finding(
            Severity.INFO,
            f"persons.{n.code}",
            at,
            n.message,
            "",
            event_index=outcome.event_index,
            stage=Stage.AFTER_REPLY,
        )
        for n in outcome.notes
    ]
    return findings
