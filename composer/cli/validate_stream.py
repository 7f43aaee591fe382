"""`event-composer validate FILE.jsonl` (or a UTF-8 FILE.csv): a file of any size, checked a
block at a time in bounded memory, with progress on stderr.

The findings are those of the whole-file check (cli/validate.py), in the same order: the
key's, then every unreadable line, then each row's at [row].field. What a file of millions
of events could make unbounded is capped: the uuids remembered for the duplicate warning
(REMEMBER_UUIDS) and the findings listed (FINDINGS_KEPT, then one finding that counts the
rest, as severe as the worst of them).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from composer.cli.collector import PacedCollector, paced
from composer.cli.progress import ProgressLine
from composer.core.batch.formats import Problem
from composer.core.batch.rows import RowChecker
from composer.core.capture.parse import BodyShape
from composer.core.capture.preflight import CheckResult
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.tokens import check_token_value
from composer.core.findings import Finding, Severity, Stage
from composer.core.templates.variables import Resolver
from composer.services.batch_stream import open_stream
from composer.services.parallel_rows import for_check, started

REMEMBER_UUIDS = 1_000_000
FINDINGS_KEPT = 20_000


class _Capped:
    """Findings up to a cap; past it, counted by their worst severity."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.kept: list[Finding] = []
        self.dropped = 0
        self.worst: Severity | None = None

    def add(self, finding: Finding) -> None:
        if len(self.kept) < self.cap:
            self.kept.append(finding)
            return
        self.dropped += 1
        if self.worst is None or finding.severity.rank < self.worst.rank:
            self.worst = finding.severity

    def summary(self, what: str) -> list[Finding]:
        if not self.dropped or self.worst is None:
            return []
        return [
            Finding(
                self.worst,
                "file.more_findings",
                "$",
                f"{self.dropped:,} more {what} findings are not listed (the first"
                f" {self.cap:,} are).",
                "Fix the ones listed and check the file again.",
                stage=Stage.LOCAL,
            )
        ]


def check_stream(
    path: str, variables: dict[str, str], plan: Any, key: str | None, delimiter: str | None = None
) -> tuple[str, CheckResult] | tuple[str, str] | None:
    """The check of a JSON Lines or CSV file: (path, result), or (message, fix) when the file
    cannot be read at all; None for a CSV file that is not UTF-8 (the whole-file reader's)."""
    try:
        stream = open_stream(path, delimiter, digest=False)
    except OSError as exc:
        return f"{exc.strerror or exc}.", "Check the path and the file's permissions."
    if stream is None:
        return None
    if isinstance(stream, Problem):
        return str(stream), stream.fix
    checker = RowChecker(resolver=Resolver(variables), plan=plan, remember=REMEMBER_UUIDS)
    findings: list[Finding] = []
    if key is not None:
        # `send` puts the key on every /batch/ envelope, and PostHog checks it first.
        out = Collector(datetime.now(UTC))
        check_token_value(key, "api_key", out)
        findings.extend(out.findings)
    lines = _Capped(FINDINGS_KEPT)
    rows = _Capped(FINDINGS_KEPT)

    def unreadable(problem: Problem) -> None:
        lines.add(
            Finding(
                Severity.ERROR,
                "file.unreadable_line",
                f"line {problem.line}",
                str(problem),
                f"{problem.fix} The other rows are checked."
                if problem.fix
                else "Fix the line; the other rows are checked.",
                stage=Stage.LOCAL,
            )
        )

    def checked() -> Iterator[list[tuple[Finding, ...]]]:
        """Each row's findings, a block at a time: from reader processes for a big JSON
        Lines file (parallel_rows.py; there is no thread here to fork past), else here."""
        readers = started(path, for_check(plan, checker.now)) if stream.layout is None else None
        if readers is not None:
            try:
                yield from readers.findings(unreadable, checker)
            finally:
                readers.close()
            return
        for block in stream.rows(unreadable, wire=False):
            yield [checker.check(row).findings or () for row in block]

    bar = ProgressLine(sys.stderr)
    collector = PacedCollector()
    index = 0
    try:
        with paced():
            for blocks, block in enumerate(checked(), 1):
                for found in block:
                    for finding in found:
                        where = f"[{index}].{finding.path}" if finding.path else f"[{index}]"
                        rows.add(replace(finding, path=where, event_index=index))
                    index += 1
                bar.show(index, stream.events)
                collector.tick(blocks)
    finally:
        bar.finish()
    findings += lines.kept + lines.summary("unreadable-line")
    findings += rows.kept + rows.summary("row")
    return path, CheckResult(findings, index, BodyShape.ARRAY, "/batch/")
