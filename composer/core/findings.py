"""What the pre-flight check reports: findings with a severity, a stable code and a fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Severity(StrEnum):
    ERROR = "error"  # PostHog rejects the whole request
    WARNING = "warning"  # accepted, then dropped, truncated, coerced or refused later
    INFO = "info"  # worth knowing; nothing is lost

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class Stage(IntEnum):
    """Where in PostHog's capture pipeline a rule bites; the earliest error decides the reply."""

    BODY_SIZE = 1
    DECODE = 2
    PARSE = 3
    HYDRATE = 4
    TOKEN = 5
    EVENT = 6
    KAFKA = 7
    AFTER_REPLY = 8  # ingestion, after PostHog has already answered 200
    LOCAL = 9  # only about this tool's own request (host, endpoint)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the check found, located by a JSON path into the body."""

    severity: Severity
    code: str
    path: str
    message: str
    fix: str
    event_index: int | None = None
    stage: Stage = Stage.AFTER_REPLY
    status: int | None = None  # the HTTP status PostHog answers because of it, for errors
    reply: str | None = None  # the text PostHog answers with, for errors

    def to_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
        }


def sort_key(finding: Finding) -> tuple[int, int, int, str]:
    index = -1 if finding.event_index is None else finding.event_index
    return (finding.severity.rank, index, finding.stage, finding.path)
