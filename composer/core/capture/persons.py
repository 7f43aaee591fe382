"""What a body will do to persons, before it is sent: PostHog's person processing
(`composer.core.persons`) run on a copy of a project's persons, on the events as capture would
forward them, in order.

The findings say it in words: "will merge anonymous `a-1` into `user@x`", "will be refused: both
persons are identified (cannot_merge_already_identified)", "only updates person properties: no
$anon_distinct_id". They are findings of the stage after PostHog's reply: the HTTP answer is
200 either way, which is why nobody sees a refused merge until it is too late.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from composer.core.capture import identifiers
from composer.core.capture.parse import classify
from composer.core.findings import Finding, Severity, Stage
from composer.core.jsonio import JsonObject
from composer.core.jsonpath import key as path_key
from composer.core.persons import MergeKind, Outcome, PersonGraph, simulate

MERGE_EVENTS = frozenset({"$identify", "$create_alias", "$merge_dangerously"})
# Said by the static check already (preflight/identity.py), with the field it comes from.
_SAID_BY_THE_CHECK = frozenset({"cannot_merge_with_illegal_distinct_id"})


def forwarded(event: JsonObject) -> JsonObject:
    """The event as capture hands it to ingestion: distinct_id resolved (top level, else
    properties.distinct_id), stringified and cut to 200 characters."""
    props = event.get("properties")
    raw = event.get("distinct_id", event.get("$distinct_id"))
    if raw is None and isinstance(props, dict):
        raw = props.get("distinct_id")
    if raw is None:
        return event
    distinct_id = identifiers.stringify_distinct_id(raw).replace("\x00", "\ufffd")
    return {**event, "distinct_id": distinct_id[: identifiers.MAX_DISTINCT_ID_CHARS]}


def names_in(events: Sequence[JsonObject]) -> tuple[set[str], set[tuple[str, str]]]:
    """The distinct ids and groups events name: all the persons and groups they can touch."""
    ids: set[str] = set()
    groups: set[tuple[str, str]] = set()
    for event in events:
        distinct_id = event.get("distinct_id")
        if isinstance(distinct_id, str):
            ids.add(distinct_id)
        props = event.get("properties")
        if not isinstance(props, dict):
            continue
        for name in ("$anon_distinct_id", "alias"):
            other = props.get(name)
            if other is not None:
                ids.add(other if isinstance(other, str) else str(other))
        group_type, group_key = props.get("$group_type"), props.get("$group_key")
        if isinstance(group_type, str) and isinstance(group_key, str):
            groups.add((group_type, group_key))
        named = props.get("$groups")
        if isinstance(named, dict):
            groups.update((t, k) for t, k in named.items() if isinstance(k, str))
    return ids, groups


def predict(graph: PersonGraph | None, events: Sequence[JsonObject]) -> list[Outcome]:
    """Each event's outcome, applied in order to a copy of `graph` (None: an empty project).
    Only the persons the events name are copied, so a big project costs little."""
    ready = [forwarded(e) for e in events]
    ids, groups = names_in(ready)
    scratch = graph.subgraph(ids, groups) if graph is not None else PersonGraph()
    return simulate(scratch, ready)


def prediction_findings(
    graph: PersonGraph | None, body: Any, *, index_offset: int = 0
) -> list[Finding]:
    """Findings for every event of a body (single, array or envelope), in order."""
    _shape, items, paths = classify(body)
    pairs = [(e, p) for e, p in zip(items, paths, strict=True) if isinstance(e, dict)]
    outcomes = predict(graph, [e for e, _ in pairs])
    single = len(items) == 1 and paths == [""]
    findings: list[Finding] = []
    for position, ((event, path), outcome) in enumerate(zip(pairs, outcomes, strict=True)):
        index = None if single else position + index_offset
        findings.extend(outcome_findings(event, outcome, path, index))
    return findings


def outcome_findings(
    event: JsonObject, outcome: Outcome, path: str, index: int | None
) -> list[Finding]:
    """What one event's outcome means for its sender."""
    at = path_key(path, "event") if path else "event"
    found: list[Finding] = []
    for warning in outcome.warnings:
        if warning.type in _SAID_BY_THE_CHECK:
            continue
        found.append(
            Finding(
                Severity.WARNING,
                f"persons.{warning.type}",
                at,
                f"{_refusal(outcome, warning.type)}PostHog answers 200 and then records the"
                f" ingestion warning {warning.type}: {warning.message}",
                _fix(warning.type),
                index,
                Stage.AFTER_REPLY,
            )
        )
    text = _prediction(event, outcome)
    if text:
        found.append(
            Finding(Severity.INFO, "persons.prediction", at, text, "", index, Stage.AFTER_REPLY)
        )
    return found


def _refusal(outcome: Outcome, warning: str) -> str:
    if warning == "cannot_merge_already_identified" and outcome.merge is not None:
        merge = outcome.merge
        return (
            f"The merge of `{merge.source_distinct_id}` into `{merge.target_distinct_id}` will be"
            " refused: both persons are already identified. "
        )
    return ""


def _fix(warning: str) -> str:
    if warning == "cannot_merge_already_identified":
        return (
            "Merge only an anonymous id into an identified one; if both really are the same"
            " user, $merge_dangerously merges them anyway (it cannot be undone)."
        )
    return ""


def _prediction(event: JsonObject, outcome: Outcome) -> str:
    """A sentence for events that change persons; "" for the rest."""
    name = outcome.event
    if outcome.dropped:
        return "PostHog will drop this event in ingestion: " + outcome.summary
    merge = outcome.merge
    if name in MERGE_EVENTS and merge is not None:
        match merge.kind:
            case MergeKind.MERGED:
                return (
                    f"Will merge the person of `{merge.source_distinct_id}` into"
                    f" `{merge.target_distinct_id}`: {outcome.summary}."
                )
            case MergeKind.ADDED_DISTINCT_ID | MergeKind.CREATED_WITH_BOTH:
                return f"Will link the two ids: {outcome.summary}."
            case MergeKind.REFUSED_ALREADY_IDENTIFIED | MergeKind.REFUSED_ILLEGAL_ID:
                return ""  # the warning says it
            case _:
                return f"Nothing to merge: {outcome.summary}."
    if name == "$identify":
        props = event.get("properties")
        if not isinstance(props, dict) or props.get("$anon_distinct_id") is None:
            return (
                "Only updates person properties: no $anon_distinct_id, so nobody is merged"
                f" ({outcome.summary})."
            )
    if outcome.person_created or outcome.property_changes or outcome.group_changes:
        return f"In PostHog this event {outcome.summary}." if outcome.summary else ""
    return ""
