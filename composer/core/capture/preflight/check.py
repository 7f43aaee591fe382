"""The check's entry points: body-level rules, then every event, then the predicted reply."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from composer.core.capture import endpoints, identifiers, serdejson
from composer.core.capture.bodies import TOKEN_FIELDS, render, with_api_key
from composer.core.capture.hosts import HostError, resolve_host
from composer.core.capture.parse import (
    BodyEncodingError,
    BodyShape,
    ParsedBody,
    Syntax,
    parse_text,
    parse_value,
)
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.events import KNOWN_TOP_LEVEL, check_event
from composer.core.capture.preflight.fast import WARN_BYTES, future_limit, is_plain
from composer.core.capture.preflight.tokens import (
    check_token_value,
    event_token_fields,
    shape_problem,
    type_name,
)
from composer.core.capture.timestamps import TimestampForm, parse_timestamp
from composer.core.capture.variants import ENVELOPE_TOKEN_FIELDS, fits_engage
from composer.core.findings import Finding, Severity, Stage
from composer.core.jsonio import JsonSyntaxError, dumps_compact
from composer.core.jsonpath import join as path_join
from composer.core.jsonpath import key as path_key
from composer.core.jsonpath import split as path_split

MAX_BODY_BYTES = 20 * 1024 * 1024  # capture-rs's wire limit on every v0 route
SENT_AT_SKEW_WARN = timedelta(hours=1)
# BatchedRequest's fields (v0_request.rs @f12243d): `$token` is not one of its names.
ENVELOPE_FIELDS = frozenset({"api_key", "token", "batch", "historical_migration", "sent_at"})


@dataclass(frozen=True)
class CheckOptions:
    endpoint: str | None = None  # None: /batch/ for a batch envelope, else /i/v0/e/
    host: str | None = None  # as the user typed it; checked when given
    now: datetime | None = None  # for "in the future"; the current time when None
    wire_size: int | None = None  # bytes that will be sent; computed from the body when None
    # Read a pasted Python literal as the JSON it stands for. The sandbox turns this off:
    # PostHog itself takes JSON only.
    python_literals: bool = True
    # Check the body as it is sent with this key (a profile's): it replaces the body's own
    # token, or is added, exactly as `send` does.
    api_key: str | None = None


@dataclass(frozen=True)
class PredictedReply:
    status: int
    body: str


@dataclass
class CheckResult:
    findings: list[Finding]
    events: int
    shape: BodyShape | None
    endpoint: str = endpoints.DEFAULT  # the endpoint the body was checked for
    parsed: ParsedBody | None = field(default=None, repr=False)
    # PostHog reads the whole body as one engage object (an object whose event name does not
    # count, on /engage/) and stores it as a $identify event.
    engage: bool = False

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """True when nothing in the body makes PostHog refuse the request."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @cached_property
    def by_event(self) -> dict[int | None, list[Finding]]:
        grouped: dict[int | None, list[Finding]] = {}
        for f in self.findings:
            grouped.setdefault(f.event_index, []).append(f)
        return grouped

    @property
    def predicted(self) -> PredictedReply:
        """What PostHog would answer: its first error in pipeline order, else 200."""
        blocking = [f for f in self.errors if f.status is not None]
        if blocking:
            first = min(blocking, key=lambda f: f.stage)
            assert first.status is not None
            return PredictedReply(first.status, first.reply or "")
        return PredictedReply(200, replies.OK_BODY)


def check_text(text: str | bytes, options: CheckOptions | None = None) -> CheckResult:
    """Parse and check a body as the user typed or loaded it."""
    options = options or CheckOptions()
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if not raw.strip():
        out = _collector(options)
        _check_route_and_host(options, out, endpoint_for(None, options.endpoint))
        # No bytes at all: no payload. White space only: a payload serde_json finds empty.
        serde = serdejson.first_error(raw) if raw else None
        reply = replies.parse_failed(serde.text) if serde is not None else replies.NO_DATA
        out.error(
            "body.empty",
            "$",
            f"The body is empty; PostHog answers 400 ({reply}).",
            'Write at least one event, such as {"event": "test", "distinct_id": "user-1"}.',
            stage=Stage.DECODE if serde is None else Stage.PARSE,
            reply=reply,
        )
        return CheckResult(out.findings, 0, None)
    try:
        parsed = parse_text(text, allow_python=options.python_literals)
    except BodyEncodingError as exc:
        out = _collector(options)
        _check_route_and_host(options, out, endpoint_for(None, options.endpoint))
        out.error(
            "body.not_utf8",
            "$",
            f"The body is not UTF-8 text: {exc}.",
            "Save the file as UTF-8.",
            stage=Stage.DECODE,
            reply=replies.UTF8,
        )
        return CheckResult(out.findings, 0, None)
    except JsonSyntaxError as exc:
        out = _collector(options)
        _check_route_and_host(options, out, endpoint_for(None, options.endpoint))
        if raw.startswith(_BOM):
            _bom_error(out)
        _syntax_error(out, raw.removeprefix(_BOM), exc)
        return CheckResult(out.findings, 0, None)
    wire = options.wire_size
    source: bytes | None = None
    if parsed.syntax is Syntax.JSON:
        source = raw.removeprefix(_BOM)
        if wire is None:
            wire = len(raw)
    return _check_parsed(parsed, options, wire, source)


_BOM = b"\xef\xbb\xbf"
# A NaN or Infinity where a value belongs (Python's json.dumps writes them by default).
_NONFINITE = re.compile(rb"-?(?:NaN|Infinity|nan|inf|infinity)", re.IGNORECASE)


def _bom_error(out: Collector) -> None:
    # No step of capture strips a byte-order mark (payload/common.rs @61bafba,
    # decompression.rs @027cd53, v0_request.rs from_bytes): serde_json meets it where the
    # first value should start.
    out.error(
        "body.byte_order_mark",
        "$",
        "The text starts with a byte-order mark (EF BB BF). PostHog does not strip it: its"
        " JSON parser refuses the request, 400 failed to parse request: expected value at line"
        " 1 column 1. (The composer's own send leaves it out; any other client sending these"
        " bytes gets the 400.)",
        "Save the file as UTF-8 without a BOM.",
        stage=Stage.PARSE,
        reply=replies.parse_failed("expected value at line 1 column 1"),
    )


def _char_location(data: bytes, offset: int) -> str:
    """serde's error points one byte past the offending character; name that character by
    its line and (1-based, in characters) column, as an editor shows it."""
    at = max(offset - 1, 0)
    line_start = data.rfind(b"\n", 0, at) + 1
    column = len(data[line_start : at + 1].decode("utf-8", "replace")) if offset else 0
    line = data.count(b"\n", 0, at) + 1
    return f"line {line}, column {column}"


def _syntax_error(out: Collector, data: bytes, exc: JsonSyntaxError) -> None:
    """A body serde_json refuses: its message and place, which are PostHog's reply."""
    serde = serdejson.first_error(data)
    if serde is None:
        # serde_json would read it (orjson is stricter here, or the text is not UTF-8):
        # orjson's words are the best there are.
        out.error(
            "body.invalid_json",
            f"line {exc.line}, column {exc.column}",
            f"The body is not valid JSON: {exc.message} at line {exc.line}, column {exc.column}.",
            exc.fix,
            stage=Stage.PARSE,
            reply=replies.parse_failed(f"{exc.message} at line {exc.line} column {exc.column}"),
        )
        return
    _serde_error(out, data, serde, exc.fix)


def _serde_error(out: Collector, data: bytes, serde: serdejson.SerdeError, fix: str) -> None:
    reply = replies.parse_failed(serde.text)
    where = _char_location(data, serde.offset)
    at = max(serde.offset - 1, 0)
    nonfinite = serde.message in ("expected value", "invalid number", "expected ident") and (
        _NONFINITE.match(data, at) is not None
        or (at > 0 and _NONFINITE.match(data, at - 1) is not None)
    )
    if serde.message == "number out of range":
        out.error(
            "number.out_of_range",
            where,
            "A number here is beyond what a 64-bit float holds (about 1.8e308). PostHog's JSON"
            f" parser refuses the whole request: 400 {reply}.",
            "Send a value that large as a string, or in other units.",
            stage=Stage.PARSE,
            reply=reply,
        )
    elif serde.message == "recursion limit exceeded":
        out.error(
            "json.too_deep",
            where,
            f"Arrays and objects are nested {serdejson.RECURSION_LIMIT} levels deep here"
            " (the outermost brace counts). PostHog's JSON parser stops at"
            f" {serdejson.RECURSION_LIMIT} and refuses the whole request: 400 {reply}.",
            "Flatten the nesting, or send a deep structure as a JSON string.",
            stage=Stage.PARSE,
            reply=reply,
        )
    elif nonfinite:
        out.error(
            "number.nonfinite_literal",
            where,
            "NaN and Infinity are not JSON numbers (Python's json.dumps writes them unless"
            f" allow_nan=False). PostHog refuses the whole request: 400 {reply}.",
            "Send null, or the value as a string, instead of NaN or Infinity.",
            stage=Stage.PARSE,
            reply=reply,
        )
    else:
        out.error(
            "body.invalid_json",
            where,
            f"The body is not valid JSON: {serde.message} ({where}).",
            fix,
            stage=Stage.PARSE,
            reply=reply,
        )


def check_body(value: Any, options: CheckOptions | None = None) -> CheckResult:
    """Check a body that is already a JSON value (built by the forms, or parsed)."""
    options = options or CheckOptions()
    return _check_parsed(parse_value(value), options, options.wire_size, None)


def _collector(options: CheckOptions) -> Collector:
    return Collector(options.now or datetime.now(UTC))


def endpoint_for(shape: BodyShape | None, chosen: str | None) -> str:
    """The endpoint a body goes to: the chosen one, else the usual one for its shape."""
    if chosen:
        return endpoints.normalize(chosen)
    return endpoints.BATCH if shape is BodyShape.BATCH else endpoints.DEFAULT


def _check_parsed(
    parsed: ParsedBody, options: CheckOptions, wire_size: int | None, source: bytes | None
) -> CheckResult:
    """`source` is the JSON text PostHog will read, when the caller has it; else the body is
    rendered as the composer sends it."""
    if options.api_key is not None:
        keyed = parse_value(with_api_key(parsed.value, options.api_key), parsed.syntax)
        # What was learnt from the text still holds: the key changes no other byte.
        keyed.duplicate_keys, keyed.had_bom = parsed.duplicate_keys, parsed.had_bom
        parsed, wire_size, source = keyed, None, None  # the body as rendered with the key
    try:
        return _check_rules(parsed, options, wire_size, source)
    except RecursionError:
        # A value nested past Python's recursion limit (orjson parses up to 1,024 levels; a
        # body built in memory can go deeper): one finding, never a crash of the window, the
        # command line or the sandbox.
        out = _collector(options)
        endpoint = endpoint_for(parsed.shape, options.endpoint)
        _check_route_and_host(options, out, endpoint)
        out.error(
            "body.too_deep",
            "$",
            "The body nests arrays and objects too deeply to check; PostHog refuses JSON"
            " nested 128 levels deep or more (400).",
            "Flatten the nesting: keep objects and arrays a few levels deep.",
            stage=Stage.PARSE,
            reply=replies.parse_failed("recursion limit exceeded"),
        )
        return CheckResult(out.findings, len(parsed.events), parsed.shape, endpoint, parsed)


def _check_rules(
    parsed: ParsedBody, options: CheckOptions, wire_size: int | None, source: bytes | None
) -> CheckResult:
    out = _collector(options)
    endpoint = endpoint_for(parsed.shape, options.endpoint)
    _check_route_and_host(options, out, endpoint)
    on_engage = endpoints.is_engage(endpoint)
    if parsed.syntax is Syntax.PYTHON_LITERAL:
        out.info(
            "body.python_literal",
            "$",
            "This is a Python literal, not JSON; it was read as the JSON it stands for"
            " (True/False/None become true/false/null, quotes become double quotes).",
            "Send the JSON shown in the preview.",
        )
    if parsed.had_bom:
        _bom_error(out)
    if source is None:
        source = render(parsed.value)
    if wire_size is None:
        wire_size = len(source)
    if _check_serde_reads_it(source, parsed, out):
        return CheckResult(out.findings, len(parsed.events), parsed.shape, endpoint, parsed)
    if wire_size > MAX_BODY_BYTES:
        out.error(
            "body.too_large",
            "$",
            f"The body is {wire_size:,} bytes; PostHog refuses bodies over {MAX_BODY_BYTES:,}"
            " bytes (20 MiB) with 413.",
            "Split the events into several /batch/ requests under 20 MiB (5 MiB is typical).",
            stage=Stage.BODY_SIZE,
            status=413,
            reply=replies.BODY_TOO_LARGE.format(limit=MAX_BODY_BYTES),
        )

    shape = parsed.shape
    if shape is BodyShape.INVALID:
        out.error(
            "body.not_object",
            "$",
            f"The body is {type_name(parsed.value)}; PostHog expects an event object, an array"
            " of events, or a batch envelope.",
            'Start from {"event": "test", "distinct_id": "user-1"}.',
            stage=Stage.PARSE,
            reply=replies.PARSE_FAILED,
        )
        return CheckResult(out.findings, 0, shape, endpoint, parsed)
    if shape is BodyShape.BATCH:
        _check_envelope(parsed.value, out)
    if not parsed.events and not (
        shape is BodyShape.BATCH and not isinstance(parsed.value.get("batch"), list)
    ):
        out.error(
            "body.no_events",
            "batch" if shape is BodyShape.BATCH else "$",
            "The request holds no event; PostHog answers 400.",
            "Add at least one event.",
            stage=Stage.HYDRATE,
            reply=replies.NO_EVENTS,
        )

    single = shape in (BodyShape.ONE, BodyShape.ENGAGE)
    limit = future_limit(out.now)
    # No event can be over the per-event limit when the whole body is under it.
    small = wire_size <= WARN_BYTES
    for i, (ev, path) in enumerate(zip(parsed.events, parsed.event_paths, strict=True)):
        size = 0 if small else (len(dumps_compact(ev)) if isinstance(ev, dict) else 0)
        if is_plain(ev, size, limit):
            continue  # an ordinary event: no rule has anything to say about it
        check_event(ev, path, None if single else i, shape, on_engage, out, None if small else size)

    _check_duplicates(parsed, out)
    _check_uuids_unique(parsed, out)
    filtered = bool(parsed.events) and all(
        isinstance(e, dict) and e.get("event") == "$performance_event" for e in parsed.events
    )
    if filtered:
        out.warning(
            "body.all_filtered",
            "$",
            "Every event is a $performance_event, which capture removes first; PostHog answers"
            " 200 and stores nothing (even with a bad key).",
            "Send other events.",
        )
    else:
        _check_tokens(parsed, out)
    engage = _settle_variant(parsed, out, on_engage)
    # Body-level findings first, then each event's in order (a stable sort keeps rule order).
    out.findings.sort(key=lambda f: -1 if f.event_index is None else f.event_index)
    return CheckResult(out.findings, len(parsed.events), shape, endpoint, parsed, engage)


def _check_serde_reads_it(source: bytes, parsed: ParsedBody, out: Collector) -> bool:
    """What serde_json refuses or changes although orjson read it: nesting of 128 levels, a
    number serde's own arithmetic overflows, and numbers PostHog will not keep as written.
    True when PostHog refuses the body (the other rules are then beside the point)."""
    if serdejson.nesting_depth_exceeds(source):
        serde = serdejson.first_error(source)
        if serde is not None:
            _serde_error(out, source, serde, "")
            return True
    if not serdejson.may_have_odd_numbers(source):
        return False
    serde, numbers = serdejson.odd_numbers(source)
    if serde is not None:
        _serde_error(out, source, serde, "")
        return True
    for number in numbers:
        _odd_number(number, parsed.shape, out)
    return False


def _odd_number(number: serdejson.NumberLiteral, shape: BodyShape, out: Collector) -> None:
    path = path_join(number.path) or "$"
    index: int | None = None
    parts = number.path
    if shape is BodyShape.BATCH and len(parts) >= 2 and parts[0] == "batch":
        index = parts[1] if isinstance(parts[1], int) else None
    elif shape is BodyShape.ARRAY and parts and isinstance(parts[0], int):
        index = parts[0]
    depth = {BodyShape.BATCH: 2, BodyShape.ARRAY: 1}.get(shape, 0)
    if parts[depth:] in (["distinct_id"], ["$distinct_id"], ["properties", "distinct_id"]):
        # Capture stringifies a numeric distinct_id itself, exactly (distinct_id.not_string
        # shows the text), before ingestion could round it.
        return
    literal = number.literal
    stored = serdejson.format_js_number(number.value)
    if number.kind == "precision":
        out.warning(
            "number.precision_loss",
            path,
            f"{literal} is past 2^53. Capture keeps it exactly, but PostHog's ingestion reads"
            f" numbers as JavaScript doubles, so it stores {stored}.",
            f'Send ids and other large integers as strings: "{literal}".',
            event=index,
        )
    elif number.kind == "beyond_64bit":
        out.warning(
            "number.beyond_64bit",
            path,
            f"{literal} does not fit in 64 bits, so capture reads it as the float"
            f" {serdejson.format_f64(float(number.value))} before anything else; PostHog stores"
            f" {stored}.",
            f'Send it as a string: "{literal}".',
            event=index,
        )
    else:
        out.info(
            "number.underflow",
            path,
            f"{literal} is smaller than the smallest double; PostHog stores 0.0.",
            "Send it as a string if the value matters.",
            event=index,
        )


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


def _settle_variant(parsed: ParsedBody, out: Collector, on_engage: bool) -> bool:
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


def _check_route_and_host(options: CheckOptions, out: Collector, endpoint: str) -> None:
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


def _check_envelope(envelope: dict[str, Any], out: Collector) -> None:
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


def _check_tokens(parsed: ParsedBody, out: Collector) -> None:
    shape = parsed.shape
    if shape is BodyShape.BATCH:
        envelope = parsed.value
        for name in ENVELOPE_TOKEN_FIELDS:
            if isinstance(envelope.get(name), str):
                check_token_value(envelope[name], name, out)
                return
        return  # the missing envelope key is already an error of its own
    tokens: list[tuple[str, str]] = []  # (path, token)
    missing = 0
    single = shape in (BodyShape.ONE, BodyShape.ENGAGE)
    for i, (ev, path) in enumerate(zip(parsed.events, parsed.event_paths, strict=True)):
        if not isinstance(ev, dict):
            continue
        token = event_token_fields(ev, path, None if single else i, out)
        token_path = next((path_key(path, n) for n in TOKEN_FIELDS if n in ev), "")
        if token is None:
            props = ev.get("properties")
            if isinstance(props, dict) and isinstance(props.get("token"), str):
                token = props["token"]
                token_path = path_key(path_key(path, "properties"), "token")
        if token is None:
            missing += 1
        else:
            tokens.append((token_path, token))
    if not tokens:
        out.error(
            "token.missing",
            "api_key",
            "No project API key; PostHog answers 401.",
            'Add "api_key": "phc_..." to the event (the composer does this from the key field).',
            stage=Stage.TOKEN,
            status=401,
            reply=replies.NO_API_KEY,
        )
        return
    distinct = {t for _, t in tokens}
    if len(distinct) > 1:
        out.error(
            "token.inconsistent",
            tokens[1][0] if tokens[1][1] != tokens[0][1] else tokens[0][0],
            "The events carry different project keys; PostHog refuses the whole array (401).",
            "Use one project key for every event, or send them in separate requests.",
            stage=Stage.TOKEN,
            status=401,
            reply=replies.INCONSISTENT_KEYS,
        )
        return
    check_token_value(tokens[0][1], tokens[0][0], out)


def _check_duplicates(parsed: ParsedBody, out: Collector) -> None:
    if not parsed.duplicate_keys:
        return
    event_paths = {tuple(path_split(p)): i for i, p in enumerate(parsed.event_paths)}
    single = parsed.shape in (BodyShape.ONE, BodyShape.ENGAGE)
    for path, name in parsed.duplicate_keys:
        where = tuple(path)
        at = path_key(path_join(path), name)
        is_event = where in event_paths
        is_envelope = parsed.shape is BodyShape.BATCH and where == ()
        index = None if single else event_paths.get(where)
        if (is_event and name in KNOWN_TOP_LEVEL) or (is_envelope and name in ENVELOPE_FIELDS):
            # serde refuses a struct field given twice ("duplicate field"), but the untagged
            # RawRequest hides that message behind its own or falls to the next variant:
            # _settle_variant gives the reply.
            out.error(
                "json.duplicate_key",
                at,
                f"{name!r} appears twice in one object; PostHog's parser refuses a repeated field.",
                "Keep one of the two.",
                stage=Stage.PARSE,
                reply=replies.PARSE_FAILED,
                event=index,
            )
        else:
            out.warning(
                "json.duplicate_key",
                at,
                f"{name!r} appears twice in one object; only the last value is kept.",
                "Keep one of the two.",
                event=index,
            )


def _check_uuids_unique(parsed: ParsedBody, out: Collector) -> None:
    if len(parsed.events) < 2:
        return
    seen: dict[str, int] = {}
    for i, ev in enumerate(parsed.events):
        if not isinstance(ev, dict):
            continue
        value = ev.get("uuid")
        if not isinstance(value, str) or not value:
            continue
        canonical = value.lower()
        first = seen.setdefault(canonical, i)
        if first != i:
            out.warning(
                "uuid.duplicate",
                path_key(parsed.event_paths[i], "uuid"),
                f"Event {i} has the same uuid as event {first}; PostHog keeps only one of them.",
                "Give every event its own uuid.",
                event=i,
            )
