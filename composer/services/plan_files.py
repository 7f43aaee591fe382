"""Files around a tracking plan: generated code on disk (written, or compared for `--check`),
and the JSON documents the plan is exported to or converted from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from composer.core.jsonio import loads
from composer.core.plans.posthog_schema import ExportSource, PostHogSchema, read_schema
from composer.files import write_atomic


def is_stale(path: Path, text: str) -> bool:
    """True when `path` does not hold `text` (missing, or different). Line endings are not a
    difference: git may check files out with CRLF."""
    try:
        current = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return True
    return current.replace("\r\n", "\n") != text


def write_text(path: Path, text: str) -> None:
    write_atomic(path, text.encode("utf-8"), 0o644)


def read_json(path: Path) -> Any:
    """A JSON file's value; OSError or composer.core.jsonio.JsonSyntaxError when it cannot."""
    return loads(path.read_bytes())


class FileSchemaSource(ExportSource):
    """PostHog's schema from an export file (see composer.core.plans.posthog_schema)."""

    def __init__(self, path: Path) -> None:
        super().__init__(read_json(path))
        self.path = path


def read_posthog_export(path: Path) -> PostHogSchema:
    return read_schema(FileSchemaSource(path))
