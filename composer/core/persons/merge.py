"""$identify, $create_alias and $merge_dangerously: when two distinct ids become one person.

Source: nodejs/src/ingestion/common/persons/person-merge-service.ts @03330ef
(`handleIdentifyOrAlias`, `merge`, `mergeDistinctIds`, `mergePeople`, `isMergeAllowed`), the same
logic as nodejs/src/worker/ingestion/persons/person-merge-service.ts @039125e. Test-confirmed by
person-merge-service/person-state tests ("merge into distinct_id person and updates properties
with $set/$set_once", "does not merge already identified users", the `on $identify event` block).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from composer.core.persons import ingestion_warnings as iw
from composer.core.persons.context import EventContext, parse_timestamp
from composer.core.persons.create import create_person
from composer.core.persons.illegal_ids import is_distinct_id_illegal
from composer.core.persons.jsvalues import copy_json, js_entries, js_string, js_truthy
from composer.core.persons.model import MergeRecord, Person, PersonGraph
from composer.core.persons.outcome import IngestionWarning, MergeInfo, MergeKind
from composer.core.persons.properties import apply_refined, refine


@dataclass(slots=True)
class MergeResult:
    """PersonMergeResult: the person the event continues with, if the merge step chose one."""

    person: Person | None = None
    needs_update: bool = True  # run the event's property updates on `person` afterwards
    update_is_identified: bool = False  # context.updateIsIdentified
    info: MergeInfo | None = None
    # The chosen person's properties and is_identified before this event, to report against.
    before: dict[str, Any] = field(default_factory=dict)
    was_identified: bool = False


def handle_identify_or_alias(graph: PersonGraph, ctx: EventContext) -> MergeResult:
    name = ctx.event.name
    props = ctx.event.properties
    # `this.context.eventProperties['alias']` must be truthy: an empty alias merges nothing.
    if name in ("$create_alias", "$merge_dangerously") and js_truthy(props.get("alias")):
        return _merge(graph, ctx, js_string(props["alias"]), ctx.event.distinct_id)
    # `'$anon_distinct_id' in properties`: presence is enough, so a null becomes "null", which
    # is an illegal id and is refused with a warning.
    if name == "$identify" and "$anon_distinct_id" in props:
        return _merge(graph, ctx, js_string(props["$anon_distinct_id"]), ctx.event.distinct_id)
    return MergeResult()


def _merge(graph: PersonGraph, ctx: EventContext, other_id: str, into_id: str) -> MergeResult:
    name = ctx.event.name

    def info(kind: MergeKind, **more: Any) -> MergeInfo:
        return MergeInfo(
            kind, name, source_distinct_id=other_id, target_distinct_id=into_id, **more
        )

    if into_id == other_id:
        # "No reason to alias person against itself" (posthog-node sends these).
        return MergeResult(info=info(MergeKind.SAME_DISTINCT_ID))
    for illegal, counterpart in ((into_id, other_id), (other_id, into_id)):
        if is_distinct_id_illegal(illegal):
            ctx.outcome.warnings.append(
                IngestionWarning(
                    iw.CANNOT_MERGE_WITH_ILLEGAL_DISTINCT_ID,
                    f"{illegal!r} is on PostHog's list of ids it never merges through; the"
                    f" {name} merges nothing, and the event is still stored.",
                    {"illegalDistinctId": illegal, "otherDistinctId": counterpart},
                )
            )
            return MergeResult(info=info(MergeKind.REFUSED_ILLEGAL_ID))

    # mergeDistinctIds: from here on the event's person ends up identified, whatever happens.
    other = graph.person_for(other_id)
    into = graph.person_for(into_id)
    if (other is None) != (into is None):
        existing, id_to_add = (other, into_id) if other is not None else (into, other_id)
        assert existing is not None  # exactly one of the two is None here
        before = copy_json(existing.properties)
        # addPersonlessDistinctIdForMerge: an id already used by personless events gets a
        # version-1 row, so ClickHouse re-points those events at this person.
        used_personless = _claim_personless_for_merge(graph, id_to_add)
        graph.add_distinct_id(existing, id_to_add, override=used_personless)
        if used_personless:
            ctx.outcome.distinct_id_overrides[id_to_add] = existing.uuid
        return MergeResult(
            existing,
            update_is_identified=True,
            before=before,
            was_identified=existing.is_identified,
            info=info(
                MergeKind.ADDED_DISTINCT_ID,
                source_person=None if other is None else other.uuid,
                target_person=None if into is None else into.uuid,
                surviving_person=existing.uuid,
                moved_distinct_ids=(id_to_add,),
            ),
        )
    if other is not None and into is not None:
        if other.uuid == into.uuid:
            return MergeResult(
                into,
                update_is_identified=True,
                before=copy_json(into.properties),
                was_identified=into.is_identified,
                info=info(
                    MergeKind.ALREADY_SAME_PERSON,
                    source_person=into.uuid,
                    target_person=into.uuid,
                    surviving_person=into.uuid,
                ),
            )
        return _merge_people(graph, ctx, into, into_id, other, other_id, info)
    return _create_with_both(graph, ctx, into_id, other_id, info)


def _claim_personless_for_merge(graph: PersonGraph, distinct_id: str) -> bool:
    """True when the id had been used by personless events (PostHog's `!insertedDistinctId`)."""
    used = distinct_id in graph.personless_ids
    graph.personless_ids[distinct_id] = True  # is_merged
    return used


def _create_with_both(
    graph: PersonGraph,
    ctx: EventContext,
    into_id: str,
    other_id: str,
    info: Callable[..., MergeInfo],
) -> MergeResult:
    first, second = into_id, other_id
    used_first = _claim_personless_for_merge(graph, first)
    used_second = _claim_personless_for_merge(graph, second)
    # The person UUID comes from the first id. When only the other id was used personless,
    # PostHog swaps them so those events already carry the right person_id.
    if used_second and not used_first:
        first, second = second, first
    override_second = used_first and used_second
    props = ctx.event.properties
    person = create_person(
        graph,
        ctx,
        js_entries(props.get("$set")),
        js_entries(props.get("$set_once")),
        is_identified=True,
        distinct_ids=[first, second],
    )
    if override_second:
        graph.overrides[second] = person.uuid
        ctx.outcome.distinct_id_overrides[second] = person.uuid
    # A freshly created person needs no second pass of the event's updates.
    return MergeResult(
        person,
        needs_update=False,
        update_is_identified=True,
        info=info(
            MergeKind.CREATED_WITH_BOTH,
            surviving_person=person.uuid,
            moved_distinct_ids=(second,),
        ),
    )


def _merge_people(
    graph: PersonGraph,
    ctx: EventContext,
    into: Person,
    into_id: str,
    other: Person,
    other_id: str,
    info: Callable[..., MergeInfo],
) -> MergeResult:
    before = copy_json(into.properties)
    was_identified = into.is_identified
    source_was_identified = other.is_identified
    # isMergeAllowed: only $merge_dangerously may merge away a person that is already
    # identified. The target's own is_identified does not matter.
    if ctx.event.name != "$merge_dangerously" and other.is_identified:
        ctx.outcome.warnings.append(
            IngestionWarning(
                iw.CANNOT_MERGE_ALREADY_IDENTIFIED,
                f"{other_id!r} belongs to a person who is already identified; {ctx.event.name}"
                " will not merge them into another person (only $merge_dangerously does).",
                {
                    "sourcePersonDistinctId": other_id,
                    "targetPersonDistinctId": into_id,
                    "personId": into.uuid,
                    "otherPersonId": other.uuid,
                },
            )
        )
        # mergeSuccess(mergeInto, ..., true): the event still updates, and identifies, the target.
        return MergeResult(
            into,
            update_is_identified=True,
            before=before,
            was_identified=was_identified,
            info=info(
                MergeKind.REFUSED_ALREADY_IDENTIFIED,
                source_person=other.uuid,
                target_person=into.uuid,
                surviving_person=into.uuid,
                source_was_identified=True,
            ),
        )
    # On a clash the target's (the event's distinct_id person's) value wins; then the event's
    # own updates apply on top. The target survives and keeps the older created_at.
    properties = {**copy_json(other.properties), **copy_json(into.properties)}
    sources = {**other.sources, **into.sources}
    apply_refined(refine(ctx.ops, properties), properties, sources, ctx.source, ctx.last_op)
    into.created_at, into.created_index = _earlier(into, other)
    into.properties = properties
    into.sources = sources
    into.is_identified = True
    moved = graph.move_distinct_ids(other, into)
    for distinct_id in moved:
        ctx.outcome.distinct_id_overrides[distinct_id] = into.uuid
    into.merged_from.append(MergeRecord(ctx.index, ctx.event.name, other.uuid, tuple(moved)))
    graph.delete_person(other)
    return MergeResult(
        into,
        update_is_identified=True,
        before=before,
        was_identified=was_identified,
        info=info(
            MergeKind.MERGED,
            source_person=other.uuid,
            target_person=into.uuid,
            surviving_person=into.uuid,
            moved_distinct_ids=tuple(moved),
            source_was_identified=source_was_identified,
        ),
    )


def _earlier(a: Person, b: Person) -> tuple[str | None, int]:
    """`DateTime.min(mergeInto.created_at, otherPerson.created_at)`; creation order breaks ties
    and stands in when a timestamp is missing."""
    ta, tb = parse_timestamp(a.created_at), parse_timestamp(b.created_at)
    if ta is not None and tb is not None and ta != tb:
        return (a.created_at, a.created_index) if ta < tb else (b.created_at, b.created_index)
    first = a if a.created_index <= b.created_index else b
    return first.created_at, first.created_index
