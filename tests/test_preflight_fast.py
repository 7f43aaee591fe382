"""The fast path never says "nothing to report" where the full rules would report something."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from composer.core.capture.parse import BodyShape
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.events import check_event
from composer.core.capture.preflight.fast import future_limit, is_plain
from composer.core.jsonio import dumps_compact

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

names = st.sampled_from(
    [
        "signed_up",
        "$pageview",
        "",
        " padded",
        "x" * 201,
        "$identify",
        "$performance_event",
        "plan upgraded",
    ]
) | st.text(max_size=8)
ids = st.sampled_from(
    [
        "user-1",
        "null",
        "NULL",
        "'guest'",
        " ",
        "a\x00b",
        "u" * 201,
        "0",
        "None",
        "[object Object]",
        "Anonymous",
    ]
) | st.text(max_size=6)
stamps = (
    st.sampled_from(
        [
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00.123456Z",
            "2024-05-01T12:00:00+00:00",
            "2024-05-02T11:00:00Z",
            "2024-05-02T11:01:00Z",
            "2024-05-01 12:00:00",
            "2024-02-30T12:00:00Z",
            "2024-05-01T12:00Z",
            "2024-05-01T12:00:00,1Z",
            "2024-05-01",
            "2024-05-01T14:00:00+02:00",
            "20240501T120000Z",
            "2024-05-01T12:00:00.1234567Z",
        ]
    )
    | st.integers()
    | st.none()
)
uuids = (
    st.sampled_from(
        [
            "0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b",
            "0190D5B2-6C1A-7CC1-9A1B-4F3C2E1D0A9B",
            "nope",
            "",
            "0190d5b26c1a7cc19a1b4f3c2e1d0a9b",
        ]
    )
    | st.none()
    | st.integers()
)
values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=4)
    | st.sampled_from(["19.99", "5", "true", "FALSE", "True", "May 1, 2024", "01.05.2024"])
)
props = st.dictionaries(
    st.sampled_from(
        [
            "plan",
            "$groups",
            "$set",
            "$set_once",
            "$cookieless_mode",
            "distinct_id",
            "$unset",
            "$process_person_profile",
            "token",
        ]
    ),
    values | st.dictionaries(st.sampled_from(["a", "b"]), values, max_size=2) | st.lists(values),
    max_size=4,
)
events = st.fixed_dictionaries(
    {"event": names, "distinct_id": ids},
    optional={
        "properties": props | values,
        "timestamp": stamps,
        "uuid": uuids,
        "$set": st.dictionaries(st.sampled_from(["a", "b"]), values) | values,
        "$set_once": st.dictionaries(st.sampled_from(["a", "b"]), values) | values,
        "offset": values,
        "api_key": st.just("phc_x"),
        "type": st.just("track"),
    },
)


@settings(max_examples=1500, deadline=None)
@given(events)
@example({"event": "signed_up", "distinct_id": "\xa0"})  # Unicode space: blank once trimmed
@example({"event": "signed_up", "distinct_id": "\u2003guest"})
@example({"event": "signed_up", "distinct_id": "\ufeff"})  # JavaScript's trim takes it
@example({"event": "signed_up", "distinct_id": "user\ufeff"})
def test_a_plain_event_has_no_findings(ev: dict[str, Any]) -> None:
    size = len(dumps_compact(ev))
    if is_plain(ev, size, future_limit(NOW)):
        out = Collector(NOW)
        check_event(ev, "batch[0]", 0, BodyShape.BATCH, False, out, size)
        assert out.findings == [], [f.code for f in out.findings]


def test_ordinary_events_take_the_fast_path() -> None:
    ev = {
        "event": "plan_upgraded",
        "distinct_id": "user-1",
        "timestamp": "2024-05-01T11:00:00Z",
        "uuid": "0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b",
        "properties": {"plan": "team", "$groups": {"company": "acme"}, "$set": {"a": 1}},
    }
    assert is_plain(ev, 200, future_limit(NOW))


typed_texts = st.sampled_from(
    [
        "1.2.3",
        "2024-05-01T12:00:00.000Z",
        "2024-05-01",
        "19.99",
        "007",
        "1e5",
        "-3",
        ".5",
        "May 1, 2024",
        "mayday",
        "12/05/2024",
        "1 May 2024",
        "true",
        "TRUE",
        "0x1F",
        "3 apples",
        "1,000",
    ]
)
typed_keys = st.sampled_from(
    ["version", "price", "user_id", "zip", "sku", "createdAt", "plan", "orderId", "count"]
)


@settings(max_examples=1500, deadline=None)
@given(
    st.dictionaries(typed_keys, typed_texts | values, max_size=4),
    st.dictionaries(typed_keys, typed_texts, max_size=2),
    st.sampled_from(["signed_up", "$groupidentify", "$identify"]),
)
@example({"version": "1.2.3", "price": "19.99"}, {}, "signed_up")
def test_typed_text_is_judged_exactly(
    properties: dict[str, Any], person: dict[str, Any], name: str
) -> None:
    """Text that may read as a number, date or boolean: the fast path says yes exactly when the
    full value rules say nothing (the common "1.2.3" or ISO date no longer takes the full path)."""
    ev: dict[str, Any] = {"event": name, "distinct_id": "user-1", "properties": properties}
    if person:
        ev["$set"] = person
    size = len(dumps_compact(ev))
    out = Collector(NOW)
    check_event(ev, "", 0, BodyShape.BATCH, False, out, size)
    plain = is_plain(ev, size, future_limit(NOW))
    if plain:
        assert out.findings == [], [f.code for f in out.findings]
    elif name == "signed_up" and not any(k in ev["properties"] for k in ("$set", "$set_once")):
        assert out.findings, "an ordinary event the full rules pass went the slow way"


def test_versions_and_iso_dates_take_the_fast_path() -> None:
    ev = {
        "event": "app_opened",
        "distinct_id": "user-1",
        "timestamp": "2024-05-01T11:00:00.000Z",
        "properties": {"version": "1.2.3", "opened_at": "2024-05-01T11:00:00Z", "sku": "0042"},
    }
    assert is_plain(ev, 200, future_limit(NOW))


def test_the_remembered_verdicts_stay_bounded_and_exact() -> None:
    """Names and distinct_ids are judged once each (fast._NAMES, fast._IDS), in bounded memory:
    a file of a million distinct ids must not grow them without end."""
    from composer.core.capture.preflight import fast

    limit = future_limit(NOW)
    for i in range(fast._REMEMBERED + 10):
        assert is_plain({"event": "signed_up", "distinct_id": f"user-{i}"}, 60, limit)
    assert len(fast._IDS) <= fast._REMEMBERED
    # A verdict remembered is the same verdict: bad ones stay bad, the second time too.
    for _ in range(2):
        assert not is_plain({"event": "signed_up", "distinct_id": "null"}, 60, limit)
        assert not is_plain({"event": " padded", "distinct_id": "user-1"}, 60, limit)
        assert not is_plain({"event": "signed_up", "distinct_id": 7}, 60, limit)
    # Typed text is judged once per key and text (fast._TYPED), in bounded memory too, and
    # the same text under a key that names a thing keeps its own verdict.
    for i in range(fast._REMEMBERED + 10):
        props = {"sku": f"{i}"}
        assert is_plain({"event": "e", "distinct_id": "u", "properties": props}, 60, limit)
    assert len(fast._TYPED) <= fast._REMEMBERED
    for _ in range(2):
        price = {"event": "e", "distinct_id": "u", "properties": {"price": "19.99"}}
        assert not is_plain(price, 60, limit)
        sku = {"event": "e", "distinct_id": "u", "properties": {"sku": "19.99"}}
        assert is_plain(sku, 60, limit)


@pytest.mark.parametrize("text", ["TRUE", "True", "tRuE", "FALSE", "May 1, 2024", "MAY 1, 2024"])
def test_the_first_look_knows_every_case_of_a_trap(text: str) -> None:
    """The first look lists the prefixes of booleans and months in every case instead of
    lowering the text: each of these must still reach the exact rule."""
    ev = {"event": "e", "distinct_id": "u", "properties": {"flag": text}}
    out = Collector(NOW)
    check_event(ev, "", 0, BodyShape.BATCH, False, out, 80)
    assert out.findings, text
    assert not is_plain(ev, 80, future_limit(NOW))


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-05-01T12:00:00Z",
        "2024-02-29T12:00:00Z",
        "2024-01-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "2024-05-01T12:00:00.123Z",
        "2024-05-01T12:00:00.123456+00:00",
        "2024-05-01T11:59:59.999999999Z",
    ],
)
def test_utc_timestamps_take_the_fast_path(stamp: str) -> None:
    ev = {"event": "e", "distinct_id": "u", "timestamp": stamp}
    assert is_plain(ev, 80, future_limit(NOW))
    out = Collector(NOW)
    check_event(ev, "", 0, BodyShape.BATCH, False, out, 80)
    assert out.findings == [], [f.code for f in out.findings]


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-05-01T12:00:00",
        "2024-05-01T12:00:00.Z",
        "2024-05-01T12:00:00.１Z",
        "2024-02-30T12:00:00Z",
        "2023-02-29T12:00:00Z",
        "2024-04-31T12:00:00Z",
        "2024-13-01T12:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T23:59:60Z",
        "0000-05-01T12:00:00Z",
    ],
)
def test_other_timestamps_take_the_full_path(stamp: str) -> None:
    assert not is_plain({"event": "e", "distinct_id": "u", "timestamp": stamp}, 80, NOW.isoformat())


def test_a_timestamp_in_the_future_limits_own_second_takes_the_full_path() -> None:
    """The limit is to the second; a fraction past it is in the future by the full rules."""
    now = datetime(2024, 5, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    limit = future_limit(now)
    stamp = limit + ".9Z"
    ev = {"event": "e", "distinct_id": "u", "timestamp": stamp}
    assert not is_plain(ev, 80, limit)
    out = Collector(now)
    check_event(ev, "", 0, BodyShape.BATCH, False, out, 80)
    assert "timestamp.future" in [f.code for f in out.findings]
