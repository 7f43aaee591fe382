"""Tracking plans: what a plan says, as events and properties with their rules.

A plan is YAML (or JSON) kept in git beside the templates:

    version: 1
    naming: {events: snake_case, properties: snake_case}
    allow_unplanned_events: false
    property_sets:
      plan_context:
        plan: {type: string, enum: [free, team, enterprise], required: true}
    events:
      plan_upgraded:
        description: A team moved to a paid plan
        owner: growth@example.com
        include: [plan_context]
        allow_unknown_properties: false
        properties:
          seats: {type: integer, minimum: 1, required: true}
          coupon: {type: [string, "null"]}
          source: {schema: {type: string, pattern: "^utm_"}}
        set:
          email: {type: string, pattern: "@", required: true}

This module holds what a plan is once read (`reader` reads it) and the plan types' meaning
for JSON values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from composer.core.capture.timestamps import TimestampForm, parse_timestamp

PLAN_VERSION = 1
FILE_NAMES = ("tracking-plan.yaml", "tracking-plan.yml", "tracking-plan.json")


class PropertyType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "date-time"
    OBJECT = "object"
    ARRAY = "array"
    NULL = "null"


TYPE_NAMES = ", ".join(t.value for t in PropertyType)


@dataclass(frozen=True)
class PlanProblem:
    source: str
    line: int | None
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message} {self.fix}".strip()


@dataclass
class PropertySpec:
    name: str
    types: tuple[PropertyType, ...] = ()  # empty: any type
    required: bool = False
    enum: tuple[Any, ...] | None = None
    pattern: re.Pattern[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    description: str = ""
    schema: Any = None  # a compiled JSON Schema validator (jsonschema), when one is given
    schema_source: dict[str, Any] | None = None
    line: int | None = None


@dataclass
class EventSpec:
    name: str
    description: str = ""
    owner: str = ""
    properties: dict[str, PropertySpec] = field(default_factory=dict)
    set: dict[str, PropertySpec] = field(default_factory=dict)
    set_once: dict[str, PropertySpec] = field(default_factory=dict)
    allow_unknown_properties: bool | None = None  # None: the plan's default
    line: int | None = None
    include: tuple[str, ...] = ()  # the property sets it includes (their specs are in properties)


class NamingStyle(StrEnum):
    SNAKE = "snake_case"
    CAMEL = "camelCase"
    PASCAL = "PascalCase"
    KEBAB = "kebab-case"
    OBJECT_ACTION = "Object Action"  # Segment's convention: "Plan Upgraded"
    LOWER_WORDS = "object action"  # "plan upgraded"


STYLE_PATTERNS = {
    NamingStyle.SNAKE: r"[a-z][a-z0-9]*(_[a-z0-9]+)*",
    NamingStyle.CAMEL: r"[a-z][a-z0-9]*([A-Z][a-z0-9]*)*",
    NamingStyle.PASCAL: r"([A-Z][a-z0-9]*)+",
    NamingStyle.KEBAB: r"[a-z][a-z0-9]*(-[a-z0-9]+)*",
    NamingStyle.OBJECT_ACTION: r"[A-Z][A-Za-z0-9]*( [A-Z][A-Za-z0-9]*)+",
    NamingStyle.LOWER_WORDS: r"[a-z][a-z0-9]*( [a-z0-9]+)+",
}


@dataclass(frozen=True)
class NamingRule:
    label: str  # the style's name, or the pattern the plan gave
    regex: re.Pattern[str]

    def allows(self, name: str) -> bool:
        return self.regex.fullmatch(name) is not None


@dataclass
class Plan:
    source: str = "tracking plan"
    name: str = ""
    description: str = ""
    events: dict[str, EventSpec] = field(default_factory=dict)
    event_naming: NamingRule | None = None
    property_naming: NamingRule | None = None
    allow_unplanned_events: bool = True
    allow_unknown_properties: bool = True
    # Shared properties by set name; events hold the same PropertySpec objects they include.
    property_sets: dict[str, dict[str, PropertySpec]] = field(default_factory=dict)
    problems: list[PlanProblem] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """False only when nothing could be read (a syntax error): checks are then skipped."""
        return bool(self.events) or not self.problems


def value_types(spec: PropertySpec) -> tuple[PropertyType, ...]:
    """The types a property's value may have, for code and PostHog's schema: the plan's, or,
    when it gives only a JSON Schema, the schema's top-level `type` (none: any value)."""
    if spec.types or not isinstance(spec.schema_source, dict):
        return spec.types
    declared = spec.schema_source.get("type")
    names = declared if isinstance(declared, list) else [declared]
    known = {t.value: t for t in PropertyType if t is not PropertyType.DATETIME}
    kinds = tuple(known[n] for n in names if isinstance(n, str) and n in known)
    return kinds if len(kinds) == len(names) else ()


_DATETIME_FORMS = frozenset(
    {TimestampForm.RFC3339, TimestampForm.SPACE_WITH_OFFSET, TimestampForm.NAIVE}
)


def json_type(value: Any) -> PropertyType:
    """The plan type a JSON value has by its JSON type alone (text is never a date here)."""
    if value is None:
        return PropertyType.NULL
    if isinstance(value, bool):
        return PropertyType.BOOLEAN
    if isinstance(value, int):
        return PropertyType.INTEGER
    if isinstance(value, float):
        return PropertyType.NUMBER
    if isinstance(value, str):
        return PropertyType.STRING
    if isinstance(value, list):
        return PropertyType.ARRAY
    return PropertyType.OBJECT


def matches_type(value: Any, kind: PropertyType) -> bool:
    match kind:
        case PropertyType.STRING:
            return isinstance(value, str)
        case PropertyType.NUMBER:
            return isinstance(value, int | float) and not isinstance(value, bool)
        case PropertyType.INTEGER:
            if isinstance(value, bool):
                return False
            return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        case PropertyType.BOOLEAN:
            return isinstance(value, bool)
        case PropertyType.DATETIME:
            return isinstance(value, str) and parse_timestamp(value).form in _DATETIME_FORMS
        case PropertyType.OBJECT:
            return isinstance(value, dict)
        case PropertyType.ARRAY:
            return isinstance(value, list)
        case _:  # PropertyType.NULL
            return value is None
