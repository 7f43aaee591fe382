"""Rules for an event's name, properties and distinct_id (contract §4.2, §5, §6)."""

from __future__ import annotations

from composer.core.capture import identifiers
from composer.core.capture.parse import BodyShape
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.tokens import type_name
from composer.core.findings import Stage
from composer.core.jsonio import JsonObject
from composer.core.jsonpath import key as path_key

MAX_EVENT_NAME = 200


def reply_for_type_error(shape: BodyShape) -> str:
    # A single object that fails the event shape falls through to the "engage" variant.
    return replies.NOT_ENGAGE if shape is BodyShape.ONE else replies.PARSE_FAILED


def check_name(
    ev: JsonObject,
    path: str,
    index: int | None,
    shape: BodyShape,
    on_engage: bool,
    out: Collector,
) -> str | None:
    at = path_key(path, "event")
    if "event" not in ev:
        if shape is BodyShape.ENGAGE and on_engage:
            out.info(
                "event.engage_identify",
                at,
                "/engage/ turns an object without an event name into a $identify event.",
                event=index,
            )
            return "$identify"
        stage = Stage.HYDRATE if shape in (BodyShape.ONE, BodyShape.ENGAGE) else Stage.PARSE
        out.error(
            "event.missing",
            at,
            "The event has no name; PostHog refuses the whole request.",
            'Add "event": "your_event_name".',
            stage=stage,
            reply=replies.NOT_ENGAGE if stage is Stage.HYDRATE else replies.PARSE_FAILED,
            event=index,
        )
        return None
    name = ev["event"]
    if not isinstance(name, str):
        out.error(
            "event.not_string",
            at,
            f"The event name must be a string; this one is {type_name(name)}.",
            "Write the event name in quotes.",
            stage=Stage.PARSE,
            reply=reply_for_type_error(shape),
            event=index,
        )
        return None
    if name == "":
        out.error(
            "event.empty",
            at,
            "The event name is empty; PostHog refuses the whole request.",
            "Give the event a name, such as button_clicked.",
            stage=Stage.EVENT,
            reply=replies.EMPTY_EVENT_NAME,
            event=index,
        )
    elif len(name) > MAX_EVENT_NAME:
        out.warning(
            "event.name_too_long",
            at,
            f"The event name has {len(name)} characters; PostHog cuts it to {MAX_EVENT_NAME}.",
            f"Shorten it to {MAX_EVENT_NAME} characters or fewer.",
            event=index,
        )
    elif name != name.strip():
        out.info(
            "event.whitespace",
            at,
            "The event name starts or ends with white space; PostHog stores it as it is, so"
            " it will not match the same name without the spaces.",
            "Remove the leading and trailing spaces.",
            event=index,
        )
    if name == "$performance_event":
        out.warning(
            "event.filtered",
            at,
            "$performance_event events are removed by capture before anything else; PostHog"
            " answers 200 and stores nothing for them.",
            "Send performance data through posthog-js's own web-vitals events instead.",
            event=index,
        )
    return name


def check_properties(
    ev: JsonObject, path: str, index: int | None, shape: BodyShape, out: Collector
) -> JsonObject | None:
    if "properties" not in ev:
        return None
    props = ev["properties"]
    at = path_key(path, "properties")
    if not isinstance(props, dict):
        out.error(
            "properties.not_object",
            at,
            f"properties must be an object; this one is {type_name(props)}, and PostHog"
            " refuses the whole request.",
            "Use {} for no properties, or an object of key/value pairs.",
            stage=Stage.PARSE,
            reply=reply_for_type_error(shape),
            event=index,
        )
        return None
    if "$cookieless_mode" in props and not isinstance(props["$cookieless_mode"], bool):
        out.error(
            "properties.cookieless_mode",
            path_key(at, "$cookieless_mode"),
            "$cookieless_mode must be true or false; PostHog refuses the whole request.",
            "Use a JSON boolean, without quotes.",
            stage=Stage.EVENT,
            reply=replies.BAD_COOKIELESS,
            event=index,
        )
    ppp = props.get("$process_person_profile")
    if "$process_person_profile" in props and not isinstance(ppp, bool):
        out.warning(
            "properties.process_person_profile",
            path_key(at, "$process_person_profile"),
            "$process_person_profile must be true or false; other values are not understood.",
            "Use a JSON boolean, without quotes.",
            event=index,
        )
    groups = props.get("$groups")
    if "$groups" in props and (
        not isinstance(groups, dict) or not all(isinstance(v, str) for v in groups.values())
    ):
        out.warning(
            "properties.groups",
            path_key(at, "$groups"),
            "$groups must map each group type to a group key string, like"
            ' {"company": "acme"}; PostHog ignores other shapes.',
            "Write $groups as an object of strings.",
            event=index,
        )
    unset = props.get("$unset")
    if "$unset" in props and not isinstance(unset, list | dict):
        out.warning(
            "properties.unset",
            path_key(at, "$unset"),
            "$unset must be an array of property names; PostHog ignores other values.",
            'Write it like ["old_property"].',
            event=index,
        )
    for field in ("$set", "$set_once"):
        if field in props and not isinstance(props[field], dict):
            out.warning(
                "properties.set_not_object",
                path_key(at, field),
                f"properties.{field} must be an object; PostHog ignores this one.",
                f"Write {field} as an object of person properties.",
                event=index,
            )
    return props


def check_distinct_id(
    ev: JsonObject,
    props: JsonObject | None,
    path: str,
    index: int | None,
    name: str | None,
    out: Collector,
    *,
    merging_itself: bool = False,
) -> str | None:
    if "distinct_id" in ev and "$distinct_id" in ev:
        out.error(
            "distinct_id.duplicate",
            path_key(path, "$distinct_id"),
            "distinct_id and $distinct_id are the same field to PostHog; sending both is refused.",
            "Keep only distinct_id.",
            stage=Stage.PARSE,
            reply=replies.PARSE_FAILED,
            event=index,
        )
    field = "distinct_id" if "distinct_id" in ev else "$distinct_id"
    value = ev.get(field)
    at = path_key(path, field)
    if value is None and props is not None and props.get("distinct_id") is not None:
        value = props["distinct_id"]
        at = path_key(path_key(path, "properties"), "distinct_id")
    if value is None:
        out.error(
            "distinct_id.missing",
            path_key(path, "distinct_id"),
            "The event has no distinct_id; PostHog refuses the whole request.",
            'Add "distinct_id": "<the user\'s id>" at the top level of the event.',
            stage=Stage.EVENT,
            reply=replies.NO_DISTINCT_ID,
            event=index,
        )
        return None
    text = identifiers.stringify_distinct_id(value)
    if text == "":
        fallback = props is not None and props.get("distinct_id") not in (None, "")
        message = "distinct_id is an empty string; PostHog refuses the whole request."
        if fallback:
            message += " An empty top-level value does not fall back to properties.distinct_id."
        out.error(
            "distinct_id.empty",
            at,
            message,
            "Give the user's id, or remove the empty field so properties.distinct_id is used."
            if fallback
            else "Give the user's id.",
            stage=Stage.EVENT,
            reply=replies.NO_DISTINCT_ID,
            event=index,
        )
        return text
    # event.rs @024dbbe `extract_distinct_id_checked` (tests
    # test_extract_distinct_id_whitespace_only_returns_none and ..._surrounding_whitespace_
    # preserved). The contract's @6e2cafd accepted these; 024dbbe is the newer one (it has the
    # truncation report and DLQ headers 6e2cafd lacks).
    if identifiers.is_blank_distinct_id(text):
        out.error(
            "distinct_id.blank",
            at,
            "distinct_id is only white space; PostHog's capture counts that as no distinct_id"
            " and refuses the whole request (400). A blank top-level value does not fall back"
            " to properties.distinct_id.",
            "Give the user's id; check for a variable that was not filled in.",
            stage=Stage.EVENT,
            reply=replies.NO_DISTINCT_ID,
            event=index,
        )
        return text
    if not isinstance(value, str):
        out.warning(
            "distinct_id.not_string",
            at,
            f"distinct_id is {type_name(value)}; PostHog stores it as the string {text!r}.",
            f'Send it as a string: "{text}".',
            event=index,
        )
    if "\x00" in text:
        out.warning(
            "distinct_id.null_char",
            at,
            "distinct_id contains NUL characters; PostHog replaces them with U+FFFD.",
            "Remove the NUL characters.",
            event=index,
        )
    if len(text) > identifiers.MAX_DISTINCT_ID_CHARS:
        out.warning(
            "distinct_id.too_long",
            at,
            f"distinct_id has {len(text)} characters; PostHog keeps only the first 200, so"
            " different ids can become the same person.",
            "Use an id of 200 characters or fewer, such as a database id or a hash.",
            event=index,
        )
    if identifiers.is_illegal_merge_id(text) and not merging_itself:
        out.warning(
            "distinct_id.illegal",
            at,
            f"{text!r} is on PostHog's list of ids that are never merged (like 'null',"
            " 'undefined', '0'); every user sending it shares one person.",
            "Send the user's real id; check for a variable that was not set.",
            event=index,
        )
    return text
