"""Typed tracking code from a plan: every event is in it, it type-checks (mypy --strict, tsc
--strict) and refuses a wrong enum value, the Python runs against the sandbox with the real SDK
and sends events that pass the plan, and `plan codegen --check` catches a stale file."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from composer.core.plans.check import check_against_plan
from composer.core.plans.codegen import CodegenError, generate_code
from composer.core.plans.model import Plan
from composer.core.plans.reader import parse_plan
from composer.services.plan_files import is_stale
from composer.services.plans import example_plan_path, load_plan
from tests.support.typescript import require_tsc, run_tsc, sdk_types_available

EXAMPLE = example_plan_path()
EDGE = Path(__file__).parent / "data" / "plans" / "codegen-edge-cases.yaml"


def plan_of(path: Path) -> Plan:
    plan = load_plan(path)
    assert plan.problems == []
    return plan


def python_functions(code: str) -> dict[str, str]:
    """Event name -> function name, read from the module's own calls of _capture."""
    found: dict[str, str] = {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "_capture":
                    event = call.args[2]
                    assert isinstance(event, ast.Constant)
                    found[event.value] = node.name
    return found


def typescript_functions(code: str) -> dict[str, str]:
    found: dict[str, str] = {}
    pattern = r'export function (\w+)\([\s\S]*?\): void \{\n  _send\(client, ("(?:[^"\\]|\\.)*")'
    for function, event in re.findall(pattern, code):
        found[ast.literal_eval(event)] = function
    return found


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# -- every event, deterministically ------------------------------------------------------------


@pytest.mark.parametrize("path", [EXAMPLE, EDGE], ids=["example", "edge-cases"])
def test_every_planned_event_is_a_function_in_both_languages(path: Path) -> None:
    plan = plan_of(path)
    python = python_functions(generate_code(plan, "python", path.name))
    typescript = typescript_functions(generate_code(plan, "typescript", path.name))
    assert set(python) == set(plan.events)
    assert set(typescript) == set(plan.events)
    if path == EXAMPLE:
        assert python["$identify"] == "identify"
        assert typescript["plan_upgraded"] == "planUpgraded"
    else:
        assert python["Plan Upgraded"] == "plan_upgraded"
        assert python["2fa enabled"] == "event_2fa_enabled"
        assert python["class"] == "class_"
        assert typescript["2fa enabled"] == "event2faEnabled"
        assert typescript["class"] == "class_"
        assert typescript["person only"] == "personOnly"


def test_events_without_any_property_are_generated_too() -> None:
    # PostHog's `schema pull` left out events without property groups; here each is a function.
    plan = parse_plan(
        "version: 1\nevents:\n  opened: {}\n  closed:\n  Viewed Page:\n    description: x\n"
    )
    assert python_functions(generate_code(plan, "python", "p.yaml")) == {
        "opened": "opened",
        "closed": "closed",
        "Viewed Page": "viewed_page",
    }
    assert set(typescript_functions(generate_code(plan, "typescript", "p.yaml"))) == {
        "opened",
        "closed",
        "Viewed Page",
    }


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_the_output_depends_only_on_what_the_plan_says(language: str) -> None:
    text = EXAMPLE.read_text()
    once = generate_code(parse_plan(text, "a.yaml"), language, "plan.yaml")
    assert generate_code(parse_plan(text, "b.yaml"), language, "plan.yaml") == once
    # The same events and properties written in another order: the same code.
    shuffled = (
        "version: 1\nallow_unplanned_events: false\nevents:\n"
        "  b: {properties: {z: string, a: {type: integer, required: true}}}\n"
        "  a: {properties: {m: boolean}}\n"
    )
    ordered = (
        "version: 1\nallow_unplanned_events: false\nevents:\n"
        "  a: {properties: {m: boolean}}\n"
        "  b: {properties: {a: {type: integer, required: true}, z: string}}\n"
    )
    assert generate_code(parse_plan(shuffled), language, "p.yaml") == generate_code(
        parse_plan(ordered), language, "p.yaml"
    )
    assert "Generated at" not in once
    assert str(datetime.now().year) not in once


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_an_event_that_cannot_be_code_is_an_error_naming_it(language: str) -> None:
    plan = parse_plan(
        "version: 1\nevents:\n"
        "  🎉: {}\n"  # nothing to name a function with
        "  plan upgraded: {}\n"
        "  Plan Upgraded: {}\n"  # the same function as the one above
        "  fine: {}\n"
    )
    with pytest.raises(CodegenError) as caught:
        generate_code(plan, language, "p.yaml")
    text = "\n".join(caught.value.problems)
    assert "'🎉' has no letter or digit" in text
    assert "'Plan Upgraded'" in text
    assert "'plan upgraded'" in text
    assert "fine" not in text


def test_clashing_property_arguments_are_errors_too() -> None:
    plan = parse_plan(
        "version: 1\nevents:\n"
        "  e:\n    properties: {plan name: string, plan_name: string, set: string}\n"
        "    set: {email: string}\n"
    )
    with pytest.raises(CodegenError) as caught:
        generate_code(plan, "python", "p.yaml")
    text = "\n".join(caught.value.problems)
    assert "'plan_name' of 'e'" in text
    assert "'plan name' of 'e'" in text
    assert "the `set=` argument" in text


# -- type checkers -----------------------------------------------------------------------------

PY_GOOD = """\
from datetime import datetime, timezone

import posthog
from posthog import Posthog

import edge
import tracking

client = Posthog("phc_x", host="http://127.0.0.1:9", sync_mode=True)
tracking.signed_up(
    client,
    "u1",
    signup_method="email",
    referrer=None,
    set={"email": "a@example.com"},
    set_once={"first_seen": datetime.now(timezone.utc)},
)
# The posthog module itself is a client too.
tracking.plan_upgraded(posthog, "u1", plan="team", previous_plan="free", coupon=None, seats=3)
uuid: str | None = tracking.request(client, "u1")
tracking.invoice_paid(
    client, "u1", amount=9.5, currency="EUR", plan="free", extra_properties={"x": 1}
)
edge.plan_upgraded(client, "u1", class_="c", with_space=2, maybe=None, naive="café", ratio=0.5)
edge.pageview(client, "u1", current_url="/", set={"first name": "Ada"})
edge.person_only(client, "u1", set_once={"plan": "team"})
edge.filter(client, "u1", set="a", set_once=3)
edge.class_(client, "u1", extra_properties={"anything": [1]})
"""
PY_BAD = """\
from posthog import Posthog

import tracking

client = Posthog("phc_x", host="http://127.0.0.1:9", sync_mode=True)
tracking.signed_up(client, "u1", signup_method="myspace", set={"email": "a@example.com"})
tracking.plan_upgraded(client, "u1", previous_plan="free")
tracking.signed_up(client, "u1", signup_method="email")
tracking.plan_upgraded(client, "u1", plan="team", previous_plan="free", extra_properties={})
tracking.big_request(client, "u1", request_size="huge")
"""
PY_BAD_LINES = {
    6: "signup_method",
    7: '"plan"',
    8: '"set"',
    9: "extra_properties",
    10: "request_size",
}


def test_generated_python_passes_mypy_strict_and_rejects_misuse(tmp_path: Path) -> None:
    (tmp_path / "tracking.py").write_text(generate_code(plan_of(EXAMPLE), "python", EXAMPLE.name))
    (tmp_path / "edge.py").write_text(generate_code(plan_of(EDGE), "python", EDGE.name))
    (tmp_path / "good.py").write_text(PY_GOOD)
    (tmp_path / "bad.py").write_text(PY_BAD)
    (tmp_path / "mypy.ini").write_text("[mypy]\n")
    # One run for all four files (mypy's start is most of its cost); a cache kept between
    # sessions makes the posthog package's analysis a one-off.
    cache = Path(tempfile.gettempdir()) / "composer-codegen-mypy-cache"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            "--hide-error-context",
            "tracking.py",
            "edge.py",
            "good.py",
            "bad.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert all(line.startswith("bad.py:") for line in errors), result.stdout
    by_line = {int(line.split(":")[1]): line for line in errors}
    assert set(by_line) == set(PY_BAD_LINES), result.stdout
    for number, needle in PY_BAD_LINES.items():
        assert needle in by_line[number], by_line[number]
    assert "Literal['myspace']" in by_line[6]  # a wrong enum value is a type error


TS_GOOD_STRUCTURAL = """\
import { forNode, invoicePaid, planUpgraded, request, setDebug, signedUp } from "./tracking"
import type { PostHogClient, PostHogNodeClient } from "./tracking"
import { class_, event2faEnabled, filter, pageview, personOnly } from "./edge"
import { planUpgraded as edgeUpgraded } from "./edge"

const sent: unknown[] = []
const browser: PostHogClient = { capture: (event, properties) => sent.push([event, properties]) }
const node: PostHogNodeClient = { capture: (message) => { sent.push(message) } }
setDebug(true)
signedUp(browser, {
  signup_method: "email",
  referrer: null,
  $set: { email: "a@b.c" },
  $set_once: { first_seen: new Date() },
})
planUpgraded(forNode(node, "u1"), { plan: "team", previous_plan: "free", coupon: null, seats: 3 })
request(browser)
invoicePaid(browser, { amount: 9.5, currency: "EUR", plan: "free" }, { extra: 1 })
edgeUpgraded(browser, { class: "c", "with space": 2, maybe: null, "naïve": "café", "2fa": true })
pageview(browser, { $current_url: "/", $set: { "first name": "Ada" } })
personOnly(browser, { $set_once: { plan: "team" } })
filter(browser, { set: "a", set_once: 3 })
event2faEnabled(browser)
class_(browser, { anything: [1] })
"""
TS_GOOD_SDKS = """\
import posthog from "posthog-js"
import { PostHog } from "posthog-node"
import { forNode, planUpgraded, signedUp } from "./tracking"

signedUp(posthog, { signup_method: "github", $set: { email: "a@b.c" } })
const client = new PostHog("phc_x", { host: "http://127.0.0.1:9" })
planUpgraded(forNode(client, "u1"), { plan: "enterprise", previous_plan: "team" })
"""
TS_BAD = """\
import { bigRequest, planUpgraded, request, signedUp } from "./tracking"
import type { PostHogClient } from "./tracking"

declare const client: PostHogClient
signedUp(client, { signup_method: "myspace", $set: { email: "a@b.c" } })
planUpgraded(client, { previous_plan: "free" })
signedUp(client, { signup_method: "email" })
planUpgraded(client, { plan: "team", previous_plan: "free", typo: 1 })
bigRequest(client, { request_size: "huge" })
request(client, { plan: "team" }, {})
"""
TS_BAD_LINES = {5: "myspace", 6: "'plan'", 7: "'$set'", 8: "typo", 9: "huge", 10: "arguments"}


def test_generated_typescript_passes_tsc_strict_and_rejects_misuse(tmp_path: Path) -> None:
    require_tsc()
    (tmp_path / "tracking.ts").write_text(
        generate_code(plan_of(EXAMPLE), "typescript", EXAMPLE.name)
    )
    (tmp_path / "edge.ts").write_text(generate_code(plan_of(EDGE), "typescript", EDGE.name))
    (tmp_path / "good.ts").write_text(TS_GOOD_STRUCTURAL)
    (tmp_path / "bad.ts").write_text(TS_BAD)
    files = ["tracking.ts", "edge.ts", "good.ts", "bad.ts"]
    if sdk_types_available():  # the real SDKs' own types, from tests/js (js-deps.sh)
        (tmp_path / "sdks.ts").write_text(TS_GOOD_SDKS)
        files.append("sdks.ts")
    result = run_tsc(tmp_path, files)
    errors: list[str] = []  # each with its indented explanation lines
    for line in result.stdout.splitlines():
        if ": error TS" in line:
            errors.append(line)
        elif line.startswith(" ") and errors:
            errors[-1] += "\n" + line
    assert errors, result.stdout + result.stderr
    assert all(line.startswith("bad.ts(") for line in errors), result.stdout
    by_line: dict[int, str] = {}
    for line in errors:
        by_line.setdefault(int(line.split("(")[1].split(",")[0]), line)
    assert set(by_line) == set(TS_BAD_LINES), result.stdout
    for number, needle in TS_BAD_LINES.items():
        assert needle in by_line[number], by_line[number]
    assert "TS2322" in by_line[5]  # '"myspace"' is not assignable to the enum's union


# -- the Python at run time --------------------------------------------------------------------


@pytest.fixture
def tracking(tmp_path: Path) -> ModuleType:
    path = tmp_path / "generated_tracking.py"
    path.write_text(generate_code(plan_of(EXAMPLE), "python", EXAMPLE.name))
    module = load_module(path, "generated_tracking")
    yield module
    sys.modules.pop("generated_tracking", None)


def call_every_event(t: ModuleType, client: Any, user: str) -> None:
    """A valid call of every function the example plan has (the test below checks that no
    planned event is missing from this list)."""
    now = datetime.now(UTC)
    t.signed_up(
        client,
        user,
        signup_method="google",
        referrer=None,
        set={"email": "a@example.com"},
        set_once={"first_seen": now},
    )
    t.plan_upgraded(
        client,
        user,
        plan="team",
        previous_plan="free",
        seats=5,
        coupon="SPRING",
        upgraded_at=now,
        utm={"source": "newsletter"},
    )
    t.invoice_paid(
        client,
        user,
        plan="team",
        seats=5,
        amount=49.0,
        currency="EUR",
        extra_properties={"invoice_id": "in_1"},
    )
    t.request(client, user)
    t.big_request(client, user, request_size="big", api_request=True)
    t.batched_event(client, user, number_in_batch=1)
    t.identify(client, user, set={"email": "a@example.com", "is_cool": True})


def test_generated_python_sends_events_that_pass_the_plan(
    tracking: ModuleType, posthog_sandbox: Any
) -> None:
    from posthog import Posthog

    plan = plan_of(EXAMPLE)
    tracking.set_debug(True)
    client = Posthog(posthog_sandbox.key, host=posthog_sandbox.url, sync_mode=True, max_retries=0)
    try:
        call_every_event(tracking, client, "user-1")
    finally:
        client.shutdown()
        tracking.set_debug(False)
    events = posthog_sandbox.events()
    assert sorted(e["event"] for e in events) == sorted(plan.events)  # every one, once
    for event in events:
        assert check_against_plan(event, plan) == [], event
    stored = {e["event"]: e for e in events}
    assert stored["plan_upgraded"]["properties"]["coupon"] == "SPRING"
    assert "referrer" in stored["signed_up"]["properties"]  # None sends null: it may be null
    assert "seats" not in stored["big_request"]["properties"]
    assert stored["signed_up"]["properties"]["$set"] == {"email": "a@example.com"}
    upgraded_at = stored["plan_upgraded"]["properties"]["upgraded_at"]
    assert datetime.fromisoformat(upgraded_at).tzinfo is not None
    posthog_sandbox.assert_no_findings()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def capture(self, event: str, *, distinct_id: str, properties: dict[str, Any]) -> str:
        self.calls.append((event, distinct_id, properties))
        return "uuid"


def test_debug_mode_checks_what_a_type_cannot_say(tracking: ModuleType) -> None:
    client = Recorder()
    tracking.invoice_paid(client, "u", amount=-1, currency="euro", plan="gold")
    assert len(client.calls) == 1  # off by default: the call goes through as given
    tracking.set_debug(True)
    try:
        with pytest.raises(tracking.PlanViolation) as caught:
            tracking.invoice_paid(client, "u", amount=-1, currency="euro", plan="gold", seats=0)
        problems = "\n".join(caught.value.problems)
        assert "'amount' is -1; the plan says at least 0" in problems
        assert "'currency' is 'euro', which does not match" in problems
        assert "'plan' is 'gold'; the plan allows only" in problems
        assert "'seats' is 0; the plan says at least 1" in problems
        with pytest.raises(tracking.PlanViolation, match="not a planned property"):
            tracking._capture(
                client,
                "u",
                "plan_upgraded",
                {"plan": "team", "previous_plan": "free"},
                extra_properties={"typo": 1},
            )
        with pytest.raises(tracking.PlanViolation, match=r"\$set\.'email'"):
            tracking.signed_up(client, "u", signup_method="email", set={"email": "no-at-sign"})
        assert tracking.plan_upgraded(client, "u", plan="team", previous_plan="free") == "uuid"
    finally:
        tracking.set_debug(False)
    assert len(client.calls) == 2


def test_debug_mode_agrees_with_the_plan_checker(tracking: ModuleType) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    plan = plan_of(EXAMPLE)
    values = st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-5, 20_000)
        | st.floats(-5, 20_000)
        | st.sampled_from(
            [
                "free",
                "team",
                "gold",
                "EUR",
                "eur",
                "2024-05-01T12:00:00Z",
                "2024-02-30T00:00:00Z",
                "a@b",
                "x" * 40,
                "",
            ]
        ),
        lambda inner: (
            st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
        ),
        max_leaves=4,
    )
    names = st.sampled_from(
        ["plan", "seats", "coupon", "amount", "currency", "upgraded_at", "previous_plan", "extra"]
    )

    @settings(max_examples=150, deadline=None)
    @given(
        st.sampled_from(sorted(plan.events)),
        st.dictionaries(names, values, max_size=5),
        st.none() | st.dictionaries(st.sampled_from(["email", "is_cool"]), values, max_size=2),
    )
    def agree(event: str, properties: dict[str, Any], person: dict[str, Any] | None) -> None:
        props = dict(properties)
        if person is not None:
            props["$set"] = person
        ours = tracking._problems(tracking._PLAN[event], props)
        theirs = [
            f
            for f in check_against_plan({"event": event, "properties": props}, plan)
            if f.severity.value == "error"
            and f.code != "plan.schema"
            and not f.path.startswith("properties.utm")  # JSON Schema: not checked at run time
        ]
        assert bool(ours) == bool(theirs), (event, props, ours, theirs)

    agree()


# -- plan codegen --check ----------------------------------------------------------------------


def test_codegen_check_fails_on_a_stale_file_and_passes_on_a_fresh_one(
    run_cli, tmp_path: Path
) -> None:
    plan = tmp_path / "tracking-plan.yaml"
    plan.write_text(EXAMPLE.read_text())
    out = tmp_path / "tracking.ts"
    missing = run_cli(
        "plan", "codegen", "--lang", "typescript", str(plan), "-o", str(out), "--check"
    )
    assert missing.returncode == 1
    assert "out of date" in missing.stderr
    assert not out.exists()  # --check never writes
    written = run_cli("plan", "codegen", "--lang", "typescript", str(plan), "-o", str(out))
    assert written.returncode == 0, written.stderr
    assert "Wrote 7 events" in written.stderr
    fresh = run_cli("plan", "codegen", "--lang", "typescript", str(plan), "-o", str(out), "--check")
    assert fresh.returncode == 0, fresh.stderr
    assert "is up to date" in fresh.stdout
    # A checkout with CRLF line endings is not stale.
    text = out.read_text()
    out.write_bytes(text.replace("\n", "\r\n").encode())
    assert not is_stale(out, text)
    # The plan changes: the file is stale until it is generated again.
    plan.write_text(
        EXAMPLE.read_text().replace("  request:\n", "  report_exported: {}\n  request:\n")
    )
    stale = run_cli("plan", "codegen", "--lang", "typescript", str(plan), "-o", str(out), "--check")
    assert stale.returncode == 1
    assert f"plan codegen --lang typescript {plan} -o {out}" in stale.stderr


def test_codegen_writes_nothing_when_an_event_cannot_be_code(run_cli, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nevents:\n  ok: {}\n  '***': {}\n")
    out = tmp_path / "tracking.py"
    result = run_cli("plan", "codegen", "--lang", "python", str(plan), "-o", str(out))
    assert result.returncode == 2
    assert "no code was written" in result.stderr
    assert "'***'" in result.stderr
    assert not out.exists()
    stdout = run_cli("plan", "codegen", "--lang", "python", str(EXAMPLE))
    assert stdout.returncode == 0
    assert "def plan_upgraded(" in stdout.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nevents:\n  ok: {}\n  bad: [1]\n")  # the reader drops `bad`
    refused = run_cli("plan", "codegen", "--lang", "python", str(broken))
    assert refused.returncode == 2
    assert "the tracking plan has problems" in refused.stderr


NODE_DRIVER = """\
import { PostHog } from "posthog-node"
import * as t from "./tracking.mjs"

const client = new PostHog(process.env.SANDBOX_KEY, {
  host: process.env.SANDBOX_URL,
  flushAt: 1,
  flushInterval: 0,
})
t.setDebug(true)
const user = t.forNode(client, "node-user")
const now = new Date()
t.signedUp(user, {
  signup_method: "github",
  referrer: null,
  $set: { email: "n@example.com" },
  $set_once: { first_seen: now },
})
t.planUpgraded(user, { plan: "enterprise", previous_plan: "team", seats: 12, upgraded_at: now })
t.invoicePaid(user, { plan: "team", amount: 12.5, currency: "USD" }, { invoice_id: "in_2" })
t.request(user)
t.bigRequest(user, { request_size: "small", api_request: false })
t.batchedEvent(user, { number_in_batch: 3 })
t.identify(user, { $set: { email: "n@example.com", is_cool: false } })
let problems = null
try {
  t.invoicePaid(user, { plan: "team", amount: -1, currency: "usd" })
} catch (error) {
  problems = error instanceof t.PlanViolation ? error.problems : String(error)
}
await client.shutdown()
console.log(JSON.stringify({ problems }))
"""
TRANSPILE = """\
const ts = require(process.argv[1])
const fs = require("fs")
const source = fs.readFileSync("tracking.ts", "utf8")
const options = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
const output = ts.transpileModule(source, { compilerOptions: options }).outputText
fs.writeFileSync("tracking.mjs", output)
"""


def test_generated_typescript_runs_with_posthog_node(tmp_path: Path, posthog_sandbox: Any) -> None:
    """The TypeScript, compiled, with the real posthog-node against the sandbox: every event
    arrives and passes the plan, and debug mode throws before sending a bad one."""
    import json
    import os
    import shutil

    from tests.support.js_clients import require_node
    from tests.support.typescript import JS_MODULES, TS_DIR

    require_tsc()
    require_node()
    plan = plan_of(EXAMPLE)
    (tmp_path / "tracking.ts").write_text(generate_code(plan, "typescript", EXAMPLE.name))
    (tmp_path / "driver.mjs").write_text(NODE_DRIVER)
    (tmp_path / "node_modules").symlink_to(JS_MODULES, target_is_directory=True)
    node = shutil.which("node")
    assert node is not None
    typescript = str(TS_DIR / "node_modules" / "typescript")
    subprocess.run([node, "-e", TRANSPILE, typescript], cwd=tmp_path, check=True, timeout=60)
    env = {**os.environ, "SANDBOX_URL": posthog_sandbox.url, "SANDBOX_KEY": posthog_sandbox.key}
    run = subprocess.run(
        [node, "driver.mjs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    problems = json.loads(run.stdout.strip().splitlines()[-1])["problems"]
    assert problems == [
        "amount is -1; the plan says at least 0",
        'currency is "usd", which does not match ^[A-Z]{3}$',
    ]
    events = posthog_sandbox.events()
    assert sorted(e["event"] for e in events) == sorted(plan.events)
    for event in events:
        assert event["distinct_id"] == "node-user"
        assert check_against_plan(event, plan) == [], event
    posthog_sandbox.assert_no_findings()
