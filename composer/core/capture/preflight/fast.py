"""A fast yes for ordinary events: no rule of the full check would say anything about them.

Batches are mostly plain, valid events. This test proves that in about a microsecond for an
event whose every field is of the ordinary kind; anything unusual (a special event name, a
token inside the event, an unexpected key, an odd timestamp) goes to the full rules instead.
`tests/test_preflight_fast.py` checks that a yes here always means no finding there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import product
from typing import Any

from composer.core.capture.identifiers import ILLEGAL_LOWER, UUID_CANONICAL, rust_trim
from composer.core.capture.property_types import MONTH_STARTS, may_trap, text_trap
from composer.core.capture.timestamps import FUTURE_LIMIT
from composer.core.persons.jsvalues import js_trim

_PLAIN_KEYS = frozenset(
    {"event", "distinct_id", "properties", "timestamp", "uuid", "$set", "$set_once"}
)
# Property keys some rule looks at; events that carry them take the full path.
# ($heatmap_data: capture splits it off the event, preflight/heatmaps.py.)
_WATCHED_PROPS = frozenset(
    {"$cookieless_mode", "$process_person_profile", "$unset", "$heatmap_data"}
)
# Year 0001 to 9999, month 01-12, day 01-31, 00:00:00 to 23:59:59 (no leap second), a
# fraction of 1 to 9 digits (fromisoformat takes them all), UTC: stricter than the full
# rules ask, and what it refuses takes the full path, so the fast path stays exact.
_STAMP = re.compile(
    r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?:Z|\+00:00)\Z"
).match
# A distinct_id whose lower-case form PostHog never merges, or that starts or ends with a quote
# or white space, takes the full path.
_ILLEGAL_LOWER = ILLEGAL_LOWER
WARN_BYTES = 900 * 1024
_QUOTES = frozenset("'\"")


def future_limit(now: datetime) -> str:
    """Timestamps (UTC, ISO text) up to this string are not in the future by PostHog's rule."""
    return (now.astimezone(UTC) + FUTURE_LIMIT).strftime("%Y-%m-%dT%H:%M:%S")


def is_plain(ev: Any, size: int, limit: str, canonical_uuid: bool = False) -> bool:
    """True only when the full per-event rules would report nothing for `ev`.

    `canonical_uuid`: the caller has matched the event's uuid against the canonical form
    already (the streaming readers do, to decide what to derive), so it is not matched again."""
    if type(ev) is not dict or size > WARN_BYTES or not ev.keys() <= _PLAIN_KEYS:
        return False
    get = ev.get
    # Names and distinct_ids repeat across a batch: each one's verdict is worked out once
    # (only those of 200 characters or fewer are remembered; a longer one is never plain).
    name = get("event")
    if type(name) is not str:
        return False
    ok = _NAMES.get(name)
    if ok is None:
        ok = _judged(_NAMES, name, _plain_name)
    if not ok:
        return False
    did = get("distinct_id")
    if type(did) is not str:
        return False
    ok = _IDS.get(did)
    if ok is None:
        ok = _judged(_IDS, did, _plain_id)
    if not ok:
        return False
    props = get("properties")
    if type(props) is not dict and (props is not None or "properties" in ev):
        return False  # "properties": null is refused, and so is anything but an object
    top_set = get("$set")
    top_once = get("$set_once")
    if top_set is not None and (type(top_set) is not dict or _has_typed_text(top_set)):
        return False
    if top_once is not None and (type(top_once) is not dict or _has_typed_text(top_once)):
        return False
    if props is not None:
        if not _WATCHED_PROPS.isdisjoint(props) or _has_typed_text(props):
            return False
        if "$groups" in props:
            groups = props["$groups"]
            if type(groups) is not dict:
                return False
            for value in groups.values():
                if type(value) is not str:
                    return False
        if "$set" in props or "$set_once" in props:
            for field, top in (("$set", top_set), ("$set_once", top_once)):
                if field not in props:
                    continue
                inner = props[field]
                if type(inner) is not dict or (top is not None and inner.keys() & top.keys()):
                    return False
                if _has_typed_text(inner):
                    return False
    stamp = get("timestamp")
    if stamp is not None:
        # RFC 3339 in UTC with seconds: the only form the full rules have nothing to say about.
        # One match for the shape and the ranges of its fields; a stamp in the limit's own
        # second or after goes to the full rules, which compare the fraction too; and a day
        # past the 28th may be one its month lacks (February 30), which fromisoformat tells.
        if type(stamp) is not str or _STAMP(stamp) is None or stamp[:19] >= limit:
            return False
        if stamp[8:10] > "28":
            try:
                datetime.fromisoformat(stamp)
            except ValueError:
                return False
    if canonical_uuid:
        return True
    uid = get("uuid")
    return uid is None or (type(uid) is str and UUID_CANONICAL.match(uid) is not None)


_NAMES: dict[str, bool] = {}
_IDS: dict[str, bool] = {}
_REMEMBERED = 65_536


def _judged(verdicts: dict[str, bool], text: str, judge: Callable[[str], bool]) -> bool:
    verdict = judge(text)
    return _remember(verdicts, text, verdict) if len(text) <= 200 else verdict


def _remember(verdicts: dict[Any, bool], text: Any, verdict: bool) -> bool:
    if len(verdicts) >= _REMEMBERED:
        verdicts.clear()  # a file of a million distinct ids: start again, never grow
    verdicts[text] = verdict
    return verdict


def _plain_name(name: str) -> bool:
    return (
        bool(name)
        and len(name) <= 200
        and name[0] != "$"
        and not name[0].isspace()
        and not name[-1].isspace()
    )


def _plain_id(did: str) -> bool:
    return (
        bool(did)
        and len(did) <= 200
        and "\x00" not in did
        # Nothing any of the trims removes: Python's, capture's (Rust, Unicode White_Space)
        # and ingestion's (JavaScript, which also takes U+FEFF; a lone "\ufeff" is an id
        # PostHog never merges). Worked out once per id, so three looks cost nothing.
        and did == did.strip() == rust_trim(did) == js_trim(did)
        and did[0] not in _QUOTES
        and did[-1] not in _QUOTES
        and did.lower() not in _ILLEGAL_LOWER
    )


def _has_typed_text(values: dict[str, Any]) -> bool:
    """Some text value is a number, boolean or date sent as text (rules in value_types).

    may_trap is the cheap look that rules out most text; what it lets through (versions such
    as "1.2.3", ISO dates, ids that start with a digit) gets the exact rule, text_trap, so an
    ordinary event with such a value still takes the fast path. That verdict is remembered
    per key and text: a batch repeats its versions, plans and country codes on every event."""
    digitish, prefixes, known = _DIGITISH, _TRAP_PREFIXES, _TYPED
    for key, value in values.items():
        # may_trap's first look, inlined: most text starts with neither a digit nor a month
        # or a boolean, and costs a slice and a set lookup, not a call. The prefixes are
        # listed in every mix of case, so no lower() is made for them (no character outside
        # ASCII lowers to one of their letters).
        if value.__class__ is str and value and (value[0] in digitish or value[:3] in prefixes):
            verdict = known.get((key, value))
            if verdict is None:
                verdict = may_trap(value) and text_trap(key, value) is not None
                if len(value) <= _TYPED_CHARS and len(key) <= _TYPED_CHARS:
                    _remember(known, (key, value), verdict)
            if verdict:
                return True
    return False


# What may_trap lets through starts with a digit, - or ., or its first three characters
# lowered are a month's or begin true or false.
_DIGITISH = frozenset("-.0123456789")
_TRAP_PREFIXES = frozenset(
    "".join(c.upper() if bit else c for c, bit in zip(word, bits, strict=True))
    for word in (*MONTH_STARTS, "tru", "fal")
    for bits in product((0, 1), repeat=3)
)
_TYPED: dict[Any, bool] = {}  # (key, text) -> text_trap finds something
_TYPED_CHARS = 100
