"""What the profiles controller runs on its pool: reading the profile book with the active
profile's key, and every write of profiles.json together with the key it goes with.

Each function runs on a worker thread (keyring calls can hang on an unlock prompt) and reads
and writes profiles.json under its lock, by `change_book`: the file as it is now, one change,
written atomically. They hold no Qt and no window state, so the order of the key and the
book, which decides what a failure leaves behind, can be read here in one place.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from composer.files import LockTimeout
from composer.profiles.book import Profile, ProfileBook, ProfileError, change_book, load_book
from composer.profiles.secrets import (
    ProfileSecret,
    SecretError,
    SecretStore,
    Storage,
    move_secrets,
)
from composer.ui.profiles.dialog import ProfileDraft


@dataclass(frozen=True)
class Loaded:
    """The book as read at start, and the active profile's secret or why it could not be read."""

    book: ProfileBook
    secret: ProfileSecret | None
    error: SecretError | None


@dataclass(frozen=True)
class Saved:
    """A profile written with its secret: the book as written, the profile, where the key is."""

    book: ProfileBook
    profile: Profile
    storage: Storage


def set_active(profile_id: str, book: ProfileBook) -> None:
    """For `change_book`: make a profile the active one."""
    book.set_active(profile_id)


@dataclass(frozen=True)
class ProfileWrite:
    """One profile written from the dialog: added (`new`) or updated, and made the active one."""

    profile_id: str
    draft: ProfileDraft
    new: bool

    def __call__(self, book: ProfileBook) -> Profile:
        draft = self.draft
        if self.new:
            profile = book.add(draft.name, draft.color, draft.production, self.profile_id)
        else:
            profile = book.update(
                self.profile_id, name=draft.name, color=draft.color, production=draft.production
            )
        book.active = profile.id
        return profile


def store_then_change(
    path: Path, store: SecretStore, change: ProfileWrite, secret: ProfileSecret
) -> Saved:
    """Store the secret, then write the profile. The secret goes first so that a keyring
    failure leaves the book as it was; a new profile that cannot be written (its name was
    taken meanwhile) takes its secret back out."""
    storage = store.set(change.profile_id, secret)
    try:
        book, profile = change_book(path, change)
    except (ProfileError, LockTimeout):
        if change.new:
            with contextlib.suppress(SecretError):
                store.delete(change.profile_id)
        raise
    return Saved(book, profile, storage)


def keep_then_change(
    path: Path, store: SecretStore, change: ProfileWrite, secret: ProfileSecret
) -> Saved:
    """The keyring refused the secret: keep it in memory for this session, then write the
    profile."""
    storage = store.keep_for_session(change.profile_id, secret)
    book, profile = change_book(path, change)
    return Saved(book, profile, storage)


def remove_with_key(path: Path, store: SecretStore, profile_id: str) -> ProfileBook:
    """The secret first: when the keyring refuses, the profile stays so it can be tried again."""
    store.delete(profile_id)

    def remove(book: ProfileBook) -> None:
        if book.get(profile_id) is not None:  # another window may have deleted it already
            book.remove(profile_id)

    return change_book(path, remove)[0]


def move_keys(
    path: Path,
    ids: list[str],
    source: SecretStore,
    target: SecretStore,
    plaintext: str | None,
) -> tuple[ProfileBook, tuple[int, list[tuple[str, str]]]]:
    """Move every profile's key to `target`, then point the book at its plain-text file (or
    at none); with how many moved and which could not, and why."""
    result = move_secrets(ids, source, target)

    def point_at(book: ProfileBook) -> None:
        book.plaintext_keys = plaintext

    return change_book(path, point_at)[0], result


def store_for(book: ProfileBook, timeouts: tuple[float, float]) -> SecretStore:
    """The secret store the book says its keys are in."""
    keys = Path(book.plaintext_keys) if book.plaintext_keys else None
    return SecretStore(plaintext_file=keys, read_timeout=timeouts[0], write_timeout=timeouts[1])


def load_with_key(path: Path, timeouts: tuple[float, float]) -> Loaded:
    """The book, and the key of its active profile (the sandbox has none)."""
    book = load_book(path)
    profile = book.active_profile()
    if profile.builtin:
        return Loaded(book, None, None)
    store = store_for(book, timeouts)
    try:
        return Loaded(book, store.get(profile.id), None)
    except SecretError as exc:
        return Loaded(book, None, exc)
