"""Every snippet, run in its own runtime against the sandbox, sends the composed events.

For each language whose runtime this machine has (curl, Python with requests, httpx and
posthog-python, Node's fetch, posthog-node, posthog-js in Chromium; Go and Ruby where they are
installed) the snippet of two bodies is saved and run as a user would run it, with the key in
$POSTHOG_PROJECT_API_KEY; then what the sandbox stored is compared with what was composed:
the event name, distinct id, uuid and timestamp are equal, every composed property is there
with its value, and the only other properties are the ones the SDK documents adding (the
snippet's notes list them) and the `$ip` PostHog adds to every event.

The SDKs send their own `sent_at`, and PostHog moves their timestamps by the difference between
it and its own clock (milliseconds here): for them the timestamp they sent is compared exactly,
and the stored one within a few seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from composer.core.capture import bodies
from composer.core.capture.identifiers import stringify_distinct_id
from composer.core.capture.parse import classify
from composer.core.capture.timestamps import parse_timestamp
from composer.core.compose.payloads import (
    Composition,
    DistinctIdPlacement,
    PayloadKind,
    build_event,
)
from composer.core.jsonio import JsonObject
from composer.core.snippets import IDS, SnippetRequest, generate
from composer.sandbox.local import LocalSandbox, start_local_sandbox
from composer.sandbox.sdk_calls import SdkConfig
from composer.sandbox.store import InboxEvent, read_events_for, read_requests_after
from tests.support.snippet_runner import missing_runtime, run_snippet

KEY = "phc_snippet_run_test_key_00000000000000"
POSTHOG_JS_DIST = Path(__file__).parent / "js" / "node_modules" / "posthog-js" / "dist"


def _uuid(n: int) -> str:
    return f"0190d5b2-6c1a-7cc1-9a1b-{n:012x}"


def composed_events() -> list[JsonObject]:
    """One event of every payload kind, with values each language must quote exactly."""
    both = DistinctIdPlacement.BOTH
    return [
        build_event(
            Composition(
                event="plan_upgraded",
                distinct_id="user-1",
                properties={
                    "plan": "team",
                    "seats": 5,
                    "trial": False,
                    "coupon": None,
                    "ratio": 0.25,
                    "tags": ["a", "b"],
                    "meta": {"source": "web", "depth": {"level": [1, {"x": None}]}},
                },
                set={"plan": "team"},
                set_once={"first_plan": "free"},
                groups={"company": "acme"},
                process_person_profile=True,
                timestamp="2024-05-01T12:00:00.250Z",
                uuid=_uuid(1),
            )
        ),
        build_event(
            Composition(
                kind=PayloadKind.IDENTIFY,
                distinct_id="user-1",
                anon_distinct_id="anon-9",
                set={"email": "a@example.com"},
                set_once={"signup": "2024-05-01"},
                timestamp="2024-05-01 12:00:01.5",  # naive, with a space: PostHog reads UTC
                uuid=_uuid(2),
            )
        ),
        build_event(
            Composition(
                kind=PayloadKind.ALIAS,
                distinct_id="user-1",
                distinct_id_placement=both,
                alias="user-1b",
                uuid=_uuid(3),
            )
        ),
        build_event(
            Composition(
                kind=PayloadKind.MERGE_DANGEROUSLY,
                distinct_id="user-4",
                alias="user-5",
                uuid=_uuid(4),
            )
        ),
        build_event(
            Composition(
                kind=PayloadKind.GROUP_IDENTIFY,
                distinct_id="$company_acme",
                group_type="company",
                group_key="acme",
                group_set={"name": "Acme", "employees": 11},
                uuid=_uuid(5),
            )
        ),
        build_event(
            Composition(
                kind=PayloadKind.SET, distinct_id="user-1", set={"plan": "team"}, uuid=_uuid(6)
            )
        ),
        build_event(
            Composition(
                kind=PayloadKind.SET_ONCE,
                distinct_id="user-1",
                set_once={"first_seen": "2024-05-01"},
                uuid=_uuid(7),
            )
        ),
        tricky_event(),
    ]


def tricky_event() -> JsonObject:
    """Strings every quoting scheme must carry: quotes, #{}, $VAR, backquotes, newlines, emoji."""
    return build_event(
        Composition(
            event="checkout ✓ 'done'",
            distinct_id="user 'quoted' \"twice\"",
            distinct_id_placement=DistinctIdPlacement.PROPERTIES,
            properties={
                "shell": "it's $HOME `pwd` \\n and '\"'\"'",
                "ruby": "#{1 + 1} #@x #$y",
                "lines": "a\nb\tc\r\u0001",
                "emoji": "🎉 é \u2028",
                "negative": -3,
                "big": 12345678901234,
                "empty": {},
                "list": [],
            },
            timestamp="2024-05-01T12:00:02Z",
            uuid=_uuid(8),
        )
    )


BATCH = bodies.batch_body(composed_events(), "phc_composed_key_must_not_leak_0000")
SINGLE = bodies.single_body(tricky_event(), "phc_composed_key_must_not_leak_0000")
CASES = {"batch": (BATCH, "/batch/"), "single": (SINGLE, "/i/v0/e/")}


# -- what each language may add ------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """What one language's snippet may add to each event."""

    added: Callable[[str], bool]
    sdk: bool = False  # sends its own sent_at: the stored timestamp moves by the clock skew
    set_once_added: bool = False  # posthog-js: $set_once gains the page's campaign parameters


PLAIN = Rules(lambda name: name == "$ip")
PYTHON_ADDS = {"$lib", "$lib_version", "$python_runtime", "$python_version", "$os",
               "$os_version", "$os_distro", "$is_server", "$ip"}  # fmt: skip
NODE_ADDS = {"$lib", "$lib_version", "$is_server", "$ip"}
RULES = {
    "posthog-python": Rules(PYTHON_ADDS.__contains__, sdk=True),
    "posthog-node": Rules(NODE_ADDS.__contains__, sdk=True),
    # posthog-js: its own $-properties ($browser, $current_url, $session_id ...), the key as
    # `token`, and the distinct id in properties.
    "posthog-js": Rules(
        lambda name: name.startswith("$") or name in ("token", "distinct_id"),
        sdk=True,
        set_once_added=True,
    ),
}


def expected_distinct_id(event: JsonObject) -> str:
    raw = event.get("distinct_id", (event.get("properties") or {}).get("distinct_id"))
    return stringify_distinct_id(raw)


def expected_properties(event: JsonObject) -> JsonObject:
    """The properties PostHog stores: a top-level $set / $set_once merged into the properties'."""
    props = dict(event.get("properties") or {})
    for name in ("$set", "$set_once"):
        if isinstance(event.get(name), dict):
            props[name] = {**(props.get(name) or {}), **event[name]}
    return props


def instant(text: str) -> datetime:
    value = parse_timestamp(text).value
    assert value is not None, text
    return value


def assert_same_event(
    stored: InboxEvent, sent: JsonObject | None, composed: JsonObject, rules: Rules, where: str
) -> None:
    norm = stored.normalized
    assert norm["event"] == composed["event"], where
    assert norm["distinct_id"] == expected_distinct_id(composed), where
    assert norm["uuid"] == composed["uuid"], where
    if "timestamp" in composed:
        want = instant(composed["timestamp"])
        got = instant(norm["timestamp"])
        if rules.sdk:
            assert sent is not None, f"{where}: the SDK's request body was not found"
            # what the SDK sent: exact (a JavaScript Date holds milliseconds)
            assert abs((instant(sent["timestamp"]) - want).total_seconds()) < 0.001, where
            assert abs((got - want).total_seconds()) < 5, where
        else:
            assert got == want.replace(microsecond=want.microsecond // 1000 * 1000), where
    props = norm["properties"]
    wanted = expected_properties(composed)
    for name, value in wanted.items():
        assert name in props, f"{where}: {name} is missing"
        if rules.set_once_added and name == "$set_once":
            assert {k: props[name].get(k) for k in value} == value, where
        else:
            assert props[name] == value, f"{where}: {name}"
    extra = sorted(name for name in props if name not in wanted and not rules.added(name))
    assert not extra, f"{where}: properties the snippet should not add: {extra}"


# -- the sandbox -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSandbox]:
    folder = tmp_path_factory.mktemp("snippet-sandbox")
    sdk = SdkConfig(flags_file=folder / "flags.json", posthog_js_dist=POSTHOG_JS_DIST)
    box = start_local_sandbox(port=0, db=folder / "inbox.sqlite3", sdk=sdk)
    assert box.owned
    try:
        yield box
    finally:
        box.stop()


def _arrived(box: LocalSandbox, uuids: set[str], timeout: float = 10.0) -> dict[str, Any]:
    """The stored events and the raw events (as the snippet sent them) by uuid."""
    deadline = time.monotonic() + timeout
    while True:
        requests = read_requests_after(box.db, 0)
        events = read_events_for(box.db, [r.id for r in requests])
        if uuids <= {e.uuid for e in events} or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raw: dict[str, JsonObject] = {}
    for request in requests:
        try:
            body = json.loads(request.body)
        except ValueError:
            continue
        for item in classify(body)[1]:
            if isinstance(item, dict) and isinstance(item.get("uuid"), str):
                raw[item["uuid"]] = item
    return {"events": events, "raw": raw, "requests": requests}


LANGUAGES = [
    pytest.param(lang, marks=pytest.mark.slow) if lang == "posthog-js" else lang for lang in IDS
]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_snippet_sends_the_composed_events(
    language: str, case: str, sandbox: LocalSandbox, tmp_path: Path
) -> None:
    reason = missing_runtime(language)
    if reason is not None:
        pytest.skip(reason)
    if language == "posthog-js" and case == "single":
        pytest.skip("posthog-js runs once, on the batch of every kind (Chromium is slow)")
    body, endpoint = CASES[case]
    assert sandbox.server is not None
    sandbox.server.reset()
    snippet = generate(
        language, SnippetRequest(body, endpoint, sandbox.url, key=KEY, secrets=(KEY,))
    )
    assert KEY not in snippet.code
    assert "phc_composed_key_must_not_leak_0000" not in snippet.code
    ran = run_snippet(snippet, tmp_path / language, sandbox.url, KEY)
    assert ran.returncode == 0, f"{language} failed:\n{ran.stdout}\n{ran.stderr}\n{snippet.code}"
    composed = [e for e in classify(body)[1] if isinstance(e, dict)]
    arrived = _arrived(sandbox, {e["uuid"] for e in composed})
    stored = {e.uuid: e for e in arrived["events"]}
    rules = RULES.get(language, PLAIN)
    for event in composed:
        where = f"{language}, {event['event']}"
        assert event["uuid"] in stored, f"{where} did not arrive:\n{ran.stdout}\n{ran.stderr}"
        sent = arrived["raw"].get(event["uuid"])
        assert_same_event(stored[event["uuid"]], sent, event, rules, where)
    wanted = {e["uuid"] for e in composed}
    others = [e.event for e in arrived["events"] if e.uuid not in wanted]
    assert not others, f"{language} sent events that were not composed: {others}"
    refused = [r for r in arrived["requests"] if r.status >= 400]
    assert not refused, [(r.path, r.status, r.reply) for r in refused]
