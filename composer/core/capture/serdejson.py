"""How serde_json reads and writes JSON, where that differs from Python's readers.

PostHog's capture parses every body with `serde_json::from_str::<RawRequest>` (v0_request.rs
@f12243d `RawRequest::from_bytes`) and answers a failure with 400 `failed to parse request:
<serde's message>` (api.rs @33230e0, `impl From<serde_json::Error>`). The workspace takes
serde_json 1.0 without features (rust/Cargo.toml @01969ac; rust/Cargo.lock @00a998c locks
1.0.140 with only itoa, memchr, ryu and serde): no `arbitrary_precision`, no `float_roundtrip`,
no `unbounded_depth`. So, unlike orjson and Python's json:

- nesting is refused at 128 levels, counted from the outermost `{` or `[`
  ("recursion limit exceeded");
- a number whose value overflows f64 is refused ("number out of range"), one that underflows
  quietly becomes 0.0, and integers outside i64/u64 become floats, computed serde's way
  (digits past the 20th are dropped and counted as powers of ten, then one multiply or divide
  by a power of ten: `f64_from_parts`);
- `NaN`, `Infinity` and a byte-order mark are "expected value", `-Infinity` "invalid number";
- a lone surrogate escape is refused; the text is the one serde_json 1.0.87 gives for
  `"\\ud800"` ("unexpected end of hex escape"), which has changed across serde_json versions.

The untagged enum buffers the whole body before it tries a variant, so syntax errors keep
their own message and position (line, and column counted in bytes, as serde counts them).
`scan` is a reader that follows serde_json's `deserialize_any` (de.rs, read.rs) step by step to
give the same message at the same place; it runs only on bodies that need it.

Formatting: serde_json writes floats with ryu (`1e21`, `1.5e-7`, `100.0`, `-0.0`), which is
what capture stores as the text of a numeric distinct_id (`Value::to_string`). JavaScript's
`String(number)` (what ingestion compares aliases with) writes `1e+21` and `1`.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from composer.core.persons.jsvalues import js_number_string, shortest_digits

RECURSION_LIMIT = 128
U64_MAX = 2**64 - 1
I64_MIN = -(2**63)
MAX_SAFE_INTEGER = 2**53  # JavaScript keeps every integer up to here exactly

_POW10 = [10.0**i for i in range(309)]


@dataclass(frozen=True, slots=True)
class SerdeError:
    """serde_json's error: its message, and where it stopped (1-based line, column in bytes)."""

    message: str
    line: int
    column: int
    offset: int  # byte offset into the UTF-8 text

    @property
    def text(self) -> str:
        """serde_json's Display: "<message> at line L column C"."""
        return f"{self.message} at line {self.line} column {self.column}"


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    """A number in the text that serde and JavaScript read differently from what it says."""

    path: list[str | int]
    literal: str
    kind: str  # "precision" (integer past 2^53), "beyond_64bit", "underflow"
    value: float | int  # what capture keeps: the exact integer, or serde's float


class _Stop(Exception):
    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.message = message
        self.index = index


_WS = re.compile(rb"[ \t\n\r]*")
# The bytes of a string up to its closing quote, an escape or a control character.
_PLAIN_STRING = re.compile(rb'[^"\\\x00-\x1f]*')
_DIGITS = re.compile(rb"[0-9]*")
_HEX = b"0123456789abcdefABCDEF"


class _Reader:
    """serde_json's Deserializer over a byte slice, reduced to what decides errors."""

    def __init__(self, data: bytes, collect: Callable[[NumberLiteral], None] | None) -> None:
        self.data = data
        self.i = 0
        self.collect = collect
        # One frame per open container: [kind, first element still to come, count, the key or
        # index of the element being read].
        self.stack: list[list[Any]] = []

    # -- positions: `error` is at the index, `peek_error` one byte further (serde's read.rs)
    def fail(self, message: str, peek: bool = False) -> _Stop:
        index = min(self.i + 1, len(self.data)) if peek else self.i
        return _Stop(message, index)

    def ws(self) -> int | None:
        match = _WS.match(self.data, self.i)
        assert match is not None
        self.i = match.end()
        return self.data[self.i] if self.i < len(self.data) else None

    def value(self) -> None:
        """deserialize_any, with an explicit stack so deep input cannot exhaust Python's."""
        stack = self.stack
        while True:
            if stack:
                frame = stack[-1]
                more = self._seq_next(frame) if frame[0] == "[" else self._map_next(frame)
                if not more:
                    stack.pop()
                    if not stack:
                        return
                    continue
            peek = self.ws()
            if peek is None:
                raise self.fail("EOF while parsing a value", peek=True)
            if peek in (0x5B, 0x7B):  # [ {
                # check_recursion!: the 128th open container is refused, before it is eaten.
                if len(stack) + 1 >= RECURSION_LIMIT:
                    raise self.fail("recursion limit exceeded", peek=True)
                self.i += 1
                stack.append(["[" if peek == 0x5B else "{", True, 0, None])
                continue
            self._scalar(peek)
            if not stack:
                return

    def _seq_next(self, frame: list[Any]) -> bool:
        """SeqAccess::next_element_seed."""
        peek = self.ws()
        if peek == 0x5D:  # ]
            self.i += 1
            return False
        if peek == 0x2C and not frame[1]:  # ,
            self.i += 1
            peek = self.ws()
        elif peek is None:
            raise self.fail("EOF while parsing a list", peek=True)
        elif frame[1]:
            frame[1] = False
        else:
            raise self.fail("expected `,` or `]`", peek=True)
        if peek == 0x5D:
            raise self.fail("trailing comma", peek=True)
        if peek is None:
            raise self.fail("EOF while parsing a value", peek=True)
        frame[3] = frame[2]
        frame[2] += 1
        return True

    def _map_next(self, frame: list[Any]) -> bool:
        """MapAccess::next_key_seed, then parse_object_colon."""
        peek = self.ws()
        if peek == 0x7D:  # }
            self.i += 1
            return False
        if peek == 0x2C and not frame[1]:
            self.i += 1
            peek = self.ws()
        elif peek is None:
            raise self.fail("EOF while parsing an object", peek=True)
        elif frame[1]:
            frame[1] = False
        else:
            raise self.fail("expected `,` or `}`", peek=True)
        if peek == 0x22:  # "
            self.i += 1
            key = self._string()
        elif peek == 0x7D:
            raise self.fail("trailing comma", peek=True)
        elif peek is None:
            raise self.fail("EOF while parsing a value", peek=True)
        else:
            raise self.fail("key must be a string", peek=True)
        colon = self.ws()
        if colon == 0x3A:
            self.i += 1
        elif colon is None:
            raise self.fail("EOF while parsing an object", peek=True)
        else:
            raise self.fail("expected `:`", peek=True)
        frame[3] = key
        frame[2] += 1
        return True

    def _scalar(self, peek: int) -> None:
        if peek == 0x22:
            self.i += 1
            self._string()
        elif peek == 0x6E:  # n
            self.i += 1
            self._ident(b"ull")
        elif peek == 0x74:  # t
            self.i += 1
            self._ident(b"rue")
        elif peek == 0x66:  # f
            self.i += 1
            self._ident(b"alse")
        elif peek == 0x2D or 0x30 <= peek <= 0x39:  # - or a digit
            self.number()
        else:
            raise self.fail("expected value", peek=True)

    def _ident(self, rest: bytes) -> None:
        for expected in rest:
            if self.i >= len(self.data):
                raise self.fail("EOF while parsing a value")
            got = self.data[self.i]
            self.i += 1
            if got != expected:
                raise self.fail("expected ident")

    def _string(self) -> str:
        """read.rs parse_str, validating; returns the raw text between the quotes."""
        data = self.data
        start = self.i
        while True:
            match = _PLAIN_STRING.match(data, self.i)
            assert match is not None
            self.i = match.end()
            if self.i >= len(data):
                raise self.fail("EOF while parsing a string")
            byte = data[self.i]
            if byte == 0x22:
                raw = data[start : self.i]
                self.i += 1
                return raw.decode("utf-8", "replace") if self.collect is not None else ""
            self.i += 1
            if byte == 0x5C:
                self._escape()
                continue
            raise self.fail("control character (\\u0000-\\u001F) found while parsing a string")

    def _escape(self) -> None:
        """read.rs parse_escape with validation (surrogates must pair up)."""
        if self.i >= len(self.data):
            raise self.fail("EOF while parsing a string")
        ch = self.data[self.i]
        self.i += 1
        if ch in b'"\\/bfnrt':
            return
        if ch != 0x75:  # u
            raise self.fail("invalid escape")
        first = self._hex4()
        if 0xDC00 <= first <= 0xDFFF:
            raise self.fail("lone leading surrogate in hex escape")
        if 0xD800 <= first <= 0xDBFF:
            for expected in (0x5C, 0x75):  # \ then u
                if self.i >= len(self.data):
                    raise self.fail("EOF while parsing a string")
                got = self.data[self.i]
                self.i += 1  # discarded, then reported: the error is one byte past it
                if got != expected:
                    raise self.fail("unexpected end of hex escape")
            second = self._hex4()
            if not 0xDC00 <= second <= 0xDFFF:
                raise self.fail("lone leading surrogate in hex escape")

    def _hex4(self) -> int:
        if self.i + 4 > len(self.data):
            self.i = len(self.data)
            raise self.fail("EOF while parsing a string")
        digits = self.data[self.i : self.i + 4]
        self.i += 4
        if any(d not in _HEX for d in digits):
            raise self.fail("invalid escape")
        return int(digits, 16)

    # -- numbers (de.rs parse_integer, parse_number, parse_decimal, parse_exponent, ...)
    def _peek(self) -> int:
        return self.data[self.i] if self.i < len(self.data) else 0

    def number(self) -> float | int:
        """parse_any_number: the value serde keeps (u64/i64 exactly, else its f64)."""
        start = self.i
        positive = self.data[self.i] != 0x2D
        if not positive:
            self.i += 1
        if self.i >= len(self.data):
            raise self.fail("EOF while parsing a value")
        first = self.data[self.i]
        self.i += 1
        value: float | int
        if first == 0x30:
            if 0x30 <= self._peek() <= 0x39:
                raise self.fail("invalid number", peek=True)
            significand = 0
        elif 0x31 <= first <= 0x39:
            match = _DIGITS.match(self.data, self.i)
            assert match is not None
            digits = self.data[self.i - 1 : match.end()]
            if len(digits) < 20 or (len(digits) == 20 and int(digits) <= U64_MAX):
                significand = int(digits)
                self.i = match.end()
            else:
                # parse_long_integer: from the digit that would overflow u64 on, digits only
                # count as powers of ten.
                kept = digits[:20] if int(digits[:20]) <= U64_MAX else digits[:19]
                self.i += len(kept) - 1
                value = self._long_integer(positive, int(kept))
                self._found(start, value, integer=True)
                return value
        else:
            raise self.fail("invalid number")
        nxt = self._peek()
        if nxt == 0x2E:  # .
            value = self._decimal(positive, significand, 0)
        elif nxt in (0x65, 0x45):  # e E
            value = self._exponent(positive, significand, 0)
        else:
            # parse_number: -0 and negatives past i64 become floats.
            if positive:
                value = significand
            elif significand == 0 or significand > 2**63:
                value = -float(significand)
            else:
                value = -significand
            self._found(start, value, integer=True)
            return value
        self._found(start, value, integer=False)
        return value

    def _long_integer(self, positive: bool, significand: int) -> float:
        match = _DIGITS.match(self.data, self.i)
        assert match is not None
        exponent = match.end() - self.i
        self.i = match.end()
        nxt = self._peek()
        if nxt == 0x2E:
            return self._decimal(positive, significand, exponent)
        if nxt in (0x65, 0x45):
            return self._exponent(positive, significand, exponent)
        return self._from_parts(positive, significand, exponent)

    def _decimal(self, positive: bool, significand: int, exponent: int) -> float:
        self.i += 1  # .
        match = _DIGITS.match(self.data, self.i)
        assert match is not None
        digits = self.data[self.i : match.end()]
        if not digits:
            if self.i < len(self.data):
                raise self.fail("invalid number", peek=True)
            raise self.fail("EOF while parsing a value", peek=True)
        after = 0
        for digit in digits:
            grown = significand * 10 + (digit - 0x30)
            if grown > U64_MAX:
                break  # parse_decimal_overflow: every further digit is ignored
            significand = grown
            after -= 1
        self.i = match.end()
        if self._peek() in (0x65, 0x45):
            return self._exponent(positive, significand, exponent + after)
        return self._from_parts(positive, significand, exponent + after)

    def _exponent(self, positive: bool, significand: int, starting: int) -> float:
        self.i += 1  # e
        positive_exp = True
        if self._peek() == 0x2B:
            self.i += 1
        elif self._peek() == 0x2D:
            self.i += 1
            positive_exp = False
        if self.i >= len(self.data):
            raise self.fail("EOF while parsing a value")
        first = self.data[self.i]
        self.i += 1
        if not 0x30 <= first <= 0x39:
            raise self.fail("invalid number")
        match = _DIGITS.match(self.data, self.i)
        assert match is not None
        exp_digits = self.data[self.i - 1 : match.end()].lstrip(b"0") or b"0"
        self.i = match.end()
        exp = int(exp_digits) if len(exp_digits) <= 10 else 2**31
        if exp > 2**31 - 1:  # parse_exponent_overflow
            if significand == 0 or not positive_exp:
                return 0.0 if positive else -0.0
            raise self.fail("number out of range")
        final = starting + exp if positive_exp else starting - exp
        return self._from_parts(positive, significand, final)

    def _from_parts(self, positive: bool, significand: int, exponent: int) -> float:
        """f64_from_parts without float_roundtrip: one multiply or divide by a power of ten."""
        value = float(significand)
        while True:
            if abs(exponent) < len(_POW10):
                if exponent >= 0:
                    value *= _POW10[exponent]
                    if value == float("inf"):
                        raise self.fail("number out of range")
                else:
                    value /= _POW10[-exponent]
                break
            if value == 0.0:
                break
            if exponent >= 0:
                raise self.fail("number out of range")
            value /= 1e308
            exponent += 308
        return value if positive else -value

    def _found(self, start: int, value: float | int, *, integer: bool) -> None:
        if self.collect is None:
            return
        kind = None
        if integer and isinstance(value, int):
            if abs(value) > MAX_SAFE_INTEGER:
                kind = "precision"
        elif integer:
            if value != 0.0:  # "-0" is a float too, but nothing is lost
                kind = "beyond_64bit"
        elif value == 0.0:
            mantissa = re.split(rb"[eE]", self.data[start : self.i])[0]
            if re.search(rb"[1-9]", mantissa):
                kind = "underflow"
        if kind is not None:
            path = [frame[3] for frame in self.stack]
            literal = self.data[start : self.i].decode()
            self.collect(NumberLiteral(path, literal, kind, value))


def _position(data: bytes, index: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, index) + 1
    return data.count(b"\n", 0, index) + 1, index - line_start


def _utf8(text: str | bytes) -> bytes | None:
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None  # a lone surrogate character: not text PostHog can receive at all


def first_error(text: str | bytes) -> SerdeError | None:
    """serde_json's error for this body, or None when serde_json parses it."""
    data = _utf8(text)
    if data is None:
        return None
    reader = _Reader(data, None)
    try:
        reader.value()
        if reader.ws() is not None:
            raise reader.fail("trailing characters", peek=True)
    except _Stop as stop:
        line, column = _position(data, stop.index)
        return SerdeError(stop.message, line, column, stop.index)
    return None


def odd_numbers(text: str | bytes) -> tuple[SerdeError | None, list[NumberLiteral]]:
    """serde_json's error for the body (as `first_error`), and the number literals before it
    that serde or JavaScript will not keep as written, with their JSON paths. One pass."""
    data = _utf8(text)
    if data is None:
        return None, []
    found: list[NumberLiteral] = []
    reader = _Reader(data, found.append)
    try:
        reader.value()
        if reader.ws() is not None:
            raise reader.fail("trailing characters", peek=True)
    except _Stop as stop:
        line, column = _position(data, stop.index)
        return SerdeError(stop.message, line, column, stop.index), found
    return None, found


# Cheap passes over the whole body (bytes methods run in C), so an ordinary body costs a few
# milliseconds per megabyte; only a body they flag goes through the reader above.
_ALL = bytes(range(256))
_NOT_STRUCTURE = bytes(b for b in _ALL if b not in b'[]{}"')
_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")
_QUOTED = re.compile(rb'"[^"]*"')
# Digits become "9", an exponent mark "e", a sign "-", anything else a space.
_NUMBER_SHAPES = bytes(
    0x39 if 0x30 <= b <= 0x39 else 0x65 if b in b"eE" else 0x2D if b in b"+-" else 0x20
    for b in _ALL
)
_VALUE_START = frozenset(b":[,")
_NUMBER_CHARS = frozenset(b"0123456789.-+eE")


def nesting_depth_exceeds(data: bytes, limit: int = RECURSION_LIMIT - 1) -> bool:
    """True when valid JSON `data` nests deeper than `limit` levels."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    if b"\\" in data:
        # An escaped quote would unpair the quotes; escaped backslashes go first so that
        # `\\"` still ends its string.
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Only brackets and quotes are left; empty strings vanish two quotes at a time (two
    # adjacent quotes are one string's end and the next one's start, or an empty string:
    # either way nothing between them is structure).
    structure = data.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = _QUOTED.sub(b"", structure)  # strings that held brackets
    return max(accumulate(array("b", structure.translate(_STEPS))), default=0) > limit


def may_have_odd_numbers(data: bytes) -> bool:
    """Whether valid JSON `data` may hold a number `odd_numbers` reports: an integer of 16
    digits or more (past 2^53 from 9007199254740993), a three-digit exponent (an underflow or
    an overflow), or 300 zeros after a decimal point. Digits inside strings (ids, uuids) are
    told apart by what comes before them."""
    shapes = data.translate(_NUMBER_SHAPES)
    for needle in (b"9" * 16, b"e999", b"e-999", b"9.000" + b"0" * 296):
        at = shapes.find(needle)
        while at != -1:
            if _starts_a_value(data, at):
                return True
            at = shapes.find(needle, at + len(needle))
    return False


def _starts_a_value(data: bytes, at: int) -> bool:
    """Whether the number-like run around `at` is a number literal: walk back over number
    characters, then white space, and look for `:`, `[` or `,`."""
    start = at
    while start > 0 and data[start - 1] in _NUMBER_CHARS:
        start -= 1
    while start > 0 and data[start - 1] in b" \t\r\n":
        start -= 1
    return start == 0 or data[start - 1] in _VALUE_START


def serde_float(literal: str) -> float:
    """The f64 serde_json reads for a valid number literal (not always Python's float(): serde
    drops digits past u64 and scales by one power of ten, without correct rounding)."""
    value = _Reader(literal.encode(), None).number()
    return float(value)


# -- formatting


def format_f64(value: float) -> str:
    """serde_json's text for a float: ryu's `format_finite` (ryu/src/pretty/mod.rs)."""
    if value == 0.0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    sign = "-" if value < 0 else ""
    digits, point = shortest_digits(abs(value))
    length = len(digits)
    if point - length >= 0 and point <= 16:
        return f"{sign}{digits}{'0' * (point - length)}.0"
    if 0 < point <= 16:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -5 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    mantissa = digits if length == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{point - 1}"


def format_js_number(value: float | int) -> str:
    """JavaScript's `String(n)` for the double nearest `value`."""
    return js_number_string(value)


def serde_number_text(value: int | float) -> str:
    """What serde_json's `Value::to_string` writes for a number PostHog received as `value`
    (an integer outside i64/u64 arrives as digits, which serde reads as a float)."""
    if isinstance(value, int):
        if I64_MIN <= value <= U64_MAX:
            return str(value)
        if value.bit_length() > 1100:  # past f64 (and past str()'s digit limit, maybe)
            return "(a number out of range)"  # PostHog refuses the whole body for it anyway
        try:
            return format_f64(serde_float(str(value)))
        except _Stop:
            return "(a number out of range)"
    return format_f64(value)
