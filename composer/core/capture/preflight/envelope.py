"""Envelope rules: route and host, the batch envelope, sent_at, and the variant PostHog reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from composer.core.capture import endpoints, identifiers
from composer.core.capture.bodies import TOKEN_FIELDS
from composer.core.capture.hosts import HostError, resolve_host
from composer.core.capture.parse import BodyShape, ParsedBody
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.options import CheckOptions
from composer.core.capture.preflight.tokens import event_token_fields, shape_problem, type_name
from composer.core.capture.timestamps import TimestampForm, parse_timestamp
from composer.core.capture.variants import ENVELOPE_TOKEN_FIELDS, fits_engage
from composer.core.findings import Finding, Severity, Stage
from composer.core.jsonpath import key as path_key

SENT_AT_SKEW_WARN = timedelta(hours=1)
# BatchedRequest's fields (v0_request.rs @f12243d): `$token` is not one of its names.
ENVELOPE_FIELDS = frozenset({"api_key", "token", "batch", "historical_migration", "sent_at"})


# Errors that mean the object does not fit the Batch or One variant of RawRequest (a type
# the struct does not take, or a field twice); the untagged enum then tries the next variant.
_TYPE_ERRORS_OUTSIDE_PARSE = frozenset(
    {
        "batch.missing_token",
        "batch.not_array",
        "batch.historical_migration_type",
        "batch.sent_at_type",
    }
)


def _is_type_error(f: Finding) -> bool:
    return f.severity is Severity.ERROR and (
        f.code in _TYPE_ERRORS_OUTSIDE_PARSE
        or (f.stage is Stage.PARSE and f.code not in _NOT_TYPE_ERRORS)
    )


# Parse-stage errors that are about the text, not about which variant fits.
_NOT_TYPE_ERRORS = frozenset(
    {
        "body.byte_order_mark",
        "body.invalid_json",
        "number.out_of_range",
        "json.too_deep",
        "number.nonfinite_literal",
        "body.not_object",
        "body.too_deep",
    }
)


def settle_variant(parsed: ParsedBody, out: Collector, on_engage: bool) -> bool:
    """Give every type error PostHog's real answer, by the variant the untagged RawRequest
    falls to (see composer.core.capture.variants). True when PostHog reads the body as one
    engage object and stores it as a $identify event."""
    shape = parsed.shape
    if shape not in (BodyShape.ONE, BodyShape.BATCH):
        return False  # an array has no fallback; an object without event is Engage already
    failing = [i for i, f in enumerate(out.findings) if _is_type_error(f)]
    if not failing:
        return False
    value = parsed.value
    repeated = {name for path, name in parsed.duplicate_keys if not path}
    if not fits_engage(value, repeated):
        for i in failing:
            f = out.findings[i]
            out.findings[i] = replace(f, stage=Stage.PARSE, status=400, reply=replies.PARSE_FAILED)
        return False
    if not on_engage:
        for i in failing:
            f = out.findings[i]
            out.findings[i] = replace(f, stage=Stage.HYDRATE, status=400, reply=replies.NOT_ENGAGE)
        if shape is BodyShape.BATCH and any(
            out.findings[i].event_index is not None for i in failing
        ):
            out.error(
                "batch.items_fall_to_engage",
                "batch",
                "An event in the batch does not fit PostHog's event fields (see the errors"
                " below), so the envelope is not read as a batch; PostHog then reads the"
                " envelope itself as a person update without an event name and refuses the"
                " whole request (the reply names no event).",
                "Fix the events the other errors name.",
                stage=Stage.HYDRATE,
                reply=replies.NOT_ENGAGE,
            )
        return False
    # /engage: the object becomes a $identify event; what did not fit is beside the point.
    kept = [f for i, f in enumerate(out.findings) if i not in set(failing)]
    dropped = [out.findings[i] for i in failing]
    out.findings[:] = kept
    if shape is BodyShape.ONE:
        name = value.get("event")
        what = "given twice" if "event" in repeated else f"{type_name(name)}"
        (out.info if name is None and "event" not in repeated else out.warning)(
            "event.engage_identify",
            "event",
            f"On /engage/ an event name that is {what} does not count: PostHog ignores it,"
            " reads the object as a person update and stores a $identify event.",
            "Give the event one string name, or leave it out on purpose.",
        )
        return True
    _engage_envelope(value, dropped, out)
    return True


def _engage_envelope(envelope: dict[str, Any], dropped: list[Finding], out: Collector) -> None:
    """/engage/ with an envelope that is not a batch: capture's reply for the envelope read
    as one $identify event (token, then distinct_id), and the batch is ignored."""
    for f in dropped:
        out.findings.append(
            replace(f, severity=Severity.WARNING, stage=Stage.AFTER_REPLY, status=None, reply=None)
        )
    props = envelope.get("properties")
    props = props if isinstance(props, dict) else {}
    token = next((envelope[n] for n in TOKEN_FIELDS if isinstance(envelope.get(n), str)), None)
    if token is None and isinstance(props.get("token"), str):
        token = props["token"]
    raw_id = envelope.get("distinct_id", envelope.get("$distinct_id"))
    if raw_id is None:
        raw_id = props.get("distinct_id")
    message = (
        "The envelope is not a batch PostHog reads (see the warnings), so on /engage/ PostHog"
        " reads the envelope itself as one $identify event and ignores its batch"
    )
    reason = shape_problem(token) if token is not None else None
    if token is None or reason is not None:
        reply = replies.NO_API_KEY if token is None else replies.invalid_key(reason or "")
        out.error(
            "batch.items_fall_to_engage",
            "batch",
            f"{message}; {reply} (401).",
            "Fix the events the warnings name, and send the batch to /batch/.",
            stage=Stage.TOKEN,
            status=401,
            reply=reply,
        )
    elif raw_id is None or identifiers.is_blank_distinct_id(
        identifiers.stringify_distinct_id(raw_id)
    ):
        out.error(
            "batch.items_fall_to_engage",
            "batch",
            f"{message}; it has no distinct_id, so: 400 {replies.NO_DISTINCT_ID}.",
            "Fix the events the warnings name, and send the batch to /batch/.",
            stage=Stage.EVENT,
            reply=replies.NO_DISTINCT_ID,
        )
    else:
        out.warning(
            "batch.items_fall_to_engage",
            "batch",
            f"{message}; PostHog answers 200 and stores none of the batch's events.",
            "Fix the events the warnings name, and send the batch to /batch/.",
        )


def check_route_and_host(options: CheckOptions, out: Collector, endpoint: str) -> None:
    if endpoint not in endpoints.KNOWN:
        out.error(
            "endpoint.unknown",
            "endpoint",
            f"{options.endpoint} is not a capture endpoint; PostHog answers 404.",
            "Use /i/v0/e/ for single events or /batch/ for batches.",
            stage=Stage.BODY_SIZE,
            status=404,
            reply=replies.NOT_FOUND,
        )
    if options.host is None:
        return
    try:
        host = resolve_host(options.host)
    except HostError as exc:
        out.findings.append(
            Finding(
                Severity.ERROR,
                "host.invalid",
                "host",
                str(exc)[0].upper() + str(exc)[1:],
                "Use us, eu, or the https:// address of your PostHog instance.",
                stage=Stage.LOCAL,
            )
        )
        return
    out.findings.extend(host.findings)


def check_envelope(envelope: dict[str, Any], out: Collector) -> None:
    event_token_fields(envelope, "", None, out, ENVELOPE_TOKEN_FIELDS)
    token_name = next((n for n in ENVELOPE_TOKEN_FIELDS if n in envelope), None)
    if token_name is None or envelope[token_name] is None:
        batch = envelope.get("batch")
        carried = isinstance(batch, list) and any(
            isinstance(item, dict) and any(name in item for name in TOKEN_FIELDS) for item in batch
        )
        said = "has no api_key" if token_name is None else f"has {token_name}: null"
        note = " Keys inside the events do not count." if carried else ""
        if "$token" in envelope:
            note += " A batch envelope reads api_key or token, not $token."
        out.error(
            "batch.missing_token",
            token_name or "api_key",
            f"The batch envelope {said}, so PostHog does not read it as a batch and refuses"
            f" it (400).{note}",
            'Put "api_key": "phc_..." at the top of the envelope.',
            stage=Stage.HYDRATE,
            reply=replies.NOT_ENGAGE,
        )
    if not isinstance(envelope.get("batch"), list):
        out.error(
            "batch.not_array",
            "batch",
            f"batch must be an array of events; this one is {type_name(envelope.get('batch'))}.",
            "Write batch as [ {event...}, {event...} ].",
            stage=Stage.HYDRATE,
            reply=replies.NOT_ENGAGE,
        )
    hm = envelope.get("historical_migration")
    if hm is not None and not isinstance(hm, bool):
        out.error(
            "batch.historical_migration_type",
            "historical_migration",
            "historical_migration must be true or false; PostHog refuses the batch otherwise.",
            "Use a JSON boolean, without quotes.",
            stage=Stage.HYDRATE,
            reply=replies.NOT_ENGAGE,
        )
    sent_at = envelope.get("sent_at")
    if sent_at is not None:
        if not isinstance(sent_at, str):
            out.error(
                "batch.sent_at_type",
                "sent_at",
                f"sent_at must be an ISO 8601 string; this one is {type_name(sent_at)}.",
                'Write it like "2024-05-01T12:00:00Z", or leave it out.',
                stage=Stage.HYDRATE,
                reply=replies.NOT_ENGAGE,
            )
        else:
            parsed = parse_timestamp(sent_at)
            if parsed.form is not TimestampForm.RFC3339 or parsed.value is None:
                out.warning(
                    "batch.sent_at_ignored",
                    "sent_at",
                    f"PostHog reads sent_at only as ISO 8601 with a time zone; {sent_at!r} is"
                    " ignored, so no clock-skew correction happens.",
                    'Write it like "2024-05-01T12:00:00Z", or leave it out.',
                )
            else:
                _check_ignore_sent_at(envelope, out)
            if (
                parsed.form is TimestampForm.RFC3339
                and parsed.value is not None
                and abs(parsed.value - out.now) > SENT_AT_SKEW_WARN
                and _has_timestamps(envelope)
            ):
                out.warning(
                    "batch.sent_at_skew",
                    "sent_at",
                    "sent_at is more than an hour from now. PostHog shifts every timestamp by"
                    " (receive time - sent_at), so these events will land at other times.",
                    "Set sent_at when the request is sent, or leave it out; add"
                    " $ignore_sent_at: true to an event's properties to keep its timestamp.",
                )
    for name in envelope:
        if name not in ENVELOPE_FIELDS:
            out.info(
                "batch.field_ignored",
                path_key("", name),
                f"PostHog ignores {name!r} on the batch envelope.",
                "Remove it, or move it into the events.",
            )


def _check_ignore_sent_at(envelope: dict[str, Any], out: Collector) -> None:
    """events/analytics.rs @006ae06 `process_single_event`: `$ignore_sent_at` counts only as
    the JSON boolean (`.and_then(|v| v.as_bool())`); PH-test
    `test_process_single_event_ignore_sent_at` covers `true`."""
    batch = envelope.get("batch")
    if not isinstance(batch, list):
        return
    for i, item in enumerate(batch):
        if not isinstance(item, dict) or not isinstance(item.get("timestamp"), str):
            continue
        props = item.get("properties")
        if not isinstance(props, dict) or props.get("$ignore_sent_at") is None:
            continue
        flag = props["$ignore_sent_at"]
        if not isinstance(flag, bool):
            out.warning(
                "properties.ignore_sent_at_type",
                f"batch[{i}].properties.$ignore_sent_at",
                f"$ignore_sent_at is {type_name(flag)} ({identifiers.stringify_distinct_id(flag)});"
                " PostHog reads only the JSON boolean true, so it shifts this event's"
                " timestamp by (receive time - sent_at) anyway.",
                "Write $ignore_sent_at: true, without quotes.",
                event=i,
            )


def _has_timestamps(envelope: dict[str, Any]) -> bool:
    batch = envelope.get("batch")
    if not isinstance(batch, list):
        return False
    for item in batch:
        if isinstance(item, dict) and isinstance(item.get("timestamp"), str):
            props = item.get("properties")
            if not (isinstance(props, dict) and props.get("$ignore_sent_at") is True):
                return True
    return False
