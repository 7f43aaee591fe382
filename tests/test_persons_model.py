"""One test per person/identity rule: a sequence of events and the persons and warnings after.

Each rule's PostHog source is cited in the module that implements it; the research note
/work/research/persons.md lists them all.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from composer.core.findings import Severity
from composer.core.persons import (
    MergeKind,
    PersonGraph,
    PersonMode,
    PropertyOp,
    apply,
    person_uuid,
    predict,
    simulate,
)
from composer.core.persons.findings import outcome_findings


def ev(name: str, distinct_id: str, **properties: Any) -> dict[str, Any]:
    return {"event": name, "distinct_id": distinct_id, "properties": properties}


def pageview(distinct_id: str, **properties: Any) -> dict[str, Any]:
    return ev("$pageview", distinct_id, **properties)


def identify(distinct_id: str, anon: Any = None, **properties: Any) -> dict[str, Any]:
    if anon is not None:
        properties["$anon_distinct_id"] = anon
    return ev("$identify", distinct_id, **properties)


def alias(event: str, distinct_id: str, other: Any, **properties: Any) -> dict[str, Any]:
    return ev(event, distinct_id, alias=other, **properties)


def run(*events: dict[str, Any]) -> PersonGraph:
    graph = PersonGraph()
    simulate(graph, events)
    return graph


def person_of(graph: PersonGraph, distinct_id: str) -> Any:
    person = graph.person_for(distinct_id)
    assert person is not None, f"no person for {distinct_id!r}"
    return person


# --- $identify


def test_identify_with_anon_id_merges_and_identifies() -> None:
    graph = run(pageview("a-1", **{"$set": {"plan": "free"}}), pageview("user@x"))
    outcome = apply(graph, identify("user@x", "a-1"))
    person = person_of(graph, "user@x")
    assert len(graph.persons) == 1
    assert person_of(graph, "a-1") is person
    assert person.uuid == person_uuid(1, "user@x")  # the distinct_id (target) person survives
    assert person.distinct_ids == ["user@x", "a-1"]
    assert person.is_identified
    assert person.properties["plan"] == "free"
    assert outcome.merge is not None
    assert outcome.merge.kind is MergeKind.MERGED
    assert outcome.became_identified
    assert outcome.summary.startswith("merged anonymous `a-1` into `user@x`")
    assert outcome.warnings == []


def test_identify_when_only_the_anonymous_person_exists_keeps_its_uuid() -> None:
    graph = run(pageview("a-1"))
    outcome = apply(graph, identify("user@x", "a-1", **{"$set": {"email": "x@y"}}))
    person = person_of(graph, "user@x")
    assert person.uuid == person_uuid(1, "a-1")
    assert person.distinct_ids == ["a-1", "user@x"]
    assert person.is_identified
    assert person.properties["email"] == "x@y"
    assert outcome.merge is not None
    assert outcome.merge.kind is MergeKind.ADDED_DISTINCT_ID
    assert outcome.person_id == person_uuid(1, "a-1")


def test_identify_when_only_the_user_exists_adds_the_anonymous_id() -> None:
    graph = run(pageview("user@x"))
    apply(graph, identify("user@x", "a-1"))
    person = person_of(graph, "a-1")
    assert person.uuid == person_uuid(1, "user@x")
    assert person.distinct_ids == ["user@x", "a-1"]
    assert person.is_identified


def test_identify_when_neither_exists_creates_one_identified_person() -> None:
    graph = PersonGraph()
    outcome = apply(
        graph, identify("user@x", "a-1", **{"$set": {"foo": "bar"}, "$set_once": {"first": 1}})
    )
    person = person_of(graph, "a-1")
    assert person.uuid == person_uuid(1, "user@x")
    assert person.distinct_ids == ["user@x", "a-1"]
    assert person.is_identified
    assert person.properties == {"foo": "bar", "first": 1}
    assert outcome.person_created
    assert outcome.merge is not None
    assert outcome.merge.kind is MergeKind.CREATED_WITH_BOTH


def test_identify_without_anon_id_only_updates_properties() -> None:
    graph = run(pageview("user@x"))
    outcome = apply(graph, identify("user@x", **{"$set": {"email": "x@y"}}))
    person = person_of(graph, "user@x")
    assert person.properties["email"] == "x@y"
    assert not person.is_identified  # person-state tests: "no-op when $anon_distinct_id not passed"
    assert outcome.merge is None


def test_identify_without_anon_id_for_a_new_id_creates_an_unidentified_person() -> None:
    graph = PersonGraph()
    apply(graph, identify("user@x", **{"$set": {"email": "x@y"}}))
    assert not person_of(graph, "user@x").is_identified


def test_identify_of_two_identified_persons_is_refused() -> None:
    graph = run(identify("u1", "a1"), identify("u2", "a2"))
    outcome = apply(graph, identify("u2", "u1", **{"$set": {"seen": True}}))
    assert outcome.warning_types == ["cannot_merge_already_identified"]
    assert len(graph.persons) == 2
    assert person_of(graph, "u1") is not person_of(graph, "u2")
    # The event still updates the target person.
    assert person_of(graph, "u2").properties["seen"] is True
    assert outcome.person_id == person_of(graph, "u2").uuid
    assert outcome.summary.startswith("refused: cannot_merge_already_identified")
    assert outcome.merge is not None
    assert outcome.merge.kind is MergeKind.REFUSED_ALREADY_IDENTIFIED


def test_refused_merge_still_identifies_the_target() -> None:
    # mergeDistinctIds sets updateIsIdentified before mergePeople refuses.
    graph = run(identify("u1", "a1"), pageview("u2"))
    outcome = apply(graph, identify("u2", "u1"))
    assert outcome.warning_types == ["cannot_merge_already_identified"]
    assert person_of(graph, "u2").is_identified
    assert outcome.became_identified


def test_identified_target_does_not_block_the_merge() -> None:
    graph = run(identify("u1", "a1"), pageview("anon"))
    outcome = apply(graph, identify("u1", "anon"))
    assert outcome.warnings == []
    assert person_of(graph, "anon") is person_of(graph, "u1")


# --- $create_alias and $merge_dangerously


def test_create_alias_of_an_identified_person_is_refused() -> None:
    graph = run(identify("u1", "a1"), pageview("u2"))
    outcome = apply(graph, alias("$create_alias", "u2", "u1"))
    assert outcome.warning_types == ["cannot_merge_already_identified"]
    assert len(graph.persons) == 2


def test_merge_dangerously_merges_an_identified_person() -> None:
    graph = run(identify("u1", "a1"), identify("u2", "a2"))
    outcome = apply(graph, alias("$merge_dangerously", "u2", "u1"))
    assert outcome.warnings == []
    assert len(graph.persons) == 1
    person = person_of(graph, "u2")
    assert person.uuid == person_uuid(1, "u2")
    assert sorted(person.distinct_ids) == ["a1", "a2", "u1", "u2"]
    assert outcome.summary.startswith("merged identified `u1` into `u2`")


def test_create_alias_merges_the_alias_person_into_the_distinct_id_person() -> None:
    graph = run(pageview("old", **{"$set": {"a": 1}}), pageview("new"))
    apply(graph, alias("$create_alias", "new", "old"))
    person = person_of(graph, "old")
    assert person.uuid == person_uuid(1, "new")
    assert person.is_identified
    assert person.properties["a"] == 1


def test_alias_where_neither_id_is_known_creates_one_person_with_both() -> None:
    graph = PersonGraph()
    outcome = apply(graph, alias("$create_alias", "new", "old"))
    assert len(graph.persons) == 1
    person = person_of(graph, "new")
    assert person.distinct_ids == ["new", "old"]
    assert person.is_identified
    assert outcome.merge is not None
    assert outcome.merge.kind is MergeKind.CREATED_WITH_BOTH


@pytest.mark.parametrize("empty", ["", None])
def test_alias_without_a_truthy_alias_merges_nothing(empty: Any) -> None:
    graph = run(pageview("old"), pageview("new"))
    outcome = apply(graph, alias("$create_alias", "new", empty))
    assert outcome.merge is None
    assert len(graph.persons) == 2
    assert outcome.warnings == []


# --- illegal ids and odd merge ids

ILLEGAL = ["anonymous", "null", "0", "undefined", "  ", "[object Object]", "NaN", "'guest'"]
ILLEGAL += ["GUEST", "Anonymous", '"null"', "None", "true", ""]


@pytest.mark.parametrize("bad", ILLEGAL)
def test_illegal_anon_id_is_refused_but_the_event_is_attributed(bad: str) -> None:
    graph = run(pageview(bad), pageview("user@x"))
    outcome = apply(graph, identify("user@x", bad, **{"$set": {"email": "x@y"}}))
    assert outcome.warning_types == ["cannot_merge_with_illegal_distinct_id"]
    assert outcome.warnings[0].details["illegalDistinctId"] == bad
    assert len(graph.persons) == 2
    person = person_of(graph, "user@x")
    assert outcome.person_id == person.uuid
    assert person.properties["email"] == "x@y"
    assert not person.is_identified  # the illegal check comes before updateIsIdentified
    assert outcome.merge is not None
    assert outcome.merge.kind is MergeKind.REFUSED_ILLEGAL_ID


@pytest.mark.parametrize("bad", ["null", "anonymous", "0"])
def test_illegal_distinct_id_side_is_refused_too(bad: str) -> None:
    graph = run(pageview("a-1"))
    outcome = apply(graph, alias("$merge_dangerously", bad, "a-1"))
    assert outcome.warning_types == ["cannot_merge_with_illegal_distinct_id"]
    assert outcome.person_id == person_uuid(1, bad)
    assert outcome.person_created
    assert len(graph.persons) == 2


@pytest.mark.parametrize("legal", ["nan", "NULL", " guest "])
def test_near_misses_are_legal_and_merge(legal: str) -> None:
    graph = run(pageview(legal), pageview("user@x"))
    outcome = apply(graph, identify("user@x", legal))
    assert outcome.warnings == []
    assert len(graph.persons) == 1


def test_null_anon_id_becomes_the_illegal_string_null() -> None:
    graph = run(pageview("user@x"))
    outcome = apply(graph, ev("$identify", "user@x", **{"$anon_distinct_id": None}))
    assert outcome.warning_types == ["cannot_merge_with_illegal_distinct_id"]
    assert outcome.warnings[0].details["illegalDistinctId"] == "null"


@pytest.mark.parametrize(
    ("event", "key", "warning"),
    [
        ("$identify", "$anon_distinct_id", "invalid_anon_distinct_id"),
        ("$create_alias", "alias", "invalid_alias"),
        ("$merge_dangerously", "alias", "invalid_alias"),
    ],
)
def test_non_string_merge_id_drops_the_event(event: str, key: str, warning: str) -> None:
    graph = PersonGraph()
    outcome = apply(graph, ev(event, "user@x", **{key: 42}))
    assert outcome.dropped
    assert outcome.warning_types == [warning]
    assert outcome.person_id is None
    assert graph.persons == {}


def test_same_id_on_both_sides_is_a_no_op() -> None:
    graph = run(pageview("user@x"))
    outcome = apply(graph, identify("user@x", "user@x"))
    assert outcome.warnings == []
    assert outcome.merge is not None
    assert outcome.merge.kind is MergeKind.SAME_DISTINCT_ID
    assert not person_of(graph, "user@x").is_identified


def test_ids_already_on_the_same_person_just_identify() -> None:
    graph = run(alias("$create_alias", "u", "a"))
    person = person_of(graph, "u")
    person.is_identified = False
    outcome = apply(graph, identify("u", "a"))
    assert outcome.merge is not None
    assert outcome.merge.kind is MergeKind.ALREADY_SAME_PERSON
    assert person.is_identified


# --- event attribution across a merge


def test_person_id_of_events_before_and_after_a_merge() -> None:
    graph = PersonGraph()
    before = apply(graph, pageview("a-1"))
    apply(graph, pageview("user@x"))
    merged = apply(graph, identify("user@x", "a-1"))
    after = apply(graph, pageview("a-1"))
    survivor = person_uuid(1, "user@x")
    assert before.person_id == person_uuid(1, "a-1")
    assert merged.person_id == survivor
    assert after.person_id == survivor
    assert merged.distinct_id_overrides == {"a-1": survivor}
    # The event stored before the merge now resolves to the survivor.
    assert graph.current_person_id("a-1", person_uuid(1, "a-1")) == survivor
    assert graph.current_person_id("user@x", survivor) == survivor


def test_a_merged_person_vanishes_and_its_ids_move_along() -> None:
    graph = run(
        alias("$create_alias", "b", "a"),  # one person: b, a (identified)
        pageview("c"),
    )
    gone = person_of(graph, "a").uuid
    apply(graph, alias("$merge_dangerously", "c", "b"))
    assert gone not in graph.persons
    person = person_of(graph, "a")
    assert person.distinct_ids == ["c", "b", "a"]
    assert person.merged_from[0].person == gone
    assert graph.overrides == {"b": person.uuid, "a": person.uuid}


# --- property precedence on merge


def test_merge_property_precedence_matches_posthogs_test() -> None:
    # person-state tests: "merge into distinct_id person and updates properties with $set/$set_once"
    graph = run(
        pageview("old-user", **{"$set": {"a": 1, "b": 2}}),
        pageview("new-user", **{"$set": {"b": 3, "c": 4, "d": 5}}),
    )
    outcome = apply(
        graph,
        identify(
            "new-user", "old-user", **{"$set": {"d": 6, "e": 7}, "$set_once": {"a": 8, "f": 9}}
        ),
    )
    person = person_of(graph, "new-user")
    assert person.properties == {"a": 1, "b": 3, "c": 4, "d": 6, "e": 7, "f": 9}
    ops = {c.key: c.op for c in outcome.property_changes}
    assert ops == {
        "a": PropertyOp.MERGE,
        "d": PropertyOp.SET,
        "e": PropertyOp.SET,
        "f": PropertyOp.SET_ONCE,
    }


def test_merge_keeps_the_older_created_at() -> None:
    graph = PersonGraph()
    apply(graph, {**pageview("old"), "timestamp": "2024-01-01T00:00:00Z"})
    apply(graph, {**pageview("new"), "timestamp": "2024-02-01T00:00:00Z"})
    apply(graph, identify("new", "old"))
    person = person_of(graph, "new")
    assert person.uuid == person_uuid(1, "new")
    assert person.created_at == "2024-01-01T00:00:00Z"


# --- $set, $set_once, $unset


def test_set_once_after_set_does_not_overwrite() -> None:
    graph = run(pageview("u", **{"$set": {"plan": "pro"}}))
    outcome = apply(graph, pageview("u", **{"$set_once": {"plan": "free"}}))
    assert person_of(graph, "u").properties["plan"] == "pro"
    assert outcome.property_changes == []


def test_set_after_set_once_overwrites() -> None:
    graph = run(pageview("u", **{"$set_once": {"plan": "free"}}))
    outcome = apply(graph, pageview("u", **{"$set": {"plan": "pro"}}))
    assert person_of(graph, "u").properties["plan"] == "pro"
    change = outcome.property_changes[0]
    assert (change.key, change.op, change.old, change.new) == (
        "plan",
        PropertyOp.SET,
        "free",
        "pro",
    )


def test_set_wins_over_set_once_in_one_event() -> None:
    graph = run(pageview("u"))
    apply(graph, pageview("u", **{"$set": {"k": "set"}, "$set_once": {"k": "once"}}))
    assert person_of(graph, "u").properties["k"] == "set"
    graph2 = PersonGraph()
    apply(graph2, pageview("u", **{"$set": {"k": "set"}, "$set_once": {"k": "once"}}))
    assert person_of(graph2, "u").properties["k"] == "set"


@pytest.mark.parametrize("unset", [["a", "missing", 7], {"a": None, "missing": 1}])
def test_unset_list_and_object_forms(unset: Any) -> None:
    graph = run(pageview("u", **{"$set": {"a": 1, "b": 2}}))
    outcome = apply(graph, pageview("u", **{"$unset": unset}))
    assert person_of(graph, "u").properties == {"b": 2}
    assert [(c.key, c.op) for c in outcome.property_changes] == [("a", PropertyOp.UNSET)]


def test_set_and_unset_of_a_key_the_person_had_removes_it() -> None:
    graph = run(pageview("u", **{"$set": {"k": 1}}))
    apply(graph, pageview("u", **{"$set": {"k": 2}, "$unset": ["k"]}))
    assert "k" not in person_of(graph, "u").properties


def test_set_and_unset_of_a_new_key_keeps_the_set() -> None:
    # $unset only removes keys the person had before the event.
    graph = run(pageview("u"))
    apply(graph, pageview("u", **{"$set": {"k": 2}, "$unset": ["k"]}))
    assert person_of(graph, "u").properties["k"] == 2


def test_set_and_unset_of_a_new_key_during_a_merge_removes_it() -> None:
    # The merge applies the event's updates, then updatePersonProperties applies them again;
    # on the second pass the key exists, so $unset removes it (code-derived).
    graph = run(pageview("a"), pageview("u"))
    apply(graph, identify("u", "a", **{"$set": {"k": 2}, "$unset": ["k"]}))
    assert "k" not in person_of(graph, "u").properties


def test_unset_does_nothing_on_a_new_person() -> None:
    graph = PersonGraph()
    apply(graph, pageview("u", **{"$set": {"k": 1}, "$unset": ["k"]}))
    assert person_of(graph, "u").properties["k"] == 1


def test_top_level_set_is_merged_and_wins() -> None:
    graph = PersonGraph()
    event = {
        "event": "$set",
        "distinct_id": "u",
        "$set": {"a": "top", "b": "top"},
        "$set_once": {"c": "top"},
        "properties": {"$set": {"a": "inner", "d": "inner"}},
    }
    apply(graph, event)
    assert person_of(graph, "u").properties == {"a": "top", "b": "top", "c": "top", "d": "inner"}


def test_created_person_gets_creator_event_uuid() -> None:
    graph = PersonGraph()
    apply(
        graph,
        {**pageview("u", **{"$set": {"a": 1}}), "uuid": "0190d5b2-0000-7000-8000-000000000001"},
    )
    person = person_of(graph, "u")
    assert person.properties["$creator_event_uuid"] == "0190d5b2-0000-7000-8000-000000000001"
    assert person.sources["a"].op == "set"


def test_property_sources_track_the_writing_event() -> None:
    graph = run(pageview("u", **{"$set_once": {"a": 1}}), pageview("u", **{"$set": {"b": 2}}))
    person = person_of(graph, "u")
    assert (person.sources["a"].event_index, person.sources["a"].op) == (0, "set_once")
    assert (person.sources["b"].event_index, person.sources["b"].op) == (1, "set")


def test_string_set_spreads_into_characters() -> None:
    # `{...("ab")}` in JS is {0: "a", 1: "b"}; ingestion does not reject a non-object $set.
    graph = PersonGraph()
    apply(graph, pageview("u", **{"$set": "ab"}))
    assert person_of(graph, "u").properties == {"0": "a", "1": "b"}


def test_exception_events_never_update_properties() -> None:
    graph = run(pageview("u", **{"$set": {"a": 1}}))
    outcome = apply(graph, ev("$exception", "u", **{"$set": {"a": 2}}))
    assert person_of(graph, "u").properties["a"] == 1
    assert "set_on_exception" in outcome.note_codes
    quiet = apply(graph, ev("$exception", "u", **{"$browser": "Chrome"}))
    assert "set_on_exception" not in quiet.note_codes


def test_exception_event_for_a_new_id_still_creates_the_person_with_its_set() -> None:
    # createOrGetPerson reads $set directly; only updates go through the denylist (code-derived).
    graph = PersonGraph()
    apply(graph, ev("$exception", "u", **{"$set": {"a": 2}}))
    assert person_of(graph, "u").properties["a"] == 2


# --- properties lifted from the event, and writes PostHog skips


def test_event_properties_are_lifted_onto_the_person() -> None:
    graph = PersonGraph()
    apply(
        graph,
        pageview("u", **{"$browser": "Chrome", "utm_source": "ad", "$set": {"$browser": "mine"}}),
    )
    props = person_of(graph, "u").properties
    assert props["$browser"] == "mine"  # an explicit $set wins
    assert props["$initial_browser"] == "Chrome"
    assert props["utm_source"] == "ad"
    assert props["$initial_utm_source"] == "ad"


def test_null_event_property_never_becomes_initial() -> None:
    graph = PersonGraph()
    apply(graph, pageview("u", gclid=None))
    props = person_of(graph, "u").properties
    assert props["gclid"] is None
    assert "$initial_gclid" not in props
    apply(graph, pageview("u", gclid="abc"))
    assert person_of(graph, "u").properties["$initial_gclid"] == "abc"


def test_server_side_os_is_not_lifted() -> None:
    graph = PersonGraph()
    apply(graph, pageview("u", **{"$os": "Linux", "$is_server": True}))
    assert "$os" not in person_of(graph, "u").properties


def test_os_name_is_an_alias_of_os() -> None:
    graph = PersonGraph()
    apply(graph, pageview("u", **{"$os_name": "iOS"}))
    props = person_of(graph, "u").properties
    assert props["$initial_os"] == "iOS"
    assert "$os_name" not in props
    assert "$initial_os_name" not in props


def test_filtered_only_change_on_a_pageview_is_not_written() -> None:
    graph = run(pageview("u", **{"$browser": "Chrome"}))
    outcome = apply(graph, pageview("u", **{"$browser": "Firefox"}))
    assert person_of(graph, "u").properties["$browser"] == "Chrome"
    assert outcome.ignored_properties == ["$browser"]
    assert "filtered_update_ignored" in outcome.note_codes


def test_filtered_change_lands_with_a_real_change_or_on_a_person_event() -> None:
    graph = run(pageview("u", **{"$browser": "Chrome"}))
    apply(graph, pageview("u", **{"$browser": "Firefox", "$set": {"plan": "pro"}}))
    assert person_of(graph, "u").properties["$browser"] == "Firefox"
    apply(graph, ev("$set", "u", **{"$set": {"$browser": "Safari"}}))
    assert person_of(graph, "u").properties["$browser"] == "Safari"


def test_filtered_suppression_can_be_turned_off() -> None:
    graph = PersonGraph(suppress_filtered_updates=False)
    simulate(
        graph, [pageview("u", **{"$browser": "Chrome"}), pageview("u", **{"$browser": "Edge"})]
    )
    assert person_of(graph, "u").properties["$browser"] == "Edge"


def test_survey_shown_sets_last_seen_date() -> None:
    graph = PersonGraph()
    apply(graph, {**ev("survey shown", "u"), "timestamp": "2024-05-01T12:00:00Z"})
    assert person_of(graph, "u").properties["$survey_last_seen_date"] == "2024-05-01T12:00:00Z"


# --- $process_person_profile


def test_personless_event_creates_no_person_and_ignores_set() -> None:
    graph = PersonGraph()
    outcome = apply(graph, pageview("anon", **{"$process_person_profile": False, "$set": {"a": 1}}))
    assert graph.persons == {}
    assert outcome.person_id == person_uuid(1, "anon")
    assert outcome.person_mode is PersonMode.PROPERTYLESS
    assert not outcome.process_person
    assert outcome.property_changes == []
    # A later personful event makes the person with the same UUID, without the earlier $set.
    later = apply(graph, pageview("anon"))
    assert later.person_id == person_uuid(1, "anon")
    assert "a" not in person_of(graph, "anon").properties


def test_personless_event_for_an_existing_person_uses_it_without_updating() -> None:
    graph = PersonGraph()
    apply(graph, {**pageview("u", **{"$set": {"a": 1}}), "timestamp": "2024-01-01T00:00:00Z"})
    soon = apply(
        graph,
        {
            **pageview("u", **{"$process_person_profile": False, "$set": {"a": 2}}),
            "timestamp": "2024-01-01T00:00:30Z",
        },
    )
    later = apply(
        graph,
        {
            **pageview("u", **{"$process_person_profile": False}),
            "timestamp": "2024-01-01T00:05:00Z",
        },
    )
    assert soon.person_id == later.person_id == person_uuid(1, "u")
    assert soon.person_mode is PersonMode.PROPERTYLESS
    assert later.person_mode is PersonMode.FORCE_UPGRADE
    assert person_of(graph, "u").properties["a"] == 1


@pytest.mark.parametrize(
    "name", ["$identify", "$create_alias", "$merge_dangerously", "$groupidentify"]
)
def test_personless_identity_events_are_dropped(name: str) -> None:
    graph = PersonGraph()
    outcome = apply(
        graph,
        ev(name, "u", **{"$process_person_profile": False, "$anon_distinct_id": "a", "alias": "a"}),
    )
    assert outcome.dropped
    assert outcome.warning_types == ["invalid_event_when_process_person_profile_is_false"]
    assert graph.persons == {}


def test_non_boolean_process_person_profile_is_ignored_with_a_warning() -> None:
    graph = PersonGraph()
    outcome = apply(graph, pageview("u", **{"$process_person_profile": "false", "$set": {"a": 1}}))
    assert outcome.warning_types == ["invalid_process_person_profile"]
    assert person_of(graph, "u").properties["a"] == 1


def test_merging_an_id_used_personless_re_points_its_events() -> None:
    graph = PersonGraph()
    apply(graph, pageview("anon", **{"$process_person_profile": False}))
    apply(graph, pageview("user@x"))
    outcome = apply(graph, identify("user@x", "anon"))
    assert outcome.distinct_id_overrides == {"anon": person_uuid(1, "user@x")}
    assert graph.current_person_id("anon", person_uuid(1, "anon")) == person_uuid(1, "user@x")


def test_identify_of_two_new_ids_prefers_the_one_used_personless_for_the_uuid() -> None:
    graph = PersonGraph()
    apply(graph, pageview("anon", **{"$process_person_profile": False}))
    apply(graph, identify("user@x", "anon"))
    person = person_of(graph, "user@x")
    assert person.uuid == person_uuid(1, "anon")
    assert person.distinct_ids == ["anon", "user@x"]
    assert graph.overrides == {}


# --- groups


def test_groupidentify_creates_then_updates_a_group() -> None:
    graph = PersonGraph()
    first = apply(
        graph,
        ev(
            "$groupidentify",
            "u",
            **{"$group_type": "company", "$group_key": "acme", "$group_set": {"name": "Acme"}},
            **{"$set": {"should": "vanish"}},
        ),
    )
    group = graph.group("company", "acme")
    assert group is not None
    assert group.properties == {"name": "Acme"}
    assert group.group_type_index == 0
    assert [c.kind.value for c in first.group_changes] == ["type_registered", "group_created"]
    # $groupidentify strips $set, but the sender still gets a person.
    assert "should" not in person_of(graph, "u").properties
    second = apply(
        graph,
        ev(
            "$groupidentify",
            "u",
            **{
                "$group_type": "company",
                "$group_key": "acme",
                "$group_set": {"name": "Acme", "n": 2},
            },
        ),
    )
    assert group.properties == {"name": "Acme", "n": 2}
    assert [c.key for c in second.group_changes[0].property_changes] == ["n"]


def test_sixth_group_type_is_refused_silently() -> None:
    graph = PersonGraph()
    types = {f"type{i}": f"k{i}" for i in range(6)}
    outcome = apply(graph, pageview("u", **{"$groups": types}))
    assert graph.group_types == {f"type{i}": i for i in range(5)}
    assert outcome.group_columns == {f"$group_{i}": f"k{i}" for i in range(5)}
    assert outcome.warnings == []
    assert "group_type_limit" in outcome.note_codes
    gi = apply(
        graph,
        ev("$groupidentify", "u", **{"$group_type": "type5", "$group_key": "k", "$group_set": {}}),
    )
    assert graph.group("type5", "k") is None
    assert gi.note_codes.count("group_type_limit") == 1


def test_group_key_over_400_characters_drops_the_event() -> None:
    graph = PersonGraph()
    outcome = apply(
        graph, ev("$groupidentify", "u", **{"$group_type": "company", "$group_key": "k" * 401})
    )
    assert outcome.dropped
    assert outcome.warning_types == ["group_key_too_long"]
    assert graph.persons == {}
    assert graph.groups == {}
    ok = apply(
        graph, ev("$groupidentify", "u", **{"$group_type": "company", "$group_key": "k" * 400})
    )
    assert not ok.dropped
    assert graph.group("company", "k" * 400) is not None


def test_groups_on_an_event_register_types_in_order() -> None:
    graph = PersonGraph()
    outcome = apply(graph, pageview("u", **{"$groups": {"company": "acme", "project": 7}}))
    assert outcome.group_columns == {"$group_0": "acme", "$group_1": 7}
    again = apply(graph, pageview("u", **{"$groups": {"project": 8}}))
    assert again.group_columns == {"$group_1": 8}
    assert graph.groups == {}  # $groups alone creates no group


def test_personless_events_get_no_group_columns() -> None:
    graph = PersonGraph()
    outcome = apply(
        graph, pageview("u", **{"$groups": {"company": "acme"}, "$process_person_profile": False})
    )
    assert outcome.group_columns == {}
    assert graph.group_types == {}


@pytest.mark.parametrize("bad", ["name", ["a"], 5])
def test_groupidentify_with_a_non_object_group_set_updates_no_group(bad: Any) -> None:
    graph = PersonGraph()
    outcome = apply(
        graph,
        ev("$groupidentify", "u", **{"$group_type": "co", "$group_key": "k", "$group_set": bad}),
    )
    assert outcome.warning_types == ["invalid_group_set"]
    assert graph.groups == {}
    assert not outcome.dropped
    assert graph.group_types == {"co": 0}  # registered before the upsert refuses


def test_groupidentify_without_a_key_updates_no_group() -> None:
    graph = PersonGraph()
    outcome = apply(
        graph, ev("$groupidentify", "u", **{"$group_type": "company", "$group_set": {}})
    )
    assert graph.groups == {}
    assert "group_identify_incomplete" in outcome.note_codes
    assert graph.group_types == {"company": 0}  # updateGroupsAndFirstEvent still registers it


# --- other drops


def test_distinct_id_over_400_characters_is_dropped() -> None:
    outcome = apply(PersonGraph(), pageview("x" * 401))
    assert outcome.dropped
    assert outcome.warning_types == ["skipping_event_invalid_distinct_id"]


def test_nul_in_distinct_id_is_replaced() -> None:
    graph = PersonGraph()
    apply(graph, pageview("a\x00b"))
    assert graph.person_for("a\ufffdb") is not None


# --- copy, predict, simulate, serialisation


def test_predict_does_not_mutate() -> None:
    graph = run(pageview("a"), pageview("u"))
    before = graph.to_dict()
    predicted = predict(graph, identify("u", "a"))
    assert graph.to_dict() == before
    assert predicted.merge is not None
    assert predicted.merge.kind is MergeKind.MERGED
    applied = apply(graph, identify("u", "a"))
    assert applied.to_dict() == predicted.to_dict()
    assert predict(graph, pageview("z")).person_created
    assert graph.person_for("z") is None


def test_copy_is_independent() -> None:
    graph = run(pageview("u", **{"$set": {"a": [1]}}))
    twin = graph.copy()
    apply(twin, pageview("u", **{"$set": {"a": [2]}}))
    assert person_of(graph, "u").properties["a"] == [1]


def test_round_trip_through_json() -> None:
    graph = run(
        pageview("a", **{"$set": {"x": {"nested": [1, 2]}}}),
        identify("u", "a"),
        pageview("p", **{"$process_person_profile": False}),
        ev(
            "$groupidentify",
            "u",
            **{"$group_type": "co", "$group_key": "k", "$group_set": {"n": 1}},
        ),
    )
    text = json.dumps(graph.to_dict())
    loaded = PersonGraph.from_dict(json.loads(text))
    assert loaded.to_dict() == graph.to_dict()
    assert loaded == graph
    follow = [pageview("a", **{"$set": {"y": 1}}), identify("v", "p")]
    assert [o.to_dict() for o in simulate(loaded, follow)] == [
        o.to_dict() for o in simulate(graph, follow)
    ]


def test_unknown_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="schema"):
        PersonGraph.from_dict({"schema": 99})


def test_outcome_findings() -> None:
    graph = run(pageview("u"))
    outcome = apply(graph, identify("u", "null"))
    findings = outcome_findings(outcome)
    assert [f.code for f in findings] == ["ingestion.cannot_merge_with_illegal_distinct_id"]
    assert findings[0].severity is Severity.WARNING
    assert json.dumps(outcome.to_dict())
