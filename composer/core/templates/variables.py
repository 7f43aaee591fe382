"""`{{name}}` placeholders in JSON string values: the grammar, the built-in values, the resolver.

A placeholder is `{{`, optional spaces, an expression, optional spaces, `}}`. The expression is
either a workspace variable name (`[A-Za-z_][A-Za-z0-9_.-]*`) or a built-in starting with `$`:
`$uuid`, `$now`, `$timestamp`, `$random_int`, `$random_email`, `$random_name`, `$counter`, and
relative times such as `$now - 2h` or `$now+30m` (units s, m, h, d, w).

Only string values are scanned; object keys never are. A string that is exactly one placeholder
takes the value with its JSON type (`{{seats}}` can become the number 5); a placeholder inside
longer text is replaced by the value's text form (strings as they are, everything else as
compact JSON).

There is no escape syntax. Text that does not fit the grammar, such as `{{ }}`, `{{1abc}}` or
`{{a b}}`, is ordinary text: it is left exactly as written and never reported. Substitution is
a single pass, so a value is never scanned again; to send a literal `{{plan}}`, define a
variable holding `{{` (say `open`) and write `{{open}}plan}}`.

A placeholder that cannot be resolved (no such variable, no such built-in, a malformed relative
time) is left in place verbatim and reported, so nothing is silently sent half-filled.
"""

from __future__ import annotations

import copy
import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from composer.core.findings import Finding, Severity, Stage
from composer.core.jsonio import JsonSyntaxError, dumps_compact, loads
from composer.core.jsonpath import index, key

BUILTINS: tuple[str, ...] = (
    "$uuid",
    "$now",
    "$timestamp",
    "$random_int",
    "$random_email",
    "$random_name",
    "$counter",
)

_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
# The built-in grammar is deliberately looser than what `Dynamic` accepts: `{{$now - 2y}}` is
# clearly meant as a placeholder, so it should be reported rather than silently kept as text.
_BUILTIN = r"\$[A-Za-z_][A-Za-z0-9_]*(?:\s*[-+][^{}\n]*?)?"
_PLACEHOLDER = re.compile(r"\{\{\s*(" + _NAME + "|" + _BUILTIN + r")\s*\}\}")
_VARIABLE_NAME = re.compile(_NAME)

_RELATIVE = re.compile(r"\$now\s*([-+])\s*(\d+)\s*([A-Za-z]*)")
_UNITS = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_UNIT_LIST = "s, m, h, d, w"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RANDOM_INT_MAX = 1000

_FIRST_NAMES = (
    "Ada",
    "Alan",
    "Barbara",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "John",
    "Katherine",
    "Linus",
    "Margaret",
    "Radia",
    "Tim",
)
_LAST_NAMES = (
    "Allen",
    "Berners-Lee",
    "Dijkstra",
    "Hamilton",
    "Hopper",
    "Johnson",
    "Knuth",
    "Lamarr",
    "Liskov",
    "Lovelace",
    "McCarthy",
    "Perlman",
    "Torvalds",
    "Turing",
)

_EVENT_INDEX = re.compile(r"^(?:batch)?\[(\d+)\]")

# Strings, numbers, booleans and null are immutable, so a copy may share them.
_SCALARS = (str, int, float, bool, type(None))


class UnknownBuiltin(ValueError):
    """A `$` expression that is not a built-in value, or a relative time that does not parse."""


@dataclass(frozen=True)
class Unresolved:
    """A placeholder left in place because it has no value."""

    path: str
    name: str
    reason: str


@dataclass
class Resolution:
    """The resolved copy of a value and what happened on the way."""

    value: Any
    unresolved: list[Unresolved]
    used: set[str]


def _unknown_builtin_reason(expression: str) -> str:
    return (
        f"'{expression}' is not a built-in value; built-ins are {', '.join(BUILTINS)}, "
        "and relative times such as $now - 2h"
    )


def _is_relative_attempt(expression: str) -> bool:
    rest = expression[len("$now") :]
    return expression.startswith("$now") and bool(rest) and rest.lstrip()[:1] in ("+", "-")


def _format_iso(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    # Always milliseconds, unlike timestamps.format_rfc3339: a fixed width reads better in a
    # preview that re-renders. isoformat, not strftime, pads years before 1000 to four digits.
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Dynamic:
    """Source of built-in values; clock and random source are injectable for tests."""

    def __init__(
        self,
        now: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        counter_start: int = 1,
    ) -> None:
        self._now = now or _utc_now
        # Not cryptographic: these are test data, and a seedable source makes them reproducible.
        self._rng = rng or random.Random()
        self._counter = counter_start

    def value(self, expression: str) -> Any:
        """The value of a built-in such as `$uuid` or `$now - 2h`; raises `UnknownBuiltin`."""
        expression = expression.strip()
        if expression == "$uuid":
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        if expression == "$now":
            return _format_iso(self._now())
        if expression == "$timestamp":
            moment = self._now()
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            # Integer arithmetic: a float of seconds loses the last millisecond now and then.
            return (moment - _EPOCH) // timedelta(milliseconds=1)
        if expression == "$random_int":
            return self._rng.randint(0, _RANDOM_INT_MAX)
        if expression == "$random_email":
            first, last = self._pick_name()
            number = self._rng.randint(1, 99)
            return f"{first}.{last}{number}@example.com".lower()
        if expression == "$random_name":
            first, last = self._pick_name()
            return f"{first} {last}"
        if expression == "$counter":
            count = self._counter
            self._counter += 1
            return count
        if _is_relative_attempt(expression):
            return self._relative(expression)
        raise UnknownBuiltin(_unknown_builtin_reason(expression))

    def _pick_name(self) -> tuple[str, str]:
        return self._rng.choice(_FIRST_NAMES), self._rng.choice(_LAST_NAMES)

    def _relative(self, expression: str) -> str:
        match = _RELATIVE.fullmatch(expression)
        if match is None:
            raise UnknownBuiltin(
                f"'{expression}': write $now, + or -, a whole number and a unit "
                f"({_UNIT_LIST}), e.g. $now - 2h"
            )
        sign, amount, unit = match.groups()
        if not unit:
            raise UnknownBuiltin(
                f"'{expression}': add a unit ({_UNIT_LIST}), e.g. {expression.rstrip()}h"
            )
        if unit not in _UNITS:
            raise UnknownBuiltin(f"'{expression}': units are {_UNIT_LIST}")
        try:
            offset = int(amount) * _UNITS[unit]
            moment = self._now() + (offset if sign == "+" else -offset)
        except (OverflowError, ValueError):
            raise UnknownBuiltin(
                f"'{expression}': that is further from now than a timestamp can reach"
            ) from None
        return _format_iso(moment)


# A location is built lazily as a chain of (parent, key or index) so that the common case, a
# value with no placeholders, never pays for formatting paths.
_Location: TypeAlias = "tuple[_Location, str | int] | str"


def _path_of(location: _Location) -> str:
    parts: list[str | int] = []
    while isinstance(location, tuple):
        location, part = location
        parts.append(part)
    path = location
    for part in reversed(parts):
        path = index(path, part) if isinstance(part, int) else key(path, part)
    return path


def _needs_work(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value
    return not isinstance(value, _SCALARS)


def _text_form(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return dumps_compact(value).decode()
    except TypeError:
        # Not a JSON value (a caller passed something exotic); its own text is the best guess.
        return str(value)


class _Run:
    """The state of one resolve() call."""

    def __init__(self) -> None:
        self.unresolved: list[Unresolved] = []
        self.used: set[str] = set()


class Resolver:
    """Replaces placeholders using workspace variables and a `Dynamic` for built-ins."""

    def __init__(
        self,
        variables: Mapping[str, Any],
        dynamic: Dynamic | None = None,
        memo: dict[tuple[str, str], Any] | None = None,
    ) -> None:
        self._variables = variables
        self._dynamic = dynamic or Dynamic()
        self._memo = memo

    def resolve(self, value: Any, path: str = "") -> Resolution:
        """A deep copy of `value` with placeholders replaced; the input is never changed."""
        run = _Run()
        root: list[Any] = [None]
        # Iterative so that documents nested deeper than Python's recursion limit still work;
        # children are pushed in reverse so they are handled in document order, which keeps
        # $counter and the unresolved list in reading order.
        stack: list[tuple[Any, Any, Any, _Location]] = [(root, 0, value, path)]
        while stack:
            target, slot, node, location = stack.pop()
            if isinstance(node, str):
                target[slot] = self._string(node, location, run) if "{{" in node else node
            elif isinstance(node, dict):
                # Filled in order first so that replacing some entries keeps the key order.
                new_dict = dict(node)
                target[slot] = new_dict
                for child_key, child in reversed(node.items()):
                    if _needs_work(child):
                        stack.append((new_dict, child_key, child, (location, child_key)))
            elif isinstance(node, list):
                new_list = list(node)
                target[slot] = new_list
                for i in range(len(node) - 1, -1, -1):
                    child = node[i]
                    if _needs_work(child):
                        stack.append((new_list, i, child, (location, i)))
            elif isinstance(node, _SCALARS):
                target[slot] = node
            else:
                target[slot] = copy.deepcopy(node)
        return Resolution(root[0], run.unresolved, run.used)

    def _string(self, text: str, location: _Location, run: _Run) -> Any:
        whole = _PLACEHOLDER.fullmatch(text)
        if whole is not None:
            expression = whole.group(1)
            path = _path_of(location)
            found, result = self._lookup(expression, path, expression, run)
            if found:
                return result
            run.unresolved.append(Unresolved(path, expression, result))
            return text
        if _PLACEHOLDER.search(text) is None:
            return text
        path = _path_of(location)
        occurrences: dict[str, int] = {}

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            seen = occurrences.get(expression, 0)
            occurrences[expression] = seen + 1
            memo_key = expression if seen == 0 else f"{expression}#{seen}"
            found, result = self._lookup(expression, path, memo_key, run)
            if found:
                return _text_form(result)
            # The same placeholder twice in one string is one problem, not two.
            if seen == 0:
                run.unresolved.append(Unresolved(path, expression, result))
            return match.group(0)

        return _PLACEHOLDER.sub(replace, text)

    def _lookup(self, expression: str, path: str, memo_key: str, run: _Run) -> tuple[bool, Any]:
        """(True, value) or (False, the reason there is none)."""
        if not expression.startswith("$"):
            if expression in self._variables:
                run.used.add(expression)
                # A copy, so that changing the resolved body never changes the variable.
                return True, copy.deepcopy(self._variables[expression])
            return False, self._missing_reason(expression)
        if self._memo is not None and (path, memo_key) in self._memo:
            return True, self._memo[(path, memo_key)]
        try:
            result = self._dynamic.value(expression)
        except UnknownBuiltin as exc:
            return False, str(exc)
        if self._memo is not None:
            self._memo[(path, memo_key)] = result
        return True, result

    def _missing_reason(self, name: str) -> str:
        reason = f"no variable named '{name}'"
        folded = name.casefold()
        near = [other for other in self._variables if other.casefold() == folded]
        if near:
            reason += f" (names are case-sensitive; there is '{near[0]}')"
        return reason


def has_placeholders(value: Any) -> bool:
    """Whether any string value holds a well-formed placeholder; keys are not looked at."""
    if isinstance(value, str):
        return "{{" in value and _PLACEHOLDER.search(value) is not None
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        for child in children:
            if isinstance(child, str):
                # The substring test rules out almost every string before the regex runs.
                if "{{" in child and _PLACEHOLDER.search(child) is not None:
                    return True
            elif isinstance(child, dict | list):
                stack.append(child)
    return False


def placeholders(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, expression) for every well-formed placeholder, in document order."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[Any, _Location]] = [(value, path)]
    while stack:
        node, location = stack.pop()
        if isinstance(node, str):
            if "{{" in node:
                matches = [m.group(1) for m in _PLACEHOLDER.finditer(node)]
                if matches:
                    node_path = _path_of(location)
                    found.extend((node_path, expression) for expression in matches)
        elif isinstance(node, dict):
            for child_key, child in reversed(node.items()):
                stack.append((child, (location, child_key)))
        elif isinstance(node, list):
            for i in range(len(node) - 1, -1, -1):
                stack.append((node[i], (location, i)))
    return found


_ASSIGNMENT_HELP = (
    "write name=value for text, or name:=json for a number, true/false, null, a list or an "
    "object (e.g. plan=pro or seats:=5)"
)


def parse_assignment(text: str) -> tuple[str, Any]:
    """Read a `--var` argument: `name=value` gives a string, `name:=json` a parsed JSON value."""
    name, equals, raw = text.partition("=")
    if not equals:
        raise ValueError(f"'{text}' has no '=': {_ASSIGNMENT_HELP}")
    is_json = name.endswith(":")
    if is_json:
        name = name[:-1]
    if not _VARIABLE_NAME.fullmatch(name):
        raise ValueError(
            f"'{name}' is not a variable name: a name starts with a letter or _ and goes on with "
            f"letters, digits, _, . or -; {_ASSIGNMENT_HELP}"
        )
    if not is_json:
        return name, raw
    try:
        return name, loads(raw)
    except JsonSyntaxError as exc:
        raise ValueError(
            f"the value of {name} after ':=' is not JSON ({exc}); "
            f"for text write {name}={raw}, for JSON text quote it: {name}:='\"...\"'"
        ) from None


def _event_index(path: str) -> int | None:
    match = _EVENT_INDEX.match(path)
    return int(match.group(1)) if match else None


def _fix_for(item: Unresolved) -> str:
    if not item.name.startswith("$"):
        return (
            f"Define {item.name} in the workspace variables (Templates → Variables…) "
            f"or pass --var {item.name}=VALUE on the command line."
        )
    if _is_relative_attempt(item.name):
        return (
            f"Write a relative time as $now, + or -, a whole number and a unit ({_UNIT_LIST}), "
            "e.g. {{$now - 2h}} or {{$now + 30m}}."
        )
    fix = (
        f"Use one of the built-in values {', '.join(BUILTINS)}, or a relative time such as "
        "$now - 2h."
    )
    bare = item.name[1:]
    if _VARIABLE_NAME.fullmatch(bare):
        fix += f" For a workspace variable, leave out the $: {{{{{bare}}}}}."
    return fix


def unresolved_findings(unresolved: Sequence[Unresolved]) -> list[Finding]:
    """One error finding per unresolved placeholder, in the order given."""
    findings: list[Finding] = []
    for item in unresolved:
        literal = "{{" + item.name + "}}"
        findings.append(
            Finding(
                severity=Severity.ERROR,
                code="variable.unresolved",
                path=item.path,
                message=(
                    f"{literal} has no value: {item.reason}. "
                    f'It would be sent as the literal text "{literal}".'
                ),
                fix=_fix_for(item),
                event_index=_event_index(item.path),
                stage=Stage.LOCAL,
            )
        )
    return findings
