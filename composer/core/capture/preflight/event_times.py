"""Rules for an event's timestamp, offset and uuid (contract §7, §10)."""

from __future__ import annotations

from composer.core.capture import identifiers
from composer.core.capture.parse import BodyShape
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.event_fields import reply_for_type_error
from composer.core.capture.preflight.tokens import type_name
from composer.core.capture.timestamps import (
    FUTURE_LIMIT,
    OffsetOutcome,
    TimestampForm,
    format_rfc3339,
    offset_time,
    parse_timestamp,
)
from composer.core.findings import Stage
from composer.core.jsonio import JsonObject
from composer.core.jsonpath import key as path_key


def check_timestamp(
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
                reply=reply_for_type_error(shape),
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
            reply=reply_for_type_error(shape),
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


def check_uuid_field(
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
            reply=reply_for_type_error(shape),
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
            reply=reply_for_type_error(shape),
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
