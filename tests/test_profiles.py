"""Profiles and their secrets: the book file, key checks, and the real Secret Service."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import orjson
import pytest

from composer.core.capture.keys import KeyVerdict, check_project_key
from composer.profiles.book import (
    SANDBOX_ID,
    ProfileBook,
    ProfileError,
    load_book,
    save_book,
)
from composer.profiles.secrets import (
    ProfileSecret,
    SecretError,
    SecretErrorKind,
    SecretStore,
    move_secrets,
)
from tests.conftest import files_containing

KEY = "phc_profiles_test_key_0123456789abcdefghij"
SECRET = ProfileSecret("https://eu.i.posthog.com", KEY)


def test_book_round_trip_has_no_secrets(tmp_path: Path) -> None:
    book = ProfileBook()
    prod = book.add("Production US", production=True)
    staging = book.add("staging")
    book.active = prod.id
    path = tmp_path / "profiles.json"
    save_book(book, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "posthog.com" not in text
    assert "phc_" not in text
    loaded = load_book(path)
    assert [p.name for p in loaded.all()] == ["Local sandbox", "Production US", "staging"]
    assert loaded.active == prod.id
    assert loaded.get(prod.id).production  # type: ignore[union-attr]
    assert loaded.get(staging.id).color != loaded.get(prod.id).color  # type: ignore[union-attr]


def test_book_rules(tmp_path: Path) -> None:
    book = ProfileBook()
    book.add("A")
    with pytest.raises(ProfileError, match="already exists"):
        book.add("a")
    with pytest.raises(ProfileError, match="name"):
        book.add("   ")
    with pytest.raises(ProfileError, match="cannot be"):
        book.remove(SANDBOX_ID)
    with pytest.raises(ProfileError, match="colour"):
        book.add("B", color="blue")
    b = book.add("B")
    book.active = b.id
    book.remove(b.id)
    assert book.active == SANDBOX_ID


def test_a_damaged_book_is_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_text("{ not json")
    book = load_book(path)
    assert "could not be read" in book.problem
    (aside,) = tmp_path.glob("profiles.json.corrupt-*")
    assert aside.read_text() == "{ not json"


def test_a_newer_book_is_used_read_only(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    newer = orjson.dumps({"schema_version": 99, "profiles": []})
    path.write_bytes(newer)
    book = load_book(path)
    assert book.read_only
    with pytest.raises(ProfileError, match="newer"):
        save_book(book, path)
    assert path.read_bytes() == newer


@pytest.mark.parametrize(
    ("key", "verdict", "words"),
    [
        ("phx_personal_key", KeyVerdict.REFUSED, "personal API key"),
        ("", KeyVerdict.REFUSED, "Enter"),
        ("phc_" + "a" * 70, KeyVerdict.REFUSED, "longer than 64"),
        ("phc_ключ", KeyVerdict.REFUSED, "not ASCII"),
        ("abc123", KeyVerdict.WARNING, "start with phc_"),
        (KEY, KeyVerdict.OK, ""),
    ],
)
def test_key_shape_checks(key: str, verdict: KeyVerdict, words: str) -> None:
    check = check_project_key(key)
    assert check.verdict is verdict
    assert words in check.message


def test_secrets_live_in_the_secret_service(secret_service, isolated_dirs: Path) -> None:
    store = SecretStore(read_timeout=5, write_timeout=5)
    store.set("p1", SECRET)
    assert store.get("p1") == SECRET
    assert secret_service.items() == [("p1", SECRET.to_json())]
    assert files_containing(KEY, isolated_dirs, secret_service.home) == []
    store.delete("p1")
    assert store.get("p1") is None
    assert secret_service.items() == []
    store.delete("p1")  # deleting what is not there is not an error


def test_a_locked_keyring_is_reported(secret_service) -> None:
    SecretStore().set("p1", SECRET)
    secret_service.stop_keyring()
    secret_service.start_keyring(None)  # running, but nobody unlocks it
    with pytest.raises(SecretError) as info:
        SecretStore(read_timeout=5).get("p1")
    assert info.value.kind is SecretErrorKind.LOCKED
    assert "locked" in info.value.message


def test_a_wrong_unlock_password_is_reported(secret_service) -> None:
    SecretStore().set("p1", SECRET)
    secret_service.stop_keyring()
    secret_service.start_keyring("not-the-password")
    with pytest.raises(SecretError) as info:
        SecretStore(read_timeout=5).get("p1")
    assert info.value.kind is SecretErrorKind.LOCKED


def test_a_keyring_that_hangs_times_out(secret_service) -> None:
    secret_service.stop_keyring()
    secret_service.start_stuck_service()
    with pytest.raises(SecretError) as info:
        SecretStore(read_timeout=1).get("p1")
    assert info.value.kind is SecretErrorKind.TIMEOUT
    assert "did not answer within 1 s" in info.value.message


def test_no_keyring_at_all_is_reported() -> None:
    assert "DBUS_SESSION_BUS_ADDRESS" not in os.environ
    with pytest.raises(SecretError) as info:
        SecretStore(write_timeout=5).set("p1", SECRET)
    assert info.value.kind is SecretErrorKind.UNAVAILABLE
    assert "no keyring" in info.value.message


def test_session_only_secrets_stay_in_memory(isolated_dirs: Path) -> None:
    store = SecretStore()
    store.keep_for_session("p1", SECRET)
    assert store.get("p1") == SECRET
    assert files_containing(KEY, isolated_dirs) == []
    assert SecretStore().where("p1").value == "keyring"  # a new app knows nothing of it


def test_the_plaintext_store_is_opt_in_and_private(tmp_path: Path, secret_service) -> None:
    keyring_store = SecretStore()
    keyring_store.set("p1", SECRET)
    path = tmp_path / "keys.json"
    plaintext = SecretStore(plaintext_file=path)
    moved, failed = move_secrets(["p1"], keyring_store, plaintext)
    assert (moved, failed) == (1, [])
    assert secret_service.items() == []
    assert plaintext.get("p1") == SECRET
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KEY in path.read_text()
