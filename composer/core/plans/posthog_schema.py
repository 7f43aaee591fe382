"""PostHog's schema management (event definitions, property groups), read from an export of
it. Beside a tracking plan: posthog_diff compares the two, posthog_to_plan converts the schema
into a plan, and posthog_export writes a plan in the export's shape.

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
`to_posthog_export`'s objects); these modules do no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# PostHog's property types (SchemaPropertyType).
STRING, NUMERIC, BOOLEAN, DATETIME, OBJECT, ANY, DURATION = (
    "String",
    "Numeric",
    "Boolean",
    "DateTime",
    "Object",
    "Any",
    "Duration",
)
# The validation rules of a Numeric property that a plan property says the same way.
NUMERIC_RULES = ("minimum", "maximum")


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


def shown_names(names: list[str]) -> str:
    """Names for a note: the first eight, and how many more, so that a note stays one line."""
    shown = ", ".join(names[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")
