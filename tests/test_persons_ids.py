"""The small JS-semantics helpers, the illegal-id list and the person UUID, pinned to PostHog."""

from __future__ import annotations

import pytest

from composer.core.persons.illegal_ids import is_distinct_id_illegal
from composer.core.persons.jsvalues import (
    js_entries,
    js_length,
    js_string,
    js_trim,
    js_unset_keys,
    json_equal,
)
from composer.core.persons.model import person_uuid


def test_person_uuid_matches_posthogs_own_vectors() -> None:
    # nodejs/src/ingestion/common/persons/person-uuid.test.ts
    assert person_uuid(1, "test") == "246f7a43-5507-564f-b687-793ee3c2dd79"
    assert person_uuid(2, "test") == "00ce873a-549c-548e-bbec-cc804a385dd8"
    assert person_uuid(1, "test2") == "45c17302-ee44-5596-916a-0eba21f4b638"


@pytest.mark.parametrize(
    "distinct_id",
    [
        "anonymous",
        "Anonymous",
        "GUEST",
        "'guest'",
        '"Guest"',
        "distinct_id",
        "email",
        "Undefined",
        "true",
        "FALSE",
        "null",
        "'null'",
        '"NaN"',
        "0",
        "'0'",
        "NaN",
        "None",
        "none",
        "[object Object]",
        "",
        "   ",
        "\t\n",
        "\ufeff",  # JS trim removes a BOM; Python's strip would not
    ],
)
def test_illegal_ids(distinct_id: str) -> None:
    assert is_distinct_id_illegal(distinct_id)


@pytest.mark.parametrize(
    "distinct_id",
    [
        "nan",  # NaN is case-sensitive
        "NULL",
        "Null",
        "[object object]",
        " guest ",  # PostHog lower-cases without trimming
        "'guest\"",
        "user@example.com",
        "00",
        "anonymous-user",  # only v1 capture refuses this one
        "\x1c",  # Python would strip this; JS trim does not
    ],
)
def test_legal_ids(distinct_id: str) -> None:
    assert not is_distinct_id_illegal(distinct_id)


def test_js_string() -> None:
    assert js_string(None) == "null"
    assert js_string(True) == "true"
    assert js_string(5) == "5"
    assert js_string(5.0) == "5"
    assert js_string(1.5) == "1.5"
    assert js_string([1, None, "a"]) == "1,,a"
    assert js_string({"a": 1}) == "[object Object]"


def test_js_spread_and_unset_keys() -> None:
    assert js_entries({"a": 1}) == {"a": 1}
    assert js_entries("ab") == {"0": "a", "1": "b"}
    assert js_entries(["x"]) == {"0": "x"}
    assert js_entries(5) == {}
    assert js_entries(None) == {}
    assert js_unset_keys(["a", 1, "b"]) == ["a", "b"]
    assert js_unset_keys({"a": 1, "b": None}) == ["a", "b"]
    assert js_unset_keys("ab") == ["0", "1"]
    assert js_unset_keys(None) == []


def test_js_length_trim_and_equality() -> None:
    assert js_length("a😀") == 3
    assert js_trim("\u00a0 x \u3000") == "x"
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]})
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})
