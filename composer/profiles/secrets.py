"""Where each profile's host and project key live: the OS keyring, by default.

Every keyring call runs on its own daemon thread with a timeout, because a locked keyring can
sit on an unlock prompt for as long as nobody answers it. Failures become a `SecretError` that
says what happened in plain words. The store never falls back to a file on its own: keys are
kept in memory for the session when the user asks for that, and written to a plain-text file
only when the user has switched that on (the setting names the file). That file is changed
like every other file the app rewrites: read, change one entry, write, under its lock
(`keys-plaintext.json.lock`), so concurrent `profile add` runs keep every key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import orjson

from composer.files import read_modify_write

log = logging.getLogger(__name__)

SERVICE = "posthog-event-composer"
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 30.0  # room for a real unlock prompt

T = TypeVar("T")


@dataclass(frozen=True)
class ProfileSecret:
    host: str
    key: str

    def to_json(self) -> str:
        return orjson.dumps({"host": self.host, "key": self.key}).decode()

    @classmethod
    def from_json(cls, text: str) -> ProfileSecret:
        data = orjson.loads(text)
        return cls(str(data["host"]), str(data["key"]))


class KeyState(StrEnum):
    """Where a profile's host and key really are, as `profile list` reports it."""

    KEYRING = "keyring"
    PLAINTEXT = "plaintext"
    SESSION = "session"  # in this window's memory only
    MISSING = "missing"
    UNREADABLE = "unreadable"  # the store could not be asked (locked, no keyring, damaged file)


@dataclass(frozen=True)
class KeyLocation:
    state: KeyState
    reason: str = ""  # for MISSING and UNREADABLE: what is wrong, in plain words
    secret: ProfileSecret | None = None


class SecretErrorKind(StrEnum):
    UNAVAILABLE = "unavailable"  # no keyring backend at all
    LOCKED = "locked"  # the keyring exists but stayed locked (prompt refused or impossible)
    TIMEOUT = "timeout"  # no answer in time (an unlock prompt nobody answered, a stuck service)
    FAILED = "failed"  # anything else the keyring reported


class SecretError(Exception):
    def __init__(self, kind: SecretErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Storage(StrEnum):
    KEYRING = "keyring"
    PLAINTEXT = "plaintext"
    SESSION = "session"


def _describe(exc: BaseException) -> SecretError:
    import keyring.errors as kerr

    text = str(exc) or type(exc).__name__
    if isinstance(exc, kerr.NoKeyringError):
        return SecretError(
            SecretErrorKind.UNAVAILABLE,
            "This system has no keyring the composer can use (no Secret Service, Keychain or"
            " Credential Manager was found).",
        )
    if isinstance(exc, kerr.KeyringLocked):
        return SecretError(
            SecretErrorKind.LOCKED,
            f"The system keyring is locked and was not unlocked ({text}).",
        )
    if isinstance(exc, kerr.InitError):
        locked = "dismissed" in text.lower() or "prompt" in text.lower()
        return SecretError(
            SecretErrorKind.LOCKED if locked else SecretErrorKind.UNAVAILABLE,
            f"The system keyring could not be opened ({text}).",
        )
    return SecretError(SecretErrorKind.FAILED, f"The system keyring reported an error: {text}.")


def _with_timeout(fn: Callable[[], T], timeout: float, what: str) -> T:
    """Run a keyring call on a daemon thread; give up waiting after `timeout` seconds.

    A daemon thread, not an executor: a call stuck on a prompt must not hold up the app's exit.
    """
    done = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # carried back to the caller
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"keyring-{what}", daemon=True).start()
    if not done.wait(timeout):
        raise SecretError(
            SecretErrorKind.TIMEOUT,
            f"The system keyring did not answer within {timeout:g} s (it may be waiting for an"
            " unlock prompt, or its service is stuck).",
        )
    if "error" in box:
        error = box["error"]
        if isinstance(error, SecretError):
            raise error
        raise _describe(error) from error
    return box["value"]  # type: ignore[no-any-return]


class SecretStore:
    """Reads and writes profile secrets; keyring by default, session memory on request."""

    def __init__(
        self,
        *,
        plaintext_file: Path | None = None,
        read_timeout: float = READ_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        self.plaintext_file = plaintext_file
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self._session: dict[str, ProfileSecret] = {}

    @property
    def storage(self) -> Storage:
        return Storage.PLAINTEXT if self.plaintext_file is not None else Storage.KEYRING

    def where(self, profile_id: str) -> Storage:
        return Storage.SESSION if profile_id in self._session else self.storage

    def describe(self) -> str:
        """Where this store keeps keys, for messages."""
        if self.plaintext_file is not None:
            return f"{self.plaintext_file} (plain text)"
        return "the system keyring"

    def locate(self, profile_id: str) -> KeyLocation:
        """Whether this store really holds the profile's host and key (asking it, not
        assuming): session, keyring or plain text; missing; or unreadable, with the reason."""
        if profile_id in self._session:
            return KeyLocation(KeyState.SESSION, secret=self._session[profile_id])
        try:
            secret = self.get(profile_id)
        except SecretError as exc:
            return KeyLocation(KeyState.UNREADABLE, exc.message)
        if secret is None:
            return KeyLocation(KeyState.MISSING, f"not in {self.describe()}")
        state = KeyState.PLAINTEXT if self.plaintext_file is not None else KeyState.KEYRING
        return KeyLocation(state, secret=secret)

    # -- reading and writing ---------------------------------------------------------------

    def get(self, profile_id: str) -> ProfileSecret | None:
        if profile_id in self._session:
            return self._session[profile_id]
        if self.plaintext_file is not None:
            return self._plaintext().get(profile_id)
        raw = _with_timeout(
            lambda: _keyring().get_password(SERVICE, profile_id), self.read_timeout, "read"
        )
        if raw is None:
            return None
        try:
            return ProfileSecret.from_json(raw)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise SecretError(
                SecretErrorKind.FAILED,
                "The keyring entry for this profile is damaged; edit the profile"
                " and enter its host and key again.",
            ) from None

    def set(self, profile_id: str, secret: ProfileSecret) -> Storage:
        if self.plaintext_file is not None:

            def put(entries: dict[str, ProfileSecret]) -> bool:
                entries[profile_id] = secret
                return True

            self._change_plaintext(put)
            self._session.pop(profile_id, None)
            return Storage.PLAINTEXT
        _with_timeout(
            lambda: _keyring().set_password(SERVICE, profile_id, secret.to_json()),
            self.write_timeout,
            "write",
        )
        self._session.pop(profile_id, None)
        return Storage.KEYRING

    def keep_for_session(self, profile_id: str, secret: ProfileSecret) -> Storage:
        """Hold a secret in memory only; it is gone when the app closes."""
        self._session[profile_id] = secret
        return Storage.SESSION

    def delete(self, profile_id: str) -> None:
        self._session.pop(profile_id, None)
        if self.plaintext_file is not None:
            self._change_plaintext(lambda entries: entries.pop(profile_id, None) is not None)
            return

        def remove() -> None:
            import keyring.errors as kerr

            with contextlib.suppress(kerr.PasswordDeleteError):  # nothing stored: already gone
                _keyring().delete_password(SERVICE, profile_id)

        _with_timeout(remove, self.write_timeout, "delete")

    # -- the opt-in plain-text file --------------------------------------------------------

    def _plaintext(self) -> dict[str, ProfileSecret]:
        assert self.plaintext_file is not None
        try:
            raw = self.plaintext_file.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretError(
                SecretErrorKind.FAILED, f"{self.plaintext_file} cannot be read ({exc.strerror})."
            ) from None
        return self._parse_plaintext(raw)

    def _parse_plaintext(self, raw: bytes | None) -> dict[str, ProfileSecret]:
        if raw is None:
            return {}
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict):
                raise TypeError("not an object")
            return {str(k): ProfileSecret(str(v["host"]), str(v["key"])) for k, v in data.items()}
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise SecretError(
                SecretErrorKind.FAILED,
                f"{self.plaintext_file} is damaged (it is not the JSON the composer writes); it"
                " is left as it is. Fix it in an editor, or move it away and enter the keys"
                " again.",
            ) from None

    def _change_plaintext(self, change: Callable[[dict[str, ProfileSecret]], bool]) -> None:
        """Change the entries of the file as it is now, under its lock; `change` says whether
        it changed anything. A damaged file raises SecretError and is never written over."""
        assert self.plaintext_file is not None

        def rewrite(raw: bytes | None) -> tuple[bytes | None, None]:
            entries = self._parse_plaintext(raw)
            if not change(entries):
                return None, None
            data = {k: {"host": v.host, "key": v.key} for k, v in entries.items()}
            return orjson.dumps(data, option=orjson.OPT_INDENT_2), None

        try:
            read_modify_write(self.plaintext_file, rewrite, 0o600)
        except OSError as exc:  # a lock held too long, a folder that cannot be written
            reason = exc.strerror if exc.strerror else str(exc)
            raise SecretError(
                SecretErrorKind.FAILED, f"{self.plaintext_file} could not be written: {reason}"
            ) from None


def _keyring() -> Any:
    import keyring

    return keyring.get_keyring()


def move_secrets(
    profile_ids: list[str], source: SecretStore, target: SecretStore
) -> tuple[int, list[tuple[str, str]]]:
    """Move every profile's secret between stores; (moved, [(profile id, why not)])."""
    moved = 0
    failed: list[tuple[str, str]] = []
    for profile_id in profile_ids:
        try:
            secret = source.get(profile_id)
            if secret is not None:
                target.set(profile_id, secret)
                source.delete(profile_id)
                moved += 1
        except SecretError as exc:
            failed.append((profile_id, exc.message))
    return moved, failed


def configured_timeouts() -> tuple[float, float]:
    """Read/write timeouts; COMPOSER_KEYRING_TIMEOUT (seconds) shortens both, e.g. in CI."""
    raw = os.environ.get("COMPOSER_KEYRING_TIMEOUT")
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        value = 0.0
    return (value, value) if value > 0 else (READ_TIMEOUT, WRITE_TIMEOUT)


def reset_backend() -> None:
    """Choose the keyring backend again (after the user unlocked or started a keyring)."""
    import keyring.backend
    import keyring.core

    # keyring remembers the backends that were viable at its first look; forget that, so a
    # keyring started (or a bus that appeared) since then is found.
    cached = keyring.backend.get_all_keyring
    if hasattr(cached, "saved_result"):
        del cached.saved_result
    keyring.core.init_backend()


def backend_name() -> str:
    try:
        return str(
            _with_timeout(
                lambda: type(_keyring()).__module__ + "." + type(_keyring()).__name__,
                READ_TIMEOUT,
                "probe",
            )
        )
    except SecretError as exc:
        return f"unavailable ({exc.message})"


def plaintext_default_path(config_dir: Path) -> Path:
    return config_dir / "keys-plaintext.json"


__all__ = [
    "SERVICE",
    "KeyLocation",
    "KeyState",
    "ProfileSecret",
    "SecretError",
    "SecretErrorKind",
    "SecretStore",
    "Storage",
    "backend_name",
    "configured_timeouts",
    "move_secrets",
    "plaintext_default_path",
    "reset_backend",
]
