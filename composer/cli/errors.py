"""Exit statuses and the one error type the commands raise for the user to read."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    FAILED = 1  # findings with errors, or a non-2xx answer
    USAGE = 2  # bad arguments or unreadable input
    INTERRUPTED = 130


class CliError(Exception):
    """A problem to report in one line (what is wrong and how to fix it), then exit."""

    def __init__(self, message: str, status: ExitStatus = ExitStatus.USAGE) -> None:
        super().__init__(message)
        self.status = status
