"""Planned properties as the form shows them: pre-filled rows and enum drop-downs."""

from __future__ import annotations

import math

from composer.core.compose.values import PropertyRow, ValueType, infer_row
from composer.core.jsonio import dumps_compact
from composer.core.plans.model import PropertySpec, PropertyType


def planned_row(spec: PropertySpec, now_text: str) -> PropertyRow:
    """A form row for a planned property: its key, the type the plan gives and a value that
    passes the plan where one can be chosen (the first allowed value, the minimum ...)."""
    if spec.enum:
        first = spec.enum[0]
        if isinstance(first, str):
            return PropertyRow(spec.name, ValueType.STRING, first)
        return infer_row(spec.name, first)
    kind = spec.types[0] if spec.types else PropertyType.STRING
    match kind:
        case PropertyType.NUMBER | PropertyType.INTEGER:
            start = spec.minimum if spec.minimum is not None else 0
            if kind is PropertyType.INTEGER:
                start = math.ceil(start)  # minimum 2.5 -> 3, which passes
            text = dumps_compact(start).decode()
            return PropertyRow(spec.name, ValueType.NUMBER, text)
        case PropertyType.BOOLEAN:
            return PropertyRow(spec.name, ValueType.BOOLEAN, "false")
        case PropertyType.DATETIME:
            return PropertyRow(spec.name, ValueType.DATETIME, now_text)
        case PropertyType.OBJECT:
            return PropertyRow(spec.name, ValueType.OBJECT, "{}")
        case PropertyType.ARRAY:
            return PropertyRow(spec.name, ValueType.ARRAY, "[]")
        case PropertyType.NULL:
            return PropertyRow(spec.name, ValueType.NULL, "")
        case _:
            return PropertyRow(spec.name, ValueType.STRING, "")


def enum_choices(specs: dict[str, PropertySpec]) -> dict[str, list[str]]:
    """Per key, the allowed values as a form shows them."""
    return {
        name: [v if isinstance(v, str) else dumps_compact(v).decode() for v in spec.enum]
        for name, spec in specs.items()
        if spec.enum
    }
