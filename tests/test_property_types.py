"""Property types as PostHog's property definitions give them (rust/property-defs-rs types.rs)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from composer.core.capture.preflight import CheckOptions, check_text
from composer.core.capture.property_types import (
    PropertyType,
    Trap,
    may_trap,
    names_a_thing,
    posthog_type,
    text_trap,
)
from composer.core.jsonio import dumps_compact

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("price", 19.99, PropertyType.NUMERIC),
        ("price", "19.99", PropertyType.STRING),
        ("is_trial", True, PropertyType.BOOLEAN),
        ("is_trial", "true", PropertyType.BOOLEAN),
        ("is_trial", "TRUE", PropertyType.BOOLEAN),
        ("is_trial", "True", PropertyType.STRING),
        ("renews", "2024-05-01", PropertyType.DATETIME),
        ("renews", "05/01/2024", PropertyType.DATETIME),
        ("renews", "2024-05-01T12:00:00Z", PropertyType.DATETIME),
        ("renews", "Tue, 1 Jul 2003 10:52:37 +0200", PropertyType.DATETIME),
        ("renews", "01.05.2024", PropertyType.STRING),
        ("created_at", int(NOW.timestamp()), PropertyType.DATETIME),
        ("created_at", 12, PropertyType.NUMERIC),
        ("utm_content", 5, PropertyType.STRING),
        ("$feature/beta", True, PropertyType.STRING),
        ("$feature_flag_response", "true", PropertyType.STRING),
        ("$survey_response_2", 4, PropertyType.STRING),
        ("items", [1], None),
    ],
)
def test_posthog_type(key: str, value: Any, expected: PropertyType | None) -> None:
    assert posthog_type(key, value, NOW) == expected


@pytest.mark.parametrize(
    ("key", "text", "kind", "value"),
    [
        ("price", "19.99", Trap.NUMBER, 19.99),
        ("quantity", "5", Trap.NUMBER, 5),
        ("delta", "-3", Trap.NUMBER, -3),
        ("is_trial", "true", Trap.BOOLEAN, True),
        ("is_trial", "False", Trap.BOOLEAN, False),
        ("renews", "01.05.2024", Trap.DATE, None),
        ("renews", "May 1, 2024", Trap.DATE, None),
        ("renews", "2024-05-01T12:00", Trap.DATE, None),  # no seconds: not PostHog's prefix
    ],
)
def test_text_that_reads_as_something_else(key: str, text: str, kind: Trap, value: Any) -> None:
    trap = text_trap(key, text)
    assert trap is not None
    assert trap.kind is kind
    assert trap.value == value
    assert may_trap(text)


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("user_id", "12345"),  # identifiers are text on purpose
        ("orderNumber", "1001"),
        ("zip", "02134"),
        ("utm_content", "5"),  # PostHog types utm_* String whatever it looks like
        ("version", "17"),
        ("app_version", "1.2.3"),
        ("card", "1234567890123456"),  # more digits than a float keeps exactly
        ("renews", "2024-05-01"),  # PostHog reads this as a date
        ("name", "Maya"),
        ("answer", "yes"),
    ],
)
def test_text_that_is_right_as_text(key: str, text: str) -> None:
    assert text_trap(key, text) is None


def test_names_a_thing() -> None:
    assert names_a_thing("userId")
    assert names_a_thing("$device_id")
    assert names_a_thing("sessionid")
    assert not names_a_thing("paid")
    assert not names_a_thing("count")


def _findings(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    result = check_text(dumps_compact(body), CheckOptions(now=NOW))
    return {f.path: (f.code, f.fix) for f in result.findings if f.code.startswith("value.")}


def test_the_check_warns_with_the_fix_in_every_object_posthog_types() -> None:
    body = {
        "api_key": "phc_test_key_0123456789",
        "event": "checkout",
        "distinct_id": "user-1",
        "properties": {
            "price": "19.99",
            "$set": {"vip": "true"},
            "$set_once": {"first_seen": "May 1, 2024"},
            "$groups": {"company": "42"},
        },
        "$set": {"age": "41"},
    }
    found = _findings(body)
    assert found["properties.price"][0] == "value.number_as_text"
    assert "19.99 without quotes" in found["properties.price"][1]
    assert found["properties.$set.vip"][0] == "value.boolean_as_text"
    assert found["properties.$set_once.first_seen"][0] == "value.date_not_recognised"
    assert found["$set.age"][0] == "value.number_as_text"
    assert not any(path.startswith("properties.$groups") for path in found)


def test_group_properties_are_checked_on_groupidentify() -> None:
    body = {
        "api_key": "phc_test_key_0123456789",
        "event": "$groupidentify",
        "distinct_id": "user-1",
        "properties": {
            "$group_type": "company",
            "$group_key": "acme",
            "$group_set": {"seats": "12"},
        },
    }
    assert _findings(body)["properties.$group_set.seats"][0] == "value.number_as_text"
