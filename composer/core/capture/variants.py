"""Which variant of capture's untagged `RawRequest` a body deserializes as.

`RawRequest` is `#[serde(untagged)]`: Array(Vec<RawEvent>), then Batch(BatchedRequest), then
One(RawEvent), then Engage(RawEngageEvent), the first that fits wins (v0_request.rs @f12243d,
and the Engage variant in the stored version with `events(path)`, index id 287290415; no newer
v0_request.rs is in the index). /engage turning an object without `event` into `$identify` is
test-confirmed (tests/integration_engage_endpoint.rs @037988e); `"event": null` itself is
covered by no PostHog test, so that case rests on the serde semantics below (the research
note's structural model reproduced it). When none fits, the reply is the
untagged text, which names no field. When Engage is the one that fits, `events(path)` turns it
into a `$identify` event on /engage and refuses it everywhere else with the hydration error
("non-engage request missing event name attribute").

`RawEngageEvent` is `RawEvent` without `event` ("missing event name is the only difference";
rust/common/types/src/event.rs @024dbbe) and without `deny_unknown_fields`, so an object whose
`event` is null, a number or repeated still fits Engage, as does a batch envelope whose items
do not fit (its `batch`, `sent_at` and `historical_migration` are unknown keys to Engage).
`BatchedRequest` has `token` (alias `api_key`, required, a string), `historical_migration`
(bool or null), `sent_at` (string or null) and `batch` (an array of RawEvent): `$token` is not
one of its names.

Only the one object that might be read as Engage is type-checked here; whether Batch or One
fit is known from the rules' own findings (the type errors they report).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from composer.core.capture import identifiers

ENGAGE_TOKEN_FIELDS = ("api_key", "token", "$token")
ENVELOPE_TOKEN_FIELDS = ("api_key", "token")
_I64 = (-(2**63), 2**63 - 1)
# RawEngageEvent's fields, as serde names them; a field given twice is a serde error.
_ENGAGE_FIELDS = (
    ("token", ENGAGE_TOKEN_FIELDS),
    ("distinct_id", ("distinct_id", "$distinct_id")),
    ("uuid", ("uuid",)),
    ("properties", ("properties",)),
    ("timestamp", ("timestamp",)),
    ("offset", ("offset",)),
    ("$set", ("$set",)),
    ("$set_once", ("$set_once",)),
)


def fits_engage(obj: dict[str, Any], repeated: Collection[str] = ()) -> bool:
    """Whether `obj` deserializes as RawEngageEvent; `repeated` are keys the text gives twice."""
    for _field, names in _ENGAGE_FIELDS:
        present = [n for n in names if n in obj]
        if len(present) > 1 or any(n in repeated for n in names):
            return False
    token = next((obj[n] for n in ENGAGE_TOKEN_FIELDS if n in obj), None)
    if token is not None and not isinstance(token, str):
        return False
    uuid = obj.get("uuid")
    if uuid is not None and (
        not isinstance(uuid, str) or (uuid != "" and identifiers.uuid_form(uuid) is None)
    ):
        return False
    if "properties" in obj and not isinstance(obj["properties"], dict):
        return False  # `#[serde(default)]` covers a missing map, not a null one
    timestamp = obj.get("timestamp")
    if timestamp is not None and not isinstance(timestamp, str):
        return False
    offset = obj.get("offset")
    if offset is not None and (
        isinstance(offset, bool) or not isinstance(offset, int) or not _I64[0] <= offset <= _I64[1]
    ):
        return False
    for name in ("$set", "$set_once"):
        value = obj.get(name)
        if value is not None and not isinstance(value, dict):
            return False
    return True


def envelope_token(envelope: dict[str, Any]) -> Any:
    """The value BatchedRequest reads as its token (None when it has none)."""
    return next((envelope[n] for n in ENVELOPE_TOKEN_FIELDS if n in envelope), None)
