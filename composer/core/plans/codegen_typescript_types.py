"""The types of a generated TypeScript module: an interface for each event's properties and
for the person properties it sets, literal unions for enums, and the plan's values as
TypeScript literals.
"""

from __future__ import annotations

import math
import re

from composer.core.plans.codegen_common import (
    EventCode,
    comment_text,
    doc_lines,
    literal_enum,
    show,
    string_literal,
)
from composer.core.plans.model import PropertySpec, PropertyType, value_types

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")

_TYPES = {
    PropertyType.STRING: "string",
    PropertyType.NUMBER: "number",
    PropertyType.INTEGER: "number",
    PropertyType.BOOLEAN: "boolean",
    PropertyType.DATETIME: "string | Date",
    PropertyType.OBJECT: "Record<string, unknown>",
    PropertyType.ARRAY: "readonly unknown[]",
    PropertyType.NULL: "null",
}


def has_properties(event: EventCode) -> bool:
    """Whether the event's function takes a properties object (and so has an interface)."""
    return bool(event.properties or event.set or event.set_once)


def property_key(name: str) -> str:
    """A property's name as a key of an interface or object literal: quoted unless it is an
    identifier."""
    return name if _IDENTIFIER.fullmatch(name) else string_literal(name, "typescript")


def jsdoc_text(text: str) -> str:
    """Plan text inside a `/** ... */` comment, which it must not end early."""
    return comment_text(text).replace("*/", "*\\/")


def ts_literal(value: object) -> str:
    """A JSON value from the plan as a TypeScript expression (or literal type)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return show(value)
    if isinstance(value, str):
        return string_literal(value, "typescript")
    if isinstance(value, list):
        return "[" + ", ".join(ts_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{property_key(str(k))}: {ts_literal(v)}" for k, v in value.items())
        return "{ " + items + " }"
    return string_literal(str(value), "typescript")


def _type(spec: PropertySpec) -> str:
    if literal_enum(spec):
        assert spec.enum is not None
        return " | ".join(ts_literal(v) for v in spec.enum)
    kinds = value_types(spec)
    if not kinds:
        return "unknown"
    names: list[str] = []
    for kind in kinds:
        name = _TYPES[kind]
        if name not in names:
            names.append(name)
    return " | ".join(names)


def _member(spec: PropertySpec) -> list[str]:
    lines: list[str] = []
    text = jsdoc_text(doc_lines(spec))
    if text:
        lines.append(f"  /** {text} */")
    marker = "" if spec.required else "?"
    lines.append(f"  {property_key(spec.name)}{marker}: {_type(spec)}")
    return lines


def interfaces(event: EventCode) -> list[str]:
    """The event's person property interfaces, then its Properties interface, which uses them."""
    lines: list[str] = []
    for suffix, key, specs in (
        ("Set", "$set", event.set),
        ("SetOnce", "$set_once", event.set_once),
    ):
        if not specs:
            continue
        lines.append(f"/** Person properties {jsdoc_text(repr(event.name))} sets with {key}. */")
        lines.append(f"export interface {event.type_prefix}{suffix} {{")
        for spec in specs:
            lines.extend(_member(spec))
        lines.append("}")
        lines.append("")
    if not has_properties(event):
        return lines[:-1] if lines else lines
    lines.append(
        f"/** The properties of {jsdoc_text(string_literal(event.name, 'typescript'))}. */"
    )
    lines.append(f"export interface {event.type_prefix}Properties {{")
    for spec in event.properties:
        lines.extend(_member(spec))
    for suffix, key, specs in (
        ("Set", "$set", event.set),
        ("SetOnce", "$set_once", event.set_once),
    ):
        if specs:
            marker = "" if any(s.required for s in specs) else "?"
            lines.append(f"  /** Person properties (sent as {key}). */")
            lines.append(f"  {key}{marker}: {event.type_prefix}{suffix}")
    lines.append("}")
    return lines
