"""The distinct ids PostHog never merges through.

The pre-flight check (composer/core/capture/identifiers.py) uses this rule too, so the check,
the prediction and the sandbox agree. The matching follows PostHog's `isDistinctIdIllegal`
exactly: the id is lower-cased *without* trimming it (so " guest " is legal), and the quoted
forms of the case-sensitive ids are refused too (so "'null'" and '"NaN"' are illegal).

Source: nodejs/src/ingestion/common/persons/person-merge-service.ts @03330ef
(`isDistinctIdIllegal`, BARE_CASE_INSENSITIVE_ILLEGAL_IDS, BARE_CASE_SENSITIVE_ILLEGAL_IDS); the
same code is in nodejs/src/common/persons/person-utils.ts.
"""

from __future__ import annotations

from composer.core.persons.jsvalues import js_trim

_BARE_ANY_CASE = (
    "anonymous",
    "guest",
    "distinctid",
    "distinct_id",
    "id",
    "not_authenticated",
    "email",
    "undefined",
    "true",
    "false",
)
_BARE_EXACT = ("[object Object]", "NaN", "None", "none", "null", "0", "undefined")


def _with_quotes(ids: tuple[str, ...]) -> frozenset[str]:
    # PostHog saw illegal ids arrive wrapped in quotes, so it lists both quoted forms too.
    return frozenset((*ids, *(f"'{i}'" for i in ids), *(f'"{i}"' for i in ids)))


CASE_INSENSITIVE_ILLEGAL_IDS = _with_quotes(_BARE_ANY_CASE)
CASE_SENSITIVE_ILLEGAL_IDS = _with_quotes(_BARE_EXACT)


def is_distinct_id_illegal(distinct_id: str) -> bool:
    """True when PostHog refuses to merge persons through this id."""
    return (
        js_trim(distinct_id) == ""
        or distinct_id.lower() in CASE_INSENSITIVE_ILLEGAL_IDS
        or distinct_id in CASE_SENSITIVE_ILLEGAL_IDS
    )
