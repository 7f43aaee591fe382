"""Python from a tracking plan: one typed function per planned event, calling posthog-python.

    def plan_upgraded(
        _client: PostHogClient,
        _distinct_id: str,
        /,
        *,
        plan: Literal["free", "team", "enterprise"],
        previous_plan: Literal["free", "team"],
        coupon: str | None | Omitted = OMITTED,
        seats: int | None = None,
        ...
    ) -> str | None:

Required properties are required keyword arguments, enums are `Literal` types, person
properties are TypedDicts passed as `set=` / `set_once=` (sent as `$set` / `$set_once` inside
the properties, where every SDK and PostHog's ingestion read them). An optional property that
may be null defaults to OMITTED, so that null can still be sent. What a type cannot say (ranges,
patterns, lengths, non-literal enums) is checked at each call in debug mode (`set_debug(True)`),
with the plan checker's rules, and raises PlanViolation instead of sending.

The output depends on the plan alone (events and properties sorted by name, no dates), so it
diffs cleanly in git and `plan codegen --check` can compare it with the file on disk.
"""

from __future__ import annotations

import math

from composer.core.plans.codegen_common import (
    CodegenError,
    EventCode,
    Namespace,
    allows_null,
    comment_text,
    doc_lines,
    is_ascii_identifier,
    literal_enum,
    plan_events,
    snake,
    string_literal,
    words,
)
from composer.core.plans.model import Plan, PropertySpec, PropertyType, value_types

# Python's keywords (3.11, fixed here so that the output does not depend on the Python that
# generates it), and the builtins and module names the generated helpers use: a function
# named like one gets a trailing underscore.
_KEYWORDS = (
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
)
_USED = (
    "annotations",
    "re",
    "sys",
    "dataclass",
    "datetime",
    "Enum",
    "Any",
    "Final",
    "Literal",
    "Mapping",
    "Protocol",
    "TypedDict",
    "NotRequired",
    "PostHogClient",
    "PlanViolation",
    "Omitted",
    "OMITTED",
    "set_debug",
    "bool",
    "dict",
    "float",
    "int",
    "any",
    "isinstance",
    "len",
    "list",
    "object",
    "str",
    "super",
    "tuple",
    "type",
    "ValueError",
)
# Keyword arguments every event function may take besides its properties.
_PARAMS = ("set", "set_once", "extra_properties")

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


def generate_python(plan: Plan, source: str) -> str:
    """The module's text; `source` is the plan file's name as the header shows it.
    Raises CodegenError when an event cannot become a function."""
    problems: list[str] = []
    events = plan_events(plan, _function_name, (*_KEYWORDS, *_USED), problems)
    module = Namespace((*_KEYWORDS, *_USED), problems)
    for event in events:
        module.claim(event.function, f"the event {event.name!r}")
    params = {event.name: _params(event, problems) for event in events}
    for event in events:
        for suffix, specs in (("Set", event.set), ("SetOnce", event.set_once)):
            if specs:
                module.claim(event.type_prefix + suffix, f"the {suffix} type of {event.name!r}")
    if problems:
        raise CodegenError(problems)
    out: list[str] = []
    out.extend(_header(plan, source, events))
    for event in events:
        out.extend(_typed_dicts(event))
    out.append("")
    out.append("")
    out.extend(_rules(events))
    for event in events:
        out.append("")
        out.append("")
        out.extend(_function(event, params[event.name]))
    return "\n".join(out).rstrip("\n") + "\n"


def _function_name(parts: list[str]) -> str:
    name = snake(parts)
    return "event_" + name if name[:1].isdigit() else name


def _params(event: EventCode, problems: list[str]) -> dict[str, str]:
    """Each property's keyword argument: its name when that is a plain identifier, else its
    words in snake_case; a clash with another property or a fixed argument is a problem."""
    scope = Namespace(_KEYWORDS, problems)
    used = (bool(event.set), bool(event.set_once), event.allow_unknown)
    for fixed, taken in zip(_PARAMS, used, strict=True):
        if taken:
            scope.claim(fixed, f"the `{fixed}=` argument of {event.function}()")
    result: dict[str, str] = {}
    for spec in event.properties:
        name = spec.name
        if not (is_ascii_identifier(name) and not name.startswith("_")):
            parts = words(name)
            if not parts:
                problems.append(
                    f"the property {name!r} of {event.name!r} has no letter or digit that can"
                    " name an argument. Rename it in the plan."
                )
                continue
            name = snake(parts)
            if name[:1].isdigit():
                name = "property_" + name
        name = scope.safe(name)
        if scope.claim(name, f"the property {spec.name!r} of {event.name!r}"):
            result[spec.name] = name
    return result


# -- the module --------------------------------------------------------------------------------


def _header(plan: Plan, source: str, events: list[EventCode]) -> list[str]:
    title = f" “{_docstring_text(plan.name)}”" if plan.name else ""
    public = sorted(
        {
            "OMITTED",
            "Omitted",
            "PlanViolation",
            "PostHogClient",
            "set_debug",
            *(e.function for e in events),
            *(e.type_prefix + "Set" for e in events if e.set),
            *(e.type_prefix + "SetOnce" for e in events if e.set_once),
        }
    )
    lines = [
        f'"""Typed PostHog events for the tracking plan{title}.',
        "",
        f"Generated by event-composer from {_docstring_text(source)}. Do not edit:"
        " change the plan,",
        "then run `event-composer plan codegen --lang python PLAN -o FILE` again.",
    ]
    if plan.description:
        lines += ["", _docstring_text(plan.description)]
    lines += [
        "",
        f"One function per planned event ({len(events)}). Each takes a posthog-python client (a",
        "`posthog.Posthog`, or the `posthog` module) and the distinct ID, then the event's",
        "properties as keyword arguments: required ones are required, allowed values are Literal",
        "types, person properties go in `set=` / `set_once=` (sent as `$set` / `$set_once`).",
        "An optional property that may be null defaults to OMITTED (left out); None sends null.",
        "`set_debug(True)` also checks ranges, patterns and lengths at every call and raises",
        "PlanViolation instead of sending an event the plan refuses.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import re",
        "import sys",
        "from collections.abc import Mapping",
        "from dataclasses import dataclass",
        "from datetime import datetime",
        "from enum import Enum",
        "from typing import Any, Final, Literal, Protocol, TypedDict",
        "",
        "if sys.version_info >= (3, 11):",
        "    from typing import NotRequired",
        "else:  # Python 3.10: posthog-python depends on typing_extensions",
        "    from typing_extensions import NotRequired",
        "",
        "__all__ = [",
        *(f"    {string_literal(name, 'python')}," for name in public),
        "]",
        "",
        _RUNTIME.strip("\n"),
    ]
    return lines


_RUNTIME = r'''

class PostHogClient(Protocol):
    """What the functions call: posthog-python's capture (a Posthog client, or the module)."""

    def capture(
        self, event: str, *, distinct_id: str, properties: dict[str, Any]
    ) -> str | None: ...


class Omitted(Enum):
    """The default of optional properties that may be null: the property is left out."""

    OMITTED = "omitted"


OMITTED: Final = Omitted.OMITTED


class PlanViolation(ValueError):
    """Debug mode refused a call: the event would break the tracking plan."""

    def __init__(self, event: str, problems: list[str]) -> None:
        super().__init__(f"{event}: " + "; ".join(problems))
        self.event = event
        self.problems = problems


_debug = False


def set_debug(on: bool = True) -> None:
    """Check every call against the plan's rules (for development and tests)."""
    global _debug
    _debug = on


@dataclass(frozen=True)
class _Rule:
    required: bool = False
    types: tuple[str, ...] = ()
    enum: tuple[object, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class _Event:
    closed: bool  # the plan refuses properties it does not list
    properties: dict[str, _Rule]
    set: dict[str, _Rule]
    set_once: dict[str, _Rule]


# The date-time forms the plan accepts (RFC 3339, a space for the T, no time zone).
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
    r"\s*([Zz]|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)
_RESERVED = ("distinct_id", "token")


def _is_datetime(value: str) -> bool:
    match = _DATETIME.match(value.strip())
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g or 0) for g in match.group(1, 2, 3, 4, 5, 6))
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _matches(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return _is_number(value)
    if kind == "integer":
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date-time":
        return isinstance(value, str) and _is_datetime(value)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return value is None


def _in_enum(value: object, allowed: tuple[object, ...]) -> bool:
    # JSON's equality: 1 and 1.0 are one number, true is not 1.
    for candidate in allowed:
        if _is_number(value) and _is_number(candidate):
            if value == candidate:
                return True
        elif type(value) is type(candidate) and value == candidate:
            return True
    return False


def _value_problems(name: str, value: object, rule: _Rule) -> list[str]:
    if rule.types and not any(_matches(value, kind) for kind in rule.types):
        return [f"{name!r} is {value!r}; the plan says {' or '.join(rule.types)}"]
    problems: list[str] = []
    if rule.enum is not None and not _in_enum(value, rule.enum):
        problems.append(f"{name!r} is {value!r}; the plan allows only {list(rule.enum)!r}")
    if rule.pattern is not None and isinstance(value, str):
        if re.search(rule.pattern, value) is None:
            problems.append(f"{name!r} is {value!r}, which does not match {rule.pattern!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if rule.minimum is not None and value < rule.minimum:
            problems.append(f"{name!r} is {value!r}; the plan says at least {rule.minimum}")
        if rule.maximum is not None and value > rule.maximum:
            problems.append(f"{name!r} is {value!r}; the plan says at most {rule.maximum}")
    if isinstance(value, str | list):
        if rule.min_length is not None and len(value) < rule.min_length:
            problems.append(f"{name!r} is shorter than {rule.min_length}")
        if rule.max_length is not None and len(value) > rule.max_length:
            problems.append(f"{name!r} is longer than {rule.max_length}")
    return problems


def _group_problems(
    where: str, values: Mapping[str, object], rules: dict[str, _Rule]
) -> list[str]:
    problems: list[str] = []
    for name, rule in rules.items():
        if name in values:
            problems.extend(where + p for p in _value_problems(name, values[name], rule))
        elif rule.required:
            problems.append(f"{where}{name!r} is required")
    return problems


def _problems(plan: _Event, properties: dict[str, Any]) -> list[str]:
    problems = _group_problems("", properties, plan.properties)
    for key, rules in (("$set", plan.set), ("$set_once", plan.set_once)):
        person = properties.get(key)
        if rules or person is not None:
            values = person if isinstance(person, dict) else {}
            problems.extend(_group_problems(f"{key}.", values, rules))
    if plan.closed:
        for key in properties:
            if key not in plan.properties and key not in _RESERVED and not key.startswith("$"):
                problems.append(f"{key!r} is not a planned property")
    return problems


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _person(values: Mapping[str, object]) -> dict[str, object]:
    return {key: _json(value) for key, value in values.items()}


def _capture(
    client: PostHogClient,
    distinct_id: str,
    event: str,
    values: dict[str, object],
    set: Mapping[str, object] | None = None,
    set_once: Mapping[str, object] | None = None,
    extra_properties: Mapping[str, object] | None = None,
) -> str | None:
    plan = _PLAN[event]
    properties: dict[str, Any] = dict(extra_properties) if extra_properties else {}
    for key, value in values.items():
        rule = plan.properties[key]
        if value is OMITTED:
            continue
        if value is None and not rule.required and rule.types and "null" not in rule.types:
            continue  # None leaves out an optional property that cannot be null
        properties[key] = _json(value)
    if set is not None:
        properties["$set"] = _person(set)
    if set_once is not None:
        properties["$set_once"] = _person(set_once)
    if _debug:
        problems = _problems(plan, properties)
        if problems:
            raise PlanViolation(event, problems)
    return client.capture(event, distinct_id=distinct_id, properties=properties)
'''


def _annotation(spec: PropertySpec) -> str:
    """The static type of a property's value."""
    if literal_enum(spec):
        assert spec.enum is not None
        literal = [v for v in spec.enum if v is not None]
        parts = [f"Literal[{', '.join(_literal(v) for v in literal)}]"] if literal else []
        if any(v is None for v in spec.enum):
            parts.append("None")
        return " | ".join(parts)
    kinds = list(value_types(spec))
    if not kinds:
        return "object"
    if PropertyType.INTEGER in kinds and PropertyType.NUMBER in kinds:
        kinds.remove(PropertyType.INTEGER)  # float already takes int
    return " | ".join(_TYPES[t] for t in kinds)


def _optional(annotation: str, spec: PropertySpec) -> tuple[str, str]:
    """The annotation and default of an optional argument: None leaves the property out, or,
    when null is an allowed value, OMITTED does (and None sends null)."""
    if allows_null(spec):
        shown = annotation if "None" in annotation.split(" | ") else annotation + " | None"
        return f"{shown} | Omitted", "OMITTED"
    return f"{annotation} | None", "None"


def _typed_dicts(event: EventCode) -> list[str]:
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
            annotation = _annotation(spec)
            value = annotation if spec.required else f"NotRequired[{annotation}]"
            lines.append(f"        {string_literal(spec.name, 'python')}: {value},")
        lines.append("    },")
        lines.append(")")
    return lines


def _rules(events: list[EventCode]) -> list[str]:
    lines = ["# What debug mode checks: each planned event's rules, as the plan says them.", ""]
    lines.append("_PLAN: Final[dict[str, _Event]] = {")
    for event in events:
        lines.append(f"    {string_literal(event.name, 'python')}: _Event(")
        lines.append(f"        closed={not event.allow_unknown},")
        for field, specs in (
            ("properties", event.properties),
            ("set", event.set),
            ("set_once", event.set_once),
        ):
            if not specs:
                lines.append(f"        {field}={{}},")
                continue
            lines.append(f"        {field}={{")
            for spec in specs:
                lines.append(f"            {string_literal(spec.name, 'python')}: {_rule(spec)},")
            lines.append("        },")
        lines.append("    ),")
    lines.append("}")
    return lines


def _rule(spec: PropertySpec) -> str:
    args: list[str] = []
    if spec.required:
        args.append("required=True")
    if spec.types:
        args.append(f"types={_tuple([string_literal(t.value, 'python') for t in spec.types])}")
    if spec.enum is not None:
        args.append(f"enum={_tuple([_literal(v) for v in spec.enum])}")
    if spec.pattern is not None:
        args.append(f"pattern={string_literal(spec.pattern.pattern, 'python')}")
    for key in ("minimum", "maximum", "min_length", "max_length"):
        value = getattr(spec, key)
        if value is not None:
            args.append(f"{key}={_literal(value)}")
    return f"_Rule({', '.join(args)})"


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _literal(value: object) -> str:
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
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(
            f"{string_literal(str(k), 'python')}: {_literal(v)}" for k, v in value.items()
        )
        return "{" + items + "}"
    return string_literal(str(value), "python")


def _docstring_text(text: str) -> str:
    return comment_text(text).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _function(event: EventCode, params: dict[str, str]) -> list[str]:
    required = [p for p in event.properties if p.required]
    optional = [p for p in event.properties if not p.required]
    signature = ["    _client: PostHogClient,", "    _distinct_id: str,", "    /,"]
    keyword: list[str] = []
    for spec in required:
        keyword.append(f"    {params[spec.name]}: {_annotation(spec)},")
    for spec in optional:
        annotation, default = _optional(_annotation(spec), spec)
        keyword.append(f"    {params[spec.name]}: {annotation} = {default},")
    for field, suffix, specs in (
        ("set", "Set", event.set),
        ("set_once", "SetOnce", event.set_once),
    ):
        if not specs:
            continue
        kind = event.type_prefix + suffix
        if any(s.required for s in specs):
            keyword.append(f"    {field}: {kind},")
        else:
            keyword.append(f"    {field}: {kind} | None = None,")
    if event.allow_unknown:
        keyword.append("    extra_properties: Mapping[str, object] | None = None,")
    if keyword:
        signature += ["    *,", *keyword]
    lines = [f"def {event.function}(", *signature, ") -> str | None:"]
    lines.extend(_docstring(event, params))
    call = [f"        {string_literal(event.name, 'python')},"]
    if event.properties:
        call.append("        {")
        call.extend(
            f"            {string_literal(spec.name, 'python')}: {params[spec.name]},"
            for spec in event.properties
        )
        call.append("        },")
    else:
        call.append("        {},")
    if event.set:
        call.append("        set=set,")
    if event.set_once:
        call.append("        set_once=set_once,")
    if event.allow_unknown:
        call.append("        extra_properties=extra_properties,")
    lines += ["    return _capture(", "        _client,", "        _distinct_id,", *call, "    )"]
    return lines


def _docstring(event: EventCode, params: dict[str, str]) -> list[str]:
    spec = event.spec
    summary = _docstring_text(spec.description) or f"Capture {event.name!r}."
    lines = [f'    """{summary}', ""]
    about = f"Captures {_docstring_text(string_literal(event.name, 'python'))}"
    if spec.owner:
        about += f"; owner: {_docstring_text(spec.owner)}"
    lines.append(f"    {about}.")
    if event.properties or event.set or event.set_once:
        lines += ["", "    Args:"]
    ordered = [p for p in event.properties if p.required] + [
        p for p in event.properties if not p.required
    ]  # as the signature lists them
    for prop in ordered:
        lines.append(f"        {params[prop.name]}: {_arg_doc(prop, params[prop.name])}")
    for field, key, specs in (
        ("set", "$set", event.set),
        ("set_once", "$set_once", event.set_once),
    ):
        if specs:
            lines.append(f"        {field}: person properties ({key}):")
            for prop in specs:
                lines.append(f"            {_docstring_text(prop.name)}: {_arg_doc(prop, '')}")
    if event.allow_unknown:
        lines += [
            "",
            "    The plan allows properties it does not list: pass them in extra_properties.",
        ]
    lines += [
        "",
        "    Returns the event's UUID, as posthog-python's capture does (None if not queued).",
        '    """',
    ]
    return lines


def _arg_doc(spec: PropertySpec, ident: str) -> str:
    text = _docstring_text(doc_lines(spec)) or "any value"
    if spec.required:
        text += "; required"
    if ident and ident != spec.name:
        text += f"; sent as {_docstring_text(string_literal(spec.name, 'python'))}"
    return text + "."
