"""The sandbox's persons: PostHog's person processing applied to every accepted event, kept in
SQLite beside the inbox.

The graph lives in memory (`composer.core.persons`) and every change is written in the same
transaction as the events that caused it, one row per person, distinct id and group, so a
reader (the window, `GET /_sandbox/persons`, another process) sees the persons of exactly the
events it sees. Each event's outcome (the person it went to, what it changed, PostHog's own
ingestion warnings) is kept with it. Everything written goes through the store's key masking,
like the rest of the inbox (a key used as a distinct id is kept masked, so after a restart it
no longer matches the real one: a key should never be a distinct id anyway).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import orjson

from composer.core.persons import Group, Outcome, Person, PersonGraph, apply

SCHEMA = """
CREATE TABLE IF NOT EXISTS persons (
    uuid TEXT PRIMARY KEY,
    created_index INTEGER NOT NULL,
    is_identified INTEGER NOT NULL,
    search TEXT NOT NULL,  -- distinct ids and property values, lower case, for the search box
    data TEXT NOT NULL     -- Person.to_dict()
);
CREATE TABLE IF NOT EXISTS person_distinct_ids (
    distinct_id TEXT PRIMARY KEY,
    person_uuid TEXT,           -- NULL for an id seen only on personless events
    personless INTEGER,         -- posthog_personlessdistinctid: NULL none, 0 unmerged, 1 merged
    override TEXT               -- the person earlier events re-point at, after a merge
);
CREATE TABLE IF NOT EXISTS groups (
    group_type TEXT NOT NULL,
    group_key TEXT NOT NULL,
    group_type_index INTEGER NOT NULL,
    data TEXT NOT NULL,         -- Group.to_dict()
    PRIMARY KEY (group_type, group_key)
);
CREATE TABLE IF NOT EXISTS group_types (name TEXT PRIMARY KEY, idx INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS person_graph (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS event_persons (
    event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    person_id TEXT,
    summary TEXT NOT NULL,
    warnings TEXT NOT NULL,     -- PostHog's ingestion warning names, comma separated
    outcome TEXT NOT NULL       -- Outcome.to_dict()
);
CREATE INDEX IF NOT EXISTS event_persons_by_person ON event_persons(person_id);
"""

log = logging.getLogger(__name__)
# How long the persons thread waits after the last stored request before it takes the
# interpreter: long enough to stay out of a burst's way, short enough to be caught up at once.
STEP_ASIDE_S = 0.05

TABLES = (
    "persons",
    "person_distinct_ids",
    "groups",
    "group_types",
    "person_graph",
    "event_persons",
)


def load_graph(conn: sqlite3.Connection) -> PersonGraph:
    """The graph as the tables hold it (empty for a new inbox)."""
    graph = PersonGraph()
    meta = dict(conn.execute("SELECT key, value FROM person_graph").fetchall())
    graph.event_count = int(meta.get("event_count", 0))
    for (data,) in conn.execute("SELECT data FROM persons"):
        graph.add_person(Person.from_dict(orjson.loads(data)))
    for distinct_id, person_uuid, personless, override in conn.execute(
        "SELECT distinct_id, person_uuid, personless, override FROM person_distinct_ids"
    ):
        if person_uuid is not None:
            graph.distinct_ids[distinct_id] = person_uuid
        if personless is not None:
            graph.personless_ids[distinct_id] = bool(personless)
        if override is not None:
            graph.overrides[distinct_id] = override
    for name, idx in conn.execute("SELECT name, idx FROM group_types"):
        graph.group_types[name] = int(idx)
    for (data,) in conn.execute("SELECT data FROM groups"):
        group = Group.from_dict(orjson.loads(data))
        graph.groups[(group.group_type, group.group_key)] = group
    return graph


def read_graph(path: str) -> PersonGraph:
    """The persons of an inbox file, for a window or a command that predicts against them."""
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        if not _has_tables(conn):
            return PersonGraph()
        return load_graph(conn)


def _has_tables(conn: sqlite3.Connection) -> bool:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return "persons" in names


class Ledger:
    """Applies accepted events to the graph and writes what changed (caller's transaction)."""

    def __init__(self, conn: sqlite3.Connection, redact: Callable[[str], str]) -> None:
        conn.executescript(SCHEMA)
        self.graph = load_graph(conn)
        self._redact = redact

    def apply(self, events: Sequence[dict[str, Any]]) -> list[Outcome]:
        """Run stored events through person processing, in order (the graph changes; call
        `write` in the transaction that stores the events)."""
        return [apply(self.graph, event) for event in events]

    def write(
        self, conn: sqlite3.Connection, event_ids: Sequence[int], outcomes: Sequence[Outcome]
    ) -> None:
        """Keep each event's outcome and every person, id and group the outcomes touched."""
        persons: set[str] = set()
        ids: set[str] = set()
        groups: set[tuple[str, str]] = set()
        rows = []
        for event_id, outcome in zip(event_ids, outcomes, strict=True):
            _touched(outcome, persons, ids, groups)
            rows.append(
                (
                    event_id,
                    outcome.person_id,
                    self._redact(outcome.summary),
                    ",".join(outcome.warning_types),
                    self._redact(orjson.dumps(outcome.to_dict(), default=str).decode()),
                )
            )
        conn.executemany("INSERT OR REPLACE INTO event_persons VALUES (?, ?, ?, ?, ?)", rows)
        self._write(conn, persons, ids, groups)

    def _write(
        self,
        conn: sqlite3.Connection,
        persons: set[str],
        ids: set[str],
        groups: set[tuple[str, str]],
    ) -> None:
        graph, redact = self.graph, self._redact
        for uuid in persons:
            person = graph.persons.get(uuid)
            if person is None:  # merged into another: gone, as in PostHog
                conn.execute("DELETE FROM persons WHERE uuid = ?", (uuid,))
                continue
            conn.execute(
                "INSERT OR REPLACE INTO persons VALUES (?, ?, ?, ?, ?)",
                (
                    uuid,
                    person.created_index,
                    int(person.is_identified),
                    redact(_search_text(person)),
                    redact(orjson.dumps(person.to_dict(), default=str).decode()),
                ),
            )
        conn.executemany(
            "INSERT OR REPLACE INTO person_distinct_ids VALUES (?, ?, ?, ?)",
            [
                (
                    redact(distinct_id),
                    graph.distinct_ids.get(distinct_id),
                    None
                    if distinct_id not in graph.personless_ids
                    else int(graph.personless_ids[distinct_id]),
                    graph.overrides.get(distinct_id),
                )
                for distinct_id in ids
            ],
        )
        for key in groups:
            group = graph.groups.get(key)
            if group is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO groups VALUES (?, ?, ?, ?)",
                    (
                        redact(group.group_type),
                        redact(group.group_key),
                        group.group_type_index,
                        redact(orjson.dumps(group.to_dict(), default=str).decode()),
                    ),
                )
        conn.executemany(
            "INSERT OR REPLACE INTO group_types VALUES (?, ?)", list(graph.group_types.items())
        )
        conn.execute(
            "INSERT OR REPLACE INTO person_graph VALUES ('event_count', ?)",
            (str(graph.event_count),),
        )

    def clear(self, conn: sqlite3.Connection) -> None:
        for table in TABLES:
            conn.execute(f"DELETE FROM {table}")
        self.graph = PersonGraph()


def _touched(
    outcome: Outcome, persons: set[str], ids: set[str], groups: set[tuple[str, str]]
) -> None:
    ids.add(outcome.distinct_id)
    ids.update(outcome.distinct_id_overrides)
    if outcome.person_id is not None:
        persons.add(outcome.person_id)
    merge = outcome.merge
    if merge is not None:
        ids.update((merge.source_distinct_id, merge.target_distinct_id, *merge.moved_distinct_ids))
        persons.update(
            p for p in (merge.source_person, merge.target_person, merge.surviving_person) if p
        )
    for change in outcome.group_changes:
        if change.group_key is not None:
            groups.add((change.group_type, change.group_key))


def _search_text(person: Person) -> str:
    values = [*person.distinct_ids, *(str(v) for v in person.properties.values())]
    return "\n".join(values).lower()[:10_000]


# -- reading, for the window and the local API ----------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    uuid: str
    distinct_ids: list[str]
    properties: dict[str, Any]
    sources: dict[str, list[Any]]  # property -> [event index, event uuid, op]
    is_identified: bool
    created_at: str | None
    merged_from: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "distinct_ids": self.distinct_ids,
            "is_identified": self.is_identified,
            "created_at": self.created_at,
            "properties": self.properties,
            "property_sources": {
                k: {"event_index": s[0], "event_uuid": s[1], "op": s[2]}
                for k, s in self.sources.items()
            },
            "merged_from": self.merged_from,
        }


def read_persons(
    path: str, search: str = "", limit: int = 1000, offset: int = 0
) -> list[PersonRow]:
    """Persons, oldest first; `search` matches a distinct id or a property value."""
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        if not _has_tables(conn):
            return []
        rows = conn.execute(
            "SELECT data FROM persons WHERE search LIKE ? ESCAPE '\\'"
            " ORDER BY created_index LIMIT ? OFFSET ?",
            (f"%{_like(search.lower())}%", limit, offset),
        ).fetchall()
    return [_person_row(orjson.loads(r[0])) for r in rows]


def count_persons(path: str, search: str = "") -> int:
    """How many persons there are (matching `search`, as read_persons matches it)."""
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        if not _has_tables(conn):
            return 0
        if not search:
            return int(conn.execute("SELECT COUNT(*) FROM persons").fetchone()[0])
        row = conn.execute(
            "SELECT COUNT(*) FROM persons WHERE search LIKE ? ESCAPE '\\'",
            (f"%{_like(search.lower())}%",),
        ).fetchone()
    return int(row[0])


def read_event_names(path: str, uuids: Iterable[str]) -> dict[str, str]:
    """The event name of each stored event uuid (what a property source or merge points at)."""
    wanted = sorted(set(uuids))
    found: dict[str, str] = {}
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        if not wanted or not _has_tables(conn):
            return found
        for start in range(0, len(wanted), 500):  # under SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for uuid, event in conn.execute(
                f"SELECT uuid, event FROM events WHERE uuid IN ({marks}) ORDER BY id DESC", chunk
            ):
                found[uuid] = event  # a repeated uuid: the first stored wins (read last)
    return found


def read_person(path: str, key: str) -> PersonRow | None:
    """One person by its uuid or any of its distinct ids."""
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        if not _has_tables(conn):
            return None
        row = conn.execute(
            "SELECT person_uuid FROM person_distinct_ids WHERE distinct_id = ?", (key,)
        ).fetchone()
        uuid = row[0] if row and row[0] else key
        found = conn.execute("SELECT data FROM persons WHERE uuid = ?", (uuid,)).fetchone()
    return _person_row(orjson.loads(found[0])) if found else None


def _person_row(data: dict[str, Any]) -> PersonRow:
    return PersonRow(
        data["uuid"],
        list(data["distinct_ids"]),
        dict(data.get("properties", {})),
        dict(data.get("sources", {})),
        bool(data.get("is_identified")),
        data.get("created_at"),
        list(data.get("merged_from", [])),
    )


def read_groups(path: str) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        if not _has_tables(conn):
            return []
        rows = conn.execute("SELECT data FROM groups ORDER BY group_type, group_key").fetchall()
    return [orjson.loads(r[0]) for r in rows]


def read_event_persons(path: str, event_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each event's person outcome (Outcome.to_dict()), by event id."""
    ids = list(event_ids)
    if not ids:
        return {}
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        if not _has_tables(conn):
            return {}
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            f"SELECT event_id, outcome FROM event_persons WHERE event_id IN ({marks})", ids
        ).fetchall()
    return {int(r[0]): orjson.loads(r[1]) for r in rows}


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PersonsWorker:
    """Runs person processing on its own thread, off the path of the request that stored the
    events: a capture answer never depends on persons, so the sandbox answers at once and the
    persons follow. While requests keep arriving it steps aside (one interpreter lock serves
    both), and it catches up when they pause; `settle()` waits until every stored event has
    gone through it, for a reader that must see exact persons (the API, a report, a test)."""

    def __init__(self, path: str, ledger: Ledger) -> None:
        self._path = path
        self.ledger = ledger
        self._queue: deque[tuple[list[int], list[dict[str, Any]]]] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._urgent = 0
        self._stop = False
        self._last_ingest = 0.0
        self._requests = 0  # requests being answered now: the worker waits for none
        self.error: str = ""  # why the last batch failed, for the log and the API
        self._thread = threading.Thread(target=self._run, name="sandbox-persons", daemon=True)
        self._thread.start()

    def request_started(self) -> None:
        with self._cond:
            self._requests += 1

    def request_ended(self) -> None:
        with self._cond:
            self._requests -= 1
            self._last_ingest = time.monotonic()
            self._cond.notify_all()

    def submit(self, event_ids: list[int], events: list[dict[str, Any]]) -> None:
        with self._cond:
            self._queue.append((event_ids, events))
            self._last_ingest = time.monotonic()
            self._cond.notify_all()

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait until every submitted event is processed; False on timeout."""
        with self._cond:
            self._urgent += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)
            finally:
                self._urgent -= 1

    def clear(self, conn: sqlite3.Connection) -> None:
        """Empty the persons (the caller's transaction), once nothing is in flight."""
        self.settle()
        with self._cond:
            self.ledger.clear(conn)

    def close(self) -> None:
        self.settle()
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, timeout=30, check_same_thread=False)
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._stop:
                        self._cond.wait()
                    if not self._queue:
                        return
                    quiet = time.monotonic() - self._last_ingest
                    if not self._urgent and not self._stop:
                        if self._requests:
                            self._cond.wait()  # woken when the request ends
                            continue
                        if quiet < STEP_ASIDE_S:
                            self._cond.wait(STEP_ASIDE_S - quiet)
                            continue
                    event_ids, events = self._queue.popleft()
                    self._busy = True
                try:
                    self._process(conn, event_ids, events)
                except (sqlite3.Error, OSError) as exc:
                    self.error = f"person processing failed: {exc}"
                    log.warning("the sandbox %s", self.error)
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
        finally:
            conn.close()

    def _process(
        self, conn: sqlite3.Connection, event_ids: list[int], events: list[dict[str, Any]]
    ) -> None:
        outcomes = self.ledger.apply(events)
        with conn:
            self.ledger.write(conn, event_ids, outcomes)
            dropped = [(i,) for i, o in zip(event_ids, outcomes, strict=True) if o.dropped]
            if dropped:  # PostHog drops it in person processing: 200, then gone
                conn.executemany("UPDATE events SET verdict = 'dropped' WHERE id = ?", dropped)
