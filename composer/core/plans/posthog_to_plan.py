"""A tracking plan from PostHog's schema: property groups become property sets, event
definitions events; notes name what a plan cannot hold.
"""

from __future__ import annotations

from typing import Any

from composer.core.plans.model import PLAN_VERSION, PropertyType
from composer.core.plans.posthog_schema import (
    ANY,
    BOOLEAN,
    DATETIME,
    DURATION,
    NUMERIC,
    NUMERIC_RULES,
    OBJECT,
    STRING,
    EventDefinition,
    GroupProperty,
    PostHogSchema,
    shown_names,
)

# PostHog's types as plan types; an Any property is planned without a type.
_TO_PLAN = {
    STRING: PropertyType.STRING,
    NUMERIC: PropertyType.NUMBER,
    BOOLEAN: PropertyType.BOOLEAN,
    DATETIME: PropertyType.DATETIME,
    OBJECT: PropertyType.OBJECT,
    DURATION: PropertyType.NUMBER,  # seconds
}


def plan_property(prop: GroupProperty, where: str, notes: list[str]) -> dict[str, Any]:
    """A property group's property as a plan property."""
    spec: dict[str, Any] = {}
    kind = _TO_PLAN.get(prop.property_type)
    if kind is not None:
        spec["type"] = kind.value
    elif prop.property_type != ANY:
        notes.append(f"{where}: PostHog's type {prop.property_type!r} is not a plan type; any")
    if prop.property_type == DURATION:
        notes.append(f"{where}: a Duration is planned as a number (of seconds)")
    if prop.is_required:
        spec["required"] = True
    fragment: dict[str, Any] = {}
    for key, value in (prop.validation_rules or {}).items():
        if key == "enum" and isinstance(value, list) and value:
            spec["enum"] = value
        elif key in NUMERIC_RULES and isinstance(value, int | float):
            spec[key] = value
        else:  # `not`, exclusive bounds ...: PostHog's rules are JSON Schema keywords
            fragment[key] = value
    if prop.description:
        spec["description"] = prop.description
    if fragment:
        spec["schema"] = fragment
    if prop.is_optional_in_types:
        notes.append(f"{where}: is_optional_in_types is PostHog's own generator's; not kept")
    return spec


def plan_document_from_posthog(
    schema: PostHogSchema, name: str = "", include_system: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """A plan document (ready for YAML) from PostHog's schema, and notes on what did not fit.
    Every event definition is an event of the plan, with or without groups; `$` events
    without groups only with `include_system`."""
    notes: list[str] = list(schema.problems)
    sets: dict[str, Any] = {}
    for group_name in sorted(schema.groups):
        group = schema.groups[group_name]
        sets[group_name] = {
            p.name: plan_property(p, f"{group_name}.{p.name}", notes) for p in group.properties
        }
    events: dict[str, Any] = {}
    skipped: list[str] = []
    unkept: dict[str, list[str]] = {}
    for event_name in sorted(schema.events):
        event = schema.events[event_name]
        if event_name.startswith("$") and not event.groups and not include_system:
            skipped.append(event_name)
            continue
        spec: dict[str, Any] = {}
        if event.description:
            spec["description"] = event.description
        if event.owner:
            spec["owner"] = event.owner
        if event.groups:
            spec["include"] = list(event.groups)
            _clashes(event, schema, notes)
        events[event_name] = spec
        for what, present in (
            ("tags", bool(event.tags)),
            ("verified", event.verified),
            ("hidden", event.hidden),
            (
                f"enforcement_mode {event.enforcement_mode}",
                event.enforcement_mode not in ("", "allow"),
            ),
        ):
            if present:
                unkept.setdefault(what, []).append(event_name)
    for what, names in unkept.items():
        notes.append(f"not kept (a plan has no {what.split()[0]}): {what} on {shown_names(names)}")
    if skipped:
        notes.append(
            f"left out {len(skipped)} PostHog event(s) with no property group:"
            f" {shown_names(skipped)} (--include-system keeps them)"
        )
    doc: dict[str, Any] = {
        "version": PLAN_VERSION,
        "name": name or "From PostHog",
        "description": "Converted from PostHog's event definitions and property groups.",
    }
    if sets:
        doc["property_sets"] = sets
    doc["events"] = events
    return doc, notes


def _clashes(event: EventDefinition, schema: PostHogSchema, notes: list[str]) -> None:
    seen: dict[str, tuple[str, GroupProperty]] = {}
    for group_name in event.groups:
        group = schema.groups.get(group_name)
        for prop in group.properties if group else []:
            earlier = seen.get(prop.name)
            if earlier is not None and earlier[1] != prop:
                notes.append(
                    f"{event.name}: {prop.name!r} is in {earlier[0]!r} and {group_name!r} with"
                    f" different rules; the plan uses {group_name!r}'s (the last included)"
                )
            seen[prop.name] = (group_name, prop)
