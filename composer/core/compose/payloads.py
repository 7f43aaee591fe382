"""Payload kinds and how each becomes the event object PostHog's capture API expects.

A `Composition` is what a form holds. `build_event` turns it into the wire object; the
`composition_from_event` inverse reads any event object back without losing a key, which is what
lets the raw JSON editor and the forms follow each other.
"""

from __future__ import annotations

import copy
import uuid as uuidlib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from composer.core.jsonio import JsonObject


class PayloadKind(StrEnum):
    EVENT = "event"
    IDENTIFY = "identify"
    ALIAS = "alias"
    MERGE_DANGEROUSLY = "merge_dangerously"
    GROUP_IDENTIFY = "group_identify"
    SET = "set"
    SET_ONCE = "set_once"

    @property
    def event_name(self) -> str | None:
        """The fixed event name of a special kind; None for a plain capture event."""
        return _EVENT_NAMES.get(self)

    @property
    def label(self) -> str:
        return _LABELS[self]


_EVENT_NAMES = {
    PayloadKind.IDENTIFY: "$identify",
    PayloadKind.ALIAS: "$create_alias",
    PayloadKind.MERGE_DANGEROUSLY: "$merge_dangerously",
    PayloadKind.GROUP_IDENTIFY: "$groupidentify",
    PayloadKind.SET: "$set",
    PayloadKind.SET_ONCE: "$set_once",
}
_KIND_BY_EVENT = {name: kind for kind, name in _EVENT_NAMES.items()}
_LABELS = {
    PayloadKind.EVENT: "Event",
    PayloadKind.IDENTIFY: "Identify",
    PayloadKind.ALIAS: "Alias",
    PayloadKind.MERGE_DANGEROUSLY: "Merge dangerously",
    PayloadKind.GROUP_IDENTIFY: "Group identify",
    PayloadKind.SET: "Set person properties",
    PayloadKind.SET_ONCE: "Set person properties once",
}


class DistinctIdPlacement(StrEnum):
    """Where distinct_id goes. PostHog reads the top level first, then properties.distinct_id."""

    TOP = "top"
    PROPERTIES = "properties"
    BOTH = "both"
    OMIT = "omit"  # no distinct_id at all: PostHog answers 400, which is sometimes the point


# The top-level fields PostHog's capture service reads; anything else is dropped (contract §4.2).
MODELLED_TOP_LEVEL = (
    "event",
    "distinct_id",
    "properties",
    "$set",
    "$set_once",
    "timestamp",
    "uuid",
)


@dataclass
class Composition:
    """Everything one payload form holds. Values are JSON values, already typed."""

    kind: PayloadKind = PayloadKind.EVENT
    # The name, for PayloadKind.EVENT (special kinds have a fixed one). None leaves the key out,
    # which only raw JSON editing produces: PostHog refuses such a body, and the user may want
    # to see that.
    event: str | None = ""
    distinct_id: Any = ""
    distinct_id_placement: DistinctIdPlacement = DistinctIdPlacement.TOP
    properties: JsonObject = field(default_factory=dict)
    set: JsonObject | None = None  # top-level $set, as the tutorial writes it
    set_once: JsonObject | None = None
    anon_distinct_id: str | None = None  # $identify: the anonymous id to merge in
    alias: str | None = None  # $create_alias / $merge_dangerously
    group_type: str | None = None
    group_key: str | None = None
    group_set: JsonObject | None = None
    groups: JsonObject | None = None  # properties.$groups
    process_person_profile: bool | None = None  # properties.$process_person_profile
    timestamp: str | None = None
    uuid: str | None = None
    extra: JsonObject = field(default_factory=dict)  # top-level keys no form field holds

    @classmethod
    def new(cls, kind: PayloadKind = PayloadKind.EVENT, **values: Any) -> Composition:
        """A fresh composition with its own uuid, as the composer starts one."""
        values.setdefault("uuid", str(uuidlib.uuid4()))
        return cls(kind=kind, **values)

    def copy(self, **changes: Any) -> Composition:
        return replace(copy.deepcopy(self), **changes)

    @property
    def event_name(self) -> str | None:
        return self.kind.event_name or self.event


def build_event(c: Composition) -> JsonObject:
    """The event object for one composition, in a stable, readable key order."""
    event: JsonObject = {}
    if c.event_name is not None:
        event["event"] = c.event_name
    placement = c.distinct_id_placement
    if placement in (DistinctIdPlacement.TOP, DistinctIdPlacement.BOTH):
        event["distinct_id"] = c.distinct_id
    props: JsonObject = {}
    if placement in (DistinctIdPlacement.PROPERTIES, DistinctIdPlacement.BOTH):
        props["distinct_id"] = c.distinct_id
    if c.kind is PayloadKind.IDENTIFY and c.anon_distinct_id is not None:
        props["$anon_distinct_id"] = c.anon_distinct_id
    if c.kind in (PayloadKind.ALIAS, PayloadKind.MERGE_DANGEROUSLY) and c.alias is not None:
        props["alias"] = c.alias
    if c.kind is PayloadKind.GROUP_IDENTIFY:
        if c.group_type is not None:
            props["$group_type"] = c.group_type
        if c.group_key is not None:
            props["$group_key"] = c.group_key
        if c.group_set is not None:
            props["$group_set"] = c.group_set
    props.update(c.properties)
    if c.groups is not None:
        props["$groups"] = c.groups
    if c.process_person_profile is not None:
        props["$process_person_profile"] = c.process_person_profile
    if props:
        event["properties"] = props
    if c.set is not None:
        event["$set"] = c.set
    if c.set_once is not None:
        event["$set_once"] = c.set_once
    if c.timestamp is not None:
        event["timestamp"] = c.timestamp
    if c.uuid is not None:
        event["uuid"] = c.uuid
    for key, value in c.extra.items():
        if key not in event:
            event[key] = value
    return event


def kind_for_event_name(name: Any) -> PayloadKind:
    return (
        _KIND_BY_EVENT.get(name, PayloadKind.EVENT) if isinstance(name, str) else PayloadKind.EVENT
    )


def composition_from_event(event: JsonObject) -> Composition:
    """Read an event object into a composition; `build_event` gives back an equal object.

    Keys the forms have no field for, and fields of an unexpected type, stay in `extra` or in
    `properties` so that nothing the user wrote is lost.
    """
    source = dict(event)
    name = source.pop("event", None)
    kind = kind_for_event_name(name)
    c = Composition(kind=kind)
    if kind is PayloadKind.EVENT:
        if isinstance(name, str):
            c.event = name
        else:
            c.event = None
            if "event" in event:
                c.extra["event"] = name  # not a string: kept verbatim for build_event
    props: JsonObject = {}
    if isinstance(source.get("properties"), dict) and source["properties"]:
        props = dict(source.pop("properties"))
    # An empty or non-object "properties" stays in `extra`, written back exactly as it was.

    has_top = "distinct_id" in source
    top_id = source.pop("distinct_id", None)
    if has_top and "distinct_id" in props and props["distinct_id"] == top_id:
        c.distinct_id_placement = DistinctIdPlacement.BOTH
        props.pop("distinct_id")
        c.distinct_id = top_id
    elif has_top:
        c.distinct_id = top_id
    elif "distinct_id" in props:
        c.distinct_id_placement = DistinctIdPlacement.PROPERTIES
        c.distinct_id = props.pop("distinct_id")
    else:
        c.distinct_id_placement = DistinctIdPlacement.OMIT
        c.distinct_id = ""

    if kind is PayloadKind.IDENTIFY and isinstance(props.get("$anon_distinct_id"), str):
        c.anon_distinct_id = props.pop("$anon_distinct_id")
    if kind in (PayloadKind.ALIAS, PayloadKind.MERGE_DANGEROUSLY) and isinstance(
        props.get("alias"), str
    ):
        c.alias = props.pop("alias")
    if kind is PayloadKind.GROUP_IDENTIFY:
        if isinstance(props.get("$group_type"), str):
            c.group_type = props.pop("$group_type")
        if isinstance(props.get("$group_key"), str):
            c.group_key = props.pop("$group_key")
        if isinstance(props.get("$group_set"), dict):
            c.group_set = props.pop("$group_set")
    if isinstance(props.get("$groups"), dict):
        c.groups = props.pop("$groups")
    if isinstance(props.get("$process_person_profile"), bool):
        c.process_person_profile = props.pop("$process_person_profile")
    c.properties = props

    if isinstance(source.get("$set"), dict):
        c.set = source.pop("$set")
    if isinstance(source.get("$set_once"), dict):
        c.set_once = source.pop("$set_once")
    if isinstance(source.get("timestamp"), str):
        c.timestamp = source.pop("timestamp")
    if isinstance(source.get("uuid"), str):
        c.uuid = source.pop("uuid")
    c.extra.update(source)  # properties of a wrong type land here too, verbatim
    return c
