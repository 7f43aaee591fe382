"""apply(): one event through PostHog's person pipeline, in PostHog's order.

normalize (drops, $process_person_profile, $set merging) -> personless path, or merges then
property updates -> groups. Sources per step are cited in the modules that implement them;
the ordering is nodejs/src/ingestion/analytics/event-subpipeline.ts, and the person flow is
person-event-processor.ts `processEvent` with person-property-service.ts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from composer.core.persons.context import EventContext, parse_timestamp
from composer.core.persons.create import create_person
from composer.core.persons.groups import process_groups
from composer.core.persons.jsvalues import copy_json, js_entries
from composer.core.persons.merge import MergeResult, handle_identify_or_alias
from composer.core.persons.model import Person, PersonGraph, person_uuid
from composer.core.persons.normalize import normalize_event
from composer.core.persons.outcome import (
    GroupChange,
    GroupChangeKind,
    MergeKind,
    Note,
    Outcome,
    PersonMode,
)
from composer.core.persons.properties import apply_refined, diff, extract_ops, refine

# process-personless-step.ts: a personless event arriving more than a minute after its
# person was created is marked force_upgrade.
FORCE_UPGRADE_AFTER = timedelta(minutes=1)


def apply(graph: PersonGraph, event: dict[str, Any]) -> Outcome:
    """Apply one event to `graph` (mutating it) and say what happened."""
    index = graph.event_count
    graph.event_count += 1
    norm = normalize_event(event)
    outcome = Outcome(index, norm.name, norm.distinct_id, process_person=norm.process_person)
    outcome.warnings.extend(norm.warnings)
    outcome.notes.extend(norm.notes)
    ctx = EventContext(index, norm, extract_ops(norm.name, norm.properties), outcome)
    if ctx.ops.denied and _sends_person_updates(event):
        outcome.notes.append(
            Note(
                "set_on_exception",
                f"{norm.name} events never update an existing person's properties; PostHog's app"
                " lists this as the ingestion warning set_on_exception.",
            )
        )
    if norm.dropped:
        outcome.dropped = True
    elif not norm.process_person:
        _personless(graph, ctx)
    else:
        person = _process_person(graph, ctx)
        outcome.person_mode = PersonMode.FULL
        outcome.person_id = person.uuid
        outcome.identified = person.is_identified
        process_groups(graph, ctx)
    outcome.summary = _summary(outcome)
    return outcome


def _sends_person_updates(event: dict[str, Any]) -> bool:
    # The raw event, not the normalised one: the lift adds $set for any $browser property.
    props = event.get("properties")
    inner = props if isinstance(props, dict) else {}
    return any(bool(src.get(k)) for src in (event, inner) for k in ("$set", "$set_once"))


def simulate(graph: PersonGraph, events: Iterable[dict[str, Any]]) -> list[Outcome]:
    return [apply(graph, event) for event in events]


def predict(graph: PersonGraph, event: dict[str, Any]) -> Outcome:
    """apply() on a copy: the graph is left as it was."""
    return apply(graph.copy(), event)


def _personless(graph: PersonGraph, ctx: EventContext) -> None:
    """process-personless-step.ts: no person is created or updated, and no group either."""
    out = ctx.outcome
    distinct_id = ctx.event.distinct_id
    person = graph.person_for(distinct_id)
    if person is None:
        # createFakePerson: the same UUID a person made later from this id will get.
        graph.personless_ids.setdefault(distinct_id, False)
        out.person_id = person_uuid(graph.team_id, distinct_id)
        out.person_mode = PersonMode.PROPERTYLESS
        out.notes.append(
            Note(
                "personless",
                f"No person exists for {distinct_id!r} and none is created; the event's"
                " person_id is derived from the distinct id, and person properties are ignored.",
            )
        )
        return
    out.person_id = person.uuid
    out.identified = person.is_identified
    out.person_mode = PersonMode.PROPERTYLESS
    event_at, created_at = parse_timestamp(ctx.event.timestamp), parse_timestamp(person.created_at)
    if (
        event_at is not None
        and created_at is not None
        and event_at > created_at + FORCE_UPGRADE_AFTER
    ):
        # The person is then processed as if personful, but the event's $set/$set_once/$unset
        # were already stripped, so nothing about the person changes.
        out.person_mode = PersonMode.FORCE_UPGRADE
    out.notes.append(
        Note(
            "personless_existing_person",
            f"{distinct_id!r} already has a person, so the event is attributed to it, but its"
            " person properties are ignored.",
        )
    )


def _process_person(graph: PersonGraph, ctx: EventContext) -> Person:
    """person-event-processor.ts processEvent."""
    merge = handle_identify_or_alias(graph, ctx)
    ctx.outcome.merge = merge.info
    if merge.person is not None:
        if merge.needs_update:
            _update_person(graph, ctx, merge.person, merge)
        else:
            ctx.outcome.property_changes = diff({}, merge.person.properties, ctx.last_op)
        ctx.outcome.became_identified = merge.person.is_identified and not merge.was_identified
        return merge.person
    existing = graph.person_for(ctx.event.distinct_id)
    if existing is not None:
        _update_person(graph, ctx, existing, MergeResult(before=copy_json(existing.properties)))
        return existing
    props = ctx.event.properties
    person = create_person(
        graph,
        ctx,
        js_entries(props.get("$set")),
        js_entries(props.get("$set_once")),
        is_identified=merge.update_is_identified,
        distinct_ids=[ctx.event.distinct_id],
    )
    ctx.outcome.property_changes = diff({}, person.properties, ctx.last_op)
    ctx.outcome.became_identified = person.is_identified
    return person


def _update_person(
    graph: PersonGraph, ctx: EventContext, person: Person, merge: MergeResult
) -> None:
    """person-property-service.ts updatePersonProperties, plus the store's write decision."""
    out = ctx.outcome
    refined = refine(ctx.ops, person.properties)
    flips_identified = merge.update_is_identified and not person.is_identified
    if refined.filtered_only and not flips_identified and graph.suppress_filtered_updates:
        out.ignored_properties = sorted(refined.to_set)
        out.notes.append(
            Note(
                "filtered_update_ignored",
                "Only frequently-changing properties ("
                + ", ".join(out.ignored_properties)
                + ") changed, on a non-person event; PostHog does not write the person for"
                " that alone, so the stored values stay as they were.",
            )
        )
    else:
        apply_refined(refined, person.properties, person.sources, ctx.source, ctx.last_op)
    if flips_identified:
        person.is_identified = True
    out.property_changes = diff(merge.before, person.properties, ctx.last_op)


def _summary(out: Outcome) -> str:
    if out.dropped:
        first = out.warnings[0] if out.warnings else None
        return f"dropped: {first.type} — {first.message}" if first else "dropped"
    parts: list[str] = []
    info = out.merge
    if info is not None:
        src, tgt = f"`{info.source_distinct_id}`", f"`{info.target_distinct_id}`"
        if info.kind is MergeKind.MERGED:
            word = "identified " if info.source_was_identified else "anonymous "
            parts.append(f"merged {word}{src} into {tgt}")
        elif info.kind is MergeKind.ADDED_DISTINCT_ID:
            joined = info.moved_distinct_ids[0] if info.moved_distinct_ids else "?"
            other = (
                info.target_distinct_id
                if joined == info.source_distinct_id
                else info.source_distinct_id
            )
            parts.append(f"linked `{joined}` to the person of `{other}`")
        elif info.kind is MergeKind.CREATED_WITH_BOTH:
            parts.append(f"created one person for {tgt} and {src}")
        elif info.kind is MergeKind.ALREADY_SAME_PERSON:
            parts.append(f"{src} and {tgt} are already the same person")
        elif info.kind is MergeKind.SAME_DISTINCT_ID:
            parts.append(f"{out.event} names {tgt} on both sides: nothing to merge")
        else:
            refused = next((w.type for w in out.warnings if w.type.startswith("cannot_merge")), "")
            parts.append(f"refused: {refused}")
    elif out.person_created:
        parts.append(f"created a person for `{out.distinct_id}`")
    if out.person_mode is PersonMode.PROPERTYLESS or out.person_mode is PersonMode.FORCE_UPGRADE:
        parts.append(f"personless event for `{out.distinct_id}`")
    changed = [c.key for c in out.property_changes if c.key != "$creator_event_uuid"]
    if changed:
        parts.append("properties changed: " + ", ".join(changed))
    if out.ignored_properties:
        parts.append("ignored: " + ", ".join(out.ignored_properties))
    for change in out.group_changes:
        parts.append(_group_phrase(change))
    if out.became_identified:
        parts.append("identified")
    if not parts:
        parts.append(f"event attributed to the person of `{out.distinct_id}`")
    return "; ".join(parts)


def _group_phrase(change: GroupChange) -> str:
    kind = change.kind
    if kind is GroupChangeKind.TYPE_REGISTERED:
        return f"group type `{change.group_type}` registered as index {change.group_type_index}"
    if kind is GroupChangeKind.TYPE_REFUSED:
        return f"group type `{change.group_type}` refused: the project has five already"
    verb = "created" if kind is GroupChangeKind.GROUP_CREATED else "updated"
    keys = ", ".join(c.key for c in change.property_changes)
    return f"group `{change.group_type}`/`{change.group_key}` {verb}" + (
        f" ({keys})" if keys else ""
    )
