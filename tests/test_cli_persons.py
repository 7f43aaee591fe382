"""`event-composer persons simulate`: the persons and refusals a file of events makes."""

from __future__ import annotations

import json
from pathlib import Path

FLOW = [
    {"event": "pageview", "distinct_id": "anon-1", "properties": {"$set": {"plan": "free"}}},
    {
        "event": "$identify",
        "distinct_id": "a@x",
        "properties": {"$anon_distinct_id": "anon-1", "$set": {"email": "a@x"}},
    },
    {"event": "$identify", "distinct_id": "b@x", "properties": {"$anon_distinct_id": "anon-2"}},
    {"event": "$create_alias", "distinct_id": "b@x", "properties": {"alias": "a@x"}},
    {
        "event": "$groupidentify",
        "distinct_id": "a@x",
        "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": {"n": 1}},
    },
]


def write_jsonl(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_simulate_prints_persons_groups_and_the_refused_merge(run_cli, tmp_path: Path) -> None:
    flow = write_jsonl(tmp_path / "flow.jsonl", FLOW)
    result = run_cli("persons", "simulate", str(flow))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2 persons after 5 events" in out
    assert "person 1 (identified): anon-1, a@x" in out
    assert 'email = "a@x"  (event 2)' in out
    assert "company acme" in out
    assert "event 4 ($create_alias b@x): cannot_merge_already_identified" in out


def test_strict_exits_1_on_a_refusal_and_0_without(run_cli, tmp_path: Path) -> None:
    refused = write_jsonl(tmp_path / "refused.jsonl", FLOW)
    clean = write_jsonl(tmp_path / "clean.jsonl", FLOW[:3])
    assert run_cli("persons", "simulate", "--strict", str(refused)).returncode == 1
    assert run_cli("persons", "simulate", "--strict", str(clean)).returncode == 0


def test_json_output_names_every_events_outcome(run_cli, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"api_key": "phc_x_test", "batch": FLOW}))
    result = run_cli("persons", "simulate", "--format", "json", str(body))
    doc = json.loads(result.stdout)
    assert [sorted(p["distinct_ids"]) for p in doc["persons"]] == [
        ["a@x", "anon-1"],
        ["anon-2", "b@x"],
    ]
    assert [e["event_index"] for e in doc["events"]] == [0, 1, 2, 3, 4]
    assert doc["events"][3]["warnings"][0]["type"] == "cannot_merge_already_identified"
    assert doc["groups"][0]["group_key"] == "acme"


def test_simulate_starts_from_a_sandbox_inbox(run_cli, tmp_path: Path) -> None:
    import httpx

    from composer.sandbox.server import SandboxServer
    from composer.sandbox.store import SandboxStore

    store = SandboxStore(tmp_path / "inbox.sqlite3")
    server = SandboxServer(store, port=0).start()
    try:
        httpx.post(
            server.url + "/batch/",
            json={"api_key": "phc_persons_cli_key_000000", "batch": FLOW[:3]},
        )
    finally:
        server.stop()
        store.close()
    alias = write_jsonl(tmp_path / "alias.jsonl", [FLOW[3]])
    result = run_cli(
        "persons", "simulate", "--strict", "--inbox", str(tmp_path / "inbox.sqlite3"), str(alias)
    )
    assert result.returncode == 1
    assert "cannot_merge_already_identified" in result.stdout
    missing = run_cli("persons", "simulate", "--inbox", str(tmp_path / "nope"), str(alias))
    assert missing.returncode == 2
    assert "no such inbox file" in missing.stderr
