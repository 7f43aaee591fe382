"""Property tests: the parser and the check never crash; build -> parse round-trips."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer.core.capture import bodies
from composer.core.capture.parse import BodyEncodingError, BodyShape, parse_text
from composer.core.capture.preflight import check_body, check_text
from composer.core.compose.payloads import (
    Composition,
    DistinctIdPlacement,
    PayloadKind,
    build_event,
    composition_from_event,
)
from composer.core.jsonio import JsonSyntaxError

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(max_size=20)
    | (st.floats(allow_nan=False, allow_infinity=False))
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=6)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "event": st.text(max_size=10) | json_scalars,
        "distinct_id": json_values,
        "$distinct_id": json_scalars,
        "properties": json_objects | json_scalars,
        "timestamp": st.text(max_size=30) | json_scalars,
        "uuid": st.uuids().map(str) | st.text(max_size=36) | json_scalars,
        "offset": json_scalars,
        "$set": json_objects | json_scalars,
        "$set_once": json_objects,
        "api_key": st.text(max_size=70) | json_scalars,
        "token": st.text(max_size=10),
        "sent_at": st.text(max_size=10),
    },
)
bodies_any = (
    event_like
    | st.lists(event_like, max_size=4)
    | st.fixed_dictionaries(
        {"batch": st.lists(event_like | json_scalars, max_size=4)},
        optional={
            "api_key": st.text(max_size=70) | json_scalars,
            "historical_migration": json_scalars,
            "sent_at": json_scalars,
        },
    )
    | json_values
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=300))
def test_parser_never_crashes_on_bytes(data: bytes) -> None:
    try:
        parsed = parse_text(data)
    except (JsonSyntaxError, BodyEncodingError):
        return
    assert parsed.shape in BodyShape


@FAST
@given(st.text(max_size=300))
def test_parser_never_crashes_on_text(text: str) -> None:
    error: JsonSyntaxError | None = None
    try:
        parse_text(text)
    except JsonSyntaxError as exc:
        error = exc
    if error is not None:
        assert error.line >= 1
        assert error.column >= 1


@FAST
@given(bodies_any)
def test_check_never_crashes_and_always_predicts_a_reply(body: Any) -> None:
    result = check_text(orjson.dumps(body))
    assert result.predicted.status in (200, 400, 401, 404, 413)
    assert result.ok == (not result.errors)
    for finding in result.findings:
        assert finding.code
        assert finding.message
        assert finding.path is not None


@FAST
@given(bodies_any)
def test_check_of_a_value_equals_check_of_its_text(body: Any) -> None:
    from_text = check_text(orjson.dumps(body)).findings
    from_value = check_body(body).findings
    ignore = {"json.duplicate_key", "body.too_large"}
    assert [f.code for f in from_text if f.code not in ignore] == [
        f.code for f in from_value if f.code not in ignore
    ]


compositions = st.builds(
    Composition,
    kind=st.sampled_from(PayloadKind),
    event=st.text(max_size=15),
    distinct_id=json_values,
    distinct_id_placement=st.sampled_from(DistinctIdPlacement),
    properties=json_objects,
    set=st.none() | json_objects,
    set_once=st.none() | json_objects,
    anon_distinct_id=st.none() | st.text(max_size=10),
    alias=st.none() | st.text(max_size=10),
    group_type=st.none() | st.text(max_size=10),
    group_key=st.none() | st.text(max_size=10),
    group_set=st.none() | json_objects,
    groups=st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    process_person_profile=st.none() | st.booleans(),
    timestamp=st.none() | st.text(max_size=25),
    uuid=st.none() | st.uuids().map(str),
)


@FAST
@given(compositions)
def test_build_parse_build_is_stable(c: Composition) -> None:
    wire = build_event(c)
    parsed = parse_text(bodies.render(bodies.single_body(wire, "phc_k")))
    (event,) = parsed.events
    event = {k: v for k, v in event.items() if k != "api_key"}
    assert build_event(composition_from_event(event)) == wire


@FAST
@given(event_like)
def test_any_event_object_survives_the_forms(event: dict[str, Any]) -> None:
    assert build_event(composition_from_event(event)) == event
