"""The sandbox processes persons like PostHog's ingestion, from any client, and answers them
over its local API; the real posthog-python SDK drives it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from composer.sandbox.persons import read_graph, read_persons
from composer.sandbox.server import SandboxServer
from composer.sandbox.store import SandboxStore, read_events_for, read_requests_after

KEY = "phc_sandbox_persons_test_key_00000000000"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SandboxStore]:
    s = SandboxStore(tmp_path / "inbox.sqlite3")
    yield s
    s.close()


@pytest.fixture
def sandbox(store: SandboxStore) -> Iterator[SandboxServer]:
    server = SandboxServer(store, port=0).start()
    yield server
    server.stop()


def sdk(sandbox: SandboxServer):
    from posthog import Posthog

    return Posthog(KEY, host=sandbox.url, sync_mode=True, max_retries=0)


def api(sandbox: SandboxServer, route: str, **params: str) -> dict:
    answer = httpx.get(f"{sandbox.url}/_sandbox/{route}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_posthog_python_calls_make_the_persons_posthog_would(
    sandbox: SandboxServer, store: SandboxStore
) -> None:
    client = sdk(sandbox)
    client.capture("page_viewed", distinct_id="anon-1", properties={"$set": {"plan": "free"}})
    client.capture(
        "$identify",
        distinct_id="user@x",
        properties={"$anon_distinct_id": "anon-1", "$set": {"email": "user@x"}},
    )
    client.alias(previous_id="anon-2", distinct_id="user@x")
    client.set(distinct_id="user@x", properties={"plan": "team"})
    client.set_once(distinct_id="user@x", properties={"first_seen": "2024-01-01", "plan": "x"})
    client.group_identify("company", "acme", {"name": "Acme"}, distinct_id="user@x")
    client.capture("other", distinct_id="user-2")
    client.shutdown()
    assert store.settle()  # persons follow the events on their own thread

    persons = read_persons(store.path)
    assert len(persons) == 2
    merged = next(p for p in persons if "user@x" in p.distinct_ids)
    assert set(merged.distinct_ids) == {"anon-1", "user@x", "anon-2"}
    assert merged.is_identified
    assert merged.properties["email"] == "user@x"
    assert merged.properties["plan"] == "team"  # $set after $set wins; $set_once did not
    assert merged.properties["first_seen"] == "2024-01-01"
    assert merged.sources["plan"][2] == "set"
    groups = api(sandbox, "groups")["groups"]
    assert [(g["group_type"], g["group_key"], g["properties"]) for g in groups] == [
        ("company", "acme", {"name": "Acme"})
    ]
    # Each event knows the person it went to, and what happened.
    requests = read_requests_after(store.path, 0)
    events = read_events_for(store.path, [r.id for r in requests])
    identify = next(e for e in events if e.event == "$identify")
    assert identify.person is not None
    assert identify.person["person_id"] == merged.uuid
    # user@x had no person yet: PostHog adds the id to anon-1's person (no merge needed).
    assert "linked `user@x` to the person of `anon-1`" in identify.person_summary
    assert all(e.person and e.person["person_id"] for e in events)


def test_a_refused_merge_is_shown_with_posthogs_warning_name(
    sandbox: SandboxServer, store: SandboxStore
) -> None:
    client = sdk(sandbox)
    client.capture("$identify", distinct_id="a@x", properties={"$anon_distinct_id": "anon-a"})
    client.capture("$identify", distinct_id="b@x", properties={"$anon_distinct_id": "anon-b"})
    client.alias(previous_id="a@x", distinct_id="b@x")  # both identified: refused
    client.shutdown()
    found = api(sandbox, "events", event="$create_alias")["events"]
    assert len(found) == 1
    warnings = [w["type"] for w in found[0]["person"]["warnings"]]
    assert warnings == ["cannot_merge_already_identified"]
    assert "refused" in found[0]["person"]["summary"]
    assert len(api(sandbox, "persons")["persons"]) == 2


def test_persons_survive_a_restart_and_reset_with_the_inbox(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    first = SandboxStore(path)
    server = SandboxServer(first, port=0).start()
    client = sdk(server)
    client.capture("e", distinct_id="anon-1")
    client.shutdown()
    server.stop()
    first.close()
    second = SandboxStore(path)
    server = SandboxServer(second, port=0).start()
    try:
        client = sdk(server)
        client.capture("$identify", distinct_id="u", properties={"$anon_distinct_id": "anon-1"})
        client.shutdown()
        persons = api(server, "persons")["persons"]
        assert [sorted(p["distinct_ids"]) for p in persons] == [["anon-1", "u"]]
        assert httpx.post(server.url + "/_sandbox/reset").json() == {"reset": True}
        assert api(server, "persons")["persons"] == []
        assert second.settle()
        assert read_graph(second.path).persons == {}
        client = sdk(server)
        client.capture("after", distinct_id="anon-1")
        client.shutdown()
        assert [p["distinct_ids"] for p in api(server, "persons")["persons"]] == [["anon-1"]]
    finally:
        server.stop()
        second.close()


def test_the_local_api_lists_filters_and_counts(sandbox: SandboxServer) -> None:
    with httpx.Client() as client:
        url = sandbox.url
        client.post(
            url + "/batch/",
            json={
                "api_key": KEY,
                "batch": [
                    {
                        "event": "a",
                        "distinct_id": "u1",
                        "uuid": "00000000-0000-4000-8000-000000000001",
                    },
                    {"event": "b", "distinct_id": "u2"},
                    {"event": "x" * 250, "distinct_id": "u1"},  # truncated: changed
                    {"event": "$performance_event", "distinct_id": "u1"},  # 200, then gone
                ],
            },
        )
        client.post(url + "/batch/", json={"api_key": KEY, "batch": [{"event": "no_id"}] * 3})
    assert api(sandbox, "counts") == {
        "requests": 2,
        "total": 7,
        "accepted": 2,
        "changed": 1,
        "dropped": 1,
        "rejected": 3,
        "recordings": 0,
        "sdk_calls": 0,
    }
    u1 = api(sandbox, "events", distinct_id="u1")
    assert [e["event"][:1] for e in u1["events"]] == ["a", "x"]
    assert api(sandbox, "events", verdict="changed")["events"][0]["verdict"] == "changed"
    one = api(sandbox, "events/00000000-0000-4000-8000-000000000001")
    assert one["event"] == "a"
    assert one["request"]["path"] == "/batch/"
    assert one["person"]["person_id"]
    page = api(sandbox, "events", limit="1", offset="1")
    assert (page["total"], len(page["events"])) == (3, 1)
    refused = api(sandbox, "requests", refused="1")["requests"]
    assert [(r["status"], r["offered"]) for r in refused] == [(400, 3)]
    bad = httpx.get(sandbox.url + "/_sandbox/events", params={"limit": "lots"})
    assert bad.status_code == 400
    assert "limit" in bad.json()["error"]
    assert httpx.get(sandbox.url + "/_sandbox/nope").status_code == 404
    assert httpx.get(sandbox.url + "/_sandbox/reset").status_code == 405
    since = api(sandbox, "events", since="2999-01-01T00:00:00Z")
    assert since["events"] == []
