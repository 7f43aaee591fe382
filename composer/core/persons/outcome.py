"""What applying one event did: the Outcome and the pieces it is made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from composer.core.persons.ingestion_warnings import WARNING_TYPES


class PropertyOp(StrEnum):
    SET = "set"
    SET_ONCE = "set_once"
    UNSET = "unset"
    CREATE = "create"  # written when the person was created ($creator_event_uuid)
    MERGE = "merge"  # came over from the person merged in


class MergeKind(StrEnum):
    MERGED = "merged"  # two persons became one
    ADDED_DISTINCT_ID = "added_distinct_id"  # one id had a person; the other id joined it
    CREATED_WITH_BOTH = "created_with_both"  # neither had a person; one was made with both
    ALREADY_SAME_PERSON = "already_same_person"
    SAME_DISTINCT_ID = "same_distinct_id"  # both sides name the same id: nothing to do
    REFUSED_ALREADY_IDENTIFIED = "refused_already_identified"
    REFUSED_ILLEGAL_ID = "refused_illegal_id"


class PersonMode(StrEnum):
    """The person_mode column PostHog writes on the event."""

    FULL = "full"
    PROPERTYLESS = "propertyless"
    FORCE_UPGRADE = "force_upgrade"


@dataclass(frozen=True, slots=True)
class IngestionWarning:
    """A warning PostHog itself records, under PostHog's own name (`type`)."""

    type: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return WARNING_TYPES[self.type].severity

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "details": dict(self.details)}


@dataclass(frozen=True, slots=True)
class Note:
    """Something PostHog does silently (no ingestion warning); `code` is this model's name."""

    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class PropertyChange:
    key: str
    op: PropertyOp
    old: Any = None
    new: Any = None
    had_old: bool = False
    has_new: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "op": self.op.value}
        if self.had_old:
            out["old"] = self.old
        if self.has_new:
            out["new"] = self.new
        return out


@dataclass(frozen=True, slots=True)
class MergeInfo:
    kind: MergeKind
    event: str
    source_distinct_id: str  # the $anon_distinct_id or alias side
    target_distinct_id: str  # the event's own distinct_id
    source_person: str | None = None
    target_person: str | None = None
    surviving_person: str | None = None
    moved_distinct_ids: tuple[str, ...] = ()
    source_was_identified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "event": self.event,
            "source_distinct_id": self.source_distinct_id,
            "target_distinct_id": self.target_distinct_id,
            "source_person": self.source_person,
            "target_person": self.target_person,
            "surviving_person": self.surviving_person,
            "moved_distinct_ids": list(self.moved_distinct_ids),
            "source_was_identified": self.source_was_identified,
        }


class GroupChangeKind(StrEnum):
    TYPE_REGISTERED = "type_registered"
    TYPE_REFUSED = "type_refused"  # the project already has five group types
    GROUP_CREATED = "group_created"
    GROUP_UPDATED = "group_updated"


@dataclass(frozen=True, slots=True)
class GroupChange:
    kind: GroupChangeKind
    group_type: str
    group_type_index: int | None = None
    group_key: str | None = None
    property_changes: tuple[PropertyChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "group_type": self.group_type,
            "group_type_index": self.group_type_index,
            "group_key": self.group_key,
            "property_changes": [c.to_dict() for c in self.property_changes],
        }


@dataclass(slots=True)
class Outcome:
    """What one event did to the graph, and what PostHog would have written on the event."""

    event_index: int
    event: str
    distinct_id: str
    dropped: bool = False
    process_person: bool = True
    person_mode: PersonMode | None = None
    person_id: str | None = None  # the person_id column the event gets
    person_created: bool = False
    identified: bool = False  # the event's person is identified afterwards
    became_identified: bool = False
    merge: MergeInfo | None = None
    property_changes: list[PropertyChange] = field(default_factory=list)
    ignored_properties: list[str] = field(default_factory=list)
    group_changes: list[GroupChange] = field(default_factory=list)
    group_columns: dict[str, Any] = field(default_factory=dict)  # $group_0..$group_4
    distinct_id_overrides: dict[str, str] = field(default_factory=dict)
    warnings: list[IngestionWarning] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    summary: str = ""

    @property
    def warning_types(self) -> list[str]:
        return [w.type for w in self.warnings]

    @property
    def note_codes(self) -> list[str]:
        return [n.code for n in self.notes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_index": self.event_index,
            "event": self.event,
            "distinct_id": self.distinct_id,
            "dropped": self.dropped,
            "process_person": self.process_person,
            "person_mode": None if self.person_mode is None else self.person_mode.value,
            "person_id": self.person_id,
            "person_created": self.person_created,
            "identified": self.identified,
            "became_identified": self.became_identified,
            "merge": None if self.merge is None else self.merge.to_dict(),
            "property_changes": [c.to_dict() for c in self.property_changes],
            "ignored_properties": list(self.ignored_properties),
            "group_changes": [c.to_dict() for c in self.group_changes],
            "group_columns": dict(self.group_columns),
            "distinct_id_overrides": dict(self.distinct_id_overrides),
            "warnings": [w.to_dict() for w in self.warnings],
            "notes": [n.to_dict() for n in self.notes],
            "summary": self.summary,
        }
