"""The sandbox with the real JavaScript SDKs: posthog-node, and posthog-js in Debian's Chromium.

Each SDK runs once per module against its own sandbox (tests/support/js_clients.py drives the
scripts in tests/js), and the tests read what it did from two sides: the harness's report (every
request the SDK made, with its status, and everything the SDK logged) and the sandbox's inbox.

Every event the SDKs capture lands in the inbox exactly once; every other call they make
(flags, local-evaluation definitions, remote config, lazily loaded scripts) is answered, so no
request gets a 404 and no SDK logs an error; the flags of the sandbox's flags file reach each
SDK's flag calls; and posthog-js, told by remote config what production tells it, autocaptures
and compresses with gzip-js.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from composer.core.capture.bodies import mask_key
from composer.sandbox.local import LocalSandbox, start_local_sandbox
from composer.sandbox.sdk_calls import SdkConfig
from composer.sandbox.store import (
    InboxEvent,
    InboxRequest,
    read_events_for,
    read_requests_after,
)
from tests.support.js_clients import (
    JsClientError,
    needs_browser,
    needs_node,
    require_browser,
    require_node,
    run_browser_client,
    run_node_client,
)

KEY = "phc_sandbox_js_sdk_test_key_0000000000000"
PERSONAL_KEY = "phx_sandbox_js_sdk_personal_key_000000000"
FLAG = "sandbox-beta"

pytestmark = pytest.mark.slow


@dataclass
class Run:
    """One SDK run: what the harness reported, and what the sandbox kept."""

    sandbox: LocalSandbox
    result: dict[str, Any]
    requests: list[InboxRequest]
    events: list[InboxEvent]

    def named(self, event: str) -> list[InboxEvent]:
        return [e for e in self.events if e.event == event]

    def sdk_requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The requests the SDK made to the sandbox, as the harness saw them."""
        host = self.sandbox.url
        return [
            r
            for r in self.result["requests"]
            if r["url"].startswith(host + "/") and (path is None or r["path"] == path)
        ]


def _inbox(db: str) -> tuple[list[InboxRequest], list[InboxEvent]]:
    requests = read_requests_after(db, 0)
    return requests, read_events_for(db, [r.id for r in requests])


def _settled_inbox(
    db: str, expected: set[str], timeout: float = 5.0
) -> tuple[list[InboxRequest], list[InboxEvent]]:
    """The inbox once every expected event name is in it (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        requests, events = _inbox(db)
        if expected <= {e.event for e in events} or time.monotonic() > deadline:
            return requests, events
        time.sleep(0.1)


# The flags file the sandbox serves: a multivariate flag with a payload for the variant, and an
# off flag, as a user writes them (docs: the README's sandbox section).
FLAGS_FILE = {
    "flags": {
        FLAG: {"variant": "treatment", "payloads": {"treatment": {"discount": 20}}},
        "sandbox-off": False,
    }
}
POSTHOG_JS_DIST = Path(__file__).parent / "js" / "node_modules" / "posthog-js" / "dist"


def _sandbox(tmp_path_factory: pytest.TempPathFactory, name: str) -> LocalSandbox:
    folder = tmp_path_factory.mktemp(name)
    flags = folder / "flags.json"
    flags.write_text(json.dumps(FLAGS_FILE))
    sdk = SdkConfig(flags_file=flags, posthog_js_dist=POSTHOG_JS_DIST)
    sandbox = start_local_sandbox(port=0, db=folder / "inbox.sqlite3", sdk=sdk)
    assert sandbox.owned
    return sandbox


def _unmasked(path: str) -> str:
    """An inbox path as the harness reports it (the harness prints the key as <key>; the
    inbox keeps it masked)."""
    return path.replace(KEY, "<key>").replace(mask_key(KEY), "<key>")


# -- posthog-node --------------------------------------------------------------------------------

NODE_USER = "node-user-1"
NODE_CAPTURE_UUID = str(uuid.uuid4())
NODE_EVENTS = {"js_node_plan_upgraded", "$identify", "$create_alias", "$groupidentify"}


@pytest.fixture(scope="module")
def node_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    require_node()
    sandbox = _sandbox(tmp_path_factory, "node")
    try:
        result = run_node_client(
            {
                "host": sandbox.url,
                "key": KEY,
                "actions": [
                    {
                        "type": "capture",
                        "distinctId": NODE_USER,
                        "event": "js_node_plan_upgraded",
                        "properties": {"plan": "team", "seats": 3},
                        "uuid": NODE_CAPTURE_UUID,
                    },
                    {
                        "type": "identify",
                        "distinctId": NODE_USER,
                        "properties": {"$set": {"email": "node@example.com"}},
                    },
                    {"type": "alias", "distinctId": NODE_USER, "alias": "node-anon-1"},
                    {
                        "type": "groupIdentify",
                        "groupType": "company",
                        "groupKey": "acme",
                        "properties": {"name": "Acme"},
                    },
                    {"type": "getFeatureFlag", "key": FLAG, "distinctId": NODE_USER},
                    {"type": "isFeatureEnabled", "key": FLAG, "distinctId": NODE_USER},
                    {"type": "getFeatureFlagPayload", "key": FLAG, "distinctId": NODE_USER},
                    {"type": "getAllFlags", "distinctId": NODE_USER},
                ],
            },
            timeout=30,
        )
        requests, events = _inbox(sandbox.db)
        yield Run(sandbox, result, requests, events)
    finally:
        sandbox.stop()


@pytest.fixture(scope="module")
def node_local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """posthog-node with a personal API key: local evaluation asks for flag definitions."""
    require_node()
    sandbox = _sandbox(tmp_path_factory, "node-local")
    try:
        result = run_node_client(
            {
                "host": sandbox.url,
                "key": KEY,
                "personalApiKey": PERSONAL_KEY,
                "actions": [
                    {"type": "capture", "distinctId": NODE_USER, "event": "js_node_local"},
                    {"type": "getFeatureFlag", "key": FLAG, "distinctId": NODE_USER},
                    {"type": "getAllFlags", "distinctId": NODE_USER},
                ],
            },
            timeout=30,
        )
        requests, events = _inbox(sandbox.db)
        yield Run(sandbox, result, requests, events)
    finally:
        sandbox.stop()


@needs_node
def test_node_sdk_events_land_exactly_once(node_run: Run) -> None:
    counts = Counter(e.event for e in node_run.events)
    for name in NODE_EVENTS:
        assert counts[name] == 1, f"{name}: {counts[name]} in the inbox ({dict(counts)})"
    assert len({e.uuid for e in node_run.events}) == len(node_run.events)

    (capture,) = node_run.named("js_node_plan_upgraded")
    assert capture.uuid == NODE_CAPTURE_UUID
    assert capture.distinct_id == NODE_USER
    props = capture.normalized["properties"]
    assert (props["plan"], props["seats"]) == ("team", 3)
    assert props["$lib"] == "posthog-node"
    (identify,) = node_run.named("$identify")
    assert identify.distinct_id == NODE_USER
    assert identify.normalized["properties"]["$set"] == {"email": "node@example.com"}
    (alias,) = node_run.named("$create_alias")
    assert alias.normalized["properties"]["alias"] == "node-anon-1"
    (group,) = node_run.named("$groupidentify")
    assert group.normalized["properties"]["$group_type"] == "company"
    assert group.normalized["properties"]["$group_key"] == "acme"
    assert group.normalized["properties"]["$group_set"] == {"name": "Acme"}


@needs_node
def test_node_sdk_batches_gzip_to_batch_and_the_sandbox_accepts_it(node_run: Run) -> None:
    batches = node_run.sdk_requests("/batch/")
    assert batches, node_run.result["requests"]
    for request in batches:
        assert request["method"] == "POST"
        assert request["status"] == 200
        assert request["gzip"] is True
        assert request["requestHeaders"].get("Content-Encoding") == "gzip"
        assert request["requestHeaders"]["User-Agent"].startswith("posthog-node/")
    sent = Counter(name for r in batches for name in r["events"])
    assert sent == Counter(e.event for e in node_run.events)


@needs_node
def test_every_node_request_is_in_the_inbox_with_the_status_the_sdk_saw(node_run: Run) -> None:
    seen = [(r["method"], r["path"], r["status"]) for r in node_run.sdk_requests()]
    kept = [(r.method, _unmasked(r.path), r.status) for r in node_run.requests]
    assert Counter(seen) == Counter(kept)
    assert node_run.result["blocked"] == []


@needs_node
def test_node_flag_calls_return_and_report_what_happened(node_run: Run) -> None:
    """Whatever the routes answer, the SDK's flag calls come back and the harness says how."""
    results = {r["type"]: r for r in node_run.result["results"]}
    for name in ("getFeatureFlag", "isFeatureEnabled", "getFeatureFlagPayload", "getAllFlags"):
        assert results[name]["error"] is None, results[name]
    assert node_run.sdk_requests("/flags/"), "the SDK asked no /flags/ for its flag calls"
    assert node_run.result["end"]["error"] is None


@needs_node
def test_node_local_evaluation_events_land_and_definitions_are_requested(
    node_local_run: Run,
) -> None:
    assert len(node_local_run.named("js_node_local")) == 1
    definitions = node_local_run.sdk_requests("/flags/definitions")
    assert definitions, node_local_run.result["requests"]
    assert definitions[0]["method"] == "GET"
    assert definitions[0]["requestHeaders"]["Authorization"] == "Bearer <redacted>"
    assert "send_cohorts" in definitions[0]["query"]


@needs_node
def test_the_node_harness_refuses_a_host_off_this_machine() -> None:
    require_node()
    with pytest.raises(JsClientError, match="on this machine"):
        run_node_client({"host": "http://sdk-host.invalid:8000", "key": KEY, "actions": []})


@needs_node
def test_node_sdk_gets_no_404s(node_run: Run) -> None:
    failed = [(r["method"], r["url"], r["status"]) for r in node_run.sdk_requests()]
    assert [f for f in failed if f[2] is None or f[2] >= 400] == []


@needs_node
def test_node_sdk_logs_no_errors(node_run: Run, node_local_run: Run) -> None:
    for run in (node_run, node_local_run):
        assert run.result["sdkErrors"] == []
        assert run.result["errors"] == []


@needs_node
def test_node_flags_reach_the_sdk(node_run: Run) -> None:
    flags = node_run.sdk_requests("/flags/")
    assert flags
    assert [r["status"] for r in flags] == [200] * len(flags)
    (called,) = node_run.named("$feature_flag_called")
    assert "$feature_flag_error" not in called.normalized["properties"]
    results = {r["type"]: r for r in node_run.result["results"]}
    assert results["getFeatureFlag"]["value"] == "treatment"
    assert results["isFeatureEnabled"]["value"] is True
    assert results["getFeatureFlagPayload"]["value"] == {"discount": 20}
    assert results["getAllFlags"]["value"] == {FLAG: "treatment", "sandbox-off": False}


@needs_node
def test_node_local_evaluation_loads_definitions(node_local_run: Run) -> None:
    definitions = node_local_run.sdk_requests("/flags/definitions")
    assert definitions
    assert [r["status"] for r in definitions] == [200] * len(definitions)
    assert node_local_run.result["sdkErrors"] == []
    # Evaluated locally from the definitions, with no /flags/ call: the same values.
    results = {r["type"]: r for r in node_local_run.result["results"]}
    assert results["getFeatureFlag"]["value"] == "treatment"
    assert not node_local_run.sdk_requests("/flags/")


# -- posthog-js in Chromium ------------------------------------------------------------------

WEB_USER = "web-user-1"
WEB_EVENTS = {
    "$pageview",
    "js_web_plan_upgraded",
    "$identify",
    "$create_alias",
    "$groupidentify",
    "$pageleave",
}


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    require_browser()
    sandbox = _sandbox(tmp_path_factory, "browser")
    try:
        result = run_browser_client(
            {
                "host": sandbox.url,
                "key": KEY,
                # posthog-js logs its own errors and warnings in debug mode only.
                "config": {"debug": True},
                "actions": [
                    {"type": "onFeatureFlags"},
                    {
                        "type": "capture",
                        "event": "js_web_plan_upgraded",
                        "properties": {"plan": "team"},
                    },
                    {
                        "type": "identify",
                        "distinctId": WEB_USER,
                        "properties": {"email": "web@example.com"},
                    },
                    {"type": "alias", "alias": "web-alias-1"},
                    {
                        "type": "group",
                        "groupType": "company",
                        "groupKey": "acme",
                        "properties": {"name": "Acme"},
                    },
                    {"type": "click", "selector": "#buy"},
                    {"type": "getFeatureFlag", "key": FLAG},
                    {"type": "isFeatureEnabled", "key": FLAG},
                    {"type": "getFeatureFlagPayload", "key": FLAG},
                    {"type": "featureFlags"},
                ],
                "leavePage": True,
            },
            timeout=60,
        )
        requests, events = _settled_inbox(sandbox.db, WEB_EVENTS)
        yield Run(sandbox, result, requests, events)
    finally:
        sandbox.stop()


@needs_browser
def test_browser_sdk_events_land_exactly_once(browser_run: Run) -> None:
    counts = Counter(e.event for e in browser_run.events)
    for name in WEB_EVENTS:
        assert counts[name] == 1, f"{name}: {counts[name]} in the inbox ({dict(counts)})"
    assert counts["$autocapture"] <= 1
    assert len({e.uuid for e in browser_run.events}) == len(browser_run.events)

    (capture,) = browser_run.named("js_web_plan_upgraded")
    props = capture.normalized["properties"]
    assert props["plan"] == "team"
    assert props["$lib"] == "web"
    assert props["$current_url"] == browser_run.result["pageUrl"]
    (identify,) = browser_run.named("$identify")
    assert identify.distinct_id == WEB_USER
    anonymous = browser_run.result["init"]["distinctId"]
    assert identify.normalized["properties"]["$anon_distinct_id"] == anonymous
    (alias,) = browser_run.named("$create_alias")
    assert alias.normalized["properties"]["alias"] == "web-alias-1"
    (group,) = browser_run.named("$groupidentify")
    assert group.normalized["properties"]["$group_key"] == "acme"
    assert group.normalized["properties"]["$group_set"] == {"name": "Acme"}


@needs_browser
def test_browser_page_is_local_and_nothing_leaves_the_machine(browser_run: Run) -> None:
    result = browser_run.result
    assert result["init"]["error"] is None
    assert result["pageUrl"].startswith("http://127.0.0.1:")
    assert result["blocked"] == []
    for request in result["requests"]:
        assert request["url"].startswith("http://127.0.0.1:"), request["url"]
    assert result["pageErrors"] == []


@needs_browser
def test_every_browser_request_is_in_the_inbox_with_the_status_the_sdk_saw(
    browser_run: Run,
) -> None:
    # The $pageleave beacon, sent while the page unloads, is in the inbox but out of the
    # harness's sight; every request it did see must be there, answered the same.
    kept = Counter((r.method, _unmasked(r.path), r.status) for r in browser_run.requests)
    seen = Counter((r["method"], r["path"], r["status"]) for r in browser_run.sdk_requests())
    assert seen, browser_run.result["requests"]
    assert seen - kept == Counter()
    assert all(r.status == 200 for r in browser_run.requests if r.path in ("/e/", "/e"))


@needs_browser
def test_browser_flag_calls_return_and_callbacks_report_the_outcome(browser_run: Run) -> None:
    results = {r["type"]: r for r in browser_run.result["results"]}
    for name in ("getFeatureFlag", "isFeatureEnabled", "getFeatureFlagPayload", "featureFlags"):
        assert results[name]["error"] is None, results[name]
    assert browser_run.sdk_requests("/flags/"), "posthog-js asked for no flags"
    assert browser_run.result["flagCallbacks"], "onFeatureFlags was never called"
    assert len(browser_run.named("$feature_flag_called")) == 1


@needs_browser
def test_browser_gets_no_404s(browser_run: Run) -> None:
    failed = [
        (r["method"], r["url"], r["status"], r["failure"])
        for r in browser_run.sdk_requests()
        if r["status"] is None or r["status"] >= 400 or r["failure"]
    ]
    assert failed == []


@needs_browser
def test_browser_sdk_logs_no_errors(browser_run: Run) -> None:
    assert browser_run.result["errors"] == []
    assert browser_run.result["pageErrors"] == []


@needs_browser
def test_browser_flags_reach_the_sdk(browser_run: Run) -> None:
    flags = browser_run.sdk_requests("/flags/")
    assert flags
    assert [r["status"] for r in flags] == [200] * len(flags)
    callbacks = browser_run.result["flagCallbacks"]
    assert callbacks
    assert not any((c.get("context") or {}).get("errorsLoading") for c in callbacks)
    results = {r["type"]: r for r in browser_run.result["results"]}
    assert results["getFeatureFlag"]["value"] == "treatment"
    assert results["isFeatureEnabled"]["value"] is True
    assert results["getFeatureFlagPayload"]["value"] == {"discount": 20}


@needs_browser
def test_browser_autocapture_fires_on_a_real_click(browser_run: Run) -> None:
    clicks = [
        e
        for e in browser_run.named("$autocapture")
        if e.normalized["properties"].get("$event_type") == "click"
    ]
    assert len(clicks) == 1
    props = clicks[0].normalized["properties"]
    assert "buy-button" in str(props.get("$elements_chain") or props.get("$elements"))


@needs_browser
def test_browser_sends_gzip_js_bodies(browser_run: Run) -> None:
    # posthog-js 1.449 sends gzip-js bodies without a `compression=gzip-js` query parameter
    # (it strips it); capture knows them by the gzip magic bytes. The SDK keeps gzip-js only
    # when remote config lists it in `supportedCompression`.
    events = [r for r in browser_run.sdk_requests() if r["path"] in ("/e/", "/i/v0/e/")]
    assert events
    assert all(r["gzip"] for r in events), [(r["url"], r["bodyKind"]) for r in events]
    assert all(r["compressionParam"] in (None, "gzip-js") for r in events)


@needs_browser
def test_the_key_never_reaches_the_inbox_file_from_a_browser(browser_run: Run) -> None:
    db = Path(browser_run.sandbox.db)
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert KEY.encode() not in raw
