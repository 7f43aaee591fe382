"""Checking events against a tracking plan: findings with plan.* codes, beside the pre-flight's.

Plan findings say what the plan expects; they never predict PostHog's answer (PostHog accepts
events whatever a plan says), so they do not hold a batch row back from sending.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from composer.core import jsonpath
from composer.core.findings import Finding, Severity, Stage
from composer.core.jsonio import JsonObject, dumps_compact
from composer.core.plans.model import Plan, PropertySpec, PropertyType, json_type, matches_type

PLAN_PREFIX = "plan."
# Keys PostHog or the SDKs put in properties: never "unknown", never subject to naming.
_RESERVED = frozenset({"distinct_id", "token", "$set", "$set_once", "$groups", "$unset"})


def is_plan_finding(finding: Finding) -> bool:
    return finding.code.startswith(PLAN_PREFIX)


def _show(value: Any) -> str:
    text = dumps_compact(value).decode(errors="replace")
    return text if len(text) <= 60 else text[:57] + "…"


class _Out:
    def __init__(self, base: str, index: int | None) -> None:
        self.base = base
        self.index = index
        self.findings: list[Finding] = []

    def add(self, severity: Severity, code: str, path: str, message: str, fix: str) -> None:
        self.findings.append(
            Finding(
                severity,
                code,
                f"{self.base}.{path}" if path and self.base else (path or self.base),
                message,
                fix,
                self.index,
                Stage.LOCAL,
            )
        )


def check_against_plan(
    event: Any, plan: Plan, base: str = "", index: int | None = None
) -> list[Finding]:
    """Plan findings for one event object; `base` is its path in the body (`batch[3]`)."""
    if not isinstance(event, dict) or not plan.usable:
        return []
    out = _Out(base, index)
    name = event.get("event")
    if not isinstance(name, str) or not name:
        return []  # the pre-flight check already says what is wrong with the name
    spec = plan.events.get(name)
    props = event.get("properties")
    props = props if isinstance(props, dict) else {}
    if spec is None:
        if name.startswith("$"):
            return []  # PostHog's own events ($pageview, $identify ...) unless the plan lists them
        if plan.event_naming is not None and not plan.event_naming.allows(name):
            _naming(out, "event", name, plan.event_naming.label)
        if not plan.allow_unplanned_events:
            out.add(
                Severity.ERROR,
                "plan.unplanned_event",
                "event",
                f"{name!r} is not in the tracking plan, which allows only planned events.",
                _closest_hint(name, plan) or "Add it to the plan, or fix the event name.",
            )
        _check_naming_only(out, props, plan)
        return out.findings
    allow_unknown = (
        spec.allow_unknown_properties
        if spec.allow_unknown_properties is not None
        else plan.allow_unknown_properties
    )
    _check_props(out, "properties", props, spec.properties, allow_unknown, plan, name)
    person_set = _person(event, props, "$set")
    person_once = _person(event, props, "$set_once")
    if spec.set or person_set:
        _check_person(out, "$set", person_set, spec.set, name)
    if spec.set_once or person_once:
        _check_person(out, "$set_once", person_once, spec.set_once, name)
    return out.findings


def _person(event: JsonObject, props: JsonObject, key: str) -> dict[str, tuple[Any, str]]:
    """Person properties as PostHog merges them (properties.$set, then the top-level $set,
    which wins), each with the path it came from."""
    merged: dict[str, tuple[Any, str]] = {}
    inner = props.get(key)
    if isinstance(inner, dict):
        base = jsonpath.key("properties", key)
        merged.update((k, (v, jsonpath.key(base, k))) for k, v in inner.items())
    top = event.get(key)
    if isinstance(top, dict):
        merged.update((k, (v, jsonpath.key(key, k))) for k, v in top.items())
    return merged


def _check_person(
    out: _Out,
    key: str,
    values: dict[str, tuple[Any, str]],
    specs: dict[str, PropertySpec],
    event: str,
) -> None:
    for spec in specs.values():
        if spec.name in values:
            value, path = values[spec.name]
            _check_value(out, path, value, spec)
        elif spec.required:
            out.add(
                Severity.ERROR,
                "plan.missing_required",
                jsonpath.key(key, spec.name),
                f"{event!r} must set the person property {spec.name!r} in {key}.",
                f"Add {spec.name!r} to {key}.",
            )


def _check_props(
    out: _Out,
    base: str,
    props: dict[str, Any],
    specs: dict[str, PropertySpec],
    allow_unknown: bool,
    plan: Plan,
    event: str,
) -> None:
    for spec in specs.values():
        if spec.name in props:
            _check_value(out, jsonpath.key(base, spec.name), props[spec.name], spec)
        elif spec.required:
            example = _example(spec)
            out.add(
                Severity.ERROR,
                "plan.missing_required",
                jsonpath.key(base, spec.name),
                f"{event!r} requires the property {spec.name!r}"
                f"{f' ({spec.description})' if spec.description else ''}.",
                f"Add {spec.name!r}{f', e.g. {example}' if example else ''}.",
            )
    for key in props:
        if key in specs or key in _RESERVED or key.startswith("$"):
            continue
        if plan.property_naming is not None and not plan.property_naming.allows(key):
            _naming(out, "property", key, plan.property_naming.label, jsonpath.key(base, key))
        if not allow_unknown:
            planned = ", ".join(sorted(specs)) or "none"
            out.add(
                Severity.ERROR,
                "plan.unknown_property",
                jsonpath.key(base, key),
                f"{key!r} is not a planned property of {event!r} (planned: {planned}).",
                "Remove it, rename it to a planned one, or add it to the plan.",
            )


def _check_naming_only(out: _Out, props: dict[str, Any], plan: Plan) -> None:
    if plan.property_naming is None:
        return
    for key in props:
        reserved = key in _RESERVED or key.startswith("$")
        if not reserved and not plan.property_naming.allows(key):
            path = jsonpath.key("properties", key)
            _naming(out, "property", key, plan.property_naming.label, path)


def _naming(out: _Out, what: str, name: str, rule: str, path: str = "event") -> None:
    out.add(
        Severity.WARNING,
        "plan.naming",
        path,
        f"The {what} name {name!r} does not follow the plan's naming rule ({rule}).",
        f"Rename it to match {rule}.",
    )


# -- values -----------------------------------------------------------------------------------


def _coercion(value: Any, kinds: tuple[PropertyType, ...]) -> str:
    """What PostHog does with a value of the wrong JSON type, where that is worth saying."""
    numeric = PropertyType.NUMBER in kinds or PropertyType.INTEGER in kinds
    if isinstance(value, str) and numeric:
        try:
            float(value)
        except ValueError:
            return ""
        return (
            f" PostHog stores {_show(value)} as text, not a number: a property it has typed"
            " Numeric is converted when insights read it, but sums, filters and other tools see"
            " a string. Send the number without quotes."
        )
    if (
        isinstance(value, str)
        and PropertyType.BOOLEAN in kinds
        and value.lower()
        in (
            "true",
            "false",
        )
    ):
        return (
            f" PostHog stores {_show(value)} as text; a boolean filter will not match it. Send"
            " true or false without quotes."
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        if PropertyType.DATETIME in kinds:
            return (
                " PostHog reads a number as a number, not a date (only a property it has typed"
                " DateTime is converted). Send ISO 8601 text such as 2024-05-01T12:00:00Z."
            )
        if PropertyType.STRING in kinds:
            return f' PostHog keeps it a number; send "{value}" if the plan\'s text is meant.'
    if isinstance(value, str) and PropertyType.DATETIME in kinds:
        return " PostHog only treats ISO 8601 text (2024-05-01T12:00:00Z) as a date and time."
    return ""


def _check_value(out: _Out, path: str, value: Any, spec: PropertySpec) -> None:
    if spec.types and not any(matches_type(value, t) for t in spec.types):
        wanted = " or ".join(t.value for t in spec.types)
        out.add(
            Severity.ERROR,
            "plan.type_mismatch",
            path,
            f"{spec.name!r} is {json_type(value).value} {_show(value)}; the plan says {wanted}."
            + _coercion(value, spec.types),
            f"Send {spec.name!r} as {wanted}.",
        )
        return
    if spec.enum is not None and not _in_enum(value, spec.enum):
        shown = spec.enum[:10]
        more = f" (and {len(spec.enum) - 10} more)" if len(spec.enum) > 10 else ""
        allowed = ", ".join(_show(v) for v in shown) + more
        near = _near(value, spec.enum)
        out.add(
            Severity.ERROR,
            "plan.enum",
            path,
            f"{spec.name!r} is {_show(value)}; the plan allows only {allowed}.",
            f"Use {near}." if near else f"Use one of {allowed}.",
        )
    if spec.pattern is not None and isinstance(value, str) and not spec.pattern.search(value):
        out.add(
            Severity.ERROR,
            "plan.pattern",
            path,
            f"{spec.name!r} is {_show(value)}, which does not match the plan's pattern"
            f" {spec.pattern.pattern!r}.",
            "Send a value that matches the pattern.",
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            _range(out, path, spec, value, f"at least {spec.minimum}")
        if spec.maximum is not None and value > spec.maximum:
            _range(out, path, spec, value, f"at most {spec.maximum}")
    if isinstance(value, str | list):
        length = len(value)
        unit = "characters" if isinstance(value, str) else "items"
        if spec.min_length is not None and length < spec.min_length:
            _range(out, path, spec, value, f"at least {spec.min_length} {unit} (has {length})")
        if spec.max_length is not None and length > spec.max_length:
            _range(out, path, spec, value, f"at most {spec.max_length} {unit} (has {length})")
    if spec.schema is not None:
        for code, message in _schema_errors(spec, value):
            out.add(Severity.ERROR, code, path, message, "Send a value the schema accepts.")


def _in_enum(value: Any, allowed: tuple[Any, ...]) -> bool:
    # Python's == makes True equal 1 and 1 equal 1.0; JSON's types do not mix like that.
    return any(_equal(value, a) and type(value) is type(a) for a in allowed) or (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and any(
            isinstance(a, int | float) and not isinstance(a, bool) and value == a for a in allowed
        )
    )


def _equal(value: Any, allowed: Any) -> bool:
    try:
        return bool(value == allowed)
    except RecursionError:  # two lists nested past the recursion limit: not one we can match
        return False


def _range(out: _Out, path: str, spec: PropertySpec, value: Any, rule: str) -> None:
    out.add(
        Severity.ERROR,
        "plan.range",
        path,
        f"{spec.name!r} is {_show(value)}; the plan says {rule}.",
        f"Send a value that is {rule.split(' (', maxsplit=1)[0]}.",
    )


_SCHEMA_CODES = {
    "type": "plan.type_mismatch",
    "enum": "plan.enum",
    "const": "plan.enum",
    "pattern": "plan.pattern",
    "format": "plan.pattern",
    "required": "plan.missing_required",
}


def _schema_errors(spec: PropertySpec, value: Any) -> Iterator[tuple[str, str]]:
    try:
        errors = list(spec.schema.iter_errors(value))
    except Exception:  # a schema that fails on this value (a loop, say): no verdict
        yield (
            "plan.schema",
            f"{spec.name!r}: the plan's JSON Schema could not be applied to this value.",
        )
        return
    for error in errors:
        code = _SCHEMA_CODES.get(error.validator, "plan.range")
        where = "/".join(str(p) for p in error.absolute_path)
        at = f" at {where}" if where else ""
        yield code, f"{spec.name!r}{at}: {error.message} (the plan's JSON Schema)."


def _example(spec: PropertySpec) -> str:
    if spec.enum:
        return _show(spec.enum[0])
    if not spec.types:
        return ""
    return {
        PropertyType.STRING: '"…"',
        PropertyType.NUMBER: "1.5",
        PropertyType.INTEGER: "1",
        PropertyType.BOOLEAN: "true",
        PropertyType.DATETIME: '"2024-05-01T12:00:00Z"',
        PropertyType.OBJECT: "{}",
        PropertyType.ARRAY: "[]",
        PropertyType.NULL: "null",
    }[spec.types[0]]


def _near(value: Any, allowed: tuple[Any, ...]) -> str:
    """The allowed value this one was probably meant to be (a case or spacing slip)."""
    if not isinstance(value, str):
        return ""
    import difflib

    folded = value.strip().casefold()
    texts = [c for c in allowed if isinstance(c, str)]
    for candidate in texts:
        if candidate.casefold() == folded:
            return _show(candidate)
    # A typing slip ("teams", "entreprise"): the closest allowed text, when one is close.
    by_folded = {c.casefold(): c for c in texts}
    close = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=0.6)
    return f"{_show(by_folded[close[0]])}, the closest allowed value" if close else ""


def _closest_hint(name: str, plan: Plan) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(plan.events), n=1, cutoff=0.75)
    return f"Did you mean {close[0]!r}? Otherwise add it to the plan." if close else ""


def check_body_against_plan(body: Any, plan: Plan | None) -> list[Finding]:
    """Plan findings for every event of a capture body (single, batch envelope or array)."""
    if plan is None or not plan.usable:
        return []
    from composer.core.capture.parse import classify

    _shape, events, paths = classify(body)
    findings: list[Finding] = []
    for index, (event, path) in enumerate(zip(events, paths, strict=True)):
        findings.extend(check_against_plan(event, plan, path, index if path else None))
    return findings
