"""Rules for what an event does to persons and groups: $set and friends, merges, group identify
(contract §5, §6). PostHog answers 200 to all of these and warns, if at all, only afterwards."""

from __future__ import annotations

from typing import Any

from composer.core.capture import identifiers
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.tokens import type_name
from composer.core.findings import Stage
from composer.core.jsonio import JsonObject
from composer.core.jsonpath import key as path_key
from composer.core.persons.jsvalues import js_string, js_truthy, json_equal

MAX_GROUP_FIELD = 400
MERGE_EVENTS = frozenset({"$identify", "$create_alias", "$merge_dangerously"})


def check_person_updates(
    ev: JsonObject,
    props: JsonObject | None,
    path: str,
    index: int | None,
    name: str | None,
    out: Collector,
) -> None:
    for field in ("$set", "$set_once"):
        if field not in ev or ev[field] is None:
            continue
        value = ev[field]
        if not isinstance(value, dict):
            out.error(
                "set.not_object",
                path_key(path, field),
                f"Top-level {field} must be an object; this one is {type_name(value)}, and"
                " PostHog refuses the whole request.",
                f"Write {field} as an object of person properties.",
                stage=Stage.PARSE,
                reply=replies.PARSE_FAILED,
                event=index,
            )
            continue
        inner = props.get(field) if props is not None else None
        if isinstance(inner, dict):
            clash = sorted(set(inner) & set(value))
            if clash:
                out.info(
                    "set.merged",
                    path_key(path, field),
                    f"{field} is given at the top level and in properties; for"
                    f" {', '.join(clash[:5])} the top-level value wins.",
                    "Keep each person property in one place.",
                    event=index,
                )
    if name in ("$set", "$set_once"):
        top = ev.get(name)
        inner = props.get(name) if props is not None else None
        if not top and not inner:
            out.info(
                "person.no_properties",
                path_key(path, name),
                f"This {name} event carries no person properties, so it changes nothing.",
                f"Add a {name} object with the properties to write.",
                event=index,
            )


def _raw_distinct_id(ev: JsonObject, props: JsonObject | None) -> Any:
    raw = ev.get("distinct_id", ev.get("$distinct_id"))
    if raw is None and props is not None:
        raw = props.get("distinct_id")
    return raw


def _other_id(props: JsonObject | None, name: str) -> tuple[str, Any] | None:
    """The id ingestion merges with the event's (person-merge-service.ts @bddc589
    `handleIdentifyOrAlias`): a truthy `alias` for $create_alias and $merge_dangerously, a
    present `$anon_distinct_id` for $identify; None when no merge is attempted."""
    if props is None:
        return None
    if name == "$identify":
        if "$anon_distinct_id" not in props:
            return None
        return "$anon_distinct_id", props["$anon_distinct_id"]
    alias = props.get("alias")
    return ("alias", alias) if js_truthy(alias) else None


def merge_is_noop(ev: JsonObject, props: JsonObject | None, name: str) -> bool:
    """True when ingestion's merge finds the two ids equal and does nothing: capture's stored
    distinct_id against JavaScript's String() of the other id ("No reason to alias person
    against itself", checked before the illegal-id rule). A non-string id never gets there:
    the event is dropped first (composer.core.persons.normalize, invalid_alias)."""
    other = _other_id(props, name)
    raw = _raw_distinct_id(ev, props)
    if other is None or raw is None or not isinstance(other[1], str | None):
        return False
    return identifiers.stored_distinct_id(raw) == js_string(other[1])


def check_merge(
    ev: JsonObject,
    props: JsonObject | None,
    distinct_id: str | None,
    path: str,
    index: int | None,
    name: str,
    out: Collector,
) -> None:
    ppath = path_key(path, "properties")
    if name == "$identify":
        other_key = "$anon_distinct_id"
        if props is None or other_key not in props:
            out.info(
                "identify.no_anon_id",
                path_key(ppath, other_key),
                "Without properties.$anon_distinct_id, $identify only sets person properties;"
                " it merges nobody.",
                "Add $anon_distinct_id to merge the anonymous person into this one.",
                event=index,
            )
            return
        if props[other_key] is None:
            # `'$anon_distinct_id' in properties` is all ingestion asks, so it merges "null".
            out.warning(
                "identify.anon_null",
                path_key(ppath, other_key),
                "$anon_distinct_id is null. Ingestion still tries the merge, with the id"
                ' "null", which it never merges through: nothing is merged and it records the'
                " ingestion warning cannot_merge_with_illegal_distinct_id.",
                "Send the anonymous id, or leave $anon_distinct_id out.",
                event=index,
            )
            return
    else:
        other_key = "alias"
        if props is None or props.get(other_key) is None:
            out.warning(
                "alias.missing",
                path_key(ppath, other_key),
                f"{name} needs properties.alias, the other id to merge; PostHog answers 200"
                " and merges nothing.",
                'Add "alias": "<the other distinct id>" to properties.',
                event=index,
            )
            return
        if name == "$merge_dangerously":
            # A warning, not a note: it merges two identified users for good, and nothing
            # in PostHog's answer or its warnings will say it happened.
            out.warning(
                "merge.dangerous",
                path_key(path, "event"),
                "$merge_dangerously merges the two persons even when the alias person is"
                " already identified. It cannot be undone.",
                "Use $create_alias unless you mean to merge two identified users.",
                event=index,
            )
    other = props[other_key]
    at = path_key(ppath, other_key)
    if not isinstance(other, str):
        # validate-event-properties.ts (newest stored version; composer.core.persons.normalize):
        # a merge id that is neither null nor a string drops the event before any merge.
        warning = "invalid_alias" if other_key == "alias" else "invalid_anon_distinct_id"
        out.warning(
            "merge.id_not_string",
            at,
            f"{other_key} is {type_name(other)}; PostHog's ingestion drops the whole event"
            f" (ingestion warning {warning}), so nothing is merged or stored.",
            f'Send the id as a string: "{identifiers.stringify_distinct_id(other)}".',
            event=index,
        )
        return
    if other == "" and other_key == "alias":
        out.warning(
            "alias.falsy",
            at,
            "alias is an empty string, which JavaScript counts as false: ingestion skips the"
            " merge altogether (no merge, no ingestion warning) and only stores the event.",
            "Set alias to the other person's distinct id.",
            event=index,
        )
        return
    raw = _raw_distinct_id(ev, props)
    if raw is not None and merge_is_noop(ev, props, name):
        out.warning(
            "merge.same_ids",
            at,
            f"{other_key} equals the event's distinct_id as PostHog compares them, so"
            f" ingestion does nothing: no merge, no ingestion warning, and the {name} only"
            " updates that one person.",
            f"Set {other_key} to the other id.",
            event=index,
        )
        return
    if raw is not None and json_equal(raw, other):
        stored = identifiers.stored_distinct_id(raw)
        out.warning(
            "merge.ids_differ_after_normalisation",
            at,
            f"{other_key} is the same as distinct_id as sent, but PostHog compares capture's"
            f" stored distinct_id ({_short(stored)}: cut to 200 characters, NUL made U+FFFD)"
            f" with {other_key} as sent; they differ, so ingestion merges two different ids.",
            "Send both ids as the same string of at most 200 characters.",
            event=index,
        )
    if identifiers.is_illegal_merge_id(other):
        out.warning(
            "distinct_id.illegal",
            at,
            f"{other!r} is an id PostHog never merges; the merge is refused"
            " (cannot_merge_with_illegal_distinct_id).",
            "Use the real id of the other person.",
            event=index,
        )


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def check_group(
    ev: JsonObject, props: JsonObject | None, path: str, index: int | None, out: Collector
) -> None:
    ppath = path_key(path, "properties")
    props = props or {}
    for field in ("$group_type", "$group_key"):
        value = props.get(field)
        at = path_key(ppath, field)
        if not isinstance(value, str) or not value:
            out.warning(
                "group.missing_field",
                at,
                f"$groupidentify needs properties.{field} as a non-empty string; PostHog"
                " answers 200 and updates no group.",
                f'Add "{field}": "..." to properties.',
                event=index,
            )
        elif len(value) > MAX_GROUP_FIELD:
            out.warning(
                "group.too_long",
                at,
                f"{field} has {len(value)} characters; PostHog drops $groupidentify events"
                f" over {MAX_GROUP_FIELD}.",
                f"Use a {field} of {MAX_GROUP_FIELD} characters or fewer.",
                event=index,
            )
    group_set = props.get("$group_set")
    if "$group_set" in props and not isinstance(group_set, dict):
        out.warning(
            "group.set_not_object",
            path_key(ppath, "$group_set"),
            "$group_set must be an object of group properties; PostHog ignores this one.",
            "Write $group_set as an object.",
            event=index,
        )
    stripped = [f for f in ("$set", "$set_once") if f in ev or f in props]
    if stripped:
        out.info(
            "group.person_updates_stripped",
            path_key(path, stripped[0]),
            "PostHog strips $set and $set_once from $groupidentify events; no person changes.",
            "Use $group_set for group properties, and a separate event for person properties.",
            event=index,
        )
