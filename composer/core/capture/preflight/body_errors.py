"""What serde_json refuses or changes in a body's text: BOM, syntax errors, odd numbers."""

from __future__ import annotations

import re

from composer.core.capture import serdejson
from composer.core.capture.parse import BodyShape, ParsedBody
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.findings import Stage
from composer.core.jsonio import JsonSyntaxError
from composer.core.jsonpath import join as path_join

BOM = b"\xef\xbb\xbf"
# A NaN or Infinity where a value belongs (Python's json.dumps writes them by default).
_NONFINITE = re.compile(rb"-?(?:NaN|Infinity|nan|inf|infinity)", re.IGNORECASE)


def bom_error(out: Collector) -> None:
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


def syntax_error(out: Collector, data: bytes, exc: JsonSyntaxError) -> None:
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


def check_serde_reads_it(source: bytes, parsed: ParsedBody, out: Collector) -> bool:
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
