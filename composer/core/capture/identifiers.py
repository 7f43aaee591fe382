"""distinct_id and uuid rules as PostHog's capture and person-merge code apply them."""

from __future__ import annotations

import re
from typing import Any

import orjson

from composer.core.capture.serdejson import serde_number_text
from composer.core.persons.illegal_ids import (
    CASE_INSENSITIVE_ILLEGAL_IDS,
    CASE_SENSITIVE_ILLEGAL_IDS,
    is_distinct_id_illegal,
)

MAX_DISTINCT_ID_CHARS = 200

# Rust's `str::trim` removes Unicode White_Space, which capture uses for tokens (token.rs
# @14b6bb0) and distinct ids (event.rs @024dbbe). Python's str.strip() differs: it also
# removes U+001C..U+001F, which Rust keeps.
RUST_WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def rust_trim(value: str) -> str:
    return value.strip(RUST_WHITESPACE)


# Every illegal id (and its quoted forms) in lower case: a quick "might this be illegal?" test
# for the pre-flight's fast path. The rule itself is the persons model's, PostHog's own.
ILLEGAL_LOWER = frozenset(
    name.lower() for name in (*CASE_INSENSITIVE_ILLEGAL_IDS, *CASE_SENSITIVE_ILLEGAL_IDS)
)


def is_illegal_merge_id(value: str) -> bool:
    """True when PostHog refuses to merge persons through this id (isDistinctIdIllegal)."""
    return is_distinct_id_illegal(value)


def stringify_distinct_id(value: Any) -> str:
    """The string capture stores for a non-null distinct_id: `value.as_str()` or else serde_json's
    `Value::to_string` (event.rs @024dbbe `extract_distinct_id_checked`; tests in v0_request.rs
    @0127372 `extract_distinct_id`: 23 -> "23", 23.4 -> "23.4", containers compact with sorted
    keys). Floats are written by ryu as serde_json does: 1.0 -> "1.0", 1e21 -> "1e21"."""
    if isinstance(value, str):
        return value
    try:
        return _serde_text(value)
    except RecursionError:  # an id nested deeper than Python recurses: close enough
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _serde_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return serde_number_text(value)
    if isinstance(value, str):
        return _serde_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_serde_text(v) for v in value) + "]"
    if isinstance(value, dict):
        # serde_json's Map is a BTreeMap without the preserve_order feature: sorted keys.
        items = sorted(value.items())
        return "{" + ",".join(f"{_serde_string(k)}:{_serde_text(v)}" for k, v in items) + "}"
    return str(value)


def _serde_string(text: str) -> str:
    # serde_json escapes only quotes, backslashes and control characters (\b \f \n \r \t, else
    # \u00XX); everything else is written as UTF-8.
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch < " ":
            out.append(_CONTROL_ESCAPES.get(ch, f"\\u{ord(ch):04x}"))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_CONTROL_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def stored_distinct_id(value: Any) -> str:
    """The distinct_id capture forwards to ingestion: stringified, NUL -> U+FFFD, 200 chars."""
    text = stringify_distinct_id(value).replace("\x00", "\ufffd")
    return text[:MAX_DISTINCT_ID_CHARS]


def is_blank_distinct_id(text: str) -> bool:
    """Capture's "no distinct_id": empty, or only white space once NUL characters became
    U+FFFD (event.rs @024dbbe: `if distinct_id.trim().is_empty() { return None }`)."""
    return rust_trim(text.replace("\x00", "\ufffd")) == ""


_UUID_HYPHENATED = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_UUID_SIMPLE = re.compile(r"^[0-9a-fA-F]{32}$")
# The form capture writes a uuid in (and most SDKs send): lower-case hex, 8-4-4-4-12.
UUID_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def uuid_form(value: str) -> str | None:
    """Classify a uuid string the way the Rust uuid crate parses it.

    Returns "hyphenated", "simple", "braced" or "urn", or None when it is not a UUID at all.
    """
    if _UUID_HYPHENATED.match(value):
        return "hyphenated"
    if _UUID_SIMPLE.match(value):
        return "simple"
    if value.startswith("{") and value.endswith("}") and _UUID_HYPHENATED.match(value[1:-1]):
        return "braced"
    if value.lower().startswith("urn:uuid:") and _UUID_HYPHENATED.match(value[9:]):
        return "urn"
    return None


def canonical_uuid(value: str) -> str | None:
    if UUID_CANONICAL.match(value):
        return value  # already as capture writes it: most uuids SDKs send
    form = uuid_form(value)
    if form is None:
        return None
    hexdigits = re.sub(r"[^0-9a-fA-F]", "", value[9:] if form == "urn" else value).lower()
    return (
        f"{hexdigits[:8]}-{hexdigits[8:12]}-{hexdigits[12:16]}-{hexdigits[16:20]}-{hexdigits[20:]}"
    )
