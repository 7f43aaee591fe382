"""Profiles without their secrets: names, colours, the production flag, the active one.

`profiles.json` in the config dir holds only what is safe to see: each profile's host and key
live in the secret store. The file has a schema version, is written atomically, and a damaged
or newer file is reported and kept, never overwritten.

Several processes change the file at once (two windows, a script running `profile add` ten
times in parallel), so every change goes through `change_book`: under `profiles.json.lock` the
file is read as it is now, the one change is applied, and the result is written back. Nobody
writes a book read earlier over a change made since.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import orjson

from composer.files import LockTimeout, keep_aside, locked, write_atomic

T = TypeVar("T")

SCHEMA_VERSION = 1
SANDBOX_ID = "sandbox"
COLORS = ("#1d4aff", "#0a7d32", "#b45309", "#7c3aed", "#0e7490", "#be185d", "#4b5563")
PRODUCTION_COLOR = "#c62828"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class ProfileError(ValueError):
    """A profile change that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    color: str = COLORS[0]
    production: bool = False

    @property
    def builtin(self) -> bool:
        return self.id == SANDBOX_ID


SANDBOX = Profile(SANDBOX_ID, "Local sandbox", "#4b5563", False)


@dataclass
class ProfileBook:
    """The profile list as kept in profiles.json (the sandbox is built in, never stored)."""

    profiles: list[Profile] = field(default_factory=list)
    active: str = SANDBOX_ID
    plaintext_keys: str | None = None  # a file path when the user chose plain-text key storage
    problem: str = ""  # what went wrong reading the file, for the window to show
    read_only: bool = False  # a file from a newer version: used as it is, never written over

    def all(self) -> list[Profile]:
        return [SANDBOX, *self.profiles]

    def get(self, profile_id: str) -> Profile | None:
        return next((p for p in self.all() if p.id == profile_id), None)

    def by_name(self, name: str) -> Profile | None:
        wanted = name.strip().casefold()
        return next((p for p in self.all() if p.name.casefold() == wanted), None)

    def active_profile(self) -> Profile:
        return self.get(self.active) or SANDBOX

    def add(
        self,
        name: str,
        color: str | None = None,
        production: bool = False,
        profile_id: str | None = None,
    ) -> Profile:
        """A new profile; `profile_id` when its secret was stored under that id beforehand."""
        name = _valid_name(name)
        if self.by_name(name) is not None:
            raise ProfileError(f"A profile named {name!r} already exists; choose another name.")
        used = {p.color for p in self.profiles}
        chosen = color or next((c for c in COLORS if c not in used), COLORS[0])
        if production and color is None:
            chosen = PRODUCTION_COLOR
        profile = Profile(profile_id or new_id(), name, _valid_color(chosen), production)
        self.profiles.append(profile)
        return profile

    def update(self, profile_id: str, **changes: Any) -> Profile:
        current = self._own(profile_id, "changed")
        if "name" in changes:
            changes["name"] = _valid_name(changes["name"])
            other = self.by_name(changes["name"])
            if other is not None and other.id != profile_id:
                raise ProfileError(f"A profile named {changes['name']!r} already exists.")
        if "color" in changes:
            changes["color"] = _valid_color(changes["color"])
        updated = replace(current, **changes)
        self.profiles = [updated if p.id == profile_id else p for p in self.profiles]
        return updated

    def set_active(self, profile_id: str) -> None:
        """Make a profile the active one; an id no longer in the book (deleted by another
        window or command meanwhile) leaves the active one as it is."""
        if self.get(profile_id) is not None:
            self.active = profile_id

    def remove(self, profile_id: str) -> Profile:
        current = self._own(profile_id, "deleted")
        self.profiles = [p for p in self.profiles if p.id != profile_id]
        if self.active == profile_id:
            self.active = SANDBOX_ID
        return current

    def _own(self, profile_id: str, verb: str) -> Profile:
        current = self.get(profile_id)
        if current is None:
            raise ProfileError(
                "That profile no longer exists (another window or command deleted it);"
                " `event-composer profile list` shows the profiles there are."
            )
        if current.builtin:
            raise ProfileError(f"The local sandbox profile cannot be {verb}.")
        return current

    def to_json(self) -> bytes:
        data = {
            "schema_version": SCHEMA_VERSION,
            "active": self.active,
            "plaintext_keys": self.plaintext_keys,
            "profiles": [asdict(p) for p in self.profiles],
        }
        return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def _valid_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ProfileError("Give the profile a name, such as 'Production US'.")
    if len(name) > 60:
        raise ProfileError("Keep the profile name under 60 characters.")
    return name


def _valid_color(color: str) -> str:
    if not _HEX.match(color):
        raise ProfileError(f"{color!r} is not a colour; write it as #rrggbb.")
    return color.lower()


def profiles_path(config_dir: Path) -> Path:
    return config_dir / "profiles.json"


def load_book(path: Path) -> ProfileBook:
    """Read profiles.json; a missing file is an empty book, a damaged one is kept aside."""
    return _load_book(path, under_lock=False)


def _load_book(path: Path, *, under_lock: bool) -> ProfileBook:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ProfileBook()
    try:
        return _parse_book(path, raw)
    except (orjson.JSONDecodeError, ValueError, KeyError, TypeError) as exc:
        if not under_lock:
            # Only a holder of the lock may move the file: read it again under the lock, in
            # case a writer was replacing it, so that a good file is never moved aside.
            try:
                with locked(path):
                    return _load_book(path, under_lock=True)
            except LockTimeout as timeout:
                return ProfileBook(
                    problem=f"{path} could not be read ({exc}) and was left as it is: {timeout}",
                    read_only=True,
                )
        aside = keep_aside(path)
        return ProfileBook(
            problem=f"{path} could not be read ({exc}); it was kept as {aside}"
            " and a new profile list was started."
        )


def _parse_book(path: Path, raw: bytes) -> ProfileBook:
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    version = data.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        # Newer than this app: leave it exactly as it is and do not write over it.
        return ProfileBook(
            problem=f"{path} was written by a newer Event Composer (schema {version});"
            " update the app to use those profiles.",
            read_only=True,
        )
    profiles = [
        Profile(
            str(p["id"]),
            str(p["name"]),
            _valid_color(str(p.get("color", COLORS[0]))),
            bool(p.get("production", False)),
        )
        for p in data.get("profiles", [])
    ]
    book = ProfileBook(profiles=[p for p in profiles if p.id != SANDBOX_ID])
    active = data.get("active")
    if isinstance(active, str) and book.get(active) is not None:
        book.active = active
    keys_file = data.get("plaintext_keys")
    book.plaintext_keys = keys_file if isinstance(keys_file, str) else None
    return book


def change_book(path: Path, change: Callable[[ProfileBook], T]) -> tuple[ProfileBook, T]:
    """Apply one change to profiles.json as it is now, under its lock; (the book as written,
    what `change` returned). A ProfileError from `change` writes nothing. A damaged file is
    kept aside first (its problem is on the returned book), a newer one refuses the change."""
    with locked(path):
        book = _load_book(path, under_lock=True)
        if book.read_only:
            raise ProfileError(book.problem or f"{path} cannot be written by this version.")
        result = change(book)
        write_atomic(path, book.to_json())
    return book, result


def save_book(book: ProfileBook, path: Path) -> None:
    """Replace the whole file with `book` (under the lock). For a new file; every change to an
    existing one goes through `change_book`, which keeps what others changed meanwhile."""
    if book.read_only:
        raise ProfileError(book.problem or f"{path} cannot be written by this version.")
    with locked(path):
        write_atomic(path, book.to_json())
