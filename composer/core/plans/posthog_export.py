"""A tracking plan in the shape of PostHog's schema export: what `plan export --format
posthog` writes, and what a push would send. Notes name what PostHog cannot hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from composer.core.plans.model import Plan, PropertySpec, PropertyType, value_types
from composer.core.plans.posthog_schema import (
    ANY,
    BOOLEAN,
    DATETIME,
    NUMERIC,
    NUMERIC_RULES,
    OBJECT,
    STRING,
    shown_names,
)

# PostHog's type for each plan type it has one for; the rest are Any.
_FROM_PLAN = {
    PropertyType.STRING: STRING,
    PropertyType.NUMBER: NUMERIC,
    PropertyType.INTEGER: NUMERIC,
    PropertyType.BOOLEAN: BOOLEAN,
    PropertyType.DATETIME: DATETIME,
    PropertyType.OBJECT: OBJECT,
}
_IDS = uuid.UUID("6f1c1d0e-5b7a-4c55-9b43-0e7d3c1a2b90")  # names -> stable ids in our exports


def posthog_type(spec: PropertySpec) -> str:
    """The PostHog property type closest to a planned property's types (Any when it has
    several, or none, or only an array)."""
    kinds = {_FROM_PLAN.get(t) for t in value_types(spec) if t is not PropertyType.NULL}
    only = kinds.pop() if len(kinds) == 1 else None
    return only or ANY


def posthog_property(spec: PropertySpec, where: str, notes: list[str]) -> dict[str, Any]:
    """A planned property as a property group's property; rules PostHog has no room for are
    named in `notes`."""
    kind = posthog_type(spec)
    prop: dict[str, Any] = {
        "name": spec.name,
        "property_type": kind,
        "is_required": spec.required,
        "description": spec.description,
    }
    rules: dict[str, Any] = {}
    lost: list[str] = []
    if spec.enum is not None:
        if kind == STRING and all(isinstance(v, str) for v in spec.enum):
            rules["enum"] = list(spec.enum)
        else:
            lost.append("enum")
    for key in NUMERIC_RULES:
        value = getattr(spec, key)
        if value is not None:
            if kind == NUMERIC:
                rules[key] = value
            else:
                lost.append(key)
    if spec.pattern is not None:
        lost.append("pattern")
    if spec.min_length is not None or spec.max_length is not None:
        lost.append("length")
    if spec.schema_source is not None:
        lost.append("JSON Schema")
    if len([t for t in spec.types if t is not PropertyType.NULL]) > 1 or (
        PropertyType.ARRAY in spec.types
    ):
        lost.append(f"type {' or '.join(t.value for t in spec.types)}")
    if rules:
        prop["validation_rules"] = rules
    if lost:
        notes.append(f"{where}: PostHog's property groups cannot hold its {', '.join(lost)}")
    return prop


def _stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_IDS, f"{kind}:{name}"))


def to_posthog_export(plan: Plan) -> tuple[dict[str, Any], list[str]]:
    """The plan in the export's shape: its property sets as property groups, each event's own
    properties as a group named after the event, every event as an event definition. What
    PostHog cannot hold (patterns, lengths, person properties ...) is listed in the notes.
    This is also what a push would send."""
    notes: list[str] = []
    groups: dict[str, dict[str, Any]] = {}
    attached: dict[str, list[str]] = {}

    def add_group(group_name: str, specs: Iterable[PropertySpec], description: str) -> None:
        groups[group_name] = {
            "id": _stable_id("group", group_name),
            "name": group_name,
            "description": description,
            "properties": [
                posthog_property(spec, f"{group_name}.{spec.name}", notes)
                for spec in sorted(specs, key=lambda s: s.name)
            ],
            "events": [],
        }

    for set_name in sorted(plan.property_sets):
        add_group(set_name, plan.property_sets[set_name].values(), f"Property set {set_name}")
    definitions: list[dict[str, Any]] = []
    with_person: list[str] = []
    for event_name in sorted(plan.events):
        event = plan.events[event_name]
        shared = [plan.property_sets.get(s, {}) for s in event.include]
        own = [
            spec
            for key, spec in event.properties.items()
            if not any(spec is s.get(key) for s in shared)
        ]
        names = [s for s in event.include if s in groups]
        if own:
            group_name = event_name if event_name not in groups else f"{event_name} (event)"
            add_group(group_name, own, f"The properties of {event_name}")
            names.append(group_name)
        attached[event_name] = names
        if event.set or event.set_once:
            with_person.append(event_name)
        definition: dict[str, Any] = {
            "id": _stable_id("event", event_name),
            "name": event_name,
            "description": event.description,
            "tags": [],
        }
        if event.owner:
            definition["owner"] = {"email": event.owner}
        definitions.append(definition)
    for event_name, names in attached.items():
        for group_name in names:
            groups[group_name]["events"].append(
                {"id": _stable_id("event", event_name), "name": event_name}
            )
    for group in groups.values():
        group["events"].sort(key=lambda e: e["name"].lower())
    if with_person:
        notes.append(
            "PostHog's property groups do not describe person properties ($set / $set_once):"
            f" not exported for {shown_names(with_person)}"
        )
    export = {
        "event_definitions": {
            "count": len(definitions),
            "next": None,
            "previous": None,
            "results": definitions,
        },
        "schema_property_groups": {
            "count": len(groups),
            "next": None,
            "previous": None,
            "results": [groups[name] for name in sorted(groups)],
        },
    }
    return export, notes
