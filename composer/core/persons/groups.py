"""Groups: group types (at most five per project), $groups on events, and $groupidentify.

Sources: nodejs/src/ingestion/event-processing/process-groups-step.ts (newest stored version:
`updateGroupsAndFirstEvent`, `addGroupProperties`, `upsertGroup`), groups.ts
(`extractGroupIdentify`, `enrichPropertiesWithGroupTypes`), nodejs/src/common/groups/
group-type-manager.ts (`fetchGroupTypeIndex`, MAX_GROUP_TYPES_PER_TEAM = 5), the newer
process-groups-step.ts with `isValidGroupSet` (invalid_group_set), and
nodejs/src/ingestion/common/groups/group-update.ts (`calculateUpdate`). None of them raises an
ingestion warning when a sixth group type is refused, so that is a Note, not a warning.
"""

from __future__ import annotations

from typing import Any

from composer.core.persons import ingestion_warnings as iw
from composer.core.persons.context import EventContext
from composer.core.persons.jsvalues import js_string, js_truthy, json_equal
from composer.core.persons.model import MAX_GROUP_TYPES, Group, PersonGraph, PropertySource
from composer.core.persons.outcome import (
    GroupChange,
    GroupChangeKind,
    IngestionWarning,
    Note,
    PropertyChange,
    PropertyOp,
)


def process_groups(graph: PersonGraph, ctx: EventContext) -> None:
    """Only for events with person processing; personless events lose their $group_N."""
    props = ctx.event.properties
    is_group_identify = ctx.event.name == "$groupidentify"
    # updateGroupsAndFirstEvent registers a $groupidentify's type first, when it has $group_set.
    group_type, group_set = props.get("$group_type"), props.get("$group_set")
    if is_group_identify and group_type is not None and group_set is not None:
        fetch_group_type_index(graph, ctx, js_string(group_type))
    groups = props.get("$groups")
    if isinstance(groups, dict):
        for group_type, group_key in groups.items():
            index = fetch_group_type_index(graph, ctx, group_type)
            if index is not None:
                ctx.outcome.group_columns[f"$group_{index}"] = group_key
    if is_group_identify:
        _upsert_from_group_identify(graph, ctx)


def fetch_group_type_index(graph: PersonGraph, ctx: EventContext, group_type: str) -> int | None:
    if group_type in graph.group_types:
        return graph.group_types[group_type]
    used = set(graph.group_types.values())
    if len(used) >= MAX_GROUP_TYPES:
        already = any(
            c.kind is GroupChangeKind.TYPE_REFUSED and c.group_type == group_type
            for c in ctx.outcome.group_changes
        )
        if not already:
            ctx.outcome.group_changes.append(GroupChange(GroupChangeKind.TYPE_REFUSED, group_type))
            ctx.outcome.notes.append(
                Note(
                    "group_type_limit",
                    f"The project already has {MAX_GROUP_TYPES} group types, so PostHog ignores"
                    f" the group type {group_type!r} silently (no ingestion warning).",
                )
            )
        return None
    index = next(i for i in range(MAX_GROUP_TYPES) if i not in used)
    graph.group_types[group_type] = index
    ctx.outcome.group_changes.append(
        GroupChange(GroupChangeKind.TYPE_REGISTERED, group_type, group_type_index=index)
    )
    return index


def _upsert_from_group_identify(graph: PersonGraph, ctx: EventContext) -> None:
    props = ctx.event.properties
    # extractGroupIdentify: both must be truthy; the key is String()-ed and NUL-sanitised.
    if not js_truthy(props.get("$group_type")) or not js_truthy(props.get("$group_key")):
        ctx.outcome.notes.append(
            Note(
                "group_identify_incomplete",
                "$groupidentify needs both $group_type and $group_key; PostHog updates no group.",
            )
        )
        return
    group_type = js_string(props["$group_type"])
    group_key = js_string(props["$group_key"]).replace("\x00", "\ufffd")
    raw_set = props.get("$group_set")
    if raw_set is not None and not isinstance(raw_set, dict):
        # process-groups-step.ts isValidGroupSet: anything but a JSON object is refused before
        # it can poison the Postgres write batch.
        kind = "array" if isinstance(raw_set, list) else _typeof(raw_set)
        ctx.outcome.warnings.append(
            IngestionWarning(
                iw.INVALID_GROUP_SET,
                f"$group_set is {kind}, not an object; PostHog does not update the group.",
                {"groupType": group_type, "groupKey": group_key, "receivedType": kind},
            )
        )
        return
    index = fetch_group_type_index(graph, ctx, group_type)
    if index is None:
        return
    group_set: dict[str, Any] = raw_set or {}
    group = graph.groups.get((group_type, group_key))
    created = group is None
    if group is None:
        group = Group(group_type, index, group_key, created_index=ctx.index)
        graph.groups[(group_type, group_key)] = group
    changes = _calculate_update(group, group_set, ctx)
    if created or changes:
        kind = GroupChangeKind.GROUP_CREATED if created else GroupChangeKind.GROUP_UPDATED
        ctx.outcome.group_changes.append(
            GroupChange(kind, group_type, index, group_key, tuple(changes))
        )


def _typeof(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "object"


def _calculate_update(
    group: Group, group_set: dict[str, Any], ctx: EventContext
) -> list[PropertyChange]:
    # Every key is overwritten when its value differs (deep equality); there is no
    # $group_set_once and no unset for groups.
    changes: list[PropertyChange] = []
    for key, value in group_set.items():
        had = key in group.properties
        if had and json_equal(group.properties[key], value):
            continue
        old = group.properties.get(key)
        group.properties[key] = value
        group.sources[key] = PropertySource(ctx.index, ctx.event.uuid, PropertyOp.SET.value)
        changes.append(
            PropertyChange(key, PropertyOp.SET, old=old, new=value, had_old=had, has_new=True)
        )
    return changes
