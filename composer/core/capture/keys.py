"""Project-key checks for the key field: what PostHog's capture would say, before saving."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from composer.core.capture.preflight.tokens import MAX_TOKEN_BYTES, shape_problem


class KeyVerdict(StrEnum):
    OK = "ok"
    WARNING = "warning"  # saved, but probably not what the user meant
    REFUSED = "refused"  # PostHog's capture refuses it; not saved


@dataclass(frozen=True)
class KeyCheck:
    verdict: KeyVerdict
    message: str

    @property
    def savable(self) -> bool:
        return self.verdict is not KeyVerdict.REFUSED


def check_project_key(key: str) -> KeyCheck:
    """Why a key cannot be used for capture, or what is odd about it."""
    key = key.strip()
    problem = shape_problem(key)
    if problem == "personal_api_key":
        return KeyCheck(
            KeyVerdict.REFUSED,
            "This is a personal API key (phx_…). Capture refuses it, and it can read and change"
            " your PostHog data, so it is not stored. Use the project API key (phc_…) from"
            " Project settings.",
        )
    if problem == "empty":
        return KeyCheck(KeyVerdict.REFUSED, "Enter the project API key (phc_…).")
    if problem == "too_long":
        return KeyCheck(
            KeyVerdict.REFUSED,
            f"The key is longer than {MAX_TOKEN_BYTES} bytes; capture refuses it. Check that"
            " only the key was pasted.",
        )
    if problem == "not_ascii":
        return KeyCheck(
            KeyVerdict.REFUSED,
            "The key contains characters that are not ASCII; capture refuses it. Retype it (a"
            " pasted key sometimes carries invisible characters).",
        )
    if problem == "null_byte":
        return KeyCheck(KeyVerdict.REFUSED, "The key contains a NUL character; retype it.")
    if not key.startswith("phc_"):
        return KeyCheck(
            KeyVerdict.WARNING,
            "Project keys start with phc_. PostHog accepts any well-formed key and silently"
            " drops events for keys no project owns.",
        )
    return KeyCheck(KeyVerdict.OK, "")
