"""A body read the way PostHog reads it, for the SDK snippets: one `SdkEvent` per event.

An SDK call does not take a body: it takes an event name, a distinct id, properties, a
timestamp and a uuid, and writes the rest itself. This module reads each event of a body into
those parts exactly as PostHog's capture service would (the distinct id from the top level,
`$distinct_id` or the properties; a top-level `$set` merged into the properties' own), and
says what an SDK call cannot carry (a top-level `offset`, unknown top-level keys, a uuid that is
not one, an unreadable timestamp, an envelope's `sent_at`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from composer.core.capture import bodies, endpoints
from composer.core.capture.identifiers import canonical_uuid, stringify_distinct_id
from composer.core.capture.parse import BodyShape, classify
from composer.core.capture.timestamps import TimestampForm, parse_timestamp
from composer.core.jsonio import JsonObject
from composer.core.snippets.model import KEY_SENTINEL, Notes

# The top-level fields of an event that PostHog reads and an SDK call can carry.
CARRIED = frozenset(
    {"event", "distinct_id", "$distinct_id", "properties", "$set", "$set_once", "timestamp", "uuid"}
)
JS_SAFE_INTEGER = 2**53 - 1


@dataclass
class SdkEvent:
    """One event as an SDK call takes it."""

    index: int
    name: str
    distinct_id: str | None  # None: PostHog refuses the event (it has none)
    properties: JsonObject  # as PostHog stores them: a top-level $set / $set_once merged in
    raw_properties: JsonObject  # the event's own properties object, unmerged
    set: JsonObject | None  # the top-level $set
    set_once: JsonObject | None
    timestamp: datetime | None  # aware UTC; None: the SDK's own time
    timestamp_text: str | None  # as composed
    uuid: str | None  # canonical; None: the SDK makes one
    distinct_id_in_properties: bool = False  # the event carries properties.distinct_id

    @property
    def label(self) -> str:
        return f"event {self.index + 1} ({self.name})"


@dataclass
class SdkBody:
    events: list[SdkEvent] = field(default_factory=list)
    historical_migration: bool = False
    notes: Notes = field(default_factory=Notes)


def read_body(body: Any, endpoint: str) -> SdkBody:
    """The events of `body` as SDK calls take them, and notes on what they leave out."""
    out = SdkBody()
    shape, items, _paths = classify(body)
    if shape is BodyShape.INVALID:
        out.notes.add("The body is not an event, an array or a batch: there is nothing to send.")
        return out
    if shape is BodyShape.ENGAGE or (endpoints.is_engage(endpoint) and shape is BodyShape.ONE):
        out.notes.add(
            "The body is an /engage/ person update without an event name; SDKs have no call for"
            " it. Compose it as a $set or Identify payload instead."
        )
        return out
    if shape is BodyShape.BATCH and isinstance(body, dict):
        if body.get("historical_migration") is True:
            out.historical_migration = True
        if "sent_at" in body:
            out.notes.add(
                "The envelope's sent_at is not sent: the SDK writes its own (the time it sends),"
                " and PostHog moves each timestamp by the difference to its clock."
            )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            out.notes.add(f"Item {index + 1} of the body is not an object; it is left out.")
            continue
        event = _read_event(index, item, out.notes)
        if event is not None:
            out.events.append(event)
    return out


def _read_event(index: int, item: JsonObject, notes: Notes) -> SdkEvent | None:
    name = item.get("event")
    if not isinstance(name, str) or not name:
        notes.add(
            f"Item {index + 1} has no event name (PostHog refuses the whole request for it);"
            " it is left out."
        )
        return None
    label = f"event {index + 1} ({name})"
    props_value = item.get("properties")
    raw: JsonObject = dict(props_value) if isinstance(props_value, dict) else {}
    if "properties" in item and not isinstance(props_value, dict):
        notes.add(f"The properties of {label} are not an object; PostHog ignores them, as the SDK.")
    if raw.get("token") == KEY_SENTINEL:
        del raw["token"]  # the SDK carries the key itself
    top_id = item.get("distinct_id", item.get("$distinct_id"))
    if top_id is None:
        top_id = raw.get("distinct_id")
    distinct_id = None if top_id is None else stringify_distinct_id(top_id)
    if distinct_id is None:
        notes.add(
            f"{label} has no distinct_id: PostHog refuses the request, while the SDK sends it"
            " without one (a personless event, or an error)."
        )
    if "$distinct_id" in item and "distinct_id" not in item:
        notes.add(f"{label}: $distinct_id is passed as the SDK's distinct id.")
    merged = dict(raw)
    sets: dict[str, JsonObject | None] = {"$set": None, "$set_once": None}
    for field_name in sets:
        top = item.get(field_name)
        if isinstance(top, dict):
            sets[field_name] = top
            inner = merged.get(field_name)
            combined = dict(inner) if isinstance(inner, dict) else {}
            combined.update(top)  # the top-level value wins on a clash, as in PostHog
            merged[field_name] = combined
        elif field_name in item:
            notes.add(f"{label}: the top-level {field_name} is not an object; PostHog ignores it.")
    timestamp, timestamp_text = _timestamp(item, label, notes)
    event_uuid = _uuid(item, label, notes)
    for extra in item:
        if extra in CARRIED or extra in bodies.TOKEN_FIELDS:
            continue
        if extra == "offset":
            notes.add(
                f"{label}: the top-level offset (PostHog sets the time to its receive time minus"
                " it) cannot be given to an SDK call; it is left out."
            )
        else:
            notes.add(
                f"{label}: the top-level {extra!r} is left out; PostHog ignores it too (only"
                " properties are kept)."
            )
    return SdkEvent(
        index=index,
        name=name,
        distinct_id=distinct_id,
        properties=merged,
        raw_properties=raw,
        set=sets["$set"],
        set_once=sets["$set_once"],
        timestamp=timestamp,
        timestamp_text=timestamp_text,
        uuid=event_uuid,
        distinct_id_in_properties="distinct_id" in raw,
    )


def _timestamp(item: JsonObject, label: str, notes: Notes) -> tuple[datetime | None, str | None]:
    raw = item.get("timestamp")
    if raw is None:
        return None, None
    if not isinstance(raw, str):
        notes.add(f"{label}: the timestamp is not a string; PostHog ignores it, as the SDK does.")
        return None, None
    parsed = parse_timestamp(raw)
    if parsed.value is None:
        notes.add(
            f"{label}: PostHog cannot read the timestamp {raw!r} and uses the time it receives"
            " the event; the SDK's own time is left in its place."
        )
        return None, raw
    if parsed.form is not TimestampForm.RFC3339:
        notes.add(
            f"{label}: the timestamp {raw!r} is written as PostHog reads it"
            f" ({parsed.value.isoformat()})."
        )
    return parsed.value, raw


def _uuid(item: JsonObject, label: str, notes: Notes) -> str | None:
    raw = item.get("uuid")
    if raw is None:
        return None
    if isinstance(raw, str) and raw:
        value = canonical_uuid(raw)
        if value is not None:
            return value
    notes.add(
        f"{label}: the uuid {raw!r} is not a UUID; PostHog would give the event a new one, and"
        " the SDK does the same."
    )
    return None


def big_integers(value: Any) -> bool:
    """Whether `value` holds an integer JavaScript numbers cannot hold exactly."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, bool):
            continue
        if isinstance(node, int) and abs(node) > JS_SAFE_INTEGER:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False
