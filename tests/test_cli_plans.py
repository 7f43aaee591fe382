"""Tracking plans from the command line: validate --plan, plan infer, plan check."""

from __future__ import annotations

from pathlib import Path

import orjson

from composer.services.plans import example_plan_path

EXAMPLE = str(example_plan_path())


def body_file(tmp_path: Path, name: str, body: object) -> str:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(body))
    return str(path)


def upgraded(**props: object) -> dict[str, object]:
    return {
        "event": "plan_upgraded",
        "distinct_id": "u1",
        "properties": {"plan": "team", "previous_plan": "free", "seats": 4, **props},
    }


def test_validate_with_a_plan_passes_a_conforming_file(run_cli, tmp_path: Path) -> None:
    path = body_file(tmp_path, "ok.json", {"api_key": "phc_x" * 8, "batch": [upgraded()]})
    result = run_cli("validate", "--plan", EXAMPLE, path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_validate_with_a_plan_fails_a_violation_naming_event_and_rule(
    run_cli, tmp_path: Path
) -> None:
    body = {"api_key": "phc_x" * 8, "batch": [upgraded(), upgraded(plan="gold", seats="4")]}
    path = body_file(tmp_path, "bad.json", body)
    text = run_cli("validate", "--plan", EXAMPLE, path)
    assert text.returncode == 1
    assert "plan.enum" in text.stdout
    assert "batch[1].properties.plan" in text.stdout
    assert "plan.type_mismatch" in text.stdout
    assert "PostHog would accept it (200)" in text.stdout
    as_json = run_cli("validate", "--plan", EXAMPLE, "--format", "json", path)
    assert as_json.returncode == 1
    findings = orjson.loads(as_json.stdout)["files"][0]["findings"]
    plan_findings = [f for f in findings if f["code"].startswith("plan.")]
    assert {f["code"] for f in plan_findings} == {"plan.enum", "plan.type_mismatch"}
    assert all(f["path"].startswith("batch[1]") for f in plan_findings)
    # Without the plan the same file is fine for PostHog.
    assert run_cli("validate", path).returncode == 0


def test_a_broken_plan_is_reported_with_file_and_line(run_cli, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nevents:\n  a:\n    properties:\n      n: {type: int}\n")
    path = body_file(tmp_path, "e.json", {"event": "a", "distinct_id": "u", "api_key": "k"})
    result = run_cli("validate", "--plan", str(plan), path)
    assert result.returncode == 2
    assert f"{plan}:5: 'int' is not a property type." in result.stderr
    checked = run_cli("plan", "check", str(plan))
    assert checked.returncode == 2
    assert ":5:" in checked.stderr
    assert run_cli("plan", "check", EXAMPLE).returncode == 0


def test_plan_infer_drafts_a_plan_that_passes_its_source(run_cli, tmp_path: Path) -> None:
    events = [upgraded(seats=i + 1) for i in range(5)]
    events.append({"event": "signed_up", "distinct_id": "u2", "properties": {"method": "x"}})
    source = tmp_path / "export.jsonl"
    source.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    inferred = run_cli("plan", "infer", str(source))
    assert inferred.returncode == 0, inferred.stderr
    assert "Learned 2 events from 6 samples" in inferred.stderr
    plan = tmp_path / "learned.yaml"
    plan.write_text(inferred.stdout)
    body = body_file(tmp_path, "same.json", {"api_key": "phc_x" * 8, "batch": events})
    assert run_cli("validate", "--plan", str(plan), body).returncode == 0
    other = body_file(
        tmp_path, "other.json", {"api_key": "phc_x" * 8, "batch": [upgraded(coupon="X")]}
    )
    strict = run_cli("validate", "--plan", str(plan), other)
    assert strict.returncode == 1
    assert "plan.unknown_property" in strict.stdout


def test_validate_checks_a_jsonl_export_against_a_plan(run_cli, tmp_path: Path) -> None:
    events = [upgraded(seats=i + 1) for i in range(4)] + [upgraded(plan="gold")]
    source = tmp_path / "export.jsonl"
    source.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\nnot json\n")
    result = run_cli("validate", "--plan", EXAMPLE, "--format", "json", str(source))
    assert result.returncode == 1
    [document] = orjson.loads(result.stdout)["files"]
    assert document["events"] == 5
    paths = {(f["code"], f["path"]) for f in document["findings"]}
    assert ("plan.enum", "[4].properties.plan") in paths
    assert ("file.unreadable_line", "line 6") in paths
    learned = run_cli("plan", "infer", str(source))
    plan = tmp_path / "learned.yaml"
    plan.write_text(learned.stdout)
    source.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    assert run_cli("validate", "--plan", str(plan), str(source)).returncode == 0
