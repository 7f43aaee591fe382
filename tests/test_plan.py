"""Tracking plans: reading (with lines), checking events, and learning a plan from events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.core.batch.rows import BatchRow, check_rows
from composer.core.plans.check import check_against_plan, check_body_against_plan
from composer.core.plans.infer import infer_plan, render_plan
from composer.core.plans.reader import parse_plan
from composer.services.plans import example_plan_path, load_plan

PLAN = """\
version: 1
naming: {events: snake_case, properties: snake_case}
allow_unplanned_events: false
property_sets:
  account:
    plan: {type: string, enum: [free, team], required: true}
events:
  plan_upgraded:
    include: [account]
    allow_unknown_properties: false
    properties:
      seats: {type: integer, minimum: 1, maximum: 100, required: true}
      code: {type: string, pattern: "^[A-Z]{3}$", max_length: 3}
      when: date-time
      utm: {schema: {type: object, properties: {source: {type: string}}}}
    set:
      email: {type: string, required: true}
"""


def codes(event: dict[str, Any], plan_text: str = PLAN) -> list[str]:
    return [f.code for f in check_against_plan(event, parse_plan(plan_text, "plan.yaml"))]


def good() -> dict[str, Any]:
    return {
        "event": "plan_upgraded",
        "distinct_id": "u",
        "properties": {"plan": "team", "seats": 5, "$lib": "web", "$set": {"email": "a@b.c"}},
    }


def test_a_conforming_event_has_no_findings() -> None:
    assert codes(good()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e["properties"].pop("seats"), ["plan.missing_required"]),
        (lambda e: e["properties"].update(seats="5"), ["plan.type_mismatch"]),
        (lambda e: e["properties"].update(seats=True), ["plan.type_mismatch"]),
        (lambda e: e["properties"].update(plan="pro"), ["plan.enum"]),
        (lambda e: e["properties"].update(seats=0), ["plan.range"]),
        (lambda e: e["properties"].update(seats=101), ["plan.range"]),
        (lambda e: e["properties"].update(code="abc"), ["plan.pattern"]),
        (lambda e: e["properties"].update(code="ABCD"), ["plan.pattern", "plan.range"]),
        (lambda e: e["properties"].update(when="yesterday"), ["plan.type_mismatch"]),
        (lambda e: e["properties"].update(utm={"source": 3}), ["plan.type_mismatch"]),
        (lambda e: e["properties"].update(extra=1), ["plan.unknown_property"]),
        (lambda e: e["properties"].update(BadName=1), ["plan.naming", "plan.unknown_property"]),
        (lambda e: e["properties"].pop("$set"), ["plan.missing_required"]),
        (lambda e: e.update(event="PlanUpgraded"), ["plan.naming", "plan.unplanned_event"]),
    ],
)
def test_each_rule_has_its_code(change: Any, expected: list[str]) -> None:
    event = good()
    change(event)
    assert codes(event) == expected


def test_messages_name_the_rule_and_mention_posthog_coercion() -> None:
    event = good()
    event["properties"]["seats"] = "42"
    [finding] = check_against_plan(event, parse_plan(PLAN, "plan.yaml"), "batch[3]", 3)
    assert finding.path == "batch[3].properties.seats"
    assert finding.event_index == 3
    assert "the plan says integer" in finding.message
    assert 'PostHog stores "42" as text' in finding.message
    unplanned = good()
    unplanned["event"] = "plan_upgrade"
    [_naming_ok, *_] = [
        f
        for f in check_against_plan(unplanned, parse_plan(PLAN))
        if f.code == "plan.unplanned_event"
    ] or [None]
    assert _naming_ok is not None
    assert "Did you mean 'plan_upgraded'" in _naming_ok.fix


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ("Team", 'Use "team".'),
        ("teams", 'Use "team", the closest allowed value.'),
        ("fre", 'Use "free", the closest allowed value.'),
        ("enterprise", 'Use one of "free", "team".'),
    ],
)
def test_the_enum_finding_suggests_the_closest_allowed_value(value: str, fix: str) -> None:
    event = good()
    event["properties"]["plan"] = value
    [finding] = check_against_plan(event, parse_plan(PLAN))
    assert finding.code == "plan.enum"
    assert finding.fix == fix


def test_posthog_events_are_exempt_unless_planned() -> None:
    assert codes({"event": "$pageview", "distinct_id": "u", "properties": {"X": 1}}) == []


def test_a_body_is_checked_event_by_event() -> None:
    plan = parse_plan(PLAN)
    bad = good()
    bad["properties"]["plan"] = "pro"
    findings = check_body_against_plan({"batch": [good(), bad]}, plan)
    assert [(f.code, f.path, f.event_index) for f in findings] == [
        ("plan.enum", "batch[1].properties.plan", 1)
    ]


def test_plan_errors_are_shown_on_rows_but_never_hold_them_back() -> None:
    plan = parse_plan(PLAN)
    bad = good()
    bad["properties"]["plan"] = "pro"
    row = BatchRow.of(bad)
    check_rows([row], plan=plan)
    assert [f.code for f in row.findings or ()] == ["plan.enum"]
    assert not row.blocked


def test_problems_carry_the_file_line_and_a_fix() -> None:
    text = """\
version: 1
events:
  a:
    properties:
      n: {type: int}
      p: {pattern: "("}
      s: {schema: {type: 7}}
      e: {enum: []}
  b:
    include: [missing]
    colour: red
"""
    plan = parse_plan(text, "plan.yaml")
    found = {(p.line, p.message.split(":")[0]) for p in plan.problems}
    assert (5, "'int' is not a property type.") in {(p.line, p.message) for p in plan.problems}
    lines = sorted(p.line or 0 for p in plan.problems)
    assert lines == [5, 6, 7, 8, 10, 11], found
    assert all(str(p).startswith("plan.yaml:") for p in plan.problems)
    assert "Types are: string, number, integer" in str(plan.problems[0])
    # The sound parts are still used.
    assert set(plan.events) == {"a", "b"}
    assert plan.events["a"].properties["n"].types == ()


def test_a_yaml_syntax_error_names_its_line_and_leaves_no_plan() -> None:
    plan = parse_plan("version: 1\nevents:\n  a: [unclosed\n  b: {}\n", "plan.yaml")
    assert not plan.usable
    assert plan.problems[0].line in (3, 4)
    assert "not valid YAML" in plan.problems[0].message
    # An unusable plan checks nothing (it never blocks composing or sending).
    assert check_against_plan({"event": "x"}, plan) == []


def test_the_example_plan_reads_cleanly() -> None:
    plan = load_plan(example_plan_path())
    assert plan.problems == []
    assert {"signed_up", "plan_upgraded", "invoice_paid", "$identify"} <= set(plan.events)


def test_a_missing_plan_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    plan = load_plan(tmp_path / "nope.yaml")
    assert "does not exist" in plan.problems[0].message


def test_an_inferred_plan_passes_its_own_events() -> None:
    events = [
        {
            "event": "signed_up",
            "distinct_id": f"u{i}",
            "properties": {
                "method": ["email", "google"][i % 2],
                "n": i,
                "ratio": i / 3,
                "at": "2024-05-01T12:00:00Z",
                "maybe": None if i % 3 else "x",
                "$lib": "web",
            },
            "$set": {"email": f"u{i}@x.io"},
        }
        for i in range(12)
    ]
    events.append({"event": "$pageview", "distinct_id": "u", "properties": {"$current_url": "/"}})
    doc = infer_plan(events)
    spec = doc["events"]["signed_up"]["properties"]
    assert spec["method"] == {"type": "string", "required": True, "enum": ["email", "google"]}
    assert spec["n"] == {"type": "integer", "required": True}
    assert spec["ratio"]["type"] == "number"
    assert spec["at"]["type"] == "date-time"
    assert spec["maybe"]["type"] == ["string", "null"]
    assert "$lib" not in spec
    text = render_plan(doc)
    plan = parse_plan(text, "learned.yaml")
    assert plan.problems == []
    assert check_body_against_plan({"batch": events}, plan) == []
    assert yaml.safe_load(text)["allow_unplanned_events"] is False


values = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
tricky = ["a", "yes", "NO", "on", "1", "1e3", "0x10", "010", "1:30", "2024-01-01", "null", ""]
tricky += ["2024-05-01T12:00:00Z", "a\x85b", "x\u2028y", "'q'", '"', "#", "- a", "k: v"]
values = values | st.sampled_from(tricky) | st.text(max_size=6)
json_values = st.recursive(
    values, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner)
)
names = st.sampled_from(["a", "b", "$identify", "c d", "true", "1", "on", "a\x85b"]) | st.text(
    min_size=1, max_size=5
)
keys = st.sampled_from(["k", "n", "$x", "distinct_id", "true", "null", "1", "a.b"]) | st.text(
    max_size=4
)
events = st.lists(
    st.fixed_dictionaries(
        {
            "event": names,
            "properties": st.dictionaries(keys, json_values, max_size=3),
        },
        optional={"$set": st.dictionaries(st.sampled_from(["e", "f"]), json_values, max_size=2)},
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=400, deadline=None)
@given(events)
def test_any_inferred_plan_passes_the_events_it_came_from(sample: list[dict[str, Any]]) -> None:
    plan = parse_plan(render_plan(infer_plan(sample)), "learned.yaml")
    assert plan.problems == []
    assert check_body_against_plan({"batch": sample}, plan) == []


@pytest.mark.parametrize(
    "schema",
    [
        "{$ref: 'https://example.com/s.json'}",
        "{$ref: '#'}",
    ],
)
def test_a_schema_that_cannot_be_applied_is_a_plan_problem(schema: str) -> None:
    plan = parse_plan(
        f"version: 1\nevents:\n  e:\n    properties:\n      p: {{schema: {schema}}}\n"
    )
    assert len(plan.problems) == 1
    assert plan.problems[0].line == 5
    assert plan.events["e"].properties["p"].schema is None
    # Checking never raises, whatever the schema did.
    assert check_against_plan({"event": "e", "properties": {"p": {"a": 1}}}, plan) == []


def test_a_plan_never_raises_on_what_it_says() -> None:
    looping = "version: 1\nevents: &a {e: {properties: {x: *a}}}\n"
    assert parse_plan(looping).problems  # reported, not raised
    odd_include = "version: 1\nevents:\n  e:\n    include: [{s: 1}]\n"
    [problem] = parse_plan(odd_include).problems
    assert (problem.line, "include lists set names") == (4, problem.message[:23])


def test_plans_read_as_written_not_as_yaml_1_1_guesses() -> None:
    text = """\
version: 1
events:
  order_placed:
    properties:
      country: {type: string, enum: [US, GB, NO]}
      day: {type: string, enum: [2024-01-01]}
      slot: {type: string, enum: ['1:30', 010]}
  true:
    properties:
      on: integer
      1: string
"""
    plan = parse_plan(text, "plan.yaml")
    assert plan.problems == []
    spec = plan.events["order_placed"].properties
    assert spec["country"].enum == ("US", "GB", "NO")
    assert spec["day"].enum == ("2024-01-01",)
    assert spec["slot"].enum == ("1:30", "010")
    assert set(plan.events["true"].properties) == {"on", "1"}
    assert codes({"event": "order_placed", "properties": {"country": "NO"}}, text) == []
    typed = "version: 1\nevents:\n  e:\n    properties:\n      n: {type: integer, enum: [1, x]}\n"
    [problem] = parse_plan(typed, "p.yaml").problems
    assert problem.line == 5
    assert "'x', which is not integer" in problem.message


def test_enum_and_range_details() -> None:
    text = "version: 1\nevents:\n  e:\n    properties:\n      b: {enum: [0, 1]}\n"
    assert codes({"event": "e", "properties": {"b": True}}, text) == ["plan.enum"]
    assert codes({"event": "e", "properties": {"b": 1.0}}, text) == []
    big = (
        "version: 1\nevents:\n  e:\n    properties:\n      v: {enum: ["
        + ", ".join(f"v{i}" for i in range(500))
        + "]}\n"
    )
    [finding] = check_against_plan({"event": "e", "properties": {"v": "x"}}, parse_plan(big))
    assert "(and 490 more)" in finding.message
    assert len(finding.message) < 400


def test_finding_paths_follow_where_the_value_is() -> None:
    text = (
        "version: 1\nnaming: {properties: snake_case}\n"
        "events:\n  e:\n    set:\n      Mail: string\n"
    )
    plan = parse_plan(text)
    [naming] = check_against_plan({"event": "x", "properties": {"Bad.Key": 1}}, plan)
    assert naming.path == 'properties["Bad.Key"]'
    [typed] = check_against_plan({"event": "e", "properties": {"$set": {"Mail": 3}}}, plan)
    assert typed.path == "properties.$set.Mail"


def test_a_learned_plan_reads_back_odd_characters_exactly() -> None:
    events = [{"event": "a\x85b", "properties": {"k\u2028": "x\x85", "n": "1e3"}}] * 3
    plan = parse_plan(render_plan(infer_plan(events)), "learned.yaml")
    assert set(plan.events) == {"a\x85b"}
    assert check_body_against_plan({"batch": events}, plan) == []


def test_integer_minimum_prefill_passes() -> None:
    from composer.core.plans.prefill import planned_row

    spec = (
        parse_plan(
            "version: 1\nevents:\n  e:\n    properties:\n      n: {type: integer, minimum: 2.5}\n"
        )
        .events["e"]
        .properties["n"]
    )
    assert planned_row(spec, "").text == "3"
