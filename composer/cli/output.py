"""Plain-text rendering of findings and responses for the terminal."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING

from composer.core.capture.preflight import CheckResult
from composer.core.findings import Finding, Severity

if TYPE_CHECKING:  # validate never loads httpx
    from composer.services.transport import ResponseRecord

_WIDTH = 100


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(name: str, result: CheckResult) -> str:
    errors = sum(1 for f in result.findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in result.findings if f.severity is Severity.WARNING)
    infos = len(result.findings) - errors - warnings
    parts = [
        _plural(result.events, "event"),
        _plural(errors, "error"),
        _plural(warnings, "warning"),
    ]
    if infos:
        parts.append(f"{infos} info")
    verdict = "ok" if result.ok else "FAILED"
    return f"{name}: {verdict} ({', '.join(parts)})"


def finding_lines(findings: Iterable[Finding]) -> list[str]:
    lines: list[str] = []
    for f in findings:
        head = f"  {f.severity.value:<7} {f.code}  at {f.path or '$'}"
        lines.append(head)
        lines.extend(
            textwrap.wrap(
                f.message, _WIDTH, initial_indent="          ", subsequent_indent="          "
            )
        )
        if f.fix:
            lines.extend(
                textwrap.wrap(
                    f"fix: {f.fix}",
                    _WIDTH,
                    initial_indent="          ",
                    subsequent_indent="               ",
                )
            )
    return lines


def check_report(name: str, result: CheckResult, *, quiet_info: bool = False) -> str:
    shown = [f for f in result.findings if not (quiet_info and f.severity is Severity.INFO)]
    lines = [summary_line(name, result), *finding_lines(shown)]
    if not result.ok:
        predicted = result.predicted
        if predicted.status == 200:
            lines.append(
                "  PostHog would accept it (200): the errors are the tracking plan's or this"
                " tool's, not PostHog's."
            )
        else:
            lines.append(f"  PostHog would answer: {predicted.status} {predicted.body}")
    return "\n".join(lines)


def response_report(record: ResponseRecord) -> str:
    lines: list[str] = []
    tries = len(record.attempts)
    retried = f" after {tries} attempts" if tries > 1 else ""
    if record.status is None:
        error = record.error
        text = error.message if error else "No answer."
        lines.append(f"error: {text}{retried}")
        if error and error.guidance:
            lines.append(f"  {error.guidance}")
        return "\n".join(lines)
    meaning = record.interpretation
    reason = meaning.summary if meaning else str(record.status)
    lines.append(
        f"{reason} in {record.last_elapsed * 1000:.1f} ms{retried} ({_plural(record.size, 'byte')})"
    )
    body = record.body.decode("utf-8", "replace").strip()
    if body:
        lines.append(body if len(body) <= 4000 else body[:4000] + " ...")
    if meaning and not meaning.ok and meaning.guidance:
        lines.extend(
            textwrap.wrap(meaning.guidance, _WIDTH, initial_indent="  ", subsequent_indent="  ")
        )
    return "\n".join(lines)
