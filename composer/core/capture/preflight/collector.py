"""Accumulates findings for one check run; the rule modules only say what they found."""

from __future__ import annotations

from datetime import datetime

from composer.core.findings import Finding, Severity, Stage


class Collector:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.findings: list[Finding] = []

    def error(
        self,
        code: str,
        path: str,
        message: str,
        fix: str,
        *,
        stage: Stage,
        status: int | None = 400,
        reply: str | None = None,
        event: int | None = None,
    ) -> None:
        self.findings.append(
            Finding(Severity.ERROR, code, path, message, fix, event, stage, status, reply)
        )

    def warning(
        self,
        code: str,
        path: str,
        message: str,
        fix: str,
        *,
        event: int | None = None,
        stage: Stage = Stage.AFTER_REPLY,
    ) -> None:
        self.findings.append(Finding(Severity.WARNING, code, path, message, fix, event, stage))

    def info(
        self,
        code: str,
        path: str,
        message: str,
        fix: str = "",
        *,
        event: int | None = None,
        stage: Stage = Stage.AFTER_REPLY,
    ) -> None:
        self.findings.append(Finding(Severity.INFO, code, path, message, fix, event, stage))
