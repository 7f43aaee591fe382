"""Reading a plan file, with the line of everything it says.

Reading never raises for what the plan says: every problem becomes a PlanProblem with the line
and a fix, and the parts that are sound are used, so a broken plan never stops the composer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from composer.core.jsonio import JsonSyntaxError, loads, position
from composer.core.plans.model import (
    PLAN_VERSION,
    STYLE_PATTERNS,
    TYPE_NAMES,
    EventSpec,
    NamingRule,
    NamingStyle,
    Plan,
    PlanProblem,
    PropertySpec,
    PropertyType,
    matches_type,
)
from composer.core.plans.yaml12 import FIXES, Lines, cycle_line, plan_loader


def parse_plan(text: str, source: str = "tracking plan") -> Plan:
    """Read a plan. Problems are collected in `plan.problems`; this never raises on content."""
    plan = Plan(source=source)
    try:
        _parse(plan, text, source)
    except RecursionError:
        # PyYAML composes and constructs recursively: a few hundred levels of nesting are
        # past Python's recursion limit.
        plan.problems.append(
            PlanProblem(
                source,
                None,
                "the plan nests lists and mappings too deeply to read (hundreds of levels).",
                "Flatten it: a plan needs a few levels (events, properties, rules).",
            )
        )
    except Exception as exc:  # a plan must never stop the composer; say what broke instead
        plan.problems.append(PlanProblem(source, None, f"the plan could not be read: {exc}.", ""))
    return plan


def _parse(plan: Plan, text: str, source: str) -> None:
    import yaml  # here, not at the top: the window starts without it

    lines = Lines()
    is_json = source.lower().endswith(".json")
    try:
        if is_json:
            doc = loads(text)
        else:
            loader = plan_loader()(text)
            try:
                node = loader.get_single_node()
                circular = cycle_line(node) if node is not None else None
                if circular is not None:
                    plan.problems.append(
                        PlanProblem(
                            source,
                            circular,
                            "an alias sits inside its own anchor (as in `a: &a [*a]`), so the"
                            " value would contain itself.",
                            "Write that part out instead of aliasing it.",
                        )
                    )
                    return
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
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (a NUL, a control character); PyYAML gives only
        # the offset.
        bad_line, _column = position(text, exc.position)
        plan.problems.append(
            PlanProblem(
                source,
                bad_line,
                f"not valid YAML: the character U+{exc.character:04X} is not allowed in YAML"
                " (a control character).",
                "Remove it, or write it as an escape in a double-quoted string.",
            )
        )
        return
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        fix = next(
            (fix for known, fix in FIXES.items() if known in problem),
            "Check the indentation and the quoting on that line.",
        )
        plan.problems.append(PlanProblem(source, line, f"not valid YAML: {problem}.", fix))
        return
    if is_json:
        try:  # JSON is (nearly) YAML: its lines come from the same reader
            loader = plan_loader()(text)
            try:
                node = loader.get_single_node()
            finally:
                loader.dispose()
            if node is not None:
                lines.walk(node)
        except (yaml.YAMLError, RecursionError):
            pass  # the plan is used, without line numbers
    _Reader(plan, lines).read(doc)


class _Reader:
    def __init__(self, plan: Plan, lines: Lines) -> None:
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
        plan.description = str(doc.get("description", "") or "")
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
        plan.property_sets = sets
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
                    return NamingRule(style.value, re.compile(STYLE_PATTERNS[style]))
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
                event.include = (*event.include, set_name)
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
            self.problem(
                path,
                f"the JSON Schema of {name!r} nests too deeply, or refers to itself endlessly.",
                "Flatten it, and keep every $ref pointing somewhere that ends.",
            )
            return None
        except Exception as exc:  # unresolvable $ref and the like
            self.problem(
                path,
                f"the JSON Schema of {name!r} cannot be used: {exc}.",
                "Keep every $ref inside the schema ($defs); remote schemas are not fetched.",
            )
            return None
        return validator
