"""Properties that hold for any sequence of events, checked with hypothesis."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from composer.core.persons import PersonGraph, apply, predict, simulate

IDS = ["a", "b", "c", "u1", "u2", "null", "anonymous", " ", "0"]
KEYS = ["k1", "k2", "$browser", "$initial_browser"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["x", "y"]))

ids = st.sampled_from(IDS)
props = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(
        st.sampled_from(
            [
                "$pageview",
                "$identify",
                "$create_alias",
                "$merge_dangerously",
                "$set",
                "$groupidentify",
            ]
        )
    )
    properties: dict[str, Any] = {}
    if draw(st.booleans()):
        properties["$set"] = draw(props)
    if draw(st.booleans()):
        properties["$set_once"] = draw(props)
    if draw(st.booleans()):
        properties["$unset"] = draw(st.lists(st.sampled_from(KEYS), max_size=2))
    if name == "$identify" and draw(st.booleans()):
        properties["$anon_distinct_id"] = draw(ids)
    if name in ("$create_alias", "$merge_dangerously"):
        properties["alias"] = draw(ids)
    if name == "$groupidentify":
        properties["$group_type"] = draw(st.sampled_from(["t0", "t1", "t2", "t3", "t4", "t5"]))
        properties["$group_key"] = draw(st.sampled_from(["g1", "g2"]))
        properties["$group_set"] = draw(props)
    if draw(st.integers(0, 9)) == 0:
        properties["$process_person_profile"] = False
    if draw(st.booleans()):
        properties["$groups"] = {draw(st.sampled_from(["t0", "t5", "t6"])): "g1"}
    return {"event": name, "distinct_id": draw(ids), "properties": properties}


sequences = st.lists(events(), max_size=12)


def check_invariants(graph: PersonGraph) -> None:
    seen: set[str] = set()
    for person_uuid, person in graph.persons.items():
        assert person.uuid == person_uuid
        assert person.distinct_ids, "a person always has at least one distinct id"
        for distinct_id in person.distinct_ids:
            assert distinct_id not in seen, "a distinct id belongs to one person only"
            seen.add(distinct_id)
            assert graph.distinct_ids[distinct_id] == person_uuid
        for record in person.merged_from:
            assert record.person not in graph.persons, "merged persons vanish"
        assert set(person.sources) <= set(person.properties)
    assert set(graph.distinct_ids) == seen
    for distinct_id, person_uuid in graph.overrides.items():
        assert graph.distinct_ids[distinct_id] == person_uuid
    assert len(set(graph.group_types.values())) == len(graph.group_types) <= 5


@settings(max_examples=300, deadline=None)
@given(sequences)
def test_graph_invariants_hold(evs: list[dict[str, Any]]) -> None:
    graph = PersonGraph()
    for event in evs:
        outcome = apply(graph, event)
        check_invariants(graph)
        if not outcome.dropped:
            assert outcome.person_id is not None
            if outcome.process_person:
                assert graph.persons[outcome.person_id].uuid == outcome.person_id
                assert graph.person_for(outcome.distinct_id) is not None
        json.dumps(outcome.to_dict())


@settings(max_examples=150, deadline=None)
@given(sequences)
def test_simulate_is_deterministic(evs: list[dict[str, Any]]) -> None:
    first, second = PersonGraph(), PersonGraph()
    a = [o.to_dict() for o in simulate(first, evs)]
    b = [o.to_dict() for o in simulate(second, evs)]
    assert a == b
    assert first.to_dict() == second.to_dict()


@settings(max_examples=150, deadline=None)
@given(sequences, events())
def test_predict_does_not_mutate_and_matches_apply(
    evs: list[dict[str, Any]], last: dict[str, Any]
) -> None:
    graph = PersonGraph()
    simulate(graph, evs)
    before = json.dumps(graph.to_dict(), sort_keys=True)
    predicted = predict(graph, last)
    assert json.dumps(graph.to_dict(), sort_keys=True) == before
    assert apply(graph, last).to_dict() == predicted.to_dict()


@settings(max_examples=150, deadline=None)
@given(sequences, sequences)
def test_serialised_graph_continues_identically(
    evs: list[dict[str, Any]], more: list[dict[str, Any]]
) -> None:
    graph = PersonGraph()
    simulate(graph, evs)
    loaded = PersonGraph.from_dict(json.loads(json.dumps(graph.to_dict())))
    assert loaded == graph
    assert [o.to_dict() for o in simulate(loaded, more)] == [
        o.to_dict() for o in simulate(graph, more)
    ]


@settings(max_examples=100, deadline=None)
@given(sequences)
def test_input_events_are_not_mutated(evs: list[dict[str, Any]]) -> None:
    snapshot = json.dumps(evs, sort_keys=True)
    simulate(PersonGraph(), evs)
    assert json.dumps(evs, sort_keys=True) == snapshot


@settings(max_examples=150, deadline=None)
@given(sequences, events())
def test_a_subgraph_predicts_what_the_whole_graph_does(
    evs: list[dict[str, Any]], last: dict[str, Any]
) -> None:
    from composer.core.capture.persons import names_in

    graph = PersonGraph()
    simulate(graph, evs)
    ids, groups = names_in([last])
    whole = predict(graph, last).to_dict()
    part = apply(graph.subgraph(ids, groups), last).to_dict()
    assert part == whole
