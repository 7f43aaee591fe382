"""$set, $set_once and $unset: what one event asks of a person, and how it lands.

Source: nodejs/src/ingestion/common/persons/person-update.ts, newest stored version
(`extractEventOps`, `refineEventOps`, `applyEventPropertyUpdates`), checked against the older
`computeEventPropertyUpdates` @df56a0b, which gives the same results:

* $set_once applies only to keys the person does not have;
* $set applies to keys whose value differs, and shadows a $set_once of the same key in the
  same event (the $set value wins);
* $unset (an array of keys, or an object whose keys are used) removes keys the person had
  *before* the event, and is applied after the sets. So "$set x + $unset x" in one event ends
  with x gone when the person had x, and with the $set value when it did not.

One stored version (@1db4ce6) also treats an existing null as absent for $set_once; the newer
EventOps versions do not, and this model follows them (see /work/research/persons.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from composer.core.persons.jsvalues import js_entries, js_unset_keys, json_equal
from composer.core.persons.model import PropertySource
from composer.core.persons.outcome import PropertyChange, PropertyOp

# person-update.ts PERSON_EVENTS: person-property writes from these are never suppressed.
PERSON_EVENTS = frozenset({"$identify", "$create_alias", "$merge_dangerously", "$set"})
# person-update.ts NO_PERSON_UPDATE_EVENTS: processed elsewhere, so they never update a person.
NO_PERSON_UPDATE_EVENTS = frozenset({"$exception", "$$heatmap"})

# nodejs/src/common/persons/person-property-utils.ts FILTERED_PERSON_UPDATE_PROPERTIES: a change
# to only these, on an existing key, is not worth a person write on an ordinary event.
FILTERED_PERSON_UPDATE_PROPERTIES = frozenset(
    {
        "$current_url",
        "$pathname",
        "$referring_domain",
        "$referrer",
        "$screen_height",
        "$screen_width",
        "$viewport_height",
        "$viewport_width",
        "$browser",
        "$browser_version",
        "$device_type",
        "$raw_user_agent",
        "$os",
        "$os_name",
        "$os_version",
        "$geoip_postal_code",
        "$geoip_time_zone",
        "$geoip_latitude",
        "$geoip_longitude",
        "$geoip_accuracy_radius",
        "$geoip_subdivision_1_code",
        "$geoip_subdivision_1_name",
        "$geoip_subdivision_2_code",
        "$geoip_subdivision_2_name",
        "$geoip_subdivision_3_code",
        "$geoip_subdivision_3_name",
        "$geoip_city_confidence",
        "$geoip_country_confidence",
        "$geoip_postal_code_confidence",
        "$geoip_subdivision_1_confidence",
        "$geoip_subdivision_2_confidence",
    }
)


@dataclass(frozen=True, slots=True)
class EventOps:
    """What the event asks for, before looking at the person (extractEventOps)."""

    set: dict[str, Any]
    set_once: dict[str, Any]  # only keys the same event does not also $set
    unset: tuple[str, ...]
    denied: bool  # NO_PERSON_UPDATE_EVENTS: never write properties
    force: bool  # PERSON_EVENTS: never suppressed


def extract_ops(event_name: str, properties: dict[str, Any]) -> EventOps:
    if event_name in NO_PERSON_UPDATE_EVENTS:
        return EventOps({}, {}, (), denied=True, force=False)
    # `{...(properties.$set || {})}`: a string or array $set spreads into indexed entries.
    set_ = js_entries(properties.get("$set"))
    set_once = {k: v for k, v in js_entries(properties.get("$set_once")).items() if k not in set_}
    unset = tuple(js_unset_keys(properties.get("$unset")))
    return EventOps(set_, set_once, unset, denied=False, force=event_name in PERSON_EVENTS)


@dataclass(frozen=True, slots=True)
class Refined:
    """The writes against one snapshot of the person (refineEventOps)."""

    to_set: dict[str, tuple[Any, PropertyOp]]
    to_unset: tuple[str, ...]
    # True when every change is a $set of a key the person already had and that is in
    # FILTERED_PERSON_UPDATE_PROPERTIES, on an event that does not force the write.
    filtered_only: bool

    @property
    def has_changes(self) -> bool:
        return bool(self.to_set or self.to_unset)


def refine(ops: EventOps, person_properties: dict[str, Any]) -> Refined:
    if ops.denied:
        return Refined({}, (), filtered_only=False)
    to_set: dict[str, tuple[Any, PropertyOp]] = {}
    for key, value in ops.set_once.items():
        if key not in person_properties:
            to_set[key] = (value, PropertyOp.SET_ONCE)
    set_triggers = False
    for key, value in ops.set.items():
        # PostHog compares with `!==`; deep equality here only differs for object values,
        # where PostHog rewrites the same value and the end state is identical.
        if key in person_properties and json_equal(person_properties[key], value):
            continue
        to_set[key] = (value, PropertyOp.SET)
        if key not in person_properties or key not in FILTERED_PERSON_UPDATE_PROPERTIES:
            set_triggers = True
    to_unset = tuple(key for key in ops.unset if key in person_properties)
    # batch-writing-person-store.ts getPersonUpdateOutcome: set_once, unset, a new key or a
    # non-filtered key makes the write; filtered keys alone are "ignored".
    has_set_once = any(op is PropertyOp.SET_ONCE for _, op in to_set.values())
    filtered_only = (
        bool(to_set) and not ops.force and not has_set_once and not to_unset and not set_triggers
    )
    return Refined(to_set, to_unset, filtered_only)


def apply_refined(
    refined: Refined,
    properties: dict[str, Any],
    sources: dict[str, PropertySource],
    source: tuple[int, str | None],
    last_op: dict[str, PropertyOp],
) -> None:
    """applyEventPropertyUpdates: the sets first, then the unsets. Mutates in place."""
    index, event_uuid = source
    for key, (value, op) in refined.to_set.items():
        properties[key] = value
        sources[key] = PropertySource(index, event_uuid, op.value)
        last_op[key] = op
    for key in refined.to_unset:
        if key in properties:
            del properties[key]
            sources.pop(key, None)
            last_op[key] = PropertyOp.UNSET


def diff(
    before: dict[str, Any], after: dict[str, Any], last_op: dict[str, PropertyOp]
) -> list[PropertyChange]:
    """The net changes from `before` to `after`, each labelled with the op that made it."""
    changes: list[PropertyChange] = []
    for key in [*before, *(k for k in after if k not in before)]:
        had, has = key in before, key in after
        if had and has and json_equal(before[key], after[key]):
            continue
        op = last_op.get(key, PropertyOp.UNSET if not has else PropertyOp.MERGE)
        changes.append(
            PropertyChange(
                key,
                op,
                old=before.get(key),
                new=after.get(key),
                had_old=had,
                has_new=has,
            )
        )
    return changes
