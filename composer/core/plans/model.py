"""Tracking plans: what a plan file says, read with the line of everything it says.

A plan is YAML (or JSON) kept in git beside the templates:

    version: 1
    naming: {events: snake_case, properties: snake_case}
    allow_unplanned_events: false
    property_sets:
      plan_context:
        plan: {type: string, enum: [free, team, enterprise], required: true}
    events:
      plan_upgraded:
        description: A team moved to a paid plan
        owner: growth@example.com
        include: [plan_context]
        allow_unknown_properties: false
        properties:
          seats: {type: integer, minimum: 1, required: true}
          coupon: {type: [string, "null"]}
          source: {schema: {type: string, pattern: "^utm_"}}
        set:
          email: {type: string, pattern: "@", required: true}

Reading never raises for what the plan says: every problem becomes a PlanProblem with the line
and a fix, and the parts that are sound are used, so a broken plan never stops the composer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from composer.core.compose.values import PropertyRow, ValueType, infer_row
from composer.core.jsonio import JsonSyntaxError, loads

PLAN_VERSION = 1
FILE_NAMES = ("tracking-plan.yaml", "tracking-plan.yml", "tracking-plan.json")


class PropertyType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "date-time"
    OBJECT = "object"
    ARRAY = "array"
    NULL = "null"


TYPE_NAMES = ", ".join(t.value for t in PropertyType)


@dataclass(frozen=True)
class PlanProblem:
    source: str
    line: int | None
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message} {self.fix}".strip()


@dataclass
class PropertySpec:
    name: str
    types: tuple[PropertyType, ...] = ()  # empty: any type
    required: bool = False
    enum: tuple[Any, ...] | None = None
    pattern: re.Pattern[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    description: str = ""
    schema: Any = None  # a compiled JSON Schema validator (jsonschema), when one is given
    schema_source: dict[str, Any] | None = None
    line: int | None = None


@dataclass
class EventSpec:
    name: str
    description: str = ""
    owner: str = ""
    properties: dict[str, PropertySpec] = field(default_factory=dict)
    set: dict[str, PropertySpec] = field(default_factory=dict)
    set_once: dict[str, PropertySpec] = field(default_factory=dict)
    allow_unknown_properties: bool | None = None  # None: the plan's default
    line: int | None = None


class NamingStyle(StrEnum):
    SNAKE = "snake_case"
    CAMEL = "camelCase"
    PASCAL = "PascalCase"
    KEBAB = "kebab-case"
    OBJECT_ACTION = "Object Action"  # Segment's convention: "Plan Upgraded"
    LOWER_WORDS = "object action"  # "plan upgraded"


_STYLE_PATTERNS = {
    NamingStyle.SNAKE: r"[a-z][a-z0-9]*(_[a-z0-9]+)*",
    NamingStyle.CAMEL: r"[a-z][a-z0-9]*([A-Z][a-z0-9]*)*",
    NamingStyle.PASCAL: r"([A-Z][a-z0-9]*)+",
    NamingStyle.KEBAB: r"[a-z][a-z0-9]*(-[a-z0-9]+)*",
    NamingStyle.OBJECT_ACTION: r"[A-Z][A-Za-z0-9]*( [A-Z][A-Za-z0-9]*)+",
    NamingStyle.LOWER_WORDS: r"[a-z][a-z0-9]*( [a-z0-9]+)+",
}


@dataclass(frozen=True)
class NamingRule:
    label: str  # the style's name, or the pattern the plan gave
    regex: re.Pattern[str]

    def allows(self, name: str) -> bool:
        return self.regex.fullmatch(name) is not None


@dataclass
class Plan:
    source: str = "tracking plan"
    name: str = ""
    events: dict[str, EventSpec] = field(default_factory=dict)
    event_naming: NamingRule | None = None
    property_naming: NamingRule | None = None
    allow_unplanned_events: bool = True
    allow_unknown_properties: bool = True
    problems: list[PlanProblem] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """False only when nothing could be read (a syntax error): checks are then skipped."""
        return bool(self.events) or not self.problems


# -- reading --------------------------------------------------------------------------------


class _Lines:
    """Line numbers of the nodes of a YAML (or JSON) document, by path."""

    def __init__(self) -> None:
        self.by_path: dict[tuple[Any, ...], int] = {}

    def at(self, *path: Any) -> int | None:
        while path:
            line = self.by_path.get(path)
            if line is not None:
                return line
            path = path[:-1]
        return self.by_path.get(())

    def walk(self, node: Any, path: tuple[Any, ...] = (), seen: set[int] | None = None) -> None:
        import yaml

        seen = set() if seen is None else seen
        if id(node) in seen:
            return  # an alias: its lines were taken where the anchor is (and it may loop)
        seen.add(id(node))
        self.by_path.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
                self.walk(value, (*path, name), seen)
                self.by_path[(*path, name)] = key.start_mark.line + 1  # the key's own line
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, (*path, i), seen)


_LOADER: Any = None


def _plan_loader() -> Any:
    """A safe YAML loader that reads a plan the way people write one (YAML 1.2's core schema):
    `NO`, `on` and `2024-01-01` stay text, `1:30` is not 90, `010` is not 8, and every mapping
    key is the text written (so `true:` and `1:` are names, not a boolean and a number)."""
    global _LOADER  # noqa: PLW0603 - built once, on first use
    if _LOADER is not None:
        return _LOADER
    import yaml

    class PlanLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            self.flatten_mapping(node)
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key: Any = key_node.value
                else:
                    key = self.construct_object(key_node, deep=deep)
                    if not isinstance(key, str | int | float | bool | type(None)):
                        raise yaml.constructor.ConstructorError(
                            "while reading a mapping",
                            node.start_mark,
                            "a key must be a plain name",
                            key_node.start_mark,
                        )
                mapping[key] = self.construct_object(value_node, deep=deep)
            return mapping

    resolvers: dict[Any, list[tuple[str, Any]]] = {}
    core = [
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
        (
            "tag:yaml.org,2002:float",
            r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+0123456789.",
        ),
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ]
    import re as _re

    for tag, pattern, first in core:
        regex = _re.compile(pattern)
        for char in first:
            resolvers.setdefault(char, []).append((tag, regex))
    PlanLoader.yaml_implicit_resolvers = resolvers
    _LOADER = PlanLoader
    return PlanLoader


def plan_dumper() -> Any:
    """A dumper that quotes every string either YAML 1.1 or this reader would take for
    something else ("yes", "1e3", "2024-01-01"), so a written plan reads back the same."""
    import yaml

    loader = _plan_loader()

    class PlanDumper(yaml.SafeDumper):
        pass

    merged: dict[Any, list[tuple[str, Any]]] = {
        k: list(v) for k, v in yaml.SafeDumper.yaml_implicit_resolvers.items()
    }
    for first, pairs in loader.yaml_implicit_resolvers.items():
        merged.setdefault(first, []).extend(pairs)
    PlanDumper.yaml_implicit_resolvers = merged
    return PlanDumper


def read_yaml(text: str) -> Any:
    """YAML as a plan is read (for round-trip checks of what is written)."""
    loader = _plan_loader()(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def parse_plan(text: str, source: str = "tracking plan") -> Plan:
    """Read a plan. Problems are collected in `plan.problems`; this never raises on content."""
    plan = Plan(source=source)
    try:
        _parse(plan, text, source)
    except RecursionError:
        plan.problems.append(
            PlanProblem(
                source,
                None,
                "the plan refers to itself (a YAML alias inside its own anchor, or a schema"
                " that includes itself).",
                "Write that part out instead of aliasing it.",
            )
        )
    except Exception as exc:  # a plan must never stop the composer; say what broke instead
        plan.problems.append(PlanProblem(source, None, f"the plan could not be read: {exc}.", ""))
    return plan


def _parse(plan: Plan, text: str, source: str) -> None:
    import yaml  # here, not at the top: the window starts without it

    lines = _Lines()
    is_json = source.lower().endswith(".json")
    try:
        if is_json:
            doc = loads(text)
        else:
            loader = _plan_loader()(text)
            try:
                node = loader.get_single_node()
                doc = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
            if node is not None:
                lines.walk(node)
    except JsonSyntaxError as exc:
        plan.problems.append(
            PlanProblem(source, exc.line, f"not valid JSON: {exc.message}.", "Fix the JSON there.")
        )
        return
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        plan.problems.append(
            PlanProblem(
                source,
                line,
                f"not valid YAML: {problem}.",
                "Check the indentation and the quoting on that line.",
            )
        )
        return
    if is_json:
        try:  # JSON is (nearly) YAML: its lines come from the same reader
            loader = _plan_loader()(text)
            try:
                node = loader.get_single_node()
            finally:
                loader.dispose()
            if node is not None:
                lines.walk(node)
        except yaml.YAMLError:
            pass  # the plan is used, without line numbers
    _Reader(plan, lines).read(doc)


class _Reader:
    def __init__(self, plan: Plan, lines: _Lines) -> None:
        self.plan = plan
        self.lines = lines

    def problem(self, path: Iterable[Any], message: str, fix: str) -> None:
        self.plan.problems.append(PlanProblem(self.plan.source, self.lines.at(*path), message, fix))

    def read(self, doc: Any) -> None:
        if doc is None:
            self.problem((), "the plan is empty.", "Start it with `version: 1` and `events:`.")
            return
        if not isinstance(doc, dict):
            self.problem((), "a plan is a mapping (version, events, ...).", "See the example plan.")
            return
        version = doc.get("version", PLAN_VERSION)
        if version != PLAN_VERSION:
            self.problem(
                ("version",),
                f"version {version!r} is not one this composer reads ({PLAN_VERSION}).",
                "Set `version: 1`, or update the composer.",
            )
            return
        known = {
            "version",
            "name",
            "description",
            "naming",
            "allow_unplanned_events",
            "allow_unknown_properties",
            "property_sets",
            "events",
        }
        for key in doc:
            if key not in known:
                self.problem(
                    (key,),
                    f"unknown plan setting {key!r}.",
                    f"Plan settings are: {', '.join(sorted(known))}.",
                )
        plan = self.plan
        plan.name = str(doc.get("name", "") or "")
        plan.allow_unplanned_events = self.flag(doc, "allow_unplanned_events", True, ())
        plan.allow_unknown_properties = self.flag(doc, "allow_unknown_properties", True, ())
        naming = doc.get("naming")
        if naming is not None:
            if isinstance(naming, dict) and "pattern" not in naming:
                for key in naming:
                    if key not in ("events", "properties"):
                        self.problem(
                            ("naming", key),
                            f"unknown naming setting {key!r}.",
                            "naming takes events and properties (each a style or"
                            " {pattern: REGEX}), or one style for both.",
                        )
                plan.event_naming = self.naming(naming.get("events"), ("naming", "events"))
                plan.property_naming = self.naming(
                    naming.get("properties"), ("naming", "properties")
                )
            else:
                plan.event_naming = self.naming(naming, ("naming",))
                plan.property_naming = plan.event_naming
        sets = self.property_sets(doc.get("property_sets"))
        events = doc.get("events", {})
        if not isinstance(events, dict):
            self.problem(
                ("events",), "`events` must map event names to their specs.", "See the example."
            )
            return
        for name, spec in events.items():
            event = self.event(str(name), spec, sets)
            if event is not None:
                plan.events[event.name] = event

    def flag(self, doc: dict[str, Any], key: str, default: bool, path: tuple[Any, ...]) -> bool:
        value = doc.get(key, default)
        if isinstance(value, bool):
            return value
        self.problem((*path, key), f"{key} must be true or false, not {value!r}.", "")
        return default

    def naming(self, value: Any, path: tuple[Any, ...]) -> NamingRule | None:
        if value is None:
            return None
        if isinstance(value, str):
            for style in NamingStyle:
                if value == style.value:
                    return NamingRule(style.value, re.compile(_STYLE_PATTERNS[style]))
            self.problem(
                path,
                f"unknown naming style {value!r}.",
                f"Use one of {', '.join(s.value for s in NamingStyle)}, or {{pattern: REGEX}}.",
            )
            return None
        if isinstance(value, dict) and isinstance(value.get("pattern"), str):
            try:
                return NamingRule(value["pattern"], re.compile(value["pattern"]))
            except re.error as exc:
                self.problem(
                    (*path, "pattern"), f"the naming pattern is not a valid regex: {exc}.", ""
                )
                return None
        self.problem(path, "naming is a style name or {pattern: REGEX}.", "")
        return None

    def property_sets(self, value: Any) -> dict[str, dict[str, PropertySpec]]:
        sets: dict[str, dict[str, PropertySpec]] = {}
        if value is None:
            return sets
        if not isinstance(value, dict):
            self.problem(
                ("property_sets",), "property_sets maps a set's name to its properties.", ""
            )
            return sets
        for name, props in value.items():
            sets[str(name)] = self.properties(props, ("property_sets", name))
        return sets

    def event(
        self, name: str, spec: Any, sets: dict[str, dict[str, PropertySpec]]
    ) -> EventSpec | None:
        path: tuple[Any, ...] = ("events", name)
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            self.problem(path, f"event {name!r} must be a mapping (properties, ...).", "")
            return None
        known = {
            "description",
            "owner",
            "include",
            "properties",
            "set",
            "set_once",
            "allow_unknown_properties",
        }
        for key in spec:
            if key not in known:
                self.problem(
                    (*path, key),
                    f"unknown key {key!r} in event {name!r}.",
                    f"An event takes: {', '.join(sorted(known))}.",
                )
        event = EventSpec(
            name,
            description=str(spec.get("description", "") or ""),
            owner=str(spec.get("owner", "") or ""),
            line=self.lines.at(*path),
        )
        include = spec.get("include", [])
        if isinstance(include, str):
            include = [include]
        for set_name in include if isinstance(include, list) else []:
            if not isinstance(set_name, str):
                self.problem((*path, "include"), f"include lists set names, not {set_name!r}.", "")
            elif set_name in sets:
                event.properties.update(sets[set_name])
            else:
                self.problem(
                    (*path, "include"),
                    f"event {name!r} includes {set_name!r}, which is not a property set.",
                    f"Define it under property_sets, or use one of: {', '.join(sets) or 'none'}.",
                )
        event.properties.update(self.properties(spec.get("properties"), (*path, "properties")))
        event.set = self.properties(spec.get("set"), (*path, "set"))
        event.set_once = self.properties(spec.get("set_once"), (*path, "set_once"))
        if "allow_unknown_properties" in spec:
            event.allow_unknown_properties = self.flag(spec, "allow_unknown_properties", True, path)
        return event

    def properties(self, value: Any, path: tuple[Any, ...]) -> dict[str, PropertySpec]:
        result: dict[str, PropertySpec] = {}
        if value is None:
            return result
        if not isinstance(value, dict):
            self.problem(path, "properties map a property name to its spec.", "")
            return result
        for name, spec in value.items():
            prop = self.property(str(name), spec, (*path, name))
            if prop is not None:
                result[prop.name] = prop
        return result

    def property(self, name: str, spec: Any, path: tuple[Any, ...]) -> PropertySpec | None:
        line = self.lines.at(*path)
        if isinstance(spec, str):  # shorthand: `plan: string`
            spec = {"type": spec}
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            self.problem(path, f"property {name!r} must be a type name or a mapping.", "")
            return None
        prop = PropertySpec(name, line=line, description=str(spec.get("description", "") or ""))
        known = {
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
        }
        for key in spec:
            if key not in known:
                self.problem(
                    (*path, key),
                    f"unknown rule {key!r} for property {name!r}.",
                    f"A property takes: {', '.join(sorted(known))}.",
                )
        types = spec.get("type")
        if types is not None:
            names = types if isinstance(types, list) else [types]
            parsed: list[PropertyType] = []
            for t in names:
                try:
                    parsed.append(PropertyType(t))
                except ValueError:
                    self.problem(
                        (*path, "type"),
                        f"{t!r} is not a property type.",
                        f"Types are: {TYPE_NAMES}.",
                    )
            prop.types = tuple(parsed)
        required = spec.get("required", False)
        if isinstance(required, bool):
            prop.required = required
        else:
            self.problem((*path, "required"), "required must be true or false.", "")
        enum = spec.get("enum")
        if enum is not None:
            if isinstance(enum, list) and enum:
                prop.enum = tuple(enum)
                if prop.types:
                    from composer.core.plans.check import matches_type

                    for value in enum:
                        if not any(matches_type(value, t) for t in prop.types):
                            kinds = " or ".join(t.value for t in prop.types)
                            self.problem(
                                (*path, "enum"),
                                f"the enum of {name!r} has {value!r}, which is not {kinds}.",
                                "Quote it if it is text, or fix the type.",
                            )
            else:
                self.problem(
                    (*path, "enum"), "enum must be a non-empty list of the allowed values.", ""
                )
        pattern = spec.get("pattern")
        if pattern is not None:
            try:
                prop.pattern = re.compile(str(pattern))
            except re.error as exc:
                self.problem(
                    (*path, "pattern"),
                    f"the pattern of {name!r} is not a valid regular expression: {exc}.",
                    "Fix the regex (Python syntax, like JSON Schema's).",
                )
        for key in ("minimum", "maximum"):
            number = spec.get(key)
            if number is not None:
                if isinstance(number, int | float) and not isinstance(number, bool):
                    setattr(prop, key, number)
                else:
                    self.problem((*path, key), f"{key} must be a number.", "")
        for key in ("min_length", "max_length"):
            count = spec.get(key)
            if count is not None:
                if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                    setattr(prop, key, count)
                else:
                    self.problem((*path, key), f"{key} must be a whole number of 0 or more.", "")
        schema = spec.get("schema")
        if schema is not None:
            prop.schema_source = schema if isinstance(schema, dict) else None
            prop.schema = self.schema(name, schema, (*path, "schema"))
        return prop

    def schema(self, name: str, schema: Any, path: tuple[Any, ...]) -> Any:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        if not isinstance(schema, dict | bool):
            self.problem(path, f"the schema of {name!r} must be a JSON Schema object.", "")
            return None
        from referencing import Registry

        def no_fetching(uri: str) -> Any:
            raise LookupError(f"{uri} is not fetched: a plan's schemas must be self-contained")

        try:
            Draft202012Validator.check_schema(schema)
            registry: Any = Registry(retrieve=no_fetching)  # type: ignore[call-arg]  # attrs
            validator = Draft202012Validator(schema, registry=registry)
            # Try it once: a $ref that cannot be resolved, or that loops, shows up here, in
            # the plan's problems, rather than on every event checked.
            samples: tuple[Any, ...] = (None, 0, "", [], {})
            for sample in samples:
                for _error in validator.iter_errors(sample):
                    pass
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.path) or "the schema"
            self.problem(
                path,
                f"the JSON Schema of {name!r} is not valid at {where}: {exc.message}.",
                "Fix it following JSON Schema 2020-12.",
            )
            return None
        except RecursionError:
            self.problem(path, f"the JSON Schema of {name!r} refers to itself endlessly.", "")
            return None
        except Exception as exc:  # unresolvable $ref and the like
            self.problem(
                path,
                f"the JSON Schema of {name!r} cannot be used: {exc}.",
                "Keep every $ref inside the schema ($defs); remote schemas are not fetched.",
            )
            return None
        return validator


def planned_row(spec: PropertySpec, now_text: str) -> PropertyRow:
    """A form row for a planned property: its key, the type the plan gives and a value that
    passes the plan where one can be chosen (the first allowed value, the minimum ...)."""
    from composer.core.jsonio import dumps_compact

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
    from composer.core.jsonio import dumps_compact

    return {
        name: [v if isinstance(v, str) else dumps_compact(v).decode() for v in spec.enum]
        for name, spec in specs.items()
        if spec.enum
    }
