"""Persons and identity as PostHog's Node.js ingestion builds them: pure, no I/O.

    graph = PersonGraph(team_id=1)
    outcome = apply(graph, {"event": "$identify", "distinct_id": "user@x",
                            "properties": {"$anon_distinct_id": "a-1"}})
    outcome.summary   # "merged anonymous `a-1` into `user@x`; identified" (when both existed)

Each rule cites the PostHog source it follows next to its code.
"""

from __future__ import annotations

from composer.core.persons.illegal_ids import is_distinct_id_illegal
from composer.core.persons.model import (
    MAX_GROUP_TYPES,
    Group,
    MergeRecord,
    Person,
    PersonGraph,
    PropertySource,
    person_uuid,
)
from composer.core.persons.outcome import (
    GroupChange,
    GroupChangeKind,
    IngestionWarning,
    MergeInfo,
    MergeKind,
    Note,
    Outcome,
    PersonMode,
    PropertyChange,
    PropertyOp,
)
from composer.core.persons.pipeline import apply, predict, simulate

__all__ = [
    "MAX_GROUP_TYPES",
    "Group",
    "GroupChange",
    "GroupChangeKind",
    "IngestionWarning",
    "MergeInfo",
    "MergeKind",
    "MergeRecord",
    "Note",
    "Outcome",
    "Person",
    "PersonGraph",
    "PersonMode",
    "PropertyChange",
    "PropertyOp",
    "PropertySource",
    "apply",
    "is_distinct_id_illegal",
    "person_uuid",
    "predict",
    "simulate",
]
