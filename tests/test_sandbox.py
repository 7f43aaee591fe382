"""The sandbox as a real server on 127.0.0.1: the posthog-python SDK, faults, storage, CLI."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from composer.sandbox.server import RequestLog, SandboxServer
from composer.sandbox.store import (
    SandboxStore,
    count_events,
    read_events_for,
    read_requests_after,
)
from tests.conftest import cli_path
from tests.support.fault_server import unused_port

KEY = "phc_sandbox_sdk_test_key_0000000000000"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SandboxStore]:
    s = SandboxStore(tmp_path / "inbox.sqlite3")
    yield s
    s.close()


@pytest.fixture
def sandbox(store: SandboxStore) -> Iterator[SandboxServer]:
    logs: list[RequestLog] = []
    server = SandboxServer(store, port=0, on_request=logs.append, read_timeout=0.5).start()
    server.logs = logs  # type: ignore[attr-defined]
    yield server
    server.stop()


def stored_events(store: SandboxStore):
    requests = read_requests_after(store.path, 0)
    return read_events_for(store.path, [r.id for r in requests])


def test_posthog_python_sdk_delivers_exactly_its_events(
    sandbox: SandboxServer, store: SandboxStore
) -> None:
    from posthog import Posthog

    client = Posthog(KEY, host=sandbox.url, sync_mode=True, max_retries=0)
    client.capture("plan_upgraded", distinct_id="user-1", properties={"plan": "team"})
    client.set(distinct_id="user-1", properties={"email": "a@example.com"})
    client.alias(previous_id="anon-1", distinct_id="user-1")
    client.group_identify("company", "acme", properties={"name": "Acme"}, distinct_id="user-1")
    client.shutdown()

    events = stored_events(store)
    assert [e.event for e in events] == ["plan_upgraded", "$set", "$create_alias", "$groupidentify"]
    capture, person, alias, group = events
    assert capture.distinct_id == "user-1"
    assert capture.normalized["properties"]["plan"] == "team"
    assert capture.normalized["properties"]["$lib"] == "posthog-python"
    assert person.normalized["properties"]["$set"] == {"email": "a@example.com"}
    assert alias.normalized["properties"]["alias"] == "user-1"
    assert alias.distinct_id == "anon-1"
    assert group.normalized["properties"]["$group_key"] == "acme"
    requests = read_requests_after(store.path, 0)
    assert {r.path for r in requests} == {"/batch/"}
    assert all(r.status == 200 and r.source == "external" for r in requests)
    assert all(r.user_agent.startswith("posthog-python/") for r in requests)
    assert [entry.status for entry in sandbox.logs] == [200, 200, 200, 200]  # type: ignore[attr-defined]


def test_the_key_never_reaches_the_inbox_file(sandbox: SandboxServer, store: SandboxStore) -> None:
    secret = "phx_personal_secret_key_123456789"
    with httpx.Client() as client:
        client.post(
            sandbox.url + "/i/v0/e/",
            json={"api_key": KEY, "event": "e", "distinct_id": "u", "properties": {"token": KEY}},
        )
        client.post(
            sandbox.url + "/i/v0/e/", json={"api_key": secret, "event": "e", "distinct_id": "u"}
        )
        client.get(sandbox.url + f"/e/?api_key={KEY}&data=x")
    store.close()
    raw = b"".join(p.read_bytes() for p in Path(store.path).parent.glob("inbox.sqlite3*"))
    assert KEY.encode() not in raw
    assert secret.encode() not in raw
    assert len(read_requests_after(store.path, 0)) == 3


def test_every_fault_class_over_real_http(
    sandbox: SandboxServer, store: SandboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with httpx.Client() as client:
        url = sandbox.url
        assert (
            client.post(
                url + "/i/v0/e/", json={"api_key": KEY, "event": "e", "distinct_id": "u"}
            ).status_code
            == 200
        )
        assert (
            client.post(
                url + "/i/v0/e/?beacon=1", json={"api_key": KEY, "event": "e", "distinct_id": "u"}
            ).status_code
            == 204
        )
        answer = client.post(url + "/batch/", json={"api_key": KEY, "batch": [{"event": "e"}]})
        assert (answer.status_code, answer.text) == (400, "event submitted without a distinct_id")
        assert answer.headers["content-type"].startswith("text/plain")
        assert (
            client.post(
                url + "/batch/",
                json={"batch": [{"event": "e", "distinct_id": "u"}], "api_key": "phx_k"},
            ).status_code
            == 401
        )
        too_big = client.post(url + "/batch/", content=b"x" * (20 * 1024 * 1024 + 1))
        assert too_big.status_code == 413
        assert client.request("OPTIONS", url + "/batch/").status_code == 200
        assert client.delete(url + "/batch/").status_code == 405
        assert client.post(url + "/nope/").status_code == 404

        # 500: a bug in the capture logic must not take the server down.
        import composer.sandbox.server as server_module

        def broken(_request: object) -> None:
            raise RuntimeError("deliberate fault")

        monkeypatch.setattr(server_module, "process", broken)
        assert client.post(url + "/i/v0/e/", json={}).status_code == 500
        monkeypatch.undo()
        # 503: the inbox cannot be written (PostHog answers 503 when its queue fails).
        store._conn.close()
        unavailable = client.post(
            url + "/i/v0/e/", json={"api_key": KEY, "event": "e", "distinct_id": "u"}
        )
        assert (unavailable.status_code, unavailable.text) == (503, "transient error, please retry")


def test_a_stalled_upload_gets_408(sandbox: SandboxServer) -> None:
    with socket.create_connection(("127.0.0.1", sandbox.port)) as sock:
        sock.sendall(b'POST /batch/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"ba')
        sock.settimeout(5)
        # Headers and body may arrive in separate segments; read until the server closes.
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 408")
    assert reply.endswith(b"client stopped sending data")


def test_rate_limit_answers_429_with_retry_after(store: SandboxStore) -> None:
    server = SandboxServer(store, port=0, rate_limit=3).start()
    try:
        with httpx.Client() as client:
            body = {"api_key": KEY, "batch": [{"event": "e", "distinct_id": "u"}] * 2}
            assert client.post(server.url + "/batch/", json=body).status_code == 200
            limited = client.post(server.url + "/batch/", json=body)
    finally:
        server.stop()
    assert (limited.status_code, limited.text) == (429, "rate limit exceeded: events per minute")
    assert limited.headers["retry-after"] == "60"


def test_the_sandbox_listens_on_loopback_only(store: SandboxStore) -> None:
    with pytest.raises(ValueError, match="this machine only"):
        SandboxServer(store, host="0.0.0.0", port=0)


def test_inbox_survives_restarts_and_clears_on_demand(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    first = SandboxStore(path)
    server = SandboxServer(first, port=0).start()
    httpx.post(server.url + "/i/v0/e/", json={"api_key": KEY, "event": "kept", "distinct_id": "u"})
    server.stop()
    first.close()
    second = SandboxStore(path)
    assert count_events(str(path)) == 1
    second.clear()
    assert count_events(str(path)) == 0
    second.close()


def test_a_corrupt_inbox_is_kept_aside_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = SandboxStore(path)
    assert store.moved_aside is not None
    assert store.moved_aside.read_bytes() == b"this is not a database" * 100
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM events").fetchone() == (0,)
    store.close()


def _start_cli_sandbox(port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [str(cli_path()), "sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    for _ in range(8):
        line = proc.stdout.readline()
        if line.startswith("Inbox:"):  # the last line of the banner
            return proc
    proc.kill()
    raise AssertionError(f"the sandbox did not start: {proc.stderr.read() if proc.stderr else ''}")


def test_cli_sandbox_logs_each_request_and_stops_cleanly(tmp_path: Path) -> None:
    from posthog import Posthog

    port = unused_port()
    env = {**os.environ, "COMPOSER_DATA_DIR": str(tmp_path / "data")}
    proc = _start_cli_sandbox(port, env)
    try:
        client = Posthog(KEY, host=f"http://127.0.0.1:{port}", sync_mode=True, max_retries=0)
        client.capture("from_sdk", distinct_id="null")
        client.shutdown()
        assert proc.stdout is not None
        log_line = proc.stdout.readline()
        warning = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "POST /batch/" in log_line
    assert "200  1 event" in log_line
    assert "posthog-python/" in log_line
    assert "distinct_id.illegal" in warning
    assert "Stopped." in out
    db = tmp_path / "data" / "sandbox.sqlite3"
    assert count_events(str(db)) == 1


def test_cli_sandbox_says_when_the_port_is_taken(run_cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("sandbox", "--port", str(port), timeout=20)
    assert result.returncode == 2
    assert f"port {port} is in use" in result.stderr
    assert "--port" in result.stderr


def test_health_and_info_endpoints(sandbox: SandboxServer, store: SandboxStore) -> None:
    health = httpx.get(sandbox.url + "/")
    assert (health.status_code, health.text) == (200, "capture")
    assert health.headers["x-event-composer-sandbox"]
    info = orjson.loads(httpx.get(sandbox.url + "/_sandbox").content)
    assert info["db"] == store.path
    assert read_requests_after(store.path, 0) == []  # neither is kept in the inbox
