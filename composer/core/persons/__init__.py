"""Persons and identity as PostHog's Node.js ingestion builds them: pure, no I/O.

    graph = PersonGraph(team_id=1)
    outcome = apply(graph, {"event": "$identify", "distinct_id": "user@x",
                            "properties": {"$anon_distinct_id": "a-1"}})
    outcome.summary   # "merged anonymous `a-1` into `user@x`; identified" (when both existed)

Each rule cites the PostHog source it follows next to its code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each name from the module that defines it, imported when it is first asked for: the
# capture rules import persons.jsvalues and persons.illegal_ids, and every command would
# otherwise import the whole pipeline with them (10-20 ms of each CLI start).
_WHERE = {
    "is_distinct_id_illegal": "illegal_ids",
    **dict.fromkeys(
        (
            "MAX_GROUP_TYPES",
            "Group",
            "MergeRecord",
            "Person",
            "PersonGraph",
            "PropertySource",
            "person_uuid",
        ),
        "model",
    ),
    **dict.fromkeys(
        (
            "GroupChange",
            "GroupChangeKind",
            "IngestionWarning",
            "MergeInfo",
            "MergeKind",
            "Note",
            "Outcome",
            "PersonMode",
            "PropertyChange",
            "PropertyOp",
        ),
        "outcome",
    ),
    **dict.fromkeys(("apply", "predict", "simulate"), "pipeline"),
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


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
