"""Comments and small pieces of text every snippet writer shares."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from composer.core.capture import endpoints

WIDTH = 96


def comment(lines: Iterable[str], prefix: str) -> str:
    """`lines` as comment lines (wrapped), each paragraph starting with `prefix`."""
    out: list[str] = []
    for paragraph in lines:
        wrapped = textwrap.wrap(
            paragraph,
            width=WIDTH - len(prefix) - 1,
            break_long_words=False,
            break_on_hyphens=False,
        )
        out.extend(f"{prefix} {line}".rstrip() for line in wrapped or [""])
    return "\n".join(out)


def header(what: str, notes: Iterable[str], prefix: str) -> str:
    """The comment a snippet starts with: what it does, then every note."""
    listed = list(notes)
    lines = [what]
    if listed:
        lines.extend(f"Note: {note}" for note in listed)
    return comment(lines, prefix)


def key_sentence(env: str, writes_key: bool) -> str:
    if writes_key:
        return "The project key is written in this code, as you asked: do not commit it."
    return f"The project key is read from ${env}."


def endpoint_note(sdk: str, path: str, composed: str) -> str | None:
    """A note when an SDK posts to another endpoint than the one composed."""
    if endpoints.normalize(composed) == endpoints.normalize(path):
        return None
    return f"{sdk} sends to {path}, not to {endpoints.normalize(composed)} as composed."
