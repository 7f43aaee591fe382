"""`event-composer code`: the installed console script writes code, never with an unasked key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from composer.cli.main import main
from composer.core.capture import bodies
from composer.core.snippets import IDS
from composer.core.snippets.paste import paste
from tests.test_cli_templates import folder_with_templates

ENV_KEY = "phc_cli_code_environment_key_000000000"
FILE_KEY = "phc_cli_code_key_in_the_file_0000000000"


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "event.json"
    event = {"event": "signed_up", "distinct_id": "u-1", "properties": {"token": FILE_KEY}}
    path.write_text(json.dumps(bodies.single_body(event, FILE_KEY)))
    return path


@pytest.mark.parametrize("language", IDS)
def test_no_key_in_the_code_unless_asked(
    body_file: Path,
    language: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POSTHOG_PROJECT_API_KEY", ENV_KEY)
    assert main(["code", "--lang", language, str(body_file), "--host", "eu"]) == 0
    out, err = capsys.readouterr()
    for secret in (ENV_KEY, FILE_KEY):
        assert secret not in out
        assert secret not in err
    assert "POSTHOG_PROJECT_API_KEY" in out
    assert "https://eu.i.posthog.com" in out

    assert main(["code", "--lang", language, str(body_file), "--include-key"]) == 0
    out, _err = capsys.readouterr()
    assert ENV_KEY in out  # the environment's key wins, as for `send`
    assert FILE_KEY not in out


def test_the_console_script_writes_code_without_the_key(run_cli, body_file: Path) -> None:
    env = {"POSTHOG_PROJECT_API_KEY": ENV_KEY}
    result = run_cli("code", "--lang", "curl", str(body_file), env=env)
    assert result.returncode == 0, result.stderr
    assert ENV_KEY not in result.stdout
    assert FILE_KEY not in result.stdout
    assert '"$POSTHOG_PROJECT_API_KEY"' in result.stdout


def test_include_key_without_a_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POSTHOG_PROJECT_API_KEY", raising=False)
    path = tmp_path / "event.json"
    path.write_text('{"event": "e", "distinct_id": "u"}')
    assert main(["code", "--lang", "curl", str(path), "--include-key"]) == 2
    assert "no key to include" in capsys.readouterr().err


def test_a_template_by_name_with_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMPOSER_TEMPLATES_DIR", str(folder_with_templates(tmp_path)))
    monkeypatch.delenv("POSTHOG_HOST", raising=False)
    argv = ["code", "--lang", "python-requests", "plan upgraded", "--var", "user=u-9"]
    assert main([*argv, "--var", "seats:=3"]) == 0
    pasted = paste(capsys.readouterr().out)
    (event,) = pasted.events
    assert event["distinct_id"] == "u-9"
    assert event["properties"] == {"plan": "team", "seats": 3}
    assert pasted.endpoint == "/i/v0/e/"
    assert pasted.host == "http://127.0.0.1:8787"

    assert main(["code", "--lang", "curl", "plan upgraded"]) == 1
    assert "variables without a value" in capsys.readouterr().err


def test_stdin_jsonl_and_output(
    run_cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = b'{"batch": [{"event": "e", "distinct_id": "u"}]}'
    result = run_cli("code", "--lang", "curl", "-", stdin=batch)
    assert result.returncode == 0, result.stderr
    assert "/batch/" in result.stdout

    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        '{"event": "a", "distinct_id": "u"}\nnot json\n{"event": "b", "distinct_id": "u"}\n'
    )
    out = tmp_path / "send.py"
    assert main(["code", "--lang", "posthog-python", str(rows), "--output", str(out)]) == 0
    assert "line 2" in capsys.readouterr().err
    code = out.read_text()
    assert code.count("posthog.capture(") == 2


def test_unreadable_input_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"event": "e",\n "distinct_id": }')
    assert main(["code", "--lang", "curl", str(path)]) == 2
    assert "line 2" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["code", "--lang", "cobol", str(path)])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
