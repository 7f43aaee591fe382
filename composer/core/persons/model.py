"""The store: persons, their distinct ids, groups and group types, as plain data.

Everything here is JSON-able through to_dict/from_dict, so the sandbox can keep a graph in one
SQLite column. The rules that change the store live in the other modules of this package.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from composer.core.persons.jsvalues import copy_json

if TYPE_CHECKING:
    pass

SCHEMA_VERSION = 1

# nodejs/src/ingestion/common/persons/person-uuid.ts (uuidFromDistinctId): a randomly generated
# UUIDv4 PostHog uses as the namespace for every person UUID. person-uuid.test.ts pins
# uuidFromDistinctId(1, "test") to 246f7a43-5507-564f-b687-793ee3c2dd79.
PERSON_UUIDV5_NAMESPACE = uuid.UUID("932979b4-65c3-4424-8467-0b66ec27bc22")

# group-type-manager.ts: MAX_GROUP_TYPES_PER_TEAM.
MAX_GROUP_TYPES = 5


def person_uuid(team_id: int, distinct_id: str) -> str:
    """The deterministic person UUID for (team, distinct id): uuidv5 of "team_id:distinct_id"."""
    return str(uuid.uuid5(PERSON_UUIDV5_NAMESPACE, f"{team_id}:{distinct_id}"))


@dataclass(frozen=True, slots=True)
class PropertySource:
    """Which event last wrote a property, and how."""

    event_index: int
    event_uuid: str | None
    op: str

    def to_list(self) -> list[Any]:
        return [self.event_index, self.event_uuid, self.op]

    @classmethod
    def from_list(cls, data: list[Any]) -> PropertySource:
        return cls(int(data[0]), data[1], str(data[2]))


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """A person that was merged into this one and no longer exists."""

    event_index: int
    event: str
    person: str
    distinct_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_index": self.event_index,
            "event": self.event,
            "person": self.person,
            "distinct_ids": list(self.distinct_ids),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MergeRecord:
        return cls(
            int(data["event_index"]), data["event"], data["person"], tuple(data["distinct_ids"])
        )


@dataclass(slots=True)
class Person:
    uuid: str
    distinct_ids: list[str]
    properties: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, PropertySource] = field(default_factory=dict)
    is_identified: bool = False
    created_at: str | None = None  # the creating event's timestamp, when it had one
    created_index: int = 0  # the creating event's index: the order persons were made in
    merged_from: list[MergeRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "distinct_ids": list(self.distinct_ids),
            "properties": copy_json(self.properties),
            "sources": {k: s.to_list() for k, s in self.sources.items()},
            "is_identified": self.is_identified,
            "created_at": self.created_at,
            "created_index": self.created_index,
            "merged_from": [m.to_dict() for m in self.merged_from],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Person:
        return cls(
            uuid=data["uuid"],
            distinct_ids=list(data["distinct_ids"]),
            properties=copy_json(data.get("properties", {})),
            sources={k: PropertySource.from_list(v) for k, v in data.get("sources", {}).items()},
            is_identified=bool(data.get("is_identified", False)),
            created_at=data.get("created_at"),
            created_index=int(data.get("created_index", 0)),
            merged_from=[MergeRecord.from_dict(m) for m in data.get("merged_from", [])],
        )


@dataclass(slots=True)
class Group:
    group_type: str
    group_type_index: int
    group_key: str
    properties: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, PropertySource] = field(default_factory=dict)
    created_index: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "group_type": self.group_type,
            "group_type_index": self.group_type_index,
            "group_key": self.group_key,
            "properties": copy_json(self.properties),
            "sources": {k: s.to_list() for k, s in self.sources.items()},
            "created_index": self.created_index,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Group:
        return cls(
            group_type=data["group_type"],
            group_type_index=int(data["group_type_index"]),
            group_key=data["group_key"],
            properties=copy_json(data.get("properties", {})),
            sources={k: PropertySource.from_list(v) for k, v in data.get("sources", {}).items()},
            created_index=int(data.get("created_index", 0)),
        )


@dataclass(slots=True)
class PersonGraph:
    """One project's persons and groups as PostHog's ingestion would leave them.

    `suppress_filtered_updates` mirrors the person store skipping a write whose only changes are
    frequently-changing properties such as $browser on a non-person event; the model treats every
    event as its own flush batch.
    """

    team_id: int = 1
    suppress_filtered_updates: bool = True
    persons: dict[str, Person] = field(default_factory=dict)
    distinct_ids: dict[str, str] = field(default_factory=dict)  # distinct id -> person uuid
    # posthog_personlessdistinctid: ids seen on personless events -> is_merged
    personless_ids: dict[str, bool] = field(default_factory=dict)
    # Distinct ids whose row was written with version > 0, so ClickHouse re-points their earlier
    # events at this person: distinct id -> person uuid.
    overrides: dict[str, str] = field(default_factory=dict)
    group_types: dict[str, int] = field(default_factory=dict)
    groups: dict[tuple[str, str], Group] = field(default_factory=dict)
    event_count: int = 0

    # --- reading

    def person_for(self, distinct_id: str) -> Person | None:
        person_uuid_ = self.distinct_ids.get(distinct_id)
        return None if person_uuid_ is None else self.persons[person_uuid_]

    def group(self, group_type: str, group_key: str) -> Group | None:
        return self.groups.get((group_type, group_key))

    def current_person_id(self, distinct_id: str, person_id: str) -> str:
        """The person an already stored event belongs to now, as PostHog's queries resolve it:
        an override for the event's distinct id wins over the person_id written on the event."""
        return self.overrides.get(distinct_id, person_id)

    # --- writing (the rules call these; they check nothing)

    def add_person(self, person: Person) -> None:
        self.persons[person.uuid] = person
        for distinct_id in person.distinct_ids:
            self.distinct_ids[distinct_id] = person.uuid

    def add_distinct_id(self, person: Person, distinct_id: str, *, override: bool) -> None:
        person.distinct_ids.append(distinct_id)
        self.distinct_ids[distinct_id] = person.uuid
        if override:
            self.overrides[distinct_id] = person.uuid

    def move_distinct_ids(self, source: Person, target: Person) -> list[str]:
        # moveDistinctIds bumps every moved row's version, so each gets an override.
        moved = list(source.distinct_ids)
        for distinct_id in moved:
            target.distinct_ids.append(distinct_id)
            self.distinct_ids[distinct_id] = target.uuid
            self.overrides[distinct_id] = target.uuid
        source.distinct_ids.clear()
        return moved

    def delete_person(self, person: Person) -> None:
        del self.persons[person.uuid]

    # --- whole-graph operations

    def copy(self) -> PersonGraph:
        return copy.deepcopy(self)

    def subgraph(
        self, distinct_ids: Iterable[str], groups: Iterable[tuple[str, str]]
    ) -> PersonGraph:
        """A copy holding only what events naming these ids and groups can read or change: their
        persons (with every id those persons have), their personless and override state, the
        named groups, and every group type (the limit of five counts them all). Applying those
        events to it gives the outcomes they would have on the whole graph, at a fraction of
        copying it."""
        sub = PersonGraph(self.team_id, self.suppress_filtered_updates)
        sub.event_count = self.event_count
        sub.group_types = dict(self.group_types)
        named = list(distinct_ids)
        for distinct_id in named:
            person = self.person_for(distinct_id)
            if person is not None and person.uuid not in sub.persons:
                sub.add_person(copy.deepcopy(person))
            if distinct_id in self.personless_ids:
                sub.personless_ids[distinct_id] = self.personless_ids[distinct_id]
        held = [d for person in sub.persons.values() for d in person.distinct_ids]
        for distinct_id in (*named, *held):
            if distinct_id in self.overrides:
                sub.overrides[distinct_id] = self.overrides[distinct_id]
        for key in groups:
            group = self.groups.get(key)
            if group is not None:
                sub.groups[key] = copy.deepcopy(group)
        return sub

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "team_id": self.team_id,
            "suppress_filtered_updates": self.suppress_filtered_updates,
            "event_count": self.event_count,
            "persons": [p.to_dict() for p in self.persons.values()],
            "personless_ids": dict(self.personless_ids),
            "overrides": dict(self.overrides),
            "group_types": dict(self.group_types),
            "groups": [g.to_dict() for g in self.groups.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PersonGraph:
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"unknown person graph schema {data.get('schema')!r}")
        graph = cls(
            team_id=int(data["team_id"]),
            suppress_filtered_updates=bool(data.get("suppress_filtered_updates", True)),
            event_count=int(data.get("event_count", 0)),
            personless_ids={str(k): bool(v) for k, v in data.get("personless_ids", {}).items()},
            overrides=dict(data.get("overrides", {})),
            group_types={str(k): int(v) for k, v in data.get("group_types", {}).items()},
        )
        for person_data in data.get("persons", []):
            graph.add_person(Person.from_dict(person_data))
        for group_data in data.get("groups", []):
            group = Group.from_dict(group_data)
            graph.groups[(group.group_type, group.group_key)] = group
        return graph
