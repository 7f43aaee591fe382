"""The type PostHog gives a property the first time it sees it, and the values that trap users.

PostHog's property-definitions service decides a property's type from the first value it sees
and keeps it (PostHog/posthog `rust/property-defs-rs/src/types.rs`, `detect_property_type`):
a JSON number is Numeric, a JSON boolean or the text "true"/"false"/"TRUE"/"FALSE" is Boolean,
a text that reads as a date is DateTime, any other text is String. A number sent as text
("19.99") is therefore typed String for good, and sums, averages and "greater than" filters
do not work on it. This module follows those rules so the form and the check can say so first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any


class PropertyType(StrEnum):
    """PostHog's names, as its property definitions show them."""

    STRING = "String"
    NUMERIC = "Numeric"
    BOOLEAN = "Boolean"
    DATETIME = "DateTime"


# Keys PostHog always types String, whatever the first value looks like.
_STRING_PREFIXES = ("utm_", "$feature/", "$survey_response")
_STRING_KEYS = frozenset({"$feature_flag_response"})
_DATETIME_KEYWORDS = ("time", "timestamp", "date", "_at", "-at", "createdat", "updatedat")
_BOOLEAN_TEXT = frozenset({"true", "false", "TRUE", "FALSE"})
# property-defs-rs's DATETIME_PREFIX_REGEX: 2024-05-01 or 05/01/2024, optionally a time.
_DATE_PREFIX = re.compile(
    r"^(([0-9]{4}[/-][0-2][0-9][/-][0-3][0-9])|([0-2][0-9][/-][0-3][0-9][/-][0-9]{4}))"
    r"([ T][0-2][0-9]:[0-6][0-9]:[0-6][0-9].*)?\Z"
)
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")
_RFC2822 = re.compile(
    r"^(?:[A-Za-z]{3}, *)?\d{1,2} +[A-Za-z]{3} +\d{2,4} +\d{2}:\d{2}(?::\d{2})?"
    r" +(?:[+-]\d{4}|[A-Za-z]{1,3})\Z"
)
_SIX_MONTHS = 15_768_000  # seconds; property-defs-rs's SIX_MONTHS_AGO_SECS

# Text a person reads as a date that PostHog does not: typed String for good.
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_HUMAN_DATE = re.compile(
    r"^(?:"
    r"\d{1,2}[./]\d{1,2}[./]\d{2,4}"  # 01.05.2024, 1/5/2024
    r"|\d{4}[./-]\d{1,2}[./-]\d{1,2}"  # 2024.05.01, 2024-5-1
    rf"|(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?(?:{_MONTHS})[a-z]*\.?"  # 1st May, May
    r"(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?\s+\d{4}"  # May 1, 2024
    r")(?:[ T,]+\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?"  # an optional time
    r"\s*(?:[AaPp][Mm])?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?)?\Z",
    re.IGNORECASE,
)

_INT = re.compile(r"^-?(0|[1-9]\d*)\Z")
_FLOAT = re.compile(r"^-?(0|[1-9]\d*)?(\.\d+)?([eE][+-]?\d+)?\Z")
# Digits in a number JSON keeps exactly; longer ones are identifiers, not amounts.
_EXACT_DIGITS = 15
# Text that is digits but names something (an id, a code, a phone number) is right as text.
_IDENTIFIER_WORDS = (
    "id",
    "ids",
    "uuid",
    "key",
    "code",
    "zip",
    "zipcode",
    "postcode",
    "postal_code",
    "phone",
    "sku",
    "version",
    "ref",
    "hash",
    "token",
    "number",
    "no",
    "pin",
    "iban",
    "account",
)
_ID_LOOKALIKES = frozenset({"paid", "unpaid", "prepaid", "valid", "invalid", "hybrid", "android"})
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


# A batch repeats its property keys on every event: what a key says is worked out once
# (names_a_thing's regexes were 70% of the typed-text check of an event with a "1.2.3").
# Only ordinary keys are remembered, so the memory held stays small whatever a file holds.
KEYS_REMEMBERED = 4096
KEY_REMEMBERED_CHARS = 100


def always_string(key: str) -> bool:
    return _always_string_kept(key) if len(key) <= KEY_REMEMBERED_CHARS else _always_string(key)


def names_a_thing(key: str) -> bool:
    """An id, code or number-as-name key: digits in it are meant as text."""
    return _names_a_thing_kept(key) if len(key) <= KEY_REMEMBERED_CHARS else _names_a_thing(key)


def _always_string(key: str) -> bool:
    lowered = key.lower()
    return lowered in _STRING_KEYS or lowered.startswith(_STRING_PREFIXES)


def is_likely_date_text(text: str) -> bool:
    """property-defs-rs's `is_likely_date_string`: RFC 3339, RFC 2822 or its date prefix."""
    if _DATE_PREFIX.match(text) or _RFC3339.match(text):
        return True
    return bool(_RFC2822.match(text))


def posthog_type(key: str, value: Any, now: datetime | None = None) -> PropertyType | None:
    """The type PostHog gives `key` when `value` is the first value it sees (None: untyped)."""
    if always_string(key):
        return PropertyType.STRING
    lowered = key.lower()
    if any(word in lowered for word in _DATETIME_KEYWORDS):
        if isinstance(value, str) and is_likely_date_text(value):
            return PropertyType.DATETIME
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= 0
            and value >= _unix_now(now) - _SIX_MONTHS
        ):
            return PropertyType.DATETIME
    if isinstance(value, bool):
        return PropertyType.BOOLEAN
    if isinstance(value, int | float):
        return PropertyType.NUMERIC
    if isinstance(value, str):
        text = value.strip()
        if text in _BOOLEAN_TEXT:
            return PropertyType.BOOLEAN
        if is_likely_date_text(text):
            return PropertyType.DATETIME
        return PropertyType.STRING
    return None


def _unix_now(now: datetime | None) -> int:
    return int((now or datetime.now().astimezone()).timestamp())


class Trap(StrEnum):
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"


@dataclass(frozen=True, slots=True)
class TextTrap:
    """A text value that reads as something else; `value` is what it should be sent as."""

    kind: Trap
    value: Any
    posthog: PropertyType


def _names_a_thing(key: str) -> bool:
    words = [w for w in _NOT_WORD.split(_CAMEL.sub(r"\1_\2", key).lower()) if w]
    if not words:
        return False
    last = words[-1]
    if last in _IDENTIFIER_WORDS:
        return True
    # "userid", "sessionid": one word that ends in id, but not the English words that do.
    return len(words) == 1 and last.endswith("id") and last not in _ID_LOOKALIKES


_always_string_kept = lru_cache(maxsize=KEYS_REMEMBERED)(_always_string)
_names_a_thing_kept = lru_cache(maxsize=KEYS_REMEMBERED)(_names_a_thing)


def number_in(text: str) -> int | float | None:
    """The number `text` spells, when sending it as a number keeps it exactly."""
    if not text or text[0] not in "-.0123456789" or text != text.strip():
        return None
    if _INT.match(text):
        digits = text.lstrip("-")
        return int(text) if len(digits) <= _EXACT_DIGITS else None
    if not _FLOAT.match(text) or text in ("-", ".", "-.") or text[-1] in "eE":
        return None
    mantissa = re.split("[eE]", text.lstrip("-"), maxsplit=1)[0]
    if mantissa.startswith("."):
        return None  # ".5" is not a JSON number; a person meant it, but say nothing odd
    if len(mantissa.replace(".", "")) > _EXACT_DIGITS:
        return None
    value = float(text)
    return value if value not in (float("inf"), float("-inf")) else None


def text_trap(key: str, text: str) -> TextTrap | None:
    """What is wrong with sending `text` as text for `key`, or None when text is right."""
    if not text or always_string(key):
        return None
    first = text[0]
    if first in "-.0123456789":
        if not names_a_thing(key):
            number = number_in(text)
            if number is not None:
                return TextTrap(Trap.NUMBER, number, PropertyType.STRING)
        if first != "." and _HUMAN_DATE.match(text) and not is_likely_date_text(text):
            return TextTrap(Trap.DATE, None, PropertyType.STRING)
        return None
    lowered = text.lower()
    if lowered in ("true", "false"):
        typed = PropertyType.BOOLEAN if text in _BOOLEAN_TEXT else PropertyType.STRING
        return TextTrap(Trap.BOOLEAN, lowered == "true", typed)
    if lowered[:3] in MONTH_STARTS and _HUMAN_DATE.match(text):
        return TextTrap(Trap.DATE, None, PropertyType.STRING)
    return None


MONTH_STARTS = frozenset(_MONTHS.split("|"))
_FIRST_CHARS = frozenset("-.0123456789")


def may_trap(text: str) -> bool:
    """A cheap first look: False means `text_trap` finds nothing, for any key."""
    if not text:
        return False
    return (
        text[0] in _FIRST_CHARS
        or text[:3].lower() in MONTH_STARTS
        or (len(text) in (4, 5) and text.lower() in ("true", "false"))
    )
