"""The JavaScript value semantics PostHog's Node.js ingestion leans on, for JSON values.

Ingestion reads `$set`, `$unset`, `alias` and friends with plain JS operators (`String(x)`,
`{...x}`, `Object.keys(x)`, `===`). Those differ from Python's on odd inputs, and the odd inputs
are exactly what a user sends by mistake, so they are spelled out once here.
"""

from __future__ import annotations

import math
import sys
from typing import Any

# ECMAScript WhiteSpace and LineTerminator: what String.prototype.trim() removes. Python's
# str.strip() differs (it keeps U+FEFF and drops U+001C..U+001F), so ids are trimmed with this.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_trim(value: str) -> str:
    return value.strip(JS_WHITESPACE)


def js_length(value: str) -> int:
    """`str.length` in JS counts UTF-16 code units, so an emoji counts twice."""
    return len(value.encode("utf-16-le")) // 2


def js_string(value: Any) -> str:
    """`String(value)` for a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number_string(value)
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def shortest_digits(value: float) -> tuple[str, int]:
    """The shortest digits that read back as `value` (repr's, as JavaScript and ryu choose
    them), and the exponent n with value = 0.d1d2... x 10^n. `value` is finite and > 0."""
    mantissa, _, exp = repr(value).partition("e")
    whole, _, frac = mantissa.partition(".")
    combined = whole + frac
    stripped = combined.lstrip("0")
    leading = len(combined) - len(stripped)
    return stripped.rstrip("0"), len(whole) - leading + (int(exp) if exp else 0)


def js_number_string(value: float | int) -> str:
    """`String(n)` (Number::toString, ECMA-262 6.1.6.1.20) for the double nearest `value`:
    1e+21, 1.5e-7, 0.000001, 18446744073709552000, and "1" for 1.0."""
    number = float(value) if abs(value) <= sys.float_info.max else math.copysign(math.inf, value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0.0:
        return "0"
    sign = "-" if number < 0 else ""
    digits, point = shortest_digits(abs(number))
    length = len(digits)
    if length <= point <= 21:
        return f"{sign}{digits}{'0' * (point - length)}"
    if 0 < point <= 21:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -6 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    exponent = point - 1
    mark = "+" if exponent >= 0 else "-"
    mantissa = digits if length == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{mark}{abs(exponent)}"


def js_truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True  # objects and arrays, even empty ones


def js_entries(value: Any) -> dict[str, Any]:
    """`{...(value || {})}`: what ingestion makes of a `$set` that may not be an object.

    A string spreads into its characters and an array into its items, keyed by index;
    numbers and booleans spread into nothing.
    """
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        return {str(i): ch for i, ch in enumerate(value)}
    if isinstance(value, list):
        return {str(i): item for i, item in enumerate(value)}
    return {}


def js_unset_keys(value: Any) -> list[str]:
    """The keys a `$unset` names: an array's string items, else `Object.keys(value || {})`."""
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return list(js_entries(value))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def json_equal(a: Any, b: Any) -> bool:
    """Deep equality that keeps JSON types apart (`true` is not `1`, but `1` is `1.0`)."""
    kind = _kind(a)
    if kind != _kind(b):
        return False
    if kind == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if kind == "object":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def sanitize_string(value: str) -> str:
    """Ingestion's sanitizeString: NUL characters become U+FFFD."""
    return value.replace("\x00", "\ufffd")


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars): what copy.deepcopy does for them,
    at a fraction of its cost (no memo, no dispatch table); person processing copies every
    event and every person's properties."""
    kind = type(value)
    if kind is dict:
        return {
            k: copy_json(v) if type(v) is dict or type(v) is list else v for k, v in value.items()
        }
    if kind is list:
        return [copy_json(v) if type(v) is dict or type(v) is list else v for v in value]
    return value
