"""Text values PostHog will type wrongly for good: numbers, booleans and dates sent as text.

The type of a property is decided by the first value PostHog's property definitions see and is
kept (`composer.core.capture.property_types`); these rules look at the same objects it does:
the event's properties, the person properties in `$set` / `$set_once`, and `$group_set` on
`$groupidentify`.
"""

from __future__ import annotations

from typing import Any

from composer.core.capture.preflight.collector import Collector
from composer.core.capture.property_types import PropertyType, Trap, may_trap, text_trap
from composer.core.jsonio import JsonObject, dumps_compact
from composer.core.jsonpath import key as path_key

# property-defs-rs's SKIP_PROPERTIES: event properties with a meaning of their own.
_SKIPPED = frozenset({"$set", "$set_once", "$unset", "$groups"} | {f"$group_{i}" for i in range(5)})


def check_value_types(
    ev: JsonObject,
    props: JsonObject | None,
    path: str,
    index: int | None,
    name: str | None,
    out: Collector,
) -> None:
    ppath = path_key(path, "properties")
    if name == "$groupidentify":
        group_set = (props or {}).get("$group_set")
        if isinstance(group_set, dict):
            _check_object(group_set, path_key(ppath, "$group_set"), "group", index, out)
        return
    if props is not None:
        _check_object(props, ppath, "event", index, out)
    for field in ("$set", "$set_once"):
        for owner, at in ((props or {}, ppath), (ev, path)):
            inner = owner.get(field)
            if isinstance(inner, dict):
                _check_object(inner, path_key(at, field), "person", index, out)


def _check_object(
    values: dict[str, Any], at: str, kind: str, index: int | None, out: Collector
) -> None:
    for key, value in values.items():
        if type(value) is not str or not may_trap(value):
            continue
        if kind == "event" and key in _SKIPPED:
            continue
        trap = text_trap(key, value)
        if trap is None:
            continue
        where = path_key(at, key)
        shown = _quote(value)
        owner = f"{kind} property {key!r}"
        if trap.kind is Trap.NUMBER:
            number = dumps_compact(trap.value).decode()
            out.warning(
                "value.number_as_text",
                where,
                f"The {owner} is the text {shown}. PostHog types a property by the first"
                " value it sees and keeps that type, so it will be a String: sums, averages"
                " and greater-than filters will not work on it.",
                f"Send the number {number} without quotes (in the form, set the row's Type to"
                " number). If it is an identifier, keep it as text.",
                event=index,
            )
        elif trap.kind is Trap.BOOLEAN:
            literal = "true" if trap.value else "false"
            typed = (
                "PostHog types the property Boolean from this text, but the event keeps the"
                " text, unlike the true and false the SDKs send"
                if trap.posthog is PropertyType.BOOLEAN
                else "PostHog only reads true/false/TRUE/FALSE as Boolean, so it will type the"
                " property String for good"
            )
            out.warning(
                "value.boolean_as_text",
                where,
                f"The {owner} is the text {shown}; {typed}.",
                f"Send {literal} without quotes (in the form, set the row's Type to boolean).",
                event=index,
            )
        else:
            out.warning(
                "value.date_not_recognised",
                where,
                f"The {owner} is the text {shown}, which reads as a date to people but not to"
                " PostHog: it will type the property String, and date filters will not work"
                " on it.",
                "Write it in ISO 8601, like 2024-05-01T12:00:00Z or 2024-05-01 (in the form,"
                " set the row's Type to date-time to have it checked).",
                event=index,
            )


def _quote(text: str) -> str:
    return f'"{text}"' if len(text) <= 40 else f'"{text[:37]}…"'
