"""The installed `event-composer` console script, run in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from composer.core.capture import bodies
from tests.conftest import ROOT, TUTORIAL, CliResult, cli_path
from tests.support.fault_server import FaultServer, Reply, unused_port

KEY = "phc_cli_test_key_0000000000000000000000000"
NO_DNS = str(ROOT / "tests" / "support" / "no_dns")


def write(tmp_path: Path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def good_event(**extra: object) -> bytes:
    return orjson.dumps({"api_key": KEY, "event": "signed_up", "distinct_id": "user-1", **extra})


def assert_one_clear_line(result: CliResult) -> None:
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("event-composer: ")


def test_version_and_help(run_cli) -> None:
    version = run_cli("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("event-composer ")
    top = run_cli("--help")
    assert top.returncode == 0
    assert "examples:" in top.stdout
    assert "validate" in top.stdout
    for command in ("validate", "send"):
        helped = run_cli(command, "--help")
        assert helped.returncode == 0
        assert "examples:" in helped.stdout


def test_python_dash_m_is_the_same_program() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "composer", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("event-composer ")


@pytest.mark.parametrize("example", sorted(p.name for p in TUTORIAL.iterdir()))
def test_validate_passes_every_tutorial_example(run_cli, example: str) -> None:
    result = run_cli("validate", str(TUTORIAL / example))
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": ok (" in result.stdout


def test_validate_reports_where_posthog_would_reject(run_cli, tmp_path: Path) -> None:
    body = {
        "api_key": KEY,
        "batch": [
            {"event": "a", "distinct_id": "u1"},
            {"event": "b", "properties": {"plan": "team"}},
            {"event": "c", "distinct_id": "u3", "timestamp": 1714564800},
        ],
    }
    path = write(tmp_path, "batch.json", orjson.dumps(body))
    result = run_cli("validate", path)
    assert result.returncode == 1
    assert "distinct_id.missing  at batch[1].distinct_id" in result.stdout
    assert "timestamp.not_string  at batch[2].timestamp" in result.stdout
    assert "PostHog would answer: 400" in result.stdout


def test_validate_json_format_is_one_document(run_cli, tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", good_event())
    bad = write(
        tmp_path,
        "bad.json",
        orjson.dumps({"api_key": "phx_personal", "event": "x", "distinct_id": "u"}),
    )
    result = run_cli("validate", "--format", "json", good, bad)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert [f["path"] for f in doc["files"]] == [good, bad]
    first, second = doc["files"]
    assert first["ok"] is True
    assert first["events"] == 1
    assert second["ok"] is False
    (personal,) = [f for f in second["findings"] if f["code"] == "token.personal_key"]
    assert set(personal) == {"severity", "code", "path", "message", "fix"}
    assert personal["severity"] == "error"
    assert personal["path"] == "api_key"


def test_validate_reads_stdin(run_cli) -> None:
    result = run_cli("validate", "-", stdin=good_event())
    assert result.returncode == 0
    assert "<stdin>: ok" in result.stdout


def test_validate_unreadable_inputs_exit_2(run_cli, tmp_path: Path) -> None:
    missing = run_cli("validate", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "no such file" in missing.stdout
    latin1 = write(tmp_path, "latin1.json", '{"event": "caf\xe9"}'.encode("latin-1"))
    result = run_cli("validate", latin1)
    assert result.returncode == 2
    assert "not UTF-8" in result.stdout
    assert "save it as UTF-8" in result.stdout
    usage = run_cli("validate")
    assert usage.returncode == 2


def test_validate_empty_and_broken_json(run_cli, tmp_path: Path) -> None:
    empty = run_cli("validate", write(tmp_path, "empty.json", b""))
    assert empty.returncode == 1
    assert "body.empty" in empty.stdout
    broken = run_cli("validate", write(tmp_path, "broken.json", b'{\n  "event": "x",\n  oops\n}'))
    assert broken.returncode == 1
    assert "line 3, column 3" in broken.stdout
    assert "Traceback" not in broken.stdout + broken.stderr


def test_validate_a_50_mb_file(run_cli, tmp_path: Path) -> None:
    blob = "x" * (50 * 1024 * 1024)
    path = write(tmp_path, "huge.json", good_event(properties={"blob": blob}))
    result = run_cli("validate", path)
    assert result.returncode == 1
    assert "body.too_large" in result.stdout
    assert "event.too_large" in result.stdout


def test_send_delivers_the_previewed_body_byte_for_byte(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    source = {
        "api_key": "phc_in_file_key_11111111111111",
        "event": "signed_up",
        "distinct_id": "user-1",
        "properties": {"plan": "team", "seats": 3},
    }
    path = write(tmp_path, "event.json", json.dumps(source, indent=7))
    env = {"POSTHOG_PROJECT_API_KEY": KEY}
    preview = run_cli("send", path, "--host", fault_server.url, "--dry-run", env=env)
    assert preview.returncode == 0
    assert fault_server.requests == []
    assert KEY not in preview.stdout
    result = run_cli("send", path, "--host", fault_server.url, env=env)
    assert result.returncode == 0, result.stderr
    assert "200 accepted" in result.stdout
    assert '{"status":"Ok"}' in result.stdout
    (request,) = fault_server.requests
    assert request.path == "/i/v0/e/"
    # The key from the environment replaced the file's key; nothing else differs from the preview.
    expected = (
        preview.stdout.rstrip("\n").encode().replace(bodies.mask_key(KEY).encode(), KEY.encode())
    )
    assert request.raw_body == expected
    assert orjson.loads(request.raw_body) == {**source, "api_key": KEY}
    assert KEY not in result.stdout + result.stderr


def test_send_a_batch_goes_to_the_batch_endpoint(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    path = str(TUTORIAL / "batch.curl.json")
    result = run_cli(
        "send", path, "--host", fault_server.url, "--gzip", env={"POSTHOG_PROJECT_API_KEY": KEY}
    )
    assert result.returncode == 0, result.stderr
    (request,) = fault_server.requests
    assert request.path == "/batch/"
    assert request.headers["Content-Encoding"] == "gzip"
    assert orjson.loads(request.body)["api_key"] == KEY


def test_send_refuses_a_body_with_errors_unless_forced(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    path = write(tmp_path, "bad.json", orjson.dumps({"api_key": KEY, "event": ""}))
    refused = run_cli("send", path, "--host", fault_server.url)
    assert refused.returncode == 1
    assert "Not sent" in refused.stderr
    assert "event.empty" in refused.stderr
    assert fault_server.requests == []
    fault_server.queue(Reply(400, b"event submitted with an empty event name"))
    forced = run_cli("send", path, "--host", fault_server.url, "--force")
    assert forced.returncode == 1
    assert "400 Bad Request" in forced.stdout
    assert len(fault_server.requests) == 1


def test_send_shows_guidance_for_a_401(run_cli, tmp_path: Path, fault_server: FaultServer) -> None:
    fault_server.queue(Reply(401, b"API key is not valid: personal_api_key"))
    path = write(tmp_path, "event.json", good_event())
    result = run_cli("send", path, "--host", fault_server.url)
    assert result.returncode == 1
    assert "401 Unauthorized" in result.stdout
    assert "use the project API key (phc_...) from Project settings" in result.stdout


def test_send_json_format_prints_the_record(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    path = write(tmp_path, "event.json", good_event())
    result = run_cli("send", path, "--host", fault_server.url, "--format", "json")
    assert result.returncode == 0
    record = json.loads(result.stdout)
    assert record["status"] == 200
    assert record["ok"] is True
    assert record["url"] == fault_server.url + "/i/v0/e/"
    assert record["body"] == '{"status":"Ok"}'
    assert record["attempts"][0]["status"] == 200
    assert KEY not in result.stdout


def test_send_bad_hosts_get_one_clear_line(run_cli, tmp_path: Path) -> None:
    path = write(tmp_path, "event.json", good_event())
    not_url = run_cli("send", path, "--host", "not a host")
    assert not_url.returncode == 2
    assert_one_clear_line(not_url)
    no_host = run_cli("send", path)
    assert no_host.returncode == 2
    assert "--host" in no_host.stderr


def test_send_to_a_host_that_does_not_resolve(run_cli, tmp_path: Path) -> None:
    path = write(tmp_path, "event.json", good_event())
    env = {"PYTHONPATH": NO_DNS + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = run_cli(
        "send", path, "--host", "https://ingest.example.invalid", "--retries", "0", env=env
    )
    assert result.returncode == 1
    assert "Could not resolve ingest.example.invalid" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_send_tls_failure_and_refused_connection(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    path = write(tmp_path, "event.json", good_event())
    tls = run_cli("send", path, "--host", f"https://127.0.0.1:{fault_server.port}")
    assert tls.returncode == 1
    assert "TLS handshake" in tls.stdout
    assert "http://" in tls.stdout
    refused = run_cli("send", path, "--host", f"http://127.0.0.1:{unused_port()}", "--retries", "0")
    assert refused.returncode == 1
    assert "refused the connection" in refused.stdout


def test_send_unreadable_file(run_cli, tmp_path: Path) -> None:
    result = run_cli("send", str(tmp_path / "missing.json"), "--host", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert_one_clear_line(result)


def test_bare_command_opens_the_window(run_cli) -> None:
    result = run_cli("--selftest", env={"QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert "window shown: True, workspace ready: True" in result.stdout
    assert "qt platform: offscreen" in result.stdout


def test_bare_command_without_a_display_says_why(run_cli) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    proc = subprocess.run(
        [str(cli_path())], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert "no display" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_send_a_jsonl_batch_with_a_rejected_event(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    lines = [
        orjson.dumps(
            {"event": "e", "distinct_id": f"u{i}", "uuid": f"00000000-0000-4000-8000-{i:012d}"}
        )
        for i in range(500)
    ]
    lines[100] = b'{"event": "", "distinct_id": "u"}'  # held back: PostHog would refuse it
    lines.insert(200, b"not json")
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines))
    marked = b"00000000-0000-4000-8000-000000000333"
    fault_server.reject_if = lambda body: marked in body
    result = run_cli(
        "send",
        str(path),
        "--host",
        fault_server.url,
        "--max-events",
        "100",
        "--retries",
        "0",
        env={"POSTHOG_PROJECT_API_KEY": KEY},
    )
    assert result.returncode == 1
    assert "line 201: not valid JSON" in result.stderr
    assert "498 sent, 1 failed, 1 held back" in result.stdout
    failed_file = tmp_path / "events.failed.jsonl"
    assert str(failed_file) in result.stdout
    written = [orjson.loads(line) for line in failed_file.read_bytes().splitlines()]
    assert len(written) == 2
    assert marked.decode() in {e["uuid"] for e in written}
    assert "" in {e["event"] for e in written}  # the held-back one, to fix and resend
    assert fault_server.events_received == 498


def test_send_a_csv_batch(run_cli, tmp_path: Path, fault_server: FaultServer) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event,distinct_id,plan\nsigned_up,u1,team\nsigned_up,u2,free\n")
    result = run_cli(
        "send",
        str(path),
        "--host",
        fault_server.url,
        "--format",
        "json",
        env={"POSTHOG_PROJECT_API_KEY": KEY},
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["sent"], doc["failed"], doc["held_back"]) == (2, 0, 0)
    body = orjson.loads(fault_server.requests[0].body)
    assert body["api_key"] == KEY
    assert body["batch"][0]["properties"] == {"plan": "team"}
