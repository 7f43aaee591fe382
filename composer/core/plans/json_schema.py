"""A tracking plan as one JSON Schema 2020-12 document, and back.

The document validates one event object (`{"event": ..., "properties": {...}}`, as the capture
API and every SDK send it) the way `check_against_plan` does, for tools in other languages:

    {"$schema": "https://json-schema.org/draft/2020-12/schema",
     "type": "object", "required": ["event"],
     "properties": {"event": {"anyOf": [{"enum": [planned names]}, {"pattern": "^\\\\$"}]}},
     "allOf": [{"if": {"properties": {"event": {"const": "plan_upgraded"}}},
                "then": {"$ref": "#/$defs/plan_upgraded"}}, ...],
     "$defs": {"plan_upgraded": {"properties": {"event": {"const": "plan_upgraded"},
                                                "properties": {...the event's properties...}}}}}

Each `$defs` entry is a complete schema for its event. Plan rules map one to one: types (a
date-time is a string with the pattern of the forms the plan accepts, and `format:
date-time`), `enum`, `pattern`, `minimum` / `maximum`, `min_length` / `max_length` (as both
`minLength` and `minItems`: the plan counts characters and items alike), `required`,
`allow_unknown_properties: false` (`additionalProperties: false`, with PostHog's `$` properties,
`distinct_id` and `token` still allowed), and a property's own JSON Schema (under `allOf`).
Person properties are `properties.$set` / `properties.$set_once`, where the SDKs put them; the
top-level `$set` of the capture API, which the plan checker also reads, is not described. Naming
rules are warnings, never errors: they travel in `x-event-composer` with the plan's settings.

`plan_document_from_json_schema` reads such a document back into a plan (YAML-ready), keeping
anything it cannot map as a property's `schema:` fragment, so nothing is lost on the way.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from composer.core.plans.model import (
    PLAN_VERSION,
    NamingRule,
    NamingStyle,
    Plan,
    PropertySpec,
    PropertyType,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
META = "x-event-composer"
# The date-time forms the plan accepts (composer.core.capture.timestamps: RFC 3339, a space for
# the T, no time zone), with the spaces the checker strips; tests hold the two together.
DATETIME_PATTERN = (
    r"^\s*\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"\s*(?:[Zz]|UTC|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
_JSON_TYPES = {
    PropertyType.STRING: "string",
    PropertyType.NUMBER: "number",
    PropertyType.INTEGER: "integer",
    PropertyType.BOOLEAN: "boolean",
    PropertyType.OBJECT: "object",
    PropertyType.ARRAY: "array",
    PropertyType.NULL: "null",
}
_PLAN_TYPES = {v: k for k, v in _JSON_TYPES.items()}
_ALWAYS_ALLOWED = ("distinct_id", "token")
_PERSON = {"$set": "set", "$set_once": "set_once"}


def _datetime_branch() -> dict[str, Any]:
    return {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}


def ref(name: str) -> str:
    """The `$ref` of an event's `$defs` entry: a JSON pointer, escaped for a URI fragment."""
    pointer = name.replace("~", "~0").replace("/", "~1")
    return "#/$defs/" + quote(pointer, safe="~!$&'()*+,;=:@")


# -- plan -> JSON Schema ------------------------------------------------------------------------


def plan_to_json_schema(plan: Plan) -> dict[str, Any]:
    names = sorted(plan.events)
    event_name: dict[str, Any] = {"type": "string"}
    if not plan.allow_unplanned_events:
        event_name = {"anyOf": [{"enum": names}, {"type": "string", "pattern": r"^\$"}]}
    meta: dict[str, Any] = {
        "version": PLAN_VERSION,
        "allow_unplanned_events": plan.allow_unplanned_events,
        "allow_unknown_properties": plan.allow_unknown_properties,
    }
    naming = {
        key: _naming(rule)
        for key, rule in (("events", plan.event_naming), ("properties", plan.property_naming))
        if rule is not None
    }
    if naming:
        meta["naming"] = naming
    doc: dict[str, Any] = {"$schema": DIALECT, "title": plan.name or "Tracking plan"}
    if plan.description:
        doc["description"] = plan.description
    doc[META] = meta
    doc["type"] = "object"
    doc["required"] = ["event"]
    doc["properties"] = {"event": event_name}
    if names:
        doc["allOf"] = [
            {
                "if": {"properties": {"event": {"const": name}}, "required": ["event"]},
                "then": {"$ref": ref(name)},
            }
            for name in names
        ]
        doc["$defs"] = {name: _event_schema(plan, name) for name in names}
    return doc


def _naming(rule: NamingRule) -> Any:
    styles = {style.value for style in NamingStyle}
    return rule.label if rule.label in styles else {"pattern": rule.label}


def _event_schema(plan: Plan, name: str) -> dict[str, Any]:
    event = plan.events[name]
    allow_unknown = (
        event.allow_unknown_properties
        if event.allow_unknown_properties is not None
        else plan.allow_unknown_properties
    )
    props: dict[str, Any] = {"type": "object"}
    members: dict[str, Any] = {key: property_schema(spec) for key, spec in event.properties.items()}
    required = [key for key, spec in event.properties.items() if spec.required]
    for key, field in _PERSON.items():
        specs: dict[str, PropertySpec] = getattr(event, field)
        if specs:
            members[key] = _group(specs)
            if any(s.required for s in specs.values()):
                required.append(key)
    if not allow_unknown:
        for key in _ALWAYS_ALLOWED:
            members.setdefault(key, True)
    if members:
        props["properties"] = members
    if required:
        props["required"] = required
    if not allow_unknown:
        props["patternProperties"] = {r"^\$": True}
        props["additionalProperties"] = False
    schema: dict[str, Any] = {"title": name}
    if event.description:
        schema["description"] = event.description
    if event.owner:
        schema["x-owner"] = event.owner
    schema["type"] = "object"
    schema["properties"] = {"event": {"const": name}, "properties": props}
    schema["required"] = ["event", "properties"] if required else ["event"]
    return schema


def _group(specs: dict[str, PropertySpec]) -> dict[str, Any]:
    group: dict[str, Any] = {"type": "object"}
    if specs:
        group["properties"] = {key: property_schema(spec) for key, spec in specs.items()}
    required = [key for key, spec in specs.items() if spec.required]
    if required:
        group["required"] = required
    return group


def property_schema(spec: PropertySpec) -> dict[str, Any]:
    """One property's rules as JSON Schema keywords."""
    schema: dict[str, Any] = {}
    if spec.description:
        schema["description"] = spec.description
    all_of: list[Any] = []
    if spec.types:
        plain = [_JSON_TYPES[t] for t in spec.types if t is not PropertyType.DATETIME]
        dated = PropertyType.DATETIME in spec.types and "string" not in plain
        if dated and plain:
            schema["anyOf"] = [{"type": plain[0] if len(plain) == 1 else plain}, _datetime_branch()]
        elif dated and spec.pattern is not None:
            all_of.append(_datetime_branch())  # the plan's own pattern needs `pattern` too
        elif dated:
            schema.update(_datetime_branch())
        else:
            schema["type"] = plain[0] if len(plain) == 1 else plain
    if spec.enum is not None:
        schema["enum"] = list(spec.enum)
    if spec.pattern is not None:
        schema["pattern"] = spec.pattern.pattern
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if spec.maximum is not None:
        schema["maximum"] = spec.maximum
    if spec.min_length is not None:
        schema["minLength"] = spec.min_length
        schema["minItems"] = spec.min_length
    if spec.max_length is not None:
        schema["maxLength"] = spec.max_length
        schema["maxItems"] = spec.max_length
    if spec.schema_source is not None:
        all_of.append(spec.schema_source)
    if all_of:
        schema["allOf"] = all_of
    return schema


# -- JSON Schema -> plan ------------------------------------------------------------------------


class JsonSchemaImportError(ValueError):
    """The document is not a JSON Schema of events this reader can make a plan of."""


def plan_document_from_json_schema(doc: Any) -> tuple[dict[str, Any], list[str]]:
    """A plan document (ready for YAML) from an exported JSON Schema, and notes on what had to
    be kept as JSON Schema fragments. Raises JsonSchemaImportError when `doc` has no events."""
    if not isinstance(doc, dict):
        raise JsonSchemaImportError("a JSON Schema document is an object")
    defs = doc.get("$defs", doc.get("definitions"))
    if not isinstance(defs, dict) or not defs:
        raise JsonSchemaImportError(
            "the schema has no `$defs` of events (export one with"
            " `event-composer plan export --format json-schema`)"
        )
    notes: list[str] = []
    meta = _dict(doc.get(META))
    plan: dict[str, Any] = {"version": PLAN_VERSION}
    title = doc.get("title")
    if isinstance(title, str) and title and title != "Tracking plan":
        plan["name"] = title
    if isinstance(doc.get("description"), str):
        plan["description"] = doc["description"]
    naming = meta.get("naming")
    if isinstance(naming, dict) and naming:
        events_rule, props_rule = naming.get("events"), naming.get("properties")
        plan["naming"] = (
            events_rule if events_rule == props_rule and events_rule is not None else naming
        )
    allow_unplanned = meta.get("allow_unplanned_events")
    if not isinstance(allow_unplanned, bool):
        event_rule = _dict(doc.get("properties")).get("event")
        allow_unplanned = not (isinstance(event_rule, dict) and "anyOf" in event_rule)
    plan["allow_unplanned_events"] = allow_unplanned
    default_unknown = meta.get("allow_unknown_properties", True)
    default_unknown = default_unknown if isinstance(default_unknown, bool) else True
    plan["allow_unknown_properties"] = default_unknown
    events: dict[str, Any] = {}
    for key, schema in defs.items():
        name = str(key)
        if not isinstance(schema, dict):
            notes.append(f"$defs/{name} is not an object schema; it was left out of the plan")
            continue
        events[name] = _event_from_schema(name, schema, default_unknown, notes)
    plan["events"] = events
    return plan, notes


def _event_from_schema(
    name: str, schema: dict[str, Any], default_unknown: bool, notes: list[str]
) -> dict[str, Any]:
    members = _dict(schema.get("properties"))
    # An event object ({event, properties}) as exported, or directly its properties' schema.
    props = _dict(members["properties"]) if isinstance(members.get("properties"), dict) else schema
    event: dict[str, Any] = {}
    if isinstance(schema.get("description"), str):
        event["description"] = schema["description"]
    if isinstance(schema.get("x-owner"), str):
        event["owner"] = schema["x-owner"]
    closed = props.get("additionalProperties") is False
    if closed != (not default_unknown):
        event["allow_unknown_properties"] = not closed
    required = set(props.get("required") or [])
    specs = _dict(props.get("properties"))
    properties: dict[str, Any] = {}
    person: dict[str, dict[str, Any]] = {}
    for key, value in specs.items():
        if key in _PERSON:
            person[_PERSON[key]] = _person_from_schema(name, key, value, key in required, notes)
        elif not (closed and key in _ALWAYS_ALLOWED and value is True):
            # (distinct_id and token are the exporter's own allowance, not planned properties)
            where = f"{name}.{key}"
            properties[key] = property_from_schema(value, key in required, where, notes)
    if properties:
        event["properties"] = properties
    for field in ("set", "set_once"):
        if person.get(field):
            event[field] = person[field]
    return event


def _person_from_schema(
    event: str, key: str, schema: Any, required: bool, notes: list[str]
) -> dict[str, Any]:
    if not isinstance(schema, dict):
        notes.append(f"{event}.{key} is not an object schema; it was left out")
        return {}
    inner = set(schema.get("required") or [])
    specs = _dict(schema.get("properties"))
    if required and not inner:
        notes.append(f"{event} requires {key} but none of its properties: that is not kept")
    return {
        k: property_from_schema(v, k in inner, f"{event}.{key}.{k}", notes)
        for k, v in specs.items()
    }


def property_from_schema(
    schema: Any, required: bool, where: str, notes: list[str]
) -> dict[str, Any]:
    """A plan property from its JSON Schema; what the plan's rules cannot say stays a
    `schema:` fragment (and a note)."""
    spec: dict[str, Any] = {}
    if schema is True or schema == {}:
        return {"required": True} if required else spec
    if not isinstance(schema, dict):
        notes.append(f"{where}: the schema {schema!r} is kept as it is")
        return {"schema": schema, **({"required": True} if required else {})}
    rest = dict(schema)
    types: list[str] = []
    if isinstance(rest.get("description"), str):
        spec["description"] = rest.pop("description")
    if _is_datetime_branch(rest):
        for keyword in ("type", "format", "pattern"):
            rest.pop(keyword)
        types.append(PropertyType.DATETIME.value)
    any_of = rest.get("anyOf")
    if isinstance(any_of, list) and len(any_of) == 2 and any(map(_is_datetime_branch, any_of)):
        other = next(b for b in any_of if not _is_datetime_branch(b))
        listed = _type_names(other.get("type")) if isinstance(other, dict) else None
        if listed is not None and set(other) == {"type"}:
            rest.pop("anyOf")
            types += [*listed, PropertyType.DATETIME.value]
    if "type" in rest:
        listed = _type_names(rest["type"])
        if listed is not None:
            rest.pop("type")
            types += listed
    if types:
        spec["type"] = types[0] if len(types) == 1 else types
    if required:
        spec["required"] = True
    if isinstance(rest.get("enum"), list) and rest["enum"]:
        spec["enum"] = rest.pop("enum")
    elif "const" in rest:
        spec["enum"] = [rest.pop("const")]
    if isinstance(rest.get("pattern"), str):
        spec["pattern"] = rest.pop("pattern")
    for keyword in ("minimum", "maximum"):
        value = rest.get(keyword)
        if isinstance(value, int | float) and not isinstance(value, bool):
            spec[keyword] = rest.pop(keyword)
    for plan_key, text_key, items_key in (
        ("min_length", "minLength", "minItems"),
        ("max_length", "maxLength", "maxItems"),
    ):
        text, items = rest.get(text_key), rest.get(items_key)
        if text is not None and text == items:
            spec[plan_key] = text
            rest.pop(text_key)
            rest.pop(items_key)
        elif text is not None and items is None and spec.get("type") == "string":
            spec[plan_key] = rest.pop(text_key)  # only strings: characters are what counts
    all_of = rest.get("allOf")
    fragments: list[Any] = []
    if isinstance(all_of, list):
        rest.pop("allOf")
        for part in all_of:
            if _is_datetime_branch(part) and PropertyType.DATETIME.value not in types:
                types.append(PropertyType.DATETIME.value)
                spec["type"] = types[0] if len(types) == 1 else types
            else:
                fragments.append(part)
    if rest:
        fragments.append(rest)
        notes.append(
            f"{where}: {', '.join(sorted(rest))} kept as a JSON Schema fragment (`schema:`)"
        )
    if fragments:
        spec["schema"] = fragments[0] if len(fragments) == 1 else {"allOf": fragments}
    return _ordered(spec)


def _ordered(spec: dict[str, Any]) -> dict[str, Any]:
    order = (
        "type",
        "required",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "min_length",
        "max_length",
        "description",
        "schema",
    )
    return {key: spec[key] for key in order if key in spec}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_datetime_branch(schema: Any) -> bool:
    return (
        isinstance(schema, dict)
        and schema.get("format") == "date-time"
        and schema.get("pattern") == DATETIME_PATTERN
        and schema.get("type") == "string"
    )


def _type_names(value: Any) -> list[str] | None:
    names = value if isinstance(value, list) else [value]
    if names and all(isinstance(n, str) and n in _PLAN_TYPES for n in names):
        return [str(n) for n in names]
    return None
