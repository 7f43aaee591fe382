"""Templates from the command line: the installed console script against a real local server."""

from __future__ import annotations

from pathlib import Path

import orjson

from composer.core.templates.document import Template, TemplateType
from composer.services.templates import TemplateStore
from tests.support.fault_server import FaultServer

KEY = "phc_cli_template_key_00000000000000000000000"


def folder_with_templates(tmp_path: Path) -> Path:
    folder = tmp_path / "plan"
    store = TemplateStore(folder, with_starters=False)
    store.save_new(
        Template(
            "Plan upgraded",
            events=[
                {
                    "event": "plan_upgraded",
                    "distinct_id": "{{user}}",
                    "properties": {"plan": "{{plan}}", "seats": "{{seats}}"},
                    "uuid": "{{$uuid}}",
                }
            ],
        ),
        "billing",
    )
    store.save_new(
        Template(
            "Two signups",
            TemplateType.BATCH,
            [{"event": "signed_up", "distinct_id": f"u{i}"} for i in range(2)],
            "/batch/",
        )
    )
    store.update_variables({"plan": "team"})
    return folder


def test_send_a_template_by_name_with_vars(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    folder = folder_with_templates(tmp_path)
    result = run_cli(
        "send",
        "plan upgraded",
        "--host",
        fault_server.url,
        "--var",
        "user=user-5",
        "--var",
        "seats:=3",
        env={"POSTHOG_PROJECT_API_KEY": KEY, "COMPOSER_TEMPLATES_DIR": str(folder)},
    )
    assert result.returncode == 0, result.stderr
    (request,) = fault_server.requests
    assert request.path == "/i/v0/e/"
    sent = orjson.loads(request.body)
    assert sent["distinct_id"] == "user-5"
    assert sent["properties"] == {"plan": "team", "seats": 3}  # plan from the workspace file
    assert len(sent["uuid"]) == 36
    assert sent["api_key"] == KEY


def test_an_unresolved_variable_is_not_sent(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    folder = folder_with_templates(tmp_path)
    result = run_cli(
        "send",
        "billing/plan-upgraded",
        "--host",
        fault_server.url,
        env={"POSTHOG_PROJECT_API_KEY": KEY, "COMPOSER_TEMPLATES_DIR": str(folder)},
    )
    assert result.returncode == 1
    assert "{{user}}" in result.stderr
    assert "--var user=" in result.stderr
    assert fault_server.requests == []


def test_a_batch_template_file_goes_to_the_batch_endpoint(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    folder = folder_with_templates(tmp_path)
    result = run_cli(
        "send",
        str(folder / "two-signups.json"),
        "--host",
        fault_server.url,
        env={"POSTHOG_PROJECT_API_KEY": KEY},
    )
    assert result.returncode == 0, result.stderr
    (request,) = fault_server.requests
    assert request.path == "/batch/"
    assert [e["distinct_id"] for e in orjson.loads(request.body)["batch"]] == ["u0", "u1"]


def test_template_list_and_show(run_cli, tmp_path: Path) -> None:
    folder = folder_with_templates(tmp_path)
    (folder / "broken.json").write_text('{"schema_version": 1, "name": ')
    env = {"COMPOSER_TEMPLATES_DIR": str(folder)}
    listed = run_cli("template", "list", "--format", "json", env=env)
    doc = orjson.loads(listed.stdout)
    by_name = {t["name"]: t for t in doc["templates"]}
    assert by_name["Plan upgraded"]["folder"] == "billing"
    assert by_name["Two signups"]["type"] == "batch"
    assert "Not valid JSON" in by_name["broken"]["error"]
    assert by_name["Identify"]["builtin"]  # the tutorial's starters are listed too
    assert listed.returncode == 1  # a broken template is worth a non-zero exit in CI
    text = run_cli("template", "list", env=env)
    assert text.returncode == 1
    assert "billing/Plan upgraded" in text.stdout

    shown = run_cli("template", "show", "Plan upgraded", env=env)
    assert shown.returncode == 0
    assert orjson.loads(shown.stdout)["event"]["distinct_id"] == "{{user}}"
    resolved = run_cli(
        "template", "show", "Plan upgraded", "--resolved", "--var", "user=u9", env=env
    )
    assert resolved.returncode == 1  # {{seats}} has no value
    body = orjson.loads(resolved.stdout)
    assert body["distinct_id"] == "u9"
    assert body["properties"]["seats"] == "{{seats}}"
    assert "{{seats}}" in resolved.stderr


def test_validate_takes_templates_and_vars(run_cli, tmp_path: Path) -> None:
    folder = folder_with_templates(tmp_path)
    env = {"COMPOSER_TEMPLATES_DIR": str(folder)}
    failing = run_cli("validate", "--format", "json", "Plan upgraded", env=env)
    assert failing.returncode == 1
    codes = [f["code"] for f in orjson.loads(failing.stdout)["files"][0]["findings"]]
    assert codes.count("variable.unresolved") == 2
    passing = run_cli("validate", "Plan upgraded", "--var", "user=u1", "--var", "seats:=2", env=env)
    # Only the missing key is left (the key is never part of a template).
    assert "variable.unresolved" not in passing.stdout
    missing = run_cli("validate", "No such template", env=env)
    assert missing.returncode == 2
    assert "No template named" in missing.stdout


def test_a_jsonl_batch_fills_variables_and_holds_back_unfilled_rows(
    run_cli, tmp_path: Path, fault_server: FaultServer
) -> None:
    folder = folder_with_templates(tmp_path)  # variables.json: plan=team
    source = tmp_path / "events.jsonl"
    source.write_text(
        '{"event": "e", "distinct_id": "{{user}}", "properties": {"plan": "{{plan}}"}}\n'
        '{"event": "e", "distinct_id": "{{nobody}}"}\n'
    )
    result = run_cli(
        "send",
        str(source),
        "--host",
        fault_server.url,
        "--var",
        "user=u-1",
        env={"POSTHOG_PROJECT_API_KEY": KEY, "COMPOSER_TEMPLATES_DIR": str(folder)},
    )
    assert result.returncode == 1  # one row held back
    (request,) = fault_server.requests
    (sent,) = orjson.loads(request.body)["batch"]
    assert (sent["distinct_id"], sent["properties"]["plan"]) == ("u-1", "team")
    held = (tmp_path / "events.failed.jsonl").read_text()
    assert "{{nobody}}" in held
