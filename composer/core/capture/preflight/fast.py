"""A fast yes for ordinary events: no rule of the full check would say anything about them.

Batches are mostly plain, valid events. This test proves that in about a microsecond for an
event whose every field is of the ordinary kind; anything unusual (a special event name, a
token inside the event, an unexpected key, an odd timestamp) goes to the full rules instead.
`tests/test_preflight_fast.py` checks that a yes here always means no finding there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import product
from typing import Any

from composer.core.capture.identifiers import ILLEGAL_LOWER
from composer.core.capture.property_types import MONTH_STARTS, may_trap, text_trap
from composer.core.capture.timestamps import FUTURE_LIMIT

_PLAIN_KEYS = frozenset(
    {"event", "distinct_id", "properties", "timestamp", "uuid", "$set", "$set_once"}
)
# Property keys some rule looks at; events that carry them take the full path.
# ($heatmap_data: capture splits it off the event, preflight/heatmaps.py.)
_WATCHED_PROPS = frozenset(
    {"$cookieless_mode", "$process_person_profile", "$unset", "$heatmap_data"}
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
# A stricter shape than the full rules ask (a fraction of digits only): what it refuses takes
# the full path, so the fast path stays exact.
_STAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|\+00:00)\Z"
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
    if type(ev) is not dict or not ev.keys() <= _PLAIN_KEYS or size > WARN_BYTES:
        return False
    name = ev.get("event")
    if type(name) is not str or len(name) > 200:  # too long: never remembered, never plain
        return False
    # Names and distinct_ids repeat across a batch: each one's verdict is worked out once.
    ok = _NAMES.get(name)
    if ok is None:
        ok = _remember(_NAMES, name, _plain_name(name))
    if not ok:
        return False
    did = ev.get("distinct_id")
    if type(did) is not str or len(did) > 200:
        return False
    ok = _IDS.get(did)
    if ok is None:
        ok = _remember(_IDS, did, _plain_id(did))
    if not ok:
        return False
    props = ev.get("properties")
    if props is None and "properties" in ev:
        return False  # "properties": null is refused
    top_set = ev.get("$set")
    top_once = ev.get("$set_once")
    if top_set is not None and (type(top_set) is not dict or _has_typed_text(top_set)):
        return False
    if top_once is not None and (type(top_once) is not dict or _has_typed_text(top_once)):
        return False
    if props is not None:
        if type(props) is not dict or not _WATCHED_PROPS.isdisjoint(props):
            return False
        if _has_typed_text(props):
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
    stamp = ev.get("timestamp")
    if stamp is not None:
        # RFC 3339 in UTC with seconds: the only form the full rules have nothing to say about.
        # One match (not ten comparisons of characters) for the shape; fromisoformat for real
        # dates and times (no February 30, no hour 25).
        if type(stamp) is not str or _STAMP(stamp) is None or stamp[:19] > limit:
            return False
        try:
            datetime.fromisoformat(stamp)
        except ValueError:
            return False
    if canonical_uuid:
        return True
    uid = ev.get("uuid")
    return uid is None or (type(uid) is str and _UUID.match(uid) is not None)


_NAMES: dict[str, bool] = {}
_IDS: dict[str, bool] = {}
_REMEMBERED = 65_536


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
        # str.strip (like PostHog's Rust trim) removes any Unicode space, not just ASCII.
        and not did[0].isspace()
        and not did[-1].isspace()
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
