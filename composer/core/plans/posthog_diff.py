"""How a tracking plan and PostHog's schema differ, in what both can say: types, required,
string enums and numeric ranges, each compared as PostHog would hold the plan's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from composer.core.plans.model import Plan, PropertySpec
from composer.core.plans.posthog_export import posthog_property
from composer.core.plans.posthog_schema import (
    ANY,
    DURATION,
    NUMERIC,
    NUMERIC_RULES,
    GroupProperty,
    PostHogSchema,
    shown_names,
)


@dataclass(frozen=True)
class Difference:
    event: str
    property: str  # "" for the event itself
    what: str  # "event", "property", "type", "required", "enum", "minimum", "maximum", ...
    plan: Any
    posthog: Any

    def __str__(self) -> str:
        where = f"{self.event}.{self.property}" if self.property else self.event
        if self.what in ("event", "property"):
            side = "the plan" if self.posthog is None else "PostHog"
            return f"{where}: only in {side}"
        plan, posthog = _shown(self.plan), _shown(self.posthog)
        return f"{where}: {self.what} is {plan} in the plan, {posthog} in PostHog"


def _shown(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class _Rules:
    property_type: str
    is_required: bool
    enum: tuple[Any, ...] | None
    minimum: float | None
    maximum: float | None


def _from_plan(spec: PropertySpec) -> _Rules:
    prop = posthog_property(spec, "", [])
    rules = prop.get("validation_rules", {})
    return _Rules(
        prop["property_type"],
        spec.required,
        tuple(rules["enum"]) if "enum" in rules else None,
        rules.get("minimum"),
        rules.get("maximum"),
    )


def _from_posthog(prop: GroupProperty) -> _Rules:
    rules = prop.validation_rules or {}
    enum = rules.get("enum")
    kind = NUMERIC if prop.property_type == DURATION else prop.property_type
    return _Rules(
        kind,
        prop.is_required,
        tuple(enum) if isinstance(enum, list) else None,
        rules.get("minimum"),
        rules.get("maximum"),
    )


def diff(plan: Plan, schema: PostHogSchema) -> tuple[list[Difference], list[str]]:
    """How the plan and PostHog's schema differ, event by event, in what both can say (type,
    required, string enums, numeric ranges); and notes on what was not compared."""
    differences: list[Difference] = []
    notes: list[str] = list(schema.problems)
    system = [
        n
        for n, e in schema.events.items()
        if n.startswith("$") and not e.groups and n not in plan.events
    ]
    with_person: list[str] = []
    for name in sorted(set(plan.events) | set(schema.events)):
        event = plan.events.get(name)
        defined = schema.events.get(name)
        if defined is None:
            differences.append(Difference(name, "", "event", name, None))
            continue
        if event is None:
            if name not in system:
                differences.append(Difference(name, "", "event", None, name))
            continue
        if (event.description or "") != defined.description and defined.description:
            differences.append(
                Difference(name, "", "description", event.description or None, defined.description)
            )
        theirs: dict[str, _Rules] = {}
        for group_name in defined.groups:
            group = schema.groups.get(group_name)
            for prop in group.properties if group else []:
                theirs[prop.name] = _from_posthog(prop)
        ours = {key: _from_plan(spec) for key, spec in event.properties.items()}
        for key in sorted(set(ours) | set(theirs)):
            mine, other = ours.get(key), theirs.get(key)
            if mine is None or other is None:
                differences.append(
                    Difference(name, key, "property", key if mine else None, key if other else None)
                )
                continue
            if ANY not in (mine.property_type, other.property_type) and (
                mine.property_type != other.property_type
            ):
                differences.append(
                    Difference(name, key, "type", mine.property_type, other.property_type)
                )
            if mine.is_required != other.is_required:
                differences.append(
                    Difference(name, key, "required", mine.is_required, other.is_required)
                )
            if mine.enum != other.enum:
                differences.append(
                    Difference(
                        name,
                        key,
                        "allowed values",
                        list(mine.enum) if mine.enum is not None else None,
                        list(other.enum) if other.enum is not None else None,
                    )
                )
            for bound in NUMERIC_RULES:
                a, b = getattr(mine, bound), getattr(other, bound)
                if a != b:
                    differences.append(Difference(name, key, bound, a, b))
        if event.set or event.set_once:
            with_person.append(name)
    if with_person:
        notes.append(
            "not compared: person properties ($set / $set_once; PostHog's property groups do not"
            f" describe them) of {shown_names(with_person)}"
        )
    if system:
        notes.append(
            f"not compared: {len(system)} PostHog event(s) starting with $ and without property"
            f" groups ({shown_names(sorted(system))})"
        )
    return differences, notes
