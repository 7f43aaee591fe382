"""The templates folder: one JSON file per template, sub-folders as groups, variables beside them.

Every write is atomic and happens under a lock shared by all composer processes on the machine,
so two windows saving at once lose nothing: a new template never takes an existing file name,
an overwrite only happens when the file is still what this window loaded (otherwise it is a
conflict the caller resolves), and variable changes merge into the file as it is on disk.
A file that cannot be read, or that a newer composer wrote, is listed with its problem and
never written over.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer import paths
from composer.core.compose.payloads import kind_for_event_name
from composer.core.jsonio import JsonSyntaxError, dumps_pretty, loads
from composer.core.plans.model import FILE_NAMES as PLAN_FILE_NAMES
from composer.core.templates import document as tpl
from composer.core.templates.document import (
    SUFFIX,
    VARIABLES_FILE,
    NewerTemplateError,
    Template,
    TemplateError,
    TemplateType,
)
from composer.files import free_path, write_atomic
from composer.resources import resource

EXAMPLES = "Examples"  # the folder name the starter templates appear under
_NOT_TEMPLATES = frozenset({VARIABLES_FILE, *PLAN_FILE_NAMES})
LOCK_TIMEOUT = 10.0
FILE_MODE = 0o644  # shared through git: readable like any source file


class ConflictError(TemplateError):
    """The file changed on disk since it was loaded (another window or a git pull)."""


class ReadOnlyError(TemplateError):
    pass


@dataclass(frozen=True)
class TemplateEntry:
    path: Path
    folder: str  # "" for the top of the folder, "a/b" for a sub-folder, EXAMPLES for starters
    name: str  # the template's name, or the file name when the file cannot be read
    type: TemplateType | None
    description: str = ""
    error: str = ""  # why it cannot be opened; such files are never written
    builtin: bool = False  # a shipped starter: opened freely, saved only as a copy
    fingerprint: str = ""  # sha256 of the bytes read, for conflict detection
    events: int = 0
    summary: str = ""  # "Identify", "Event", "batch of 12": what the list shows as its type

    @property
    def label(self) -> str:
        return f"{self.folder}/{self.name}" if self.folder else self.name

    def to_draft(self, description: str) -> dict[str, str]:
        """What a composition's draft keeps of the template it was opened from."""
        return {
            "path": str(self.path),
            "folder": self.folder,
            "name": self.name,
            "fingerprint": self.fingerprint,
            "description": description,
        }

    @classmethod
    def from_draft(cls, doc: object) -> tuple[TemplateEntry, str] | None:
        """(entry, description) back from `to_draft`; None when there is none or it is damaged."""
        if not isinstance(doc, dict) or not isinstance(doc.get("path"), str):
            return None
        entry = cls(
            Path(doc["path"]),
            str(doc.get("folder", "")),
            str(doc.get("name", "")),
            TemplateType.PAYLOAD,
            fingerprint=str(doc.get("fingerprint", "")),
        )
        return entry, str(doc.get("description", ""))


def summary(template: Template) -> str:
    if template.type is TemplateType.BATCH:
        return f"batch of {len(template.events)}"
    return kind_for_event_name(template.event.get("event")).label


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def starters_dir() -> Path | None:
    try:
        folder = resource("templates")
    except FileNotFoundError:
        return None
    return folder if folder.is_dir() else None


class TemplateStore:
    def __init__(self, root: Path, starters: Path | None = None, *, with_starters: bool = True):
        self.root = root
        self.starters = (starters or starters_dir()) if with_starters else None

    # -- locking ------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # The lock lives in the cache folder, not in the templates folder: that one is often a
        # git checkout and should hold nothing but templates.
        from filelock import FileLock  # slow to import: not at the window's start-up

        digest = hashlib.sha1(str(self.root.resolve()).encode(), usedforsecurity=False)
        lock_dir = paths.cache_dir() / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(lock_dir / f"templates-{digest.hexdigest()[:16]}.lock"), LOCK_TIMEOUT):
            yield

    # -- reading -------------------------------------------------------------------------------

    def entries(self) -> list[TemplateEntry]:
        """Every template file, sorted by folder and name; starters last, under Examples."""
        found: list[TemplateEntry] = []
        if self.root.is_dir():
            for path in sorted(self._files(self.root)):
                folder = path.parent.relative_to(self.root).as_posix()
                found.append(self._entry(path, "" if folder == "." else folder))
        found.sort(key=lambda e: (e.folder.casefold(), e.name.casefold()))
        if self.starters is not None:
            starters = [
                self._entry(p, EXAMPLES, builtin=True)
                for p in sorted(self.starters.glob(f"*{SUFFIX}"))
            ]
            found.extend(starters)
        return found

    def folders(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found: list[str] = []
        for dirpath, dirnames, _files in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # .git, .venv ...
            found.extend((Path(dirpath) / d).relative_to(self.root).as_posix() for d in dirnames)
        return sorted(found)

    @staticmethod
    def _files(root: Path) -> Iterator[Path]:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # .git and friends
            for name in filenames:
                if name.endswith(SUFFIX) and not name.startswith("."):
                    path = Path(dirpath) / name
                    # The variables and a JSON tracking plan live beside the templates.
                    if not (path.parent == root and name in _NOT_TEMPLATES):
                        yield path

    def _entry(self, path: Path, folder: str, builtin: bool = False) -> TemplateEntry:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return TemplateEntry(
                path, folder, path.stem, None, error=f"Cannot be read: {exc.strerror}."
            )
        try:
            template = tpl.parse(data, path.stem)
        except TemplateError as exc:
            return TemplateEntry(
                path, folder, path.stem, None, error=str(exc), fingerprint=fingerprint(data)
            )
        return _entry_of(path, folder, template, data, builtin)

    def load(self, entry: TemplateEntry | Path) -> tuple[Template, TemplateEntry]:
        """The template and a fresh entry (its fingerprint is what a later save compares)."""
        path = entry.path if isinstance(entry, TemplateEntry) else entry
        data = path.read_bytes()
        template = tpl.parse(data, path.stem)
        if isinstance(entry, TemplateEntry):
            folder, builtin = entry.folder, entry.builtin
        else:
            folder, builtin = self._folder_of(path), False
        return template, _entry_of(path, folder, template, data, builtin)

    def _folder_of(self, path: Path) -> str:
        try:
            folder = path.parent.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return ""
        return "" if folder == "." else folder

    def find(self, wanted: str) -> TemplateEntry:
        """A template by file path, by path inside the folder, or by name (any case)."""
        as_path = Path(wanted).expanduser()
        if as_path.is_file():
            return self._entry(as_path, self._folder_of(as_path))
        inside = self.root / wanted
        for candidate in (inside, inside.with_name(inside.name + SUFFIX)):
            if candidate.is_file():
                return self._entry(candidate, self._folder_of(candidate))
        entries = self.entries()
        folded = wanted.casefold()
        named = [e for e in entries if folded in (e.name.casefold(), e.label.casefold())]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            places = ", ".join(str(e.path) for e in named)
            raise TemplateError(f"{len(named)} templates are named {wanted!r}: {places}.")
        raise TemplateError(
            f"No template named {wanted!r} in {self.root} (and no such file). `event-composer"
            " template list` shows the names."
        )

    # -- writing -------------------------------------------------------------------------------

    def save_new(
        self, template: Template, folder: str = "", secrets: tuple[str, ...] = ()
    ) -> TemplateEntry:
        """Write a new file; a name already taken gets -2, -3 ... rather than replacing it."""
        data = tpl.render(template, secrets)
        directory = self._directory(folder)
        with self._locked():
            directory.mkdir(parents=True, exist_ok=True)
            path = self._free_path(directory, tpl.file_stem(template.name))
            write_atomic(path, data, FILE_MODE)
        return self._written(path, folder, template, data)

    def save_over(
        self, entry: TemplateEntry, template: Template, secrets: tuple[str, ...] = ()
    ) -> TemplateEntry:
        """Replace the file `entry` was loaded from, if it is still what was loaded."""
        if entry.builtin:
            raise ReadOnlyError(
                "Starter templates are part of the app; save your changes as a new template."
            )
        data = tpl.render(template, secrets)
        with self._locked():
            current = self._current_fingerprint(entry.path)
            if current is None:
                raise ConflictError(f"{entry.path.name} was deleted or moved since it was opened.")
            if current != entry.fingerprint:
                raise ConflictError(
                    f"{entry.path.name} changed on disk since it was opened (another window, or"
                    " a git pull)."
                )
            write_atomic(entry.path, data, FILE_MODE)
        return self._written(entry.path, entry.folder, template, data)

    def rename(self, entry: TemplateEntry, new_name: str) -> TemplateEntry:
        self._writable(entry)
        name = tpl.check_name(new_name)
        template, fresh = self.load(entry)
        template.name = name
        data = tpl.render(template)
        with self._locked():
            if self._current_fingerprint(entry.path) != fresh.fingerprint:
                raise ConflictError(f"{entry.path.name} changed on disk; reload and try again.")
            stem = tpl.file_stem(name)
            path = entry.path
            if stem != entry.path.stem:
                path = self._free_path(entry.path.parent, stem)
            write_atomic(path, data, FILE_MODE)
            if path != entry.path:
                entry.path.unlink()
        return self._written(path, entry.folder, template, data)

    def duplicate(self, entry: TemplateEntry) -> TemplateEntry:
        template, _ = self.load(entry)
        template.name = f"{template.name} copy"
        folder = "" if entry.builtin else entry.folder
        return self.save_new(template, folder)

    def delete(self, entry: TemplateEntry) -> None:
        if entry.builtin:
            raise ReadOnlyError("Starter templates are part of the app and cannot be deleted.")
        with self._locked():
            entry.path.unlink(missing_ok=True)

    def make_folder(self, folder: str) -> Path:
        directory = self._directory(folder)
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    # -- variables ---------------------------------------------------------------------------------

    @property
    def variables_path(self) -> Path:
        return self.root / VARIABLES_FILE

    def variables(self) -> dict[str, Any]:
        """The workspace variables; a damaged file raises TemplateError and stays as it is."""
        return _read_variables(self.variables_path)

    def update_variables(
        self,
        changed: Mapping[str, Any],
        removed: tuple[str, ...] = (),
        secrets: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Apply changes to the file as it is now (merging with other windows' changes)."""
        where = tpl.find_secret(dict(changed), [s for s in secrets if len(s) >= 8])
        if where is not None:
            raise TemplateError(
                f"The variable {where} holds a PostHog key. Variables are shared with the"
                " templates; keys belong in a profile."
            )
        with self._locked():
            current = _read_variables(self.variables_path)
            for name in removed:
                current.pop(name, None)
            current.update(changed)
            doc = {"schema_version": tpl.SCHEMA_VERSION, "variables": current}
            write_atomic(self.variables_path, dumps_pretty(doc) + b"\n", FILE_MODE)
        return current

    # -- helpers -----------------------------------------------------------------------------------

    def _directory(self, folder: str) -> Path:
        parts = [p for p in folder.replace("\\", "/").split("/") if p]
        if any(p in (".", "..") or p.startswith(".") for p in parts):
            raise TemplateError(f"{folder!r} is not a folder name the composer can use.")
        if parts and parts[0] == EXAMPLES and self.starters is not None:
            parts = parts[1:]  # "save as" from a starter lands in the user's own folder
        return self.root.joinpath(*parts)

    def _free_path(self, directory: Path, stem: str) -> Path:
        # Never a name the folder's own files use (variables.json, a JSON plan) at its top.
        taken = _NOT_TEMPLATES if directory == self.root else frozenset()
        return free_path(directory / f"{stem}{SUFFIX}", taken)

    @staticmethod
    def _current_fingerprint(path: Path) -> str | None:
        try:
            return fingerprint(path.read_bytes())
        except FileNotFoundError:
            return None

    def _writable(self, entry: TemplateEntry) -> None:
        if entry.builtin:
            raise ReadOnlyError(
                "Starter templates are part of the app; duplicate one to change it."
            )
        if entry.error:
            raise TemplateError(f"{entry.path.name} cannot be changed: {entry.error}")

    def _written(self, path: Path, folder: str, template: Template, data: bytes) -> TemplateEntry:
        return _entry_of(
            path, self._folder_of(path) if folder == EXAMPLES else folder, template, data
        )


def _entry_of(
    path: Path, folder: str, template: Template, data: bytes, builtin: bool = False
) -> TemplateEntry:
    """The entry for a template read from (or written as) `data` at `path`."""
    return TemplateEntry(
        path,
        folder,
        template.name,
        template.type,
        template.description,
        builtin=builtin,
        fingerprint=fingerprint(data),
        events=len(template.events),
        summary=summary(template),
    )


def _read_variables(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        doc = loads(data)
    except JsonSyntaxError as exc:
        raise TemplateError(
            f"{path} is not valid JSON (line {exc.line}, column {exc.column}); fix it in an"
            " editor. It is left as it is."
        ) from None
    if isinstance(doc, dict) and type(doc.get("schema_version")) is int:
        if doc["schema_version"] > tpl.SCHEMA_VERSION:
            raise NewerTemplateError(
                f"{path} was written by a newer composer; update to change variables."
            )
        doc = doc.get("variables", {})
    if not isinstance(doc, dict):
        raise TemplateError(f'{path} must hold {{"variables": {{"name": value, ...}}}}.')
    return dict(doc)
