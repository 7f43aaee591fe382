"""The types of a generated Python module: each property's annotation (Literal types for
enums), the TypedDicts of the person properties an event sets, and the plan's values as Python
literals.
"""

from __future__ import annotations

import math

from composer.core.plans.codegen_common import (
    EventCode,
    allows_null,
    literal_enum,
    string_literal,
)
from composer.core.plans.model import PropertySpec, PropertyType, value_types

_TYPES = {
    PropertyType.STRING: "str",
    PropertyType.NUMBER: "float",
    PropertyType.INTEGER: "int",
    PropertyType.BOOLEAN: "bool",
    PropertyType.DATETIME: "str | datetime",
    PropertyType.OBJECT: "dict[str, Any]",
    PropertyType.ARRAY: "list[Any]",
    PropertyType.NULL: "None",
}


def type_annotation(spec: PropertySpec) -> str:
    """The static type of a property's value."""
    if literal_enum(spec):
        assert spec.enum is not None
        literal = [v for v in spec.enum if v is not None]
        parts = [f"Literal[{', '.join(python_literal(v) for v in literal)}]"] if literal else []
        if any(v is None for v in spec.enum):
            parts.append("None")
        return " | ".join(parts)
    kinds = list(value_types(spec))
    if not kinds:
        return "object"
    if PropertyType.INTEGER in kinds and PropertyType.NUMBER in kinds:
        kinds.remove(PropertyType.INTEGER)  # float already takes int
    return " | ".join(_TYPES[t] for t in kinds)


def optional_argument(annotation: str, spec: PropertySpec) -> tuple[str, str]:
    """The annotation and default of an optional argument: None leaves the property out, or,
    when null is an allowed value, OMITTED does (and None sends null)."""
    if allows_null(spec):
        shown = annotation if "None" in annotation.split(" | ") else annotation + " | None"
        return f"{shown} | Omitted", "OMITTED"
    return f"{annotation} | None", "None"


def typed_dicts(event: EventCode) -> list[str]:
    """The TypedDicts of an event's `set=` and `set_once=` arguments."""
    lines: list[str] = []
    for suffix, key, specs in (
        ("Set", "$set", event.set),
        ("SetOnce", "$set_once", event.set_once),
    ):
        if not specs:
            continue
        name = event.type_prefix + suffix
        lines += ["", ""]
        lines.append(f"# Person properties {event.name!r} sets with {key}.")
        lines.append(f"{name} = TypedDict(")
        lines.append(f"    {string_literal(name, 'python')},")
        lines.append("    {")
        for spec in specs:
            annotation = type_annotation(spec)
            value = annotation if spec.required else f"NotRequired[{annotation}]"
            lines.append(f"        {string_literal(spec.name, 'python')}: {value},")
        lines.append("    },")
        lines.append(")")
    return lines


def python_literal(value: object) -> str:
    """A JSON value (from the plan) as a Python expression."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if isinstance(value, str):
        return string_literal(value, "python")
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(
            f"{string_literal(str(k), 'python')}: {python_literal(v)}" for k, v in value.items()
        )
        return "{" + items + "}"
    return string_literal(str(value), "python")
