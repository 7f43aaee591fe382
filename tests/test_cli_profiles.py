"""`event-composer profile ...` and `send --profile`, against the real Secret Service."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from tests.conftest import files_containing
from tests.support.fault_server import FaultServer

KEY = "phc_cli_profile_key_0123456789abcdefghijk"
NEW_KEY = "phc_cli_profile_new_key_9876543210zyxwv"


def add(run_cli, name: str, host: str, key: str = KEY, *extra: str):
    return run_cli("profile", "add", name, "--host", host, *extra, stdin=(key + "\n").encode())


def test_profile_lifecycle(
    run_cli, secret_service, isolated_dirs: Path, fault_server: FaultServer, tmp_path: Path
) -> None:
    added = add(run_cli, "Staging", fault_server.url, KEY, "--use")
    assert added.returncode == 0, added.stderr
    assert "system keyring" in added.stdout
    (stored,) = secret_service.items()
    assert json.loads(stored[1]) == {"host": fault_server.url, "key": KEY}

    listing = run_cli("profile", "list", "--format", "json")
    rows = {r["name"]: r for r in json.loads(listing.stdout)["profiles"]}
    assert rows["Staging"]["host"] == fault_server.url
    assert rows["Staging"]["active"] is True
    assert rows["Local sandbox"]["active"] is False

    event = tmp_path / "event.json"
    event.write_bytes(orjson.dumps({"event": "e", "distinct_id": "u"}))
    sent = run_cli("send", str(event), "--profile", "Staging")
    assert sent.returncode == 0, sent.stderr
    assert orjson.loads(fault_server.requests[-1].raw_body)["api_key"] == KEY

    edited = run_cli(
        "profile",
        "edit",
        "Staging",
        "--name",
        "Staging EU",
        "--new-key",
        stdin=(NEW_KEY + "\n").encode(),
    )
    assert edited.returncode == 0, edited.stderr
    sent = run_cli("send", str(event), "--profile", "staging eu")
    assert orjson.loads(fault_server.requests[-1].raw_body)["api_key"] == NEW_KEY

    # No key in any file the app or the keyring daemon wrote.
    assert files_containing(KEY, isolated_dirs, secret_service.home) == []
    assert files_containing(NEW_KEY, isolated_dirs, secret_service.home) == []

    removed = run_cli("profile", "remove", "Staging EU")
    assert removed.returncode == 0
    assert secret_service.items() == []


def test_production_profiles_need_a_yes(
    run_cli, secret_service, fault_server: FaultServer, tmp_path: Path
) -> None:
    assert add(run_cli, "Prod", fault_server.url, KEY, "--production").returncode == 0
    event = tmp_path / "event.json"
    event.write_bytes(orjson.dumps({"event": "e", "distinct_id": "u"}))
    refused = run_cli("send", str(event), "--profile", "Prod")
    assert refused.returncode == 1
    assert "production" in refused.stderr
    assert "--yes" in refused.stderr
    assert fault_server.requests == []
    confirmed = run_cli("send", str(event), "--profile", "Prod", "--yes")
    assert confirmed.returncode == 0
    assert len(fault_server.requests) == 1


def test_keys_are_never_taken_from_arguments(run_cli, secret_service) -> None:
    result = run_cli("profile", "add", "X", "--host", "us", "--key", KEY)
    assert result.returncode == 2
    assert secret_service.items() == []


@pytest.mark.parametrize(
    ("key", "words"),
    [("phx_personal_key_123", "personal API key"), ("phc_" + "a" * 70, "longer than 64")],
)
def test_bad_keys_are_refused_with_the_reason(
    run_cli, secret_service, key: str, words: str
) -> None:
    result = add(run_cli, "X", "us", key)
    assert result.returncode == 2
    assert words in result.stderr
    assert secret_service.items() == []


def test_validate_uses_the_profile_host(run_cli, secret_service, tmp_path: Path) -> None:
    assert add(run_cli, "App host", "https://us.posthog.com").returncode == 0
    event = tmp_path / "event.json"
    event.write_bytes(orjson.dumps({"api_key": KEY, "event": "e", "distinct_id": "u"}))
    result = run_cli("validate", str(event), "--profile", "App host")
    assert "host.app_host" in result.stdout


def test_without_a_keyring_nothing_is_written(run_cli, isolated_dirs: Path, tmp_path: Path) -> None:
    result = add(run_cli, "Nowhere", "us")
    assert result.returncode == 2
    assert "no keyring" in result.stderr
    assert "POSTHOG_PROJECT_API_KEY" in result.stderr
    assert files_containing(KEY, isolated_dirs, tmp_path) == []
    listing = run_cli("profile", "list")
    assert "Nowhere" not in listing.stdout


def test_the_plaintext_store_is_explicit(run_cli, isolated_dirs: Path) -> None:
    switched = run_cli("profile", "storage", "plaintext")
    assert switched.returncode == 0
    assert "plain text" in switched.stdout
    keys_file = isolated_dirs / "config" / "keys-plaintext.json"
    assert str(keys_file) in switched.stdout
    assert add(run_cli, "Plain", "eu").returncode == 0
    assert KEY in keys_file.read_text()
