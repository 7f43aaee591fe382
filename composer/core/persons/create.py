"""Making a person (person-create-service.ts createPerson)."""

from __future__ import annotations

from typing import Any

from composer.core.persons.context import EventContext
from composer.core.persons.model import Person, PersonGraph, PropertySource, person_uuid
from composer.core.persons.outcome import PropertyOp


def create_person(
    graph: PersonGraph,
    ctx: EventContext,
    set_: dict[str, Any],
    set_once: dict[str, Any],
    *,
    is_identified: bool,
    distinct_ids: list[str],
) -> Person:
    """A new person whose UUID derives from the first distinct id.

    Properties are `{...$set_once, ...$set, $creator_event_uuid}`; $unset is not applied to a
    person that did not exist.
    """
    properties: dict[str, Any] = {}
    sources: dict[str, PropertySource] = {}
    index, event_uuid = ctx.source
    for values, op in ((set_once, PropertyOp.SET_ONCE), (set_, PropertyOp.SET)):
        for key, value in values.items():
            properties[key] = value
            sources[key] = PropertySource(index, event_uuid, op.value)
            ctx.last_op[key] = op
    if event_uuid is not None:
        # JSON drops an undefined value, so an event without a uuid leaves no creator property.
        properties["$creator_event_uuid"] = event_uuid
        sources["$creator_event_uuid"] = PropertySource(index, event_uuid, PropertyOp.CREATE.value)
        ctx.last_op["$creator_event_uuid"] = PropertyOp.CREATE
    person = Person(
        uuid=person_uuid(graph.team_id, distinct_ids[0]),
        distinct_ids=list(distinct_ids),
        properties=properties,
        sources=sources,
        is_identified=is_identified,
        created_at=ctx.event.timestamp,
        created_index=index,
    )
    graph.add_person(person)
    ctx.outcome.person_created = True
    return person
