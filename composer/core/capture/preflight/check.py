"""The check's entry points: body-level rules, then every event, then the predicted reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from composer.core.capture import endpoints, serdejson
from composer.core.capture.bodies import render, with_api_key
from composer.core.capture.parse import (
    BodyEncodingError,
    BodyShape,
    ParsedBody,
    Syntax,
    parse_text,
    parse_value,
)
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.batch_rules import (
    check_duplicates,
    check_tokens,
    check_uuids_unique,
)
from composer.core.capture.preflight.body_errors import (
    BOM,
    bom_error,
    check_serde_reads_it,
    syntax_error,
)
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.envelope import (
    check_envelope,
    check_route_and_host,
    settle_variant,
)
from composer.core.capture.preflight.events import check_event
from composer.core.capture.preflight.fast import WARN_BYTES, future_limit, is_plain
from composer.core.capture.preflight.options import CheckOptions
from composer.core.capture.preflight.tokens import type_name
from composer.core.findings import Finding, Severity, Stage
from composer.core.jsonio import JsonSyntaxError, dumps_compact

# CheckOptions lives in options.py (the rule modules read it too); it is exported here too.
__all__ = [
    "MAX_BODY_BYTES",
    "CheckOptions",
    "CheckResult",
    "PredictedReply",
    "check_body",
    "check_text",
    "endpoint_for",
]

MAX_BODY_BYTES = 20 * 1024 * 1024  # capture-rs's wire limit on every v0 route


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
        check_route_and_host(options, out, endpoint_for(None, options.endpoint))
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
        check_route_and_host(options, out, endpoint_for(None, options.endpoint))
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
        check_route_and_host(options, out, endpoint_for(None, options.endpoint))
        if raw.startswith(BOM):
            bom_error(out)
        syntax_error(out, raw.removeprefix(BOM), exc)
        return CheckResult(out.findings, 0, None)
    wire = options.wire_size
    source: bytes | None = None
    if parsed.syntax is Syntax.JSON:
        source = raw.removeprefix(BOM)
        if wire is None:
            wire = len(raw)
    return _check_parsed(parsed, options, wire, source)


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
        check_route_and_host(options, out, endpoint)
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
    check_route_and_host(options, out, endpoint)
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
        bom_error(out)
    if source is None:
        source = render(parsed.value)
    if wire_size is None:
        wire_size = len(source)
    if check_serde_reads_it(source, parsed, out):
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
        check_envelope(parsed.value, out)
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

    check_duplicates(parsed, out)
    check_uuids_unique(parsed, out)
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
        check_tokens(parsed, out)
    engage = settle_variant(parsed, out, on_engage)
    # Body-level findings first, then each event's in order (a stable sort keeps rule order).
    out.findings.sort(key=lambda f: -1 if f.event_index is None else f.event_index)
    return CheckResult(out.findings, len(parsed.events), shape, endpoint, parsed, engage)
