"""Drafts: the composition and the batch, saved as the user works, restored on the next start.

A kill or a crash loses at most the last second of typing. Files are written atomically, so a
kill in the middle of a write leaves the previous draft; a damaged draft is kept aside and
reported, never silently dropped. Project keys are masked before anything is written.

Each window keeps its own drafts, in a numbered slot it claims at start and owns until it
closes (`DraftSlots`):

    drafts/                  slot 1: composition.json, batch.jsonl (where drafts always were)
    drafts/window-2/ ...     slot 2 and up, for a second (third ...) window open at once
    drafts/window-N.lock     held by the slot's window for as long as it runs

The lock is an OS file lock, so it is let go when its process ends in any way, a SIGKILL
included: a slot whose lock nobody holds is an orphan. A starting window adopts the orphan with
the newest drafts, never touches a slot another live window holds, and tells about orphans
left over (each new window adopts one). Only the owner writes a slot's files, so a window's
whole snapshot never lands on another window's work.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.core.capture.bodies import mask_in_render, redact_bytes
from composer.core.jsonio import JsonObject, JsonSyntaxError, dumps_compact, dumps_pretty, loads
from composer.files import keep_aside, write_atomic

if TYPE_CHECKING:
    from filelock import FileLock

SCHEMA_VERSION = 1
COMPOSITION = "composition.json"
BATCH = "batch.jsonl"
_SLOT_NAME = re.compile(r"^window-([0-9]+)(\.lock)?$")


@dataclass(frozen=True)
class DraftRow:
    event: JsonObject
    status: str = "new"
    text: str = ""


@dataclass
class Restored:
    composition: JsonObject | None
    rows: list[DraftRow]
    notes: list[str] = field(default_factory=list)


_MASK_LINES = 1000
_PAUSE_ROWS = 250


class DraftStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.composition_path = folder / COMPOSITION
        self.batch_path = folder / BATCH

    def save_composition(self, doc: JsonObject, secrets: Sequence[str] = ()) -> None:
        data = dumps_pretty({"schema_version": SCHEMA_VERSION, **doc}) + b"\n"
        data = redact_bytes(mask_in_render(data, secrets))
        write_atomic(self.composition_path, data)

    def save_batch(
        self,
        rows: Sequence[DraftRow],
        secrets: Sequence[str] = (),
        pause: Callable[[], None] | None = None,
    ) -> None:
        """`pause()` runs after every 250 rows encoded and every thousand masked (about a
        millisecond of work each: a window's worker gives its GUI thread turns at the
        interpreter lock there)."""
        if not rows:
            self.batch_path.unlink(missing_ok=True)
            return
        lines = [dumps_compact({"schema_version": SCHEMA_VERSION, "rows": len(rows)})]
        for start in range(0, len(rows), _PAUSE_ROWS):
            if start and pause is not None:
                pause()
            lines.extend(
                dumps_compact({"event": r.event, "status": r.status, "text": r.text})
                for r in rows[start : start + _PAUSE_ROWS]
            )
        # Masked a thousand lines at a time: one pass over a 100,000-row draft held the
        # interpreter for ~0.2 s in C and froze the window that saved it. A key never spans
        # lines (one JSON object per line), so the pieces mask as the whole would.
        pieces = []
        for start in range(0, len(lines), _MASK_LINES):
            if start and pause is not None:
                pause()
            piece = b"\n".join(lines[start : start + _MASK_LINES]) + b"\n"
            pieces.append(redact_bytes(mask_in_render(piece, secrets)))
        write_atomic(self.batch_path, b"".join(pieces))

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


# -- one slot per window ---------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """An orphaned slot with drafts, left for the next window to adopt."""

    number: int
    folder: Path
    rows: int  # batch rows, from the batch file's header
    composition: bool

    def describe(self) -> str:
        parts = []
        if self.composition:
            parts.append("a composition")
        if self.rows:
            parts.append(f"{self.rows} batch row{'s' * (self.rows != 1)}")
        return " and ".join(parts) or "a draft"


class DraftSlot:
    """A slot this window owns: its drafts, and the lock that says so while the window runs."""

    def __init__(self, number: int, store: DraftStore, lock: FileLock) -> None:
        self.number = number
        self.store = store
        self._lock = lock

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def release(self) -> None:
        """The window closes: its drafts stay for the next start, its lock is let go."""
        if self.number != 1:
            with contextlib.suppress(OSError):  # not empty (drafts, files kept aside): keep it
                self.store.folder.rmdir()
        self._lock.release()


class DraftSlots:
    """The drafts folder's slots: which a window may claim, which are orphans with drafts."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, number: int) -> Path:
        return self.root if number == 1 else self.root / f"window-{number}"

    def lock_file(self, number: int) -> Path:
        # Never removed: a lock file deleted and made again would let two windows hold "the"
        # lock of one slot on two different files.
        return self.root / f"window-{number}.lock"

    def numbers(self) -> list[int]:
        found = {1}
        with contextlib.suppress(FileNotFoundError):
            for child in self.root.iterdir():
                match = _SLOT_NAME.match(child.name)
                if match:
                    found.add(int(match.group(1)))
        return sorted(found)

    def drafts_time(self, number: int) -> float | None:
        """When the slot's drafts were last written; None when it has none."""
        times = []
        for name in (COMPOSITION, BATCH):
            with contextlib.suppress(OSError):
                times.append((self.folder(number) / name).stat().st_mtime)
        return max(times) if times else None

    def claim(self) -> DraftSlot:
        """Own a slot for this window's lifetime: the orphan with the newest drafts, else a
        free slot without drafts, else a new one. A slot held by a live window is skipped."""
        numbers = self.numbers()
        times = {n: t for n in numbers if (t := self.drafts_time(n)) is not None}
        with_drafts = sorted(times, key=lambda n: times[n], reverse=True)
        empty = [n for n in numbers if n not in times]
        for number in itertools.chain(with_drafts, empty, itertools.count(numbers[-1] + 1)):
            lock = self._try_lock(number)
            if lock is not None:
                return DraftSlot(number, DraftStore(self.folder(number)), lock)
        raise AssertionError("unreachable: itertools.count never ends")

    def waiting(self, but: int) -> list[Waiting]:
        """Orphans with drafts, other than slot `but`: what the next windows would adopt."""
        found = []
        for number in self.numbers():
            if number == but or self.drafts_time(number) is None:
                continue
            lock = self._try_lock(number)
            if lock is None:
                continue  # a live window's drafts: none of ours
            lock.release()
            found.append(self._waiting(number))
        return found

    def _waiting(self, number: int) -> Waiting:
        folder = self.folder(number)
        rows = 0
        with contextlib.suppress(OSError, JsonSyntaxError, ValueError, TypeError):
            with (folder / BATCH).open("rb") as handle:
                header = loads(handle.readline())
            if isinstance(header, dict) and type(header.get("rows")) is int:
                rows = header["rows"]
        return Waiting(number, folder, rows, (folder / COMPOSITION).exists())

    def _try_lock(self, number: int) -> FileLock | None:
        from filelock import FileLock, Timeout  # on the worker that claims the slot

        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        # thread_local=False: taken on a worker thread, let go on the GUI thread at close.
        lock = FileLock(str(self.lock_file(number)), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            return None
        return lock
