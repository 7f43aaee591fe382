"""A plan as JSON Schema 2020-12 and back, and beside PostHog's schema management: the export
validates events as the plan checks them, import gives the plan back, and a PostHog export is
compared with a plan or converted into one with every event definition in it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from composer.core.findings import Severity
from composer.core.plans.check import check_against_plan
from composer.core.plans.infer import render_plan
from composer.core.plans.json_schema import (
    DATETIME_PATTERN,
    JsonSchemaImportError,
    plan_document_from_json_schema,
    plan_to_json_schema,
)
from composer.core.plans.model import Plan, PropertyType, matches_type
from composer.core.plans.posthog_diff import diff
from composer.core.plans.posthog_export import to_posthog_export
from composer.core.plans.posthog_schema import ExportSource, PostHogExportError, read_schema
from composer.core.plans.posthog_to_plan import plan_document_from_posthog
from composer.core.plans.reader import parse_plan
from composer.services.plans import example_plan_path, load_plan

EXAMPLE = example_plan_path()
EDGE = Path(__file__).parent / "data" / "plans" / "codegen-edge-cases.yaml"
POSTHOG_EXPORT = Path(__file__).parent / "data" / "posthog" / "schema-export.json"


def plan_of(path: Path) -> Plan:
    plan = load_plan(path)
    assert plan.problems == []
    return plan


def reread(doc: dict[str, Any]) -> Plan:
    plan = parse_plan(render_plan(doc), "converted.yaml")
    assert plan.problems == []
    return plan


def closed(plan: Plan) -> dict[str, bool]:
    """Per event, whether it refuses properties the plan does not list."""
    return {
        name: not (
            plan.allow_unknown_properties
            if event.allow_unknown_properties is None
            else event.allow_unknown_properties
        )
        for name, event in plan.events.items()
    }


def errors(event: Any, plan: Plan) -> list[str]:
    return [f.code for f in check_against_plan(event, plan) if f.severity is Severity.ERROR]


# -- JSON Schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [EXAMPLE, EDGE], ids=["example", "edge-cases"])
def test_the_json_schema_round_trips_through_import(path: Path) -> None:
    plan = plan_of(path)
    schema = plan_to_json_schema(plan)
    Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]) == set(plan.events)
    doc, notes = plan_document_from_json_schema(json.loads(json.dumps(schema)))
    assert notes == []
    again = reread(doc)
    assert plan_to_json_schema(again) == schema
    assert again.name == plan.name
    assert again.allow_unplanned_events == plan.allow_unplanned_events
    assert closed(again) == closed(plan)


def sample_events() -> st.SearchStrategy[dict[str, Any]]:
    leaf = (
        st.none()
        | st.booleans()
        | st.integers(-3, 20_000)
        | st.floats(-3, 20_000)
        | st.sampled_from(
            [
                "free",
                "team",
                "gold",
                "EUR",
                "eur",
                "2024-05-01T12:00:00Z",
                "2024-05-01 12:00",
                "May 1",
                "a@b",
                "x" * 33,
                "",
                "source",
            ]
        )
    )
    values = st.recursive(
        leaf,
        lambda inner: (
            st.lists(inner, max_size=2)
            | st.dictionaries(st.sampled_from(["source", "campaign", "other"]), inner, max_size=2)
        ),
        max_leaves=4,
    )
    names = st.sampled_from(
        [
            "plan",
            "seats",
            "coupon",
            "amount",
            "currency",
            "upgraded_at",
            "previous_plan",
            "utm",
            "signup_method",
            "referrer",
            "request_size",
            "number_in_batch",
            "extra",
            "$lib",
            "distinct_id",
        ]
    )
    person = st.dictionaries(
        st.sampled_from(["email", "is_cool", "first_seen"]), values, max_size=2
    )
    return st.builds(
        lambda event, props, person_set, person_once: {
            "event": event,
            "properties": {
                **props,
                **({"$set": person_set} if person_set is not None else {}),
                **({"$set_once": person_once} if person_once is not None else {}),
            },
        },
        st.sampled_from(
            [
                "plan_upgraded",
                "signed_up",
                "invoice_paid",
                "big_request",
                "batched_event",
                "request",
                "$identify",
                "unplanned",
                "$pageview",
            ]
        ),
        st.dictionaries(names, values, max_size=5),
        st.none() | person,
        st.none() | person,
    )


def test_the_json_schema_accepts_exactly_the_events_the_plan_accepts() -> None:
    plan = plan_of(EXAMPLE)
    validator = Draft202012Validator(plan_to_json_schema(plan))

    @settings(max_examples=400, deadline=None)
    @given(sample_events())
    def agree(event: dict[str, Any]) -> None:
        schema_errors = [e.message for e in validator.iter_errors(event)]
        plan_errors = errors(event, plan)
        assert bool(schema_errors) == bool(plan_errors), (event, schema_errors, plan_errors)

    agree()
    # A few by hand, the schema's messages saying what is wrong.
    ok = {
        "event": "plan_upgraded",
        "properties": {"plan": "team", "previous_plan": "free", "$lib": "web", "distinct_id": "u"},
    }
    assert list(validator.iter_errors(ok)) == []
    bad = copy.deepcopy(ok)
    bad["properties"]["coupon"] = "x" * 40
    assert errors(bad, plan) == ["plan.range"]
    assert [e.validator for e in validator.iter_errors(bad)] == ["$ref"] or list(
        validator.iter_errors(bad)
    )


def test_the_date_time_pattern_is_the_plans_forms() -> None:
    import re

    pattern = re.compile(DATETIME_PATTERN)
    samples = [
        "2024-05-01T12:00:00Z",
        "2024-05-01t12:00:00z",
        "2024-05-01T12:00:00.123+02:00",
        "2024-05-01 12:00:00",
        "2024-05-01 12:00",
        "2024-05-01T12:00:00+0200",
        "2024-05-01T12:00:00 UTC",
        " 2024-05-01T12:00:00Z ",
        "2024-05-01",
        "05/01/2024",
        "1714564800",
        "Wed, 01 May 2024 12:00:00 GMT",
        "2024-5-1T12:00:00Z",
        "now",
        "",
        "2024-05-01T12:00:00Zjunk",
        "2024-05-01T12Z",
    ]
    for text in samples:
        assert bool(pattern.search(text)) == matches_type(text, PropertyType.DATETIME), text


def test_event_names_any_json_pointer_can_hold() -> None:
    plan = parse_plan(
        "version: 1\nallow_unplanned_events: false\nevents:\n"
        "  'a/b ~c': {properties: {n: {type: integer, required: true}}}\n  'ünï cødé': {}\n"
    )
    validator = Draft202012Validator(plan_to_json_schema(plan))
    good = {"event": "a/b ~c", "properties": {"n": 1}}
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({"event": "a/b ~c", "properties": {"n": "1"}}))
    assert list(validator.iter_errors({"event": "ünï cødé"})) == []
    assert list(validator.iter_errors({"event": "other"}))  # not planned
    assert list(validator.iter_errors({"event": "$pageview"})) == []  # PostHog's own


def test_importing_a_hand_written_schema_keeps_what_the_plan_cannot_say() -> None:
    doc, notes = plan_document_from_json_schema(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Mobile",
            "$defs": {
                "screen_viewed": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "depth": {"type": "integer", "exclusiveMinimum": 0},
                        "kind": {"const": "modal"},
                    },
                    "required": ["name"],
                    "additionalProperties": False,
                }
            },
        }
    )
    event = doc["events"]["screen_viewed"]
    assert event["allow_unknown_properties"] is False
    assert event["properties"]["name"] == {"type": "string", "required": True, "min_length": 1}
    assert event["properties"]["depth"] == {"type": "integer", "schema": {"exclusiveMinimum": 0}}
    assert event["properties"]["kind"] == {"enum": ["modal"]}
    assert notes == [
        "screen_viewed.depth: exclusiveMinimum kept as a JSON Schema fragment (`schema:`)"
    ]
    plan = reread(doc)
    assert errors({"event": "screen_viewed", "properties": {"name": "a", "depth": 0}}, plan) == [
        "plan.range"
    ]
    with pytest.raises(JsonSchemaImportError):
        plan_document_from_json_schema({"type": "object"})


def test_cli_export_then_import(run_cli, tmp_path: Path) -> None:
    schema_file = tmp_path / "plan.schema.json"
    exported = run_cli(
        "plan", "export", "--format", "json-schema", str(EXAMPLE), "-o", str(schema_file)
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(schema_file.read_text())["$schema"].endswith("2020-12/schema")
    plan_file = tmp_path / "tracking-plan.yaml"
    imported = run_cli("plan", "import", str(schema_file), "-o", str(plan_file))
    assert imported.returncode == 0, imported.stderr
    assert "Imported 7 events" in imported.stderr
    assert plan_file.read_text().startswith("# A tracking plan converted by event-composer")
    assert parse_plan(plan_file.read_text(), str(plan_file)).problems == []
    again = run_cli("plan", "import", str(schema_file), "-o", str(plan_file))
    assert again.returncode == 2
    assert "never overwritten" in again.stderr


# -- PostHog's schema ----------------------------------------------------------------------------


def posthog_schema() -> Any:
    return read_schema(ExportSource(json.loads(POSTHOG_EXPORT.read_text())))


def test_every_posthog_event_definition_reaches_the_plan() -> None:
    schema = posthog_schema()
    assert len(schema.events) == 12
    doc, notes = plan_document_from_posthog(schema)
    planned = set(doc["events"])
    # Events with no property group are planned events too (PostHog's own `schema pull` once
    # dropped them); only PostHog's `$` events without one are left out, and said so.
    assert planned == set(schema.events) - {"$autocapture", "$identify"}
    assert {"Dashboard Viewed", "report_exported", "batched_event", "search_performed"} <= planned
    assert any(
        "left out 2 PostHog event(s) with no property group: $autocapture, $identify" in n
        for n in notes
    )
    everything, _ = plan_document_from_posthog(schema, include_system=True)
    assert set(everything["events"]) == set(schema.events)
    assert doc["events"]["plan_upgraded"]["include"] == ["account", "upgrade"]
    assert doc["events"]["big_request"]["include"] == ["request_size"]  # via event_schemas
    assert doc["events"]["signed_up"]["owner"] == "alice@example.com"
    sets = doc["property_sets"]
    assert sets["account"]["plan"] == {
        "type": "string",
        "required": True,
        "enum": ["free", "team", "enterprise"],
        "description": "the billing plan after the event",
    }
    assert sets["upgrade"]["coupon"] == {"type": "string", "schema": {"not": {"enum": ["EXPIRED"]}}}
    assert sets["payment"]["amount"]["schema"] == {"exclusiveMinimum": 0}
    assert sets["pageview"]["anything"] == {}
    text = "\n".join(notes)
    for lost in (
        "tags on signed_up",
        "hidden on search_performed",
        "enforcement_mode reject",
        "Duration is planned as a number",
        "is_optional_in_types",
    ):
        assert lost in text
    plan = reread(doc)
    assert errors(
        {
            "event": "plan_upgraded",
            "properties": {"plan": "team", "previous_plan": "free", "coupon": "EXPIRED"},
        },
        plan,
    ) == ["plan.range"]
    # The converted plan and the export agree.
    assert diff(plan, schema)[0] == []


def test_the_export_may_be_paginated_answers_or_their_results() -> None:
    raw = json.loads(POSTHOG_EXPORT.read_text())
    flat = {
        "event_definitions": raw["event_definitions"]["results"],
        "schema_property_groups": raw["schema_property_groups"]["results"],
        "event_schemas": raw["event_schemas"],
    }
    a, b = read_schema(ExportSource(raw)), read_schema(ExportSource(flat))
    assert a.events == b.events
    assert a.groups == b.groups
    with pytest.raises(PostHogExportError):
        ExportSource({"results": []})
    with pytest.raises(PostHogExportError):
        ExportSource({"event_definitions": "nope"}).event_definitions()


def test_a_plan_and_its_posthog_export_agree() -> None:
    plan = plan_of(EXAMPLE)
    export, notes = to_posthog_export(plan)
    schema = read_schema(ExportSource(json.loads(json.dumps(export))))
    differences, _ = diff(plan, schema)
    assert differences == []
    groups = {g["name"]: g for g in export["schema_property_groups"]["results"]}
    assert [e["name"] for e in groups["account"]["events"]] == ["invoice_paid", "plan_upgraded"]
    assert {p["name"] for p in groups["plan_upgraded"]["properties"]} == {
        "coupon",
        "previous_plan",
        "upgraded_at",
        "utm",
    }
    assert [e["name"] for e in export["event_definitions"]["results"]] == sorted(plan.events)
    text = "\n".join(notes)
    assert "invoice_paid.currency: PostHog's property groups cannot hold its pattern" in text
    assert "person properties ($set / $set_once): not exported for $identify, signed_up" in text
    assert to_posthog_export(plan)[0] == export  # stable ids: the same export every time


def test_diff_names_each_difference() -> None:
    plan = plan_of(EXAMPLE)
    differences, notes = diff(plan, posthog_schema())
    shown = {str(d) for d in differences}
    assert shown == {
        "$pageview: only in PostHog",
        "Dashboard Viewed: only in PostHog",
        "report_exported: only in PostHog",
        "search_performed: only in PostHog",
        "batched_event.number_in_batch: only in the plan",
        "invoice_paid.duration: only in PostHog",
        "invoice_paid.amount: minimum is 0 in the plan, not set in PostHog",
    }
    assert any("$autocapture" in n for n in notes)
    assert not any("$identify" in n and "starting with $" in n for n in notes)  # it is planned
    changed = parse_plan(
        EXAMPLE.read_text()
        .replace("enum: [free, team, enterprise]", "enum: [free, team]")
        .replace("seats: {type: integer, minimum: 1, maximum: 10000}", "seats: {type: string}")
    )
    shown = {str(d) for d in diff(changed, posthog_schema())[0]}
    assert (
        "plan_upgraded.plan: allowed values is [free, team] in the plan,"
        " [free, team, enterprise] in PostHog" in shown
    )
    assert "invoice_paid.seats: type is String in the plan, Numeric in PostHog" in shown
    assert "invoice_paid.seats: maximum is not set in the plan, 10000 in PostHog" in shown


def test_cli_diff_and_from_posthog(run_cli, tmp_path: Path) -> None:
    different = run_cli("plan", "diff", str(EXAMPLE), "--against", str(POSTHOG_EXPORT))
    assert different.returncode == 1
    assert "report_exported: only in PostHog" in different.stdout
    as_json = run_cli(
        "plan", "diff", str(EXAMPLE), "--against", str(POSTHOG_EXPORT), "--format", "json"
    )
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 1
    assert {
        "event": "report_exported",
        "property": None,
        "what": "event",
        "plan": None,
        "posthog": "report_exported",
        "message": "report_exported: only in PostHog",
    } in report["differences"]
    plan_file = tmp_path / "tracking-plan.yaml"
    converted = run_cli(
        "plan", "from-posthog", str(POSTHOG_EXPORT), "-o", str(plan_file), "--name", "Ours"
    )
    assert converted.returncode == 0, converted.stderr
    assert "Converted 10 events and 6 property groups" in converted.stderr
    assert "note: left out 2 PostHog event(s)" in converted.stderr
    same = run_cli("plan", "diff", str(plan_file), "--against", str(POSTHOG_EXPORT))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "agree (10 planned events)" in same.stdout
    export_file = tmp_path / "posthog.json"
    exported = run_cli(
        "plan", "export", "--format", "posthog", str(EXAMPLE), "-o", str(export_file)
    )
    assert exported.returncode == 0
    assert "cannot hold its pattern" in exported.stderr
    assert (
        diff(plan_of(EXAMPLE), read_schema(ExportSource(json.loads(export_file.read_text()))))[0]
        == []
    )
    (tmp_path / "not-an-export.json").write_text('{"events": []}')
    wrong = run_cli("plan", "from-posthog", str(tmp_path / "not-an-export.json"))
    assert wrong.returncode == 2
    assert "event_definitions" in wrong.stderr
