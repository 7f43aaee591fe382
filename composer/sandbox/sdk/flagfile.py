"""The local flags file: which flags exist, what each one answers, and for whom.

A developer writes it by hand, so it is small and forgiving to read, and strict about what
PostHog itself could not express (the SDKs must evaluate it the same way PostHog would):

    {"flags": {
        "new-checkout": true,                         # on for everyone
        "old-banner": false,                          # exists, off for everyone
        "pricing": {"variant": "test",                # a multivariate flag, on with "test"
                    "payload": {"price": 10},         # the payload of that value
                    "variants": ["control", "test"]}, # optional: every variant it has
        "beta": {"enabled": false,
                 "overrides": {"alice": true}},      # per distinct id
        "layout": {"variant": "grid",
                   "overrides": {"bob": "list"},
                   "payloads": {"list": [1, 2]}}      # a payload per value ("true" or a variant)
    }}

YAML with the same shape works too. Every mistake is reported with where it is and how to fix
it, because the file is the developer's own and the sandbox is where they learn the rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from composer.core import jsonio

# A flag's value for one person: off, on, or on with a variant (PostHog's `FlagValue`, a bool or
# a string; rust/feature-flags/src/api/types.rs).
FlagValue = bool | str

# PostHog's own key rule for flags and variants (the flag editor refuses anything else), so a
# file that loads here is one that could be recreated in PostHog.
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_KEY_HINT = "use letters, digits, '-' and '_' only, as PostHog does"

# Distinct ids PostHog treats as a client bug (rust/capture/src/v1/analytics/constants.rs
# ILLEGAL_DISTINCT_IDS); an override for one of them could never meet a real person. "true" and
# "false" would also be read as booleans by the SDKs' exact-match filters.
ILLEGAL_DISTINCT_IDS = frozenset(
    {
        "0", "00000000-0000-0000-0000-000000000000", "[object object]", "anonymous",
        "anonymous-user", "backend", "distinct_id", "distinctid", "email", "false", "guest",
        "id", "nan", "none", "not_authenticated", "null", "system", "true", "undefined", "user",
    }
)  # fmt: skip

_FLAG_FIELDS = ("enabled", "variant", "payload", "payloads", "variants", "overrides", "description")


class FlagFileError(ValueError):
    """The flags file cannot be used; `str()` says where, what is wrong and how to fix it."""


@dataclass(frozen=True)
class Flag:
    """One flag as the sandbox serves it, remotely (/flags) and for local evaluation."""

    key: str
    id: int  # stable: the flag's position in the file, from 1
    default: FlagValue
    overrides: Mapping[str, FlagValue] = field(default_factory=dict)  # lower-cased distinct id
    payloads: Mapping[str, Any] = field(default_factory=dict)  # "true" or a variant -> JSON value
    variants: tuple[str, ...] = ()  # every variant, declared or used, in first-seen order
    description: str | None = None

    @property
    def multivariate(self) -> bool:
        return bool(self.variants)

    def value_for(self, distinct_id: str) -> FlagValue:
        # Case-insensitive, as PostHog's exact-match filter is (python feature_flags.py
        # `_match_exact_property`, @posthog/core `matchPropertyValue`): the local-evaluation
        # definitions match overrides that way, so remote answers must too.
        return self.overrides.get(distinct_id.lower(), self.default)

    def payload_for(self, value: FlagValue) -> Any | None:
        """The payload PostHog attaches to this value: none when off, else by value key."""
        if value is False:
            return None
        return self.payloads.get(value_key(value))

    def values(self) -> list[FlagValue]:
        """The default, then each distinct override value in first-seen order."""
        seen: list[FlagValue] = [self.default]
        for value in self.overrides.values():
            if value not in seen:
                seen.append(value)
        return seen


@dataclass(frozen=True)
class FlagSet:
    flags: tuple[Flag, ...] = ()

    def __len__(self) -> int:
        return len(self.flags)

    def __iter__(self) -> Iterator[Flag]:
        return iter(self.flags)

    def get(self, key: str) -> Flag | None:
        for flag in self.flags:
            if flag.key == key:
                return flag
        return None

    def keys(self) -> list[str]:
        return [flag.key for flag in self.flags]

    def evaluate(self, distinct_id: str) -> dict[str, FlagValue]:
        return {flag.key: flag.value_for(distinct_id) for flag in self.flags}


EMPTY = FlagSet()


def value_key(value: FlagValue) -> str:
    """How PostHog keys a payload: "true" for a boolean flag, else the variant's key.

    The SDKs look payloads up this way (python client.py `_compute_payload_locally`,
    @posthog/core `resolveFeatureFlagPayload`).
    """
    return "true" if value is True else str(value)


# -- reading -----------------------------------------------------------------------------------


def load_flags(text: str, *, filename: str | None = None) -> FlagSet:
    """Read a flags file (JSON, or YAML for a .yaml/.yml name or text that is not JSON)."""
    name = filename or "the flags file"
    data = _parse(text, filename, name)
    if data is None:
        return EMPTY
    if not isinstance(data, dict):
        raise FlagFileError(
            f'{name}: the file must be an object like {{"flags": {{"my-flag": true}}}}, '
            f"not {_kind(data)}"
        )
    unknown = [key for key in data if key != "flags"]
    if unknown:
        raise FlagFileError(
            f'{name}: unknown top-level key {unknown[0]!r}; put every flag under "flags", '
            f'as in {{"flags": {{"{unknown[0]}": true}}}}'
        )
    flags = data.get("flags")
    if flags is None:
        return EMPTY
    if not isinstance(flags, dict):
        raise FlagFileError(
            f'{name}: "flags" must be an object from flag key to value, not {_kind(flags)}'
        )
    items = enumerate(flags.items(), start=1)
    return FlagSet(tuple(_flag(name, key, spec, index) for index, (key, spec) in items))


def _parse(text: str, filename: str | None, name: str) -> Any:
    lowered = (filename or "").lower()
    as_yaml = lowered.endswith((".yaml", ".yml"))
    if not text.strip():
        return None
    if not as_yaml:
        try:
            return jsonio.loads(text)
        except jsonio.JsonSyntaxError as exc:
            if lowered.endswith(".json") or text.lstrip().startswith(("{", "[")):
                raise FlagFileError(
                    f"{name}: not valid JSON at line {exc.line}, column {exc.column}: {exc.message}"
                ) from None
    import yaml  # late: PyYAML is kept off the start-up path

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FlagFileError(f"{name}: not valid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise FlagFileError(f"{name}: not valid YAML: {exc}") from None


def _flag(name: str, key: Any, spec: Any, index: int) -> Flag:
    where = f"{name}: flag {key!r}"
    if not isinstance(key, str) or not _KEY.match(key):
        raise FlagFileError(f"{where}: not a valid flag key; {_KEY_HINT}")
    if isinstance(spec, bool):
        return Flag(key=key, id=index, default=spec)
    if isinstance(spec, str):
        raise FlagFileError(
            f'{where}: a bare string is ambiguous; write {{"variant": "{spec}"}} for a '
            'multivariate flag, or {"enabled": true, "payload": "..."} for a payload'
        )
    if not isinstance(spec, dict):
        raise FlagFileError(
            f'{where}: expected true, false or an object like {{"variant": "test"}}, '
            f"not {_kind(spec)}"
        )
    for field_name in spec:
        if field_name not in _FLAG_FIELDS:
            raise FlagFileError(
                f"{where}: unknown field {field_name!r}; a flag may have "
                + ", ".join(repr(f) for f in _FLAG_FIELDS)
            )
    variant = spec.get("variant")
    enabled = spec.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise FlagFileError(f'{where}: "enabled" must be true or false, not {_kind(enabled)}')
    if variant is not None:
        _check_variant(where, '"variant"', variant)
        if enabled is False:
            raise FlagFileError(
                f'{where}: "enabled": false with a "variant"; a flag with a variant is on. '
                'Remove the variant to turn it off, or move it to "overrides"'
            )
        default: FlagValue = variant
    else:
        default = True if enabled is None else enabled

    declared = spec.get("variants")
    variants: list[str] = []
    if declared is not None:
        if not isinstance(declared, list) or not declared:
            raise FlagFileError(f'{where}: "variants" must be a non-empty list of variant keys')
        for item in declared:
            _check_variant(where, '"variants"', item)
            if item in variants:
                raise FlagFileError(f'{where}: variant {item!r} is listed twice in "variants"')
            variants.append(item)

    overrides = _overrides(where, spec.get("overrides"))
    values = [default, *overrides.values()]
    for value in values:
        if isinstance(value, str) and value not in variants:
            if declared is not None:
                raise FlagFileError(
                    f'{where}: variant {value!r} is used but not listed in "variants"; add it there'
                )
            variants.append(value)
    if variants and True in values:
        raise FlagFileError(
            f"{where}: mixes true with variants ({', '.join(map(repr, variants))}). In PostHog "
            "a multivariate flag that is on always has a variant: use a variant name instead "
            "of true"
        )

    payloads = _payloads(where, spec, default, variants)
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        raise FlagFileError(f'{where}: "description" must be text')
    return Flag(
        key=key,
        id=index,
        default=default,
        overrides=overrides,
        payloads=payloads,
        variants=tuple(variants),
        description=description,
    )


def _check_variant(where: str, field_name: str, variant: Any) -> None:
    if not isinstance(variant, str) or not _KEY.match(variant):
        raise FlagFileError(
            f"{where}: {field_name} has an invalid variant {variant!r}; {_KEY_HINT}"
        )


def _overrides(where: str, raw: Any) -> dict[str, FlagValue]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FlagFileError(
            f'{where}: "overrides" must be an object from distinct id to value, like '
            '{"alice": true}'
        )
    overrides: dict[str, FlagValue] = {}
    for raw_id, value in raw.items():
        # YAML reads `42:` as a number; the SDKs send distinct ids as text.
        distinct_id = str(raw_id) if type(raw_id) is int else raw_id
        if not isinstance(distinct_id, str) or not distinct_id.strip():
            raise FlagFileError(f'{where}: "overrides" has an empty or non-text distinct id')
        if distinct_id.strip().lower() in ILLEGAL_DISTINCT_IDS:
            raise FlagFileError(
                f"{where}: override for distinct id {distinct_id!r}, which PostHog treats as "
                "a placeholder, not a person; use the real distinct id"
            )
        lowered = distinct_id.lower()
        if lowered in overrides:
            raise FlagFileError(
                f"{where}: distinct id {distinct_id!r} is overridden twice; PostHog matches "
                "distinct ids without regard to case"
            )
        if isinstance(value, bool):
            overrides[lowered] = value
        elif isinstance(value, str):
            _check_variant(where, f"override for {distinct_id!r}", value)
            overrides[lowered] = value
        else:
            raise FlagFileError(
                f"{where}: override for {distinct_id!r} must be true, false or a variant name, "
                f'not {_kind(value)}; payloads go in "payloads"'
            )
    return overrides


def _payloads(
    where: str, spec: Mapping[str, Any], default: FlagValue, variants: list[str]
) -> dict[str, Any]:
    payloads: dict[str, Any] = {}
    raw = spec.get("payloads")
    if raw is not None:
        if not isinstance(raw, dict):
            raise FlagFileError(
                f'{where}: "payloads" must be an object from value ("true" or a variant) to payload'
            )
        allowed = variants or ["true"]
        for value_name, payload in raw.items():
            if value_name not in allowed:
                raise FlagFileError(
                    f'{where}: "payloads" has {value_name!r}, which is not a value of this '
                    f"flag; use {' or '.join(map(repr, allowed))}"
                )
            if payload is not None:
                payloads[value_name] = payload
    if "payload" in spec and spec["payload"] is not None:
        if default is False:
            raise FlagFileError(
                f'{where}: "payload" on a flag that is off; PostHog sends no payload for an '
                'off flag. Put it in "payloads" under "true" for the overrides that turn it on'
            )
        name = value_key(default)
        if name in payloads and payloads[name] != spec["payload"]:
            raise FlagFileError(
                f'{where}: two payloads for {name!r} ("payload" and "payloads"); keep one'
            )
        payloads[name] = spec["payload"]
    for name, payload in payloads.items():
        # Round-trip through JSON so a YAML date or a tuple becomes what the SDKs will see.
        try:
            payloads[name] = jsonio.loads(jsonio.dumps_compact(payload))
        except (TypeError, ValueError):
            raise FlagFileError(
                f"{where}: the payload for {name!r} cannot be written as JSON"
            ) from None
    return payloads


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
