"""distinct_id and uuid rules as PostHog's capture and person-merge code apply them."""

from __future__ import annotations

import re
from typing import Any

import orjson

from composer.core.persons.illegal_ids import (
    CASE_INSENSITIVE_ILLEGAL_IDS,
    CASE_SENSITIVE_ILLEGAL_IDS,
    is_distinct_id_illegal,
)

MAX_DISTINCT_ID_CHARS = 200

# Every illegal id (and its quoted forms) in lower case: a quick "might this be illegal?" test
# for the pre-flight's fast path. The rule itself is the persons model's, PostHog's own.
ILLEGAL_LOWER = frozenset(
    name.lower() for name in (*CASE_INSENSITIVE_ILLEGAL_IDS, *CASE_SENSITIVE_ILLEGAL_IDS)
)


def is_illegal_merge_id(value: str) -> bool:
    """True when PostHog refuses to merge persons through this id (isDistinctIdIllegal)."""
    return is_distinct_id_illegal(value)


def stringify_distinct_id(value: Any) -> str:
    """The string capture stores for a non-null distinct_id (numbers keep their JSON text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


_UUID_HYPHENATED = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_UUID_SIMPLE = re.compile(r"^[0-9a-fA-F]{32}$")
_UUID_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


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
    if _UUID_CANONICAL.match(value):
        return value  # already as capture writes it: most uuids SDKs send
    form = uuid_form(value)
    if form is None:
        return None
    hexdigits = re.sub(r"[^0-9a-fA-F]", "", value[9:] if form == "urn" else value).lower()
    return (
        f"{hexdigits[:8]}-{hexdigits[8:12]}-{hexdigits[12:16]}-{hexdigits[16:20]}-{hexdigits[20:]}"
    )
