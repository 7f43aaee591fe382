"""What the code generators share: plan names turned into identifiers, every planned event
accounted for, and the rules said in words for doc comments.

An event is never left out of generated code: one whose name cannot become an identifier, or
whose identifier clashes with another's, stops the generation with a CodegenError that names
every such event and says how to fix it (PostHog's own generator drops events without property
groups; a plan's reader must be able to trust that every event is there).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from composer.core.jsonio import dumps_compact
from composer.core.plans.model import EventSpec, Plan, PropertySpec, PropertyType, value_types

# Words inside a name: runs of capitals (an acronym), a capitalised word, digits with letters.
_WORD = re.compile(r"[A-Z]+[0-9]*(?![a-z])|[A-Z]?[a-z]+[0-9]*|[0-9]+[a-z]*")
_ASCII_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PERSON_KEYS = ("$set", "$set_once")


class CodegenError(ValueError):
    """The plan cannot become code as it is; `problems` says why, one line per event."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def words(name: str) -> list[str]:
    """The words of a plan name, accents folded to ASCII: "Plan Upgraded", "planUpgraded" and
    "plan_upgraded" are all [plan, upgraded]; what has no ASCII letter or digit has none."""
    folded = unicodedata.normalize("NFKD", name)
    ascii_text = "".join(c for c in folded if c.isascii())
    found: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", ascii_text):
        found.extend(_WORD.findall(chunk))
    return [w.lower() for w in found]


def snake(parts: list[str]) -> str:
    return "_".join(parts)


def camel(parts: list[str]) -> str:
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:]) if parts else ""


def pascal(parts: list[str]) -> str:
    return "".join(p[:1].upper() + p[1:] for p in parts)


def is_ascii_identifier(name: str) -> bool:
    return _ASCII_IDENTIFIER.fullmatch(name) is not None


@dataclass(frozen=True)
class EventCode:
    """One planned event as code: its function and type names, its properties in a stable
    order (by name), and whether it takes properties the plan does not list."""

    spec: EventSpec
    function: str
    type_prefix: str
    properties: tuple[PropertySpec, ...]
    set: tuple[PropertySpec, ...]
    set_once: tuple[PropertySpec, ...]
    allow_unknown: bool

    @property
    def name(self) -> str:
        return self.spec.name

    def needs_properties(self) -> bool:
        """True when a call cannot leave the properties out (one of them is required)."""
        return any(p.required for p in (*self.properties, *self.set, *self.set_once))


def sorted_props(specs: Iterable[PropertySpec]) -> tuple[PropertySpec, ...]:
    return tuple(sorted(specs, key=lambda p: p.name))


class Namespace:
    """The names one scope of generated code defines; a second claim on a name is a problem
    reported with both owners, never a silent rename."""

    def __init__(self, reserved: Iterable[str], problems: list[str]) -> None:
        self._reserved = frozenset(reserved)
        self._owners: dict[str, str] = {}
        self.problems = problems

    def safe(self, ident: str) -> str:
        """`ident`, or `ident_` when the language or the generated module already uses it."""
        while ident in self._reserved:
            ident += "_"
        return ident

    def claim(self, ident: str, owner: str) -> bool:
        previous = self._owners.get(ident)
        if previous is not None:
            self.problems.append(
                f"{owner} and {previous} would both be `{ident}` in the generated code."
                " Rename one of them in the plan."
            )
            return False
        self._owners[ident] = owner
        return True


def plan_events(
    plan: Plan,
    function_name: Callable[[list[str]], str],
    reserved: Iterable[str],
    problems: list[str],
) -> list[EventCode]:
    """Every planned event, by name, with identifiers made by `function_name` from its words.
    Events that cannot have one are added to `problems` (the caller raises CodegenError)."""
    module = Namespace(reserved, problems)
    result: list[EventCode] = []
    for spec in sorted(plan.events.values(), key=lambda e: e.name):
        parts = words(spec.name)
        if not parts:
            problems.append(
                f"the event {spec.name!r} has no letter or digit that can name a function."
                " Rename it in the plan (PostHog accepts any name, but code cannot call it)."
            )
            continue
        function = module.safe(function_name(parts))
        type_prefix = pascal(parts)
        if type_prefix[:1].isdigit():
            type_prefix = "Event" + type_prefix
        owner = f"the event {spec.name!r}"
        module.claim(function, owner)
        allow_unknown = (
            spec.allow_unknown_properties
            if spec.allow_unknown_properties is not None
            else plan.allow_unknown_properties
        )
        for key in PERSON_KEYS:
            if key in spec.properties:
                problems.append(
                    f"the event {spec.name!r} lists {key!r} as a property; person properties"
                    f" go under `{key[1:]}:` in the plan."
                )
        result.append(
            EventCode(
                spec,
                function,
                type_prefix,
                sorted_props(spec.properties.values()),
                sorted_props(spec.set.values()),
                sorted_props(spec.set_once.values()),
                allow_unknown,
            )
        )
    return result


def show(value: object) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no infinity; a YAML plan may (.inf)
    return dumps_compact(value).decode(errors="replace")


def rules_text(spec: PropertySpec) -> str:
    """The rules of a planned property in words, for a doc comment."""
    parts: list[str] = []
    if spec.types:
        parts.append(" or ".join(t.value for t in spec.types))
    if spec.enum is not None:
        parts.append("one of " + ", ".join(show(v) for v in spec.enum))
    if spec.pattern is not None:
        parts.append(f"matches /{spec.pattern.pattern}/")
    if spec.minimum is not None:
        parts.append(f"at least {show(spec.minimum)}")
    if spec.maximum is not None:
        parts.append(f"at most {show(spec.maximum)}")
    if spec.min_length is not None:
        parts.append(f"length at least {spec.min_length}")
    if spec.max_length is not None:
        parts.append(f"length at most {spec.max_length}")
    if spec.schema_source is not None:
        parts.append("a JSON Schema (checked by `event-composer validate`, not at run time)")
    return "; ".join(parts)


def doc_lines(spec: PropertySpec) -> str:
    """A property's description and rules in one line."""
    text = spec.description.strip()
    rules = rules_text(spec)
    if text and rules:
        return f"{text} ({rules})"
    return text or rules


def allows_null(spec: PropertySpec) -> bool:
    types = value_types(spec)
    return not types or PropertyType.NULL in types


def literal_enum(spec: PropertySpec) -> bool:
    """True when every allowed value can be a literal type (text, whole numbers, booleans,
    null): the type checker then refuses any other value."""
    if not spec.enum:
        return False
    return all(
        v is None or isinstance(v, str | bool) or (isinstance(v, int) and abs(v) < 2**53)
        for v in spec.enum
    )


def checked_at_run_time(spec: PropertySpec) -> bool:
    """True when debug mode has something to check beyond the static type."""
    return bool(
        spec.pattern is not None
        or spec.minimum is not None
        or spec.maximum is not None
        or spec.min_length is not None
        or spec.max_length is not None
        or spec.enum is not None
        or spec.types
    )


def string_literal(text: str, language: str) -> str:
    """A double-quoted string literal for Python or TypeScript: printable text as it is (so
    the plan's words stay readable), everything else escaped the way that language reads it."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char.isprintable() and not 0xD800 <= code <= 0xDFFF:
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        elif language == "python":
            out.append(f"\\U{code:08x}")
        else:  # JavaScript strings are UTF-16: an astral character is a surrogate pair
            high, low = divmod(code - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
    out.append('"')
    return "".join(out)


def comment_text(text: str) -> str:
    """Plan text (a description, an owner) made safe inside a doc comment of either language:
    one line of printable characters."""
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(cleaned.split())
