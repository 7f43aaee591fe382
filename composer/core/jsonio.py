"""JSON reading and writing with positions in errors; orjson for speed, stdlib as a fallback."""

from __future__ import annotations

import ast
import json
import math
import re
import sys
from dataclasses import dataclass
from typing import Any

import orjson

JsonObject = dict[str, Any]

# Python-literal parsing is a convenience for pasted code; above this size it is not worth the risk.
_MAX_PYTHON_LITERAL = 1_000_000

# Half of a UTF-16 pair on its own: Python strings can hold one, UTF-8 (and so PostHog) cannot.
SURROGATE = re.compile("[\ud800-\udfff]")
# The largest integer a JSON reader that parses numbers as f64 (serde_json, JavaScript) keeps.
MAX_JSON_INT = int(sys.float_info.max)


@dataclass(frozen=True, slots=True)
class JsonSyntaxError(Exception):
    """A body that is not valid JSON, with the 1-based line and column of the first problem."""

    message: str
    line: int
    column: int
    position: int

    def __str__(self) -> str:
        return f"invalid JSON at line {self.line}, column {self.column}: {self.message}"

    @property
    def fix(self) -> str:
        """How to fix it, matched on orjson's messages; any other gets the usual advice."""
        message = self.message
        if "surrogate" in message:
            return (
                "Write the character itself, or both halves of its pair (\\ud83d\\ude00);"
                " a \\ud800-\\udfff escape on its own is not text."
            )
        if "UTF-8" in message:
            return "Save the file as UTF-8."
        if "infinity" in message or "out of range" in message:
            return (
                "PostHog reads numbers as 64-bit floats (up to about 1.8e308); write a smaller"
                " number, or send it as a string."
            )
        if "depth limit" in message or "recursion" in message:
            return "Flatten the nesting; PostHog refuses JSON nested 128 levels deep or more."
        if message == "the text is empty":
            return 'Write a JSON value, such as {"event": "test", "distinct_id": "user-1"}.'
        return "Fix the JSON at that position; a missing comma or quote is the usual cause."


def loads(data: bytes | str) -> Any:
    """Parse JSON text, raising `JsonSyntaxError` with a line and column on failure.

    Never raises anything else: invalid UTF-8, lone surrogates, numbers out of range and
    nesting deeper than orjson's limit (1,024) are all syntax errors with a position.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if exc.msg.startswith("str is not valid UTF-8"):
            # orjson says this for bad bytes and for lone surrogates alike, always at offset 0;
            # find the real place so the message can point at it.
            raise _not_text(data) from None
        raise JsonSyntaxError(_plain_message(exc.msg), exc.lineno, exc.colno, exc.pos) from None


def _plain_message(msg: str) -> str:
    if msg.startswith("Input is a zero-length"):
        return "the text is empty"
    return msg


def position(text: str | bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and column of `offset` (a character index in text, a byte index in
    bytes), with lines ended by LF as orjson counts them."""
    if isinstance(text, bytes):
        return text.count(b"\n", 0, offset) + 1, offset - (text.rfind(b"\n", 0, offset) + 1) + 1
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _not_text(data: bytes | str) -> JsonSyntaxError:
    if isinstance(data, bytes):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, column = position(data, exc.start)
            return JsonSyntaxError(
                f"byte 0x{data[exc.start]:02x} is not UTF-8 text", line, column, exc.start
            )
        data = data.decode("utf-8")
    found = SURROGATE.search(data)
    offset = found.start() if found else 0
    line, column = position(data, offset)
    char = f"U+{ord(found.group()):04X}" if found else "a character"
    return JsonSyntaxError(
        f"{char} is half of a UTF-16 surrogate pair, not text", line, column, offset
    )


def loads_python_literal(text: str) -> Any:
    """Read a Python dict/list literal (as pasted from `requests.post(json=body)` code).

    Returns None when the text is not a literal made only of JSON-compatible values.
    """
    if len(text) > _MAX_PYTHON_LITERAL:
        return None
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        # ValueError covers integers over Python's 4,300-digit conversion limit too.
        return None
    if not isinstance(value, dict | list) or not _json_compatible(value):
        return None
    return value


def _json_compatible(value: Any) -> bool:
    """Whether `value` is made only of what JSON text can carry and PostHog can read: no
    inf or nan, no integer beyond f64's range, no lone surrogate in a string or a key.
    Iterative: a literal nested deeper than the recursion limit is simply refused."""
    stack = [value]
    while stack:
        node = stack.pop()
        if node is None or isinstance(node, bool):
            continue
        if isinstance(node, str):
            if SURROGATE.search(node):
                return False
        elif isinstance(node, int):
            if abs(node) > MAX_JSON_INT:
                return False
        elif isinstance(node, float):
            if not math.isfinite(node):
                return False
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str) or SURROGATE.search(key):
                    return False
                stack.append(item)
        else:
            return False
    return True


def dumps_pretty(value: Any) -> bytes:
    """Two-space indented JSON; the form the preview shows and the composer sends."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2)
    except TypeError:
        # orjson refuses integers beyond 64 bits, nesting deeper than 255 and lone surrogates;
        # the fallback writes all of them (see `_encode`).
        return _encode(value, pretty=True)


def dumps_compact(value: Any) -> bytes:
    """Compact JSON, for sizes and for bulk sending."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return _encode(value, pretty=False)


def dumps_kept(value: Any) -> bytes:
    """Compact JSON to keep: a copy of exactly its length, since orjson hands back its 4 KiB
    work buffer and a batch keeps one of these per row."""
    try:
        return memoryview(orjson.dumps(value)).tobytes()
    except TypeError:
        return _encode(value, pretty=False)


def _encode(value: Any, *, pretty: bool) -> bytes:
    """JSON as `json.dumps(ensure_ascii=False)` writes it, for what orjson refuses, but never
    raising on content: iterative (any depth), integers of any length, and a lone surrogate
    written as its \\uXXXX escape (the text it came from), since UTF-8 cannot hold it.
    Raises TypeError, as json.dumps does, for a value that is not JSON at all, and ValueError
    for one that contains itself."""
    out: list[str] = []
    colon = ": " if pretty else ":"
    # Work items: text to write as it is, a (value, depth) pair still to encode, or the id of
    # a container whose end has been reached (the ids of the open ones catch a cycle).
    work: list[str | tuple[Any, int] | int] = [(value, 0)]
    open_ids: set[int] = set()
    while work:
        item = work.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        if isinstance(item, int):
            open_ids.discard(item)
            continue
        node, depth = item
        if isinstance(node, dict | list | tuple):
            if not node:
                out.append("{}" if isinstance(node, dict) else "[]")
                continue
            if id(node) in open_ids:
                raise ValueError("Circular reference detected")
            open_ids.add(id(node))
            opening, closing = ("{", "}") if isinstance(node, dict) else ("[", "]")
            inner = "\n" + "  " * (depth + 1) if pretty else ""
            todo: list[str | tuple[Any, int] | int] = []
            if isinstance(node, dict):
                for i, (key, member) in enumerate(node.items()):
                    todo.append((opening if i == 0 else ",") + inner + _key(key) + colon)
                    todo.append((member, depth + 1))
            else:
                for i, member in enumerate(node):
                    todo.append((opening if i == 0 else ",") + inner)
                    todo.append((member, depth + 1))
            todo.append(("\n" + "  " * depth if pretty else "") + closing)
            todo.append(id(node))
            work.extend(reversed(todo))
        else:
            out.append(_scalar(node))
    return "".join(out).encode()


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _string(key)
    if key is None or isinstance(key, bool | int | float):
        return _string(_scalar(key))  # json.dumps turns these keys into their JSON text
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return _int_text(value)
    if isinstance(value, float):
        # orjson writes inf and nan as null; the same value renders the same on either path.
        return float.__repr__(value) if math.isfinite(value) else "null"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _string(text: str) -> str:
    encoded: str = json.encoder.encode_basestring(text)
    if SURROGATE.search(encoded):
        encoded = SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)
    return encoded


_CHUNK_DIGITS = 1000


def _int_text(number: int) -> str:
    """Decimal digits of any integer; str() refuses more than 4,300 digits (a guard against
    slow conversions), so long ones are written a thousand digits at a time."""
    try:
        return int.__repr__(number)
    except ValueError:
        pass
    sign, number = ("-", -number) if number < 0 else ("", number)
    chunks: list[str] = []
    base = 10**_CHUNK_DIGITS
    while number:
        number, chunk = divmod(number, base)
        chunks.append(int.__repr__(chunk))
    head, *rest = reversed(chunks)
    return sign + head + "".join(c.zfill(_CHUNK_DIGITS) for c in rest)


_SPACE_BEFORE_COLON = re.compile(r'"\s+:')


def _key_count(value: Any) -> int:
    """How many keys the objects of a parsed document hold (type() checks: the hot path)."""
    count = 0
    kind = type(value)
    if kind is dict:
        count = len(value)
        for item in value.values():
            if type(item) is dict or type(item) is list:
                count += _key_count(item)
    elif kind is list:
        for item in value:
            if type(item) is dict or type(item) is list:
                count += _key_count(item)
    return count


def may_have_duplicate_keys(text: str, value: Any) -> bool:
    """False when `text` (which parsed to `value`) surely holds no object with a key twice.

    Without an escaped quote in the text, every `":` ends a key, and without white space
    between a key and its colon every key ends with one: so as many `":` as keys the parsed
    objects kept means none was dropped. Any other text takes the full scan."""
    if '\\"' in text or _SPACE_BEFORE_COLON.search(text):
        return True
    try:
        return text.count('":') != _key_count(value)
    except RecursionError:
        return True


def find_duplicate_keys(text: str | bytes) -> list[tuple[list[str | int], str]]:
    """Return (path, key) for every key that appears twice in one object.

    orjson silently keeps the last value; PostHog's parser refuses a duplicated event field, so
    the check needs to know. This uses the stdlib parser, so callers limit it to modest sizes.
    """
    seen: dict[int, list[str]] = {}
    keep: list[Any] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        dups: list[str] = []
        for key, value in pairs:
            if key in obj and key not in dups:
                dups.append(key)
            obj[key] = value
        if dups:
            seen[id(obj)] = dups
            keep.append(obj)
        return obj

    try:
        root = json.loads(text, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return []
    if not seen:
        return []
    found: list[tuple[list[str | int], str]] = []
    stack: list[tuple[Any, list[str | int]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key in seen.get(id(node), ()):
                found.append((path, key))
            stack.extend((v, [*path, k]) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(node))
    found.sort(key=lambda item: [str(p) for p in item[0]])
    return found
