"""PostHog's schema management (event definitions, property groups) beside a tracking plan:
read an export of it, compare it with a plan, convert it into one, and write a plan in its shape.

The export is what PostHog's API returns, gathered in one JSON object:

    {"event_definitions":      GET /api/projects/:id/event_definitions/,
     "schema_property_groups": GET /api/projects/:id/schema_property_groups/,
     "event_schemas":          GET /api/projects/:id/event_schemas/       (optional)}

each either the paginated answer (`{"count", "next", "previous", "results": [...]}`) or its
`results` list. The shapes follow PostHog's serializers:

- an event definition (ee/api/ee_event_definition.py, EnterpriseEventDefinitionSerializer):
  id, name, description, owner (a user: id, email, ...), tags, verified, hidden, and in newer
  versions enforcement_mode ("allow", "enforce", "reject");
- a property group (posthog/api/schema_property_group.py, SchemaPropertyGroupSerializer): id,
  name, description, properties, and events ([{id, name}]: the events it is attached to);
- a group's property (SchemaPropertyGroupPropertySerializer): name, property_type (String,
  Numeric, Boolean, DateTime, Object, Any; Duration in older versions; SchemaPropertyType in
  posthog/models/schema.py, now products/event_definitions/backend/models/schema.py),
  is_required, description, and in newer versions is_optional_in_types and validation_rules
  (String: {"enum": [...]} or {"not": {"enum": [...]}}; Numeric: minimum, exclusiveMinimum,
  maximum, exclusiveMaximum);
- an event schema (posthog/api/event_schema.py, EventSchemaSerializer): event_definition (the
  event's id) and property_group (the whole group), another way to say which groups an event has.

Every event definition counts, with or without property groups (PostHog's own TypeScript
generator turns an event without groups into `Record<string, any>`); PostHog's `$` events
without groups are the only ones left out of a converted plan, and the notes name them.

A live pull or push with a personal API key plugs in as a SchemaSource (and later a writer of
`to_posthog_export`'s objects); this module does no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from composer.core.plans.model import PLAN_VERSION, Plan, PropertySpec, PropertyType, value_types

# PostHog's property types (SchemaPropertyType), and the plan types they are.
STRING, NUMERIC, BOOLEAN, DATETIME, OBJECT, ANY, DURATION = (
    "String",
    "Numeric",
    "Boolean",
    "DateTime",
    "Object",
    "Any",
    "Duration",
)
_TO_PLAN = {
    STRING: PropertyType.STRING,
    NUMERIC: PropertyType.NUMBER,
    BOOLEAN: PropertyType.BOOLEAN,
    DATETIME: PropertyType.DATETIME,
    OBJECT: PropertyType.OBJECT,
    DURATION: PropertyType.NUMBER,  # seconds
}
_FROM_PLAN = {
    PropertyType.STRING: STRING,
    PropertyType.NUMBER: NUMERIC,
    PropertyType.INTEGER: NUMERIC,
    PropertyType.BOOLEAN: BOOLEAN,
    PropertyType.DATETIME: DATETIME,
    PropertyType.OBJECT: OBJECT,
}
_NUMERIC_RULES = ("minimum", "maximum")
_IDS = uuid.UUID("6f1c1d0e-5b7a-4c55-9b43-0e7d3c1a2b90")  # names -> stable ids in our exports


class SchemaSource(Protocol):
    """Where PostHog's schema comes from: an export file today; the API with a personal API
    key later (the same three lists, following each answer's `next`)."""

    def event_definitions(self) -> list[Any]: ...

    def schema_property_groups(self) -> list[Any]: ...

    def event_schemas(self) -> list[Any]: ...


class PostHogExportError(ValueError):
    """The file is not an export of PostHog's event definitions and property groups."""


class ExportSource:
    """A SchemaSource over an export document (already parsed from JSON)."""

    def __init__(self, doc: Any) -> None:
        if not isinstance(doc, dict) or not (
            "event_definitions" in doc or "schema_property_groups" in doc
        ):
            raise PostHogExportError(
                "an export is a JSON object with `event_definitions` and/or"
                " `schema_property_groups` (the answers of PostHog's API for each)"
            )
        self._doc = doc

    def _list(self, key: str) -> list[Any]:
        value = self._doc.get(key, [])
        if isinstance(value, dict):  # a paginated answer
            value = value.get("results", [])
        if not isinstance(value, list):
            raise PostHogExportError(f"`{key}` must be a list or a paginated answer")
        return value

    def event_definitions(self) -> list[Any]:
        return self._list("event_definitions")

    def schema_property_groups(self) -> list[Any]:
        return self._list("schema_property_groups")

    def event_schemas(self) -> list[Any]:
        return self._list("event_schemas")


@dataclass(frozen=True)
class GroupProperty:
    name: str
    property_type: str
    is_required: bool = False
    description: str = ""
    validation_rules: dict[str, Any] | None = None
    is_optional_in_types: bool = False


@dataclass
class PropertyGroup:
    name: str
    id: str = ""
    description: str = ""
    properties: list[GroupProperty] = field(default_factory=list)


@dataclass
class EventDefinition:
    name: str
    id: str = ""
    description: str = ""
    owner: str = ""
    tags: tuple[str, ...] = ()
    verified: bool = False
    hidden: bool = False
    enforcement_mode: str = ""
    groups: list[str] = field(default_factory=list)  # property group names, sorted


@dataclass
class PostHogSchema:
    events: dict[str, EventDefinition] = field(default_factory=dict)
    groups: dict[str, PropertyGroup] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # what in the export could not be read


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _owner(value: Any) -> str:
    if isinstance(value, dict):  # UserBasicSerializer
        return _text(value.get("email")) or " ".join(
            x for x in (_text(value.get("first_name")), _text(value.get("last_name"))) if x
        )
    return _text(value)


def read_schema(source: SchemaSource) -> PostHogSchema:
    """PostHog's schema from a source, events and groups by name."""
    schema = PostHogSchema()
    by_id: dict[str, str] = {}
    for item in source.event_definitions():
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            schema.problems.append(f"an event definition without a name was skipped: {item!r:.80}")
            continue
        tags = item["tags"] if isinstance(item.get("tags"), list) else []
        event = EventDefinition(
            item["name"],
            id=str(item.get("id") or ""),
            description=_text(item.get("description")),
            owner=_owner(item.get("owner")),
            tags=tuple(str(t) for t in tags),
            verified=item.get("verified") is True,
            hidden=item.get("hidden") is True,
            enforcement_mode=_text(item.get("enforcement_mode")),
        )
        schema.events[event.name] = event
        if event.id:
            by_id[event.id] = event.name

    def attach(event_name: str, group: str) -> None:
        event = schema.events.setdefault(event_name, EventDefinition(event_name))
        if group not in event.groups:
            event.groups.append(group)

    def read_group(item: Any) -> PropertyGroup | None:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            schema.problems.append(f"a property group without a name was skipped: {item!r:.80}")
            return None
        known = schema.groups.get(item["name"])
        if known is not None:
            return known
        group = PropertyGroup(
            item["name"], id=str(item.get("id") or ""), description=_text(item.get("description"))
        )
        for prop in item.get("properties") or []:
            if not isinstance(prop, dict) or not isinstance(prop.get("name"), str):
                schema.problems.append(f"a property of {group.name!r} without a name was skipped")
                continue
            rules = prop.get("validation_rules")
            group.properties.append(
                GroupProperty(
                    prop["name"],
                    _text(prop.get("property_type")) or ANY,
                    is_required=prop.get("is_required") is True,
                    description=_text(prop.get("description")),
                    validation_rules=rules if isinstance(rules, dict) and rules else None,
                    is_optional_in_types=prop.get("is_optional_in_types") is True,
                )
            )
        schema.groups[group.name] = group
        for linked in item.get("events") or []:
            name = linked.get("name") if isinstance(linked, dict) else None
            if not isinstance(name, str):
                ident = str(linked.get("id")) if isinstance(linked, dict) else ""
                name = by_id.get(ident)
            if isinstance(name, str):
                attach(name, group.name)
        return group

    for item in source.schema_property_groups():
        read_group(item)
    for item in source.event_schemas():
        if not isinstance(item, dict):
            continue
        group = read_group(item.get("property_group"))
        event_name = by_id.get(str(item.get("event_definition") or ""))
        if group is not None and event_name is not None:
            attach(event_name, group.name)
        elif group is not None:
            schema.problems.append(
                f"an event schema links {group.name!r} to an event missing from"
                " event_definitions; export both"
            )
    for event in schema.events.values():
        event.groups.sort()
    return schema


# -- PostHog -> plan ----------------------------------------------------------------------------


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
        elif key in _NUMERIC_RULES and isinstance(value, int | float):
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
        notes.append(f"not kept (a plan has no {what.split()[0]}): {what} on {_names(names)}")
    if skipped:
        notes.append(
            f"left out {len(skipped)} PostHog event(s) with no property group: {_names(skipped)}"
            " (--include-system keeps them)"
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


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")


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


# -- plan -> PostHog ----------------------------------------------------------------------------


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
    for key in _NUMERIC_RULES:
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
            f" not exported for {_names(with_person)}"
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


# -- comparing ----------------------------------------------------------------------------------


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
            for bound in _NUMERIC_RULES:
                a, b = getattr(mine, bound), getattr(other, bound)
                if a != b:
                    differences.append(Difference(name, key, bound, a, b))
        if event.set or event.set_once:
            with_person.append(name)
    if with_person:
        notes.append(
            "not compared: person properties ($set / $set_once; PostHog's property groups do not"
            f" describe them) of {_names(with_person)}"
        )
    if system:
        notes.append(
            f"not compared: {len(system)} PostHog event(s) starting with $ and without property"
            f" groups ({_names(sorted(system))})"
        )
    return differences, notes
