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

The text every module carries (helpers, debug mode's checker and its rules table) is in
codegen_python_runtime; annotations and TypedDicts are in codegen_python_types.
"""

from __future__ import annotations

from composer.core.plans.codegen_common import (
    CodegenError,
    EventCode,
    Namespace,
    comment_text,
    doc_lines,
    is_ascii_identifier,
    plan_events,
    snake,
    string_literal,
    words,
)
from composer.core.plans.codegen_python_runtime import RUNTIME, rules_table
from composer.core.plans.codegen_python_types import (
    optional_argument,
    type_annotation,
    typed_dicts,
)
from composer.core.plans.model import Plan, PropertySpec

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
        out.extend(typed_dicts(event))
    out.append("")
    out.append("")
    out.extend(rules_table(events))
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
        RUNTIME.strip("\n"),
    ]
    return lines


def _docstring_text(text: str) -> str:
    return comment_text(text).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


# -- the event functions -----------------------------------------------------------------------


def _function(event: EventCode, params: dict[str, str]) -> list[str]:
    required = [p for p in event.properties if p.required]
    optional = [p for p in event.properties if not p.required]
    signature = ["    _client: PostHogClient,", "    _distinct_id: str,", "    /,"]
    keyword: list[str] = []
    for spec in required:
        keyword.append(f"    {params[spec.name]}: {type_annotation(spec)},")
    for spec in optional:
        annotation, default = optional_argument(type_annotation(spec), spec)
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
