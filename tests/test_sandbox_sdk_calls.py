"""The SDKs' calls besides capture, answered by the real sandbox server: flags from a flags file
(re-read when it changes), local evaluation, capture v1 stored as events, recordings counted,
and every such call kept in the inbox as served."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from composer.sandbox.sdk_calls import SdkConfig
from composer.sandbox.server import SandboxServer
from composer.sandbox.store import SandboxStore, read_events_for, read_requests_after

KEY = "phc_sandbox_sdk_calls_test_key_000000000"
PERSONAL = "phx_sandbox_sdk_calls_personal_key_00000"


@pytest.fixture
def flags_file(tmp_path: Path) -> Path:
    path = tmp_path / "flags.json"
    path.write_text(
        json.dumps({"flags": {"beta": True, "pricing": {"variant": "b", "payload": {"x": 1}}}})
    )
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SandboxStore]:
    s = SandboxStore(tmp_path / "inbox.sqlite3")
    yield s
    s.close()


@pytest.fixture
def sandbox(store: SandboxStore, flags_file: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(store, port=0, sdk=SdkConfig(flags_file=flags_file)).start()
    yield server
    server.stop()


def test_posthog_python_flags_come_from_the_flags_file(
    sandbox: SandboxServer, flags_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from posthog import Posthog

    caplog.set_level(logging.WARNING, logger="posthog")
    client = Posthog(KEY, host=sandbox.url, sync_mode=True, max_retries=0)
    flags = client.evaluate_flags("user-1")
    assert flags.is_enabled("beta") is True
    assert flags.get_flag("pricing") == "b"
    assert flags.get_flag_payload("pricing") == {"x": 1}
    assert flags.get_flag("missing") is None
    # The file is read again when it changes: an app's flag-dependent path can be switched.
    flags_file.write_text(json.dumps({"flags": {"beta": False}}))
    assert client.evaluate_flags("user-1").is_enabled("beta") is False
    client.shutdown()
    assert [r for r in caplog.records if r.name.startswith("posthog")] == []


def test_local_evaluation_with_a_personal_key(sandbox: SandboxServer) -> None:
    from posthog import Posthog

    client = Posthog(KEY, host=sandbox.url, secret_key=PERSONAL, sync_mode=True, max_retries=0)
    try:
        client.load_feature_flags()
        flags = client.evaluate_flags("u", only_evaluate_locally=True)
        assert flags.get_flag("pricing") == "b"
        assert flags.is_enabled("beta") is True
    finally:
        client.shutdown()


def test_capture_v1_events_are_stored_like_batch_events(
    sandbox: SandboxServer, store: SandboxStore
) -> None:
    from posthog import Posthog

    client = Posthog(KEY, host=sandbox.url, sync_mode=True, max_retries=0, capture_mode="v1")
    client.capture("v1_event", distinct_id="v1-user", properties={"plan": "team"})
    client.shutdown()
    requests = read_requests_after(store.path, 0)
    v1 = [r for r in requests if r.path.startswith("/i/v1/")]
    assert [(r.status, r.served) for r in v1] == [(200, "v1_capture")]
    events = read_events_for(store.path, [r.id for r in v1])
    assert [(e.event, e.distinct_id) for e in events] == [("v1_event", "v1-user")]
    assert events[0].normalized["properties"]["plan"] == "team"


def test_other_sdk_calls_are_served_and_kept_as_served(
    sandbox: SandboxServer, store: SandboxStore
) -> None:
    with httpx.Client() as client:
        url = sandbox.url
        config = client.get(f"{url}/array/{KEY}/config", headers={"Origin": "http://app.test"})
        assert config.status_code == 200
        remote = config.json()
        assert remote["autocapture_opt_out"] is False
        assert "gzip-js" in remote["supportedCompression"]
        assert config.headers["access-control-allow-origin"] == "http://app.test"
        script = client.get(f"{url}/array/{KEY}/config.js")
        assert script.status_code == 200
        assert "_POSTHOG_REMOTE_CONFIG" in script.text
        preflight = client.request(
            "OPTIONS",
            f"{url}/flags/?v=2",
            headers={"Origin": "http://app.test", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code in (200, 204)
        flags = client.post(
            f"{url}/flags/?v=2",
            content=gzip.compress(json.dumps({"token": KEY, "distinct_id": "u"}).encode()),
            headers={"Content-Type": "text/plain"},
        )
        assert flags.json()["flags"]["beta"]["enabled"] is True
        assert client.head(url + "/").status_code == 200
        snapshot = {"event": "$snapshot", "distinct_id": "u", "properties": {"$session_id": "s"}}
        recording = client.post(f"{url}/s/", json=[{**snapshot, "api_key": KEY}] * 3)
        assert recording.status_code == 200
        counts = client.get(url + "/_sandbox/counts").json()
    assert counts["recordings"] == 3
    assert counts["sdk_calls"] >= 3
    assert counts["accepted"] == 0  # none of these is an event
    requests = read_requests_after(store.path, 0)
    served = {r.served for r in requests}
    assert {"config", "config.js", "flags", "recording"} <= served
    kept = next(r for r in requests if r.served == "flags")
    assert '"distinct_id": "u"' in kept.body  # the gzip body, decoded for the inbox
    assert all(r.status < 400 for r in requests)
