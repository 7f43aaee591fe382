"""The part of a generated Python module that is the same for every plan: the client protocol,
OMITTED, PlanViolation, debug mode's checker and `_capture`, which every event function calls;
and the table of each event's rules that the checker reads.

The checker restates the plan checker's rules (composer.core.plans.check) with the standard
library alone, so that a generated module adds no dependency to posthog-python's.
"""

from __future__ import annotations

from composer.core.plans.codegen_common import EventCode, string_literal
from composer.core.plans.codegen_python_types import python_literal
from composer.core.plans.model import PropertySpec

RUNTIME = r'''

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


def rules_table(events: list[EventCode]) -> list[str]:
    """`_PLAN`, which RUNTIME's checker reads: it follows RUNTIME in the module."""
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
        args.append(f"enum={_tuple([python_literal(v) for v in spec.enum])}")
    if spec.pattern is not None:
        args.append(f"pattern={string_literal(spec.pattern.pattern, 'python')}")
    for key in ("minimum", "maximum", "min_length", "max_length"):
        value = getattr(spec, key)
        if value is not None:
            args.append(f"{key}={python_literal(value)}")
    return f"_Rule({', '.join(args)})"


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
