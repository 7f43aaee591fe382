"""The capture endpoints PostHog serves, and which body shapes each one is for."""

from __future__ import annotations

SINGLE_EVENT = "/i/v0/e/"
LEGACY_CAPTURE = "/capture/"
BATCH = "/batch/"
ENGAGE = "/engage/"

# Every path runs the same handler, with and without the trailing slash (contract §1).
KNOWN = ("/i/v0/e/", "/e/", "/capture/", "/track/", "/engage/", "/batch/")

# The three the composer offers; the others are accepted when typed.
OFFERED = (SINGLE_EVENT, LEGACY_CAPTURE, BATCH)
DEFAULT = SINGLE_EVENT


def normalize(path: str) -> str:
    """`capture` -> `/capture/`; keeps an unknown path as typed (with a leading slash)."""
    text = path.strip()
    if not text:
        return DEFAULT
    if not text.startswith("/"):
        text = "/" + text
    with_slash = text if text.endswith("/") else text + "/"
    return with_slash if with_slash in KNOWN else text


def is_known(path: str) -> bool:
    return normalize(path) in KNOWN


def is_engage(path: str) -> bool:
    return normalize(path) == ENGAGE


def is_batch(path: str) -> bool:
    return normalize(path) == BATCH
