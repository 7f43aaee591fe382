"""Rules for one event object (contract §4.2, §5, §6, §7, §10)."""

from __future__ import annotations

from typing import Any

from composer.core.capture import identifiers
from composer.core.capture.parse import BodyShape
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.heatmaps import check_heatmap
from composer.core.capture.preflight.identity import (
    MERGE_EVENTS,
    check_group,
    check_merge,
    check_person_updates,
    merge_is_noop,
)
from composer.core.capture.preflight.tokens import type_name
from composer.core.capture.preflight.value_types import check_value_types
from composer.core.capture.timestamps import (
    FUTURE_LIMIT,
    OffsetOutcome,
    TimestampForm,
    format_rfc3339,
    offset_time,
    parse_timestamp,
)
from composer.core.findings import Stage
from composer.core.jsonio import JsonObject, dumps_compact
from composer.core.jsonpath import key as path_key

MAX_EVENT_NAME = 200
EVENT_WARN_BYTES = 900 * 1024  # posthog-python drops events above this on the client
EVENT_MAX_BYTES = 1_000_000  # Kafka's message.max.bytes default: capture answers 413

# The top-level fields capture-rs keeps; everything else is dropped when it re-serialises.
KNOWN_TOP_LEVEL = frozenset(
    {
        "event",
        "distinct_id",
        "$distinct_id",
        "properties",
        "timestamp",
        "offset",
        "uuid",
        "$set",
        "$set_once",
        "api_key",
        "token",
        "$token",
    }
)


def _reply_for_type_error(shape: BodyShape) -> str:
    # A single object that fails the event shape falls through to the "engage" variant.
    return replies.NOT_ENGAGE if shape is BodyShape.ONE else replies.PARSE_FAILED


def check_event(
    ev: Any,
    path: str,
    index: int | None,
    shape: BodyShape,
    on_engage: bool,
    out: Collector,
    size: int | None = None,
) -> None:
    """All per-event rules. `index` is None for a single-event body; `size` is the event's
    compact JSON size when the caller knows it."""
    where = f"event {index}" if index is not None else "the event"
    if not isinstance(ev, dict):
        out.error(
            "event.not_object",
            path or "$",
            f"{where.capitalize()} is {type_name(ev)}, not an object.",
            "Every item of the batch must be a JSON object with event and distinct_id.",
            stage=Stage.PARSE,
            reply=replies.PARSE_FAILED,
            event=index,
        )
        return
    name = _check_name(ev, path, index, shape, on_engage, out)
    if name == "$performance_event":
        return  # capture drops it before any other rule looks at it
    props = _check_properties(ev, path, index, shape, out)
    # A merge with itself does nothing at all in ingestion, whatever the id (the equality
    # comes before the illegal-id rule), so the id's own merge warning would mislead.
    noop = name in MERGE_EVENTS and merge_is_noop(ev, props, name)
    distinct_id = _check_distinct_id(ev, props, path, index, name, out, merging_itself=noop)
    if props is not None and "$heatmap_data" in props and name != "$$heatmap":
        check_heatmap(ev, props, distinct_id, path, index, out)
    check_person_updates(ev, props, path, index, name, out)
    check_value_types(ev, props, path, index, name, out)
    _check_timestamp(ev, path, index, shape, out)
    _check_uuid_field(ev, path, index, shape, out)
    _check_top_level_keys(ev, path, index, shape, out)
    if name in MERGE_EVENTS:
        check_merge(ev, props, distinct_id, path, index, name, out)
    elif name == "$groupidentify":
        check_group(ev, props, path, index, out)
    _check_size(ev, path, index, out, size)


def _check_name(
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
            reply=_reply_for_type_error(shape),
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


def _check_properties(
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
            reply=_reply_for_type_error(shape),
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


def _check_distinct_id(
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


def _check_timestamp(
    ev: JsonObject, path: str, index: int | None, shape: BodyShape, out: Collector
) -> None:
    at = path_key(path, "timestamp")
    value = ev.get("timestamp")
    if "offset" in ev and ev["offset"] is not None:
        offset = ev["offset"]
        if (
            isinstance(offset, bool)
            or not isinstance(offset, int)
            or not -(2**63) <= offset < 2**63
        ):
            out.error(
                "offset.not_integer",
                path_key(path, "offset"),
                f"offset must be a whole number of milliseconds (a 64-bit integer); this one is"
                f" {type_name(offset)}{' with a fraction' if isinstance(offset, float) else ''}.",
                "Write offset as an integer, or leave it out and send a timestamp.",
                stage=Stage.PARSE,
                reply=_reply_for_type_error(shape),
                event=index,
            )
        else:
            _check_offset(offset, value is not None, path, index, out)
    if value is None:
        return
    if not isinstance(value, str):
        hint = (
            " Epoch numbers are refused; send an ISO 8601 string."
            if isinstance(value, int | float) and not isinstance(value, bool)
            else ""
        )
        out.error(
            "timestamp.not_string",
            at,
            f"timestamp must be a string; this one is {type_name(value)}, and PostHog refuses"
            f" the whole request.{hint}",
            'Write it like "2024-05-01T12:00:00Z".',
            stage=Stage.PARSE,
            reply=_reply_for_type_error(shape),
            event=index,
        )
        return
    parsed = parse_timestamp(value)
    suggestion = format_rfc3339(parsed.value) if parsed.value is not None else None
    fix = f'Write it as "{suggestion}" (RFC 3339, UTC).' if suggestion else ""
    form = parsed.form
    if form is TimestampForm.UNPARSEABLE:
        out.warning(
            "timestamp.unparseable",
            at,
            f"PostHog cannot read {value!r} as a time; it ignores it and uses the time it"
            " receives the event.",
            'Write it like "2024-05-01T12:00:00Z".',
            event=index,
        )
        return
    if form in (TimestampForm.NAIVE, TimestampForm.DATE_ONLY):
        spaced = (
            " It is also space-separated, as in PostHog's API tutorial." if parsed.has_space else ""
        )
        out.warning(
            "timestamp.no_timezone",
            at,
            f"{value!r} has no time zone; PostHog reads it in the server's zone, which is UTC"
            f" in PostHog Cloud.{spaced}",
            fix,
            event=index,
        )
    elif form is TimestampForm.SLASHED:
        out.warning(
            "timestamp.ambiguous",
            at,
            f"{value!r} uses slashes; day and month can be read either way.",
            fix,
            event=index,
        )
    elif form is not TimestampForm.RFC3339:
        out.info(
            "timestamp.not_rfc3339",
            at,
            f"{value!r} is accepted by PostHog's fallback parser, but RFC 3339 is what it"
            " reads exactly.",
            fix,
            event=index,
        )
    if parsed.value is not None and parsed.value - out.now > FUTURE_LIMIT:
        out.warning(
            "timestamp.future",
            at,
            f"{value!r} is more than 23 hours in the future; PostHog replaces it with the time"
            " it receives the event.",
            "Check the clock or the time zone that produced it.",
            event=index,
        )


def _check_offset(
    offset: int, with_timestamp: bool, path: str, index: int | None, out: Collector
) -> None:
    """What capture makes of `offset` (timestamp.rs @1acee2e, PH-test
    `source_names_the_branch_that_computed_the_value`: offset wins over timestamp)."""
    at = path_key(path, "offset")
    outcome, _when = offset_time(out.now, offset)
    if outcome is OffsetOutcome.PANIC:
        out.error(
            "offset.out_of_range",
            at,
            f"offset {offset} puts the event beyond the dates capture can compute: its"
            " `now - offset` overflows and panics, so PostHog gives no normal answer (the"
            " connection is dropped; code-derived, not seen in a PostHog test).",
            "Send a timestamp instead, or an offset of a few seconds or minutes.",
            stage=Stage.EVENT,
            status=500,
            reply=replies.OFFSET_PANIC,
            event=index,
        )
        return
    if with_timestamp:
        out.warning(
            "offset.with_timestamp",
            at,
            "The event has both offset and timestamp. PostHog's code lets offset win"
            " (the docs say the opposite), so the timestamp is ignored.",
            "Send only one of them; a timestamp is clearer.",
            event=index,
        )
    if outcome is OffsetOutcome.CLAMPED:
        out.warning(
            "offset.clamped",
            at,
            f"A negative offset places the event {-offset:,} ms (more than 23 hours) in the"
            " future; PostHog stores the time it receives the event instead.",
            "offset is how long ago the event happened, in ms: send a positive number.",
            event=index,
        )
    elif offset < 0:
        out.warning(
            "offset.future",
            at,
            f"A negative offset places the event {-offset:,} ms in the future (PostHog stores"
            " receive time - offset, and keeps times up to 23 hours ahead).",
            "offset is how long ago the event happened, in ms: send a positive number.",
            event=index,
        )
    elif outcome is OffsetOutcome.EPOCH:
        out.warning(
            "offset.out_of_range",
            at,
            f"offset {offset:,} ms puts the event before year 0; PostHog stores it at"
            " 1970-01-01T00:00:00Z.",
            "Send a timestamp instead, or a smaller offset.",
            event=index,
        )


def _check_uuid_field(
    ev: JsonObject, path: str, index: int | None, shape: BodyShape, out: Collector
) -> None:
    at = path_key(path, "uuid")
    if "uuid" not in ev or ev["uuid"] is None:
        return
    value = ev["uuid"]
    if not isinstance(value, str):
        out.error(
            "uuid.not_string",
            at,
            f"uuid must be a string; this one is {type_name(value)}, and PostHog refuses the"
            " whole request.",
            "Write the uuid in quotes, or leave it out.",
            stage=Stage.PARSE,
            reply=_reply_for_type_error(shape),
            event=index,
        )
        return
    if value == "":
        out.info(
            "uuid.empty",
            at,
            "An empty uuid counts as none; PostHog makes one, so a resend would count twice.",
            "Give each event its own uuid, or leave the field out.",
            event=index,
        )
        return
    form = identifiers.uuid_form(value)
    if form is None:
        out.error(
            "uuid.invalid",
            at,
            f"{value!r} is not a UUID; PostHog refuses the whole request.",
            "Use a UUID like 0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b, or leave the field out.",
            stage=Stage.PARSE,
            reply=_reply_for_type_error(shape),
            event=index,
        )
    elif form != "hyphenated":
        out.warning(
            "uuid.not_hyphenated",
            at,
            f"PostHog reads this {form} uuid but stores it as"
            f" {identifiers.canonical_uuid(value)}, so it will not match what you sent.",
            f'Send it as "{identifiers.canonical_uuid(value)}".',
            event=index,
        )


_TOP_LEVEL_ADVICE = {
    "sent_at": "sent_at is honoured only on a /batch/ envelope; on an event it is dropped.",
    "$unset": "Top-level $unset is dropped; PostHog reads it only inside properties.",
    "$groups": "Top-level $groups is dropped; PostHog reads it only inside properties.",
    "type": "Top-level type is dropped (it is a Segment field, not a PostHog one).",
}


def _check_top_level_keys(
    ev: JsonObject, path: str, index: int | None, shape: BodyShape, out: Collector
) -> None:
    for key in ev:
        if key in KNOWN_TOP_LEVEL:
            continue
        at = path_key(path, key)
        message = _TOP_LEVEL_ADVICE.get(
            key, f"PostHog keeps only its own top-level fields; {key!r} is dropped."
        )
        fix = (
            "Move it to the batch envelope, or drop it."
            if key == "sent_at"
            else f"Move {key} into properties."
        )
        out.warning("event.top_level_ignored", at, message, fix, event=index)
    if shape is BodyShape.BATCH:
        for name in ("api_key", "token", "$token"):
            if name in ev:
                out.info(
                    "token.ignored_in_batch",
                    path_key(path, name),
                    f"In a batch, PostHog uses the envelope's key and ignores this {name}.",
                    "Remove it from the event.",
                    event=index,
                )


def _check_size(
    ev: JsonObject, path: str, index: int | None, out: Collector, size: int | None
) -> None:
    if size is None:
        size = len(dumps_compact(ev))
    if size > EVENT_MAX_BYTES:
        out.error(
            "event.too_large",
            path or "$",
            f"This event is {size:,} bytes; PostHog refuses events over about 1 MB (413).",
            "Move large values out of the event; send references instead of blobs.",
            stage=Stage.KAFKA,
            status=413,
            reply=replies.EVENT_TOO_LARGE,
            event=index,
        )
    elif size > EVENT_WARN_BYTES:
        out.warning(
            "event.large",
            path or "$",
            f"This event is {size:,} bytes; PostHog's SDKs drop events over 900 KiB and"
            " ingestion drops events over 1 MB after processing.",
            "Keep events well under 900 KiB.",
            event=index,
        )
