"""Drafts: the composition and the batch, saved as the user works, restored on the next start.

A kill or a crash loses at most the last second of typing. Files are written atomically, so a
kill in the middle of a write leaves the previous draft; a damaged draft is kept aside and
reported, never silently dropped. Project keys are masked before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer.core.capture.bodies import mask_in_render, redact_bytes
from composer.core.jsonio import JsonObject, JsonSyntaxError, dumps_compact, dumps_pretty, loads
from composer.files import keep_aside, write_atomic

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class DraftRow:
    event: JsonObject
    status: str = "new"
    text: str = ""


@dataclass
class Restored:
    composition: JsonObject | None
    rows: list[DraftRow]
    notes: list[str]


class DraftStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.composition_path = folder / "composition.json"
        self.batch_path = folder / "batch.jsonl"

    def save_composition(self, doc: JsonObject, secrets: Sequence[str] = ()) -> None:
        data = dumps_pretty({"schema_version": SCHEMA_VERSION, **doc}) + b"\n"
        data = redact_bytes(mask_in_render(data, secrets))
        write_atomic(self.composition_path, data)

    def save_batch(self, rows: Sequence[DraftRow], secrets: Sequence[str] = ()) -> None:
        if not rows:
            self.batch_path.unlink(missing_ok=True)
            return
        lines = [dumps_compact({"schema_version": SCHEMA_VERSION, "rows": len(rows)})]
        lines.extend(
            dumps_compact({"event": r.event, "status": r.status, "text": r.text}) for r in rows
        )
        data = mask_in_render(b"\n".join(lines) + b"\n", secrets)
        write_atomic(self.batch_path, redact_bytes(data))

    def load(self) -> Restored:
        notes: list[str] = []
        composition = self._load_composition(notes)
        rows = self._load_batch(notes)
        return Restored(composition, rows, notes)

    def _load_composition(self, notes: list[str]) -> JsonObject | None:
        try:
            data = self.composition_path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            doc = loads(data)
            if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION:
                raise ValueError("not a draft this version writes")
        except (JsonSyntaxError, ValueError):
            aside = keep_aside(self.composition_path)
            notes.append(f"The saved composition was damaged; it is kept as {aside}.")
            return None
        doc.pop("schema_version", None)
        return doc

    def _load_batch(self, notes: list[str]) -> list[DraftRow]:
        try:
            data = self.batch_path.read_bytes()
        except FileNotFoundError:
            return []
        lines = data.splitlines()
        try:
            header = loads(lines[0]) if lines else None
            if not isinstance(header, dict) or header.get("schema_version") != SCHEMA_VERSION:
                raise ValueError("no header")
            rows = [_row(loads(line)) for line in lines[1:] if line.strip()]
            if len(rows) != header.get("rows"):
                raise ValueError("cut short")
        except (JsonSyntaxError, ValueError, TypeError):
            aside = keep_aside(self.batch_path)
            notes.append(f"The saved batch was damaged; it is kept as {aside}.")
            return []
        return rows

    def keep_aside(self, which: tuple[str, ...]) -> list[Path]:
        """Move drafts out of autosave's way ("composition", "batch"); their new names."""
        paths = {"composition": self.composition_path, "batch": self.batch_path}
        kept = []
        for name in which:
            path = paths[name]
            if path.exists():
                kept.append(keep_aside(path, "not-restored"))
        return kept

    def clear(self) -> None:
        self.composition_path.unlink(missing_ok=True)
        self.batch_path.unlink(missing_ok=True)


def _row(value: Any) -> DraftRow:
    if not isinstance(value, dict) or not isinstance(value.get("event"), dict):
        raise TypeError("not a batch row")
    return DraftRow(value["event"], str(value.get("status", "new")), str(value.get("text", "")))
