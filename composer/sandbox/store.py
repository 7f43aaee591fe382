"""The sandbox's inbox: every request it answered and every event it accepted, in SQLite.

Writes come from the server's threads through one connection and a lock; readers (the window's
inbox, another process) open their own connections, which WAL mode lets run beside a writer.
Project keys never reach the file: every key the store has seen (the token of every request,
and a key in a path, a query or a cookie name) is masked wherever it appears, and so is every
key-shaped value, before anything is written.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from composer.core.capture.bodies import redact
from composer.core.capture.service import CaptureOutcome, CaptureRequest
from composer.core.findings import Finding
from composer.sandbox.persons import Ledger, PersonsWorker
from composer.sqlfiles import (
    is_database,
    keep_aside_with_journal,
    missing_columns,
    page_damage,
    read_only,
)

SCHEMA_VERSION = 1
OPEN_RETRY_S = 10.0  # how long a new inbox waits for another sandbox opening it too
MAX_STORED_BODY = 2 * 1024 * 1024  # the detail view needs to show it, not archive it
MAX_KNOWN_KEYS = 256  # the most recent project keys seen, masked wherever they appear
_REQUEST_COLUMNS = (
    "id", "received_at", "method", "path", "query", "headers", "body", "body_size", "status",
    "reply", "source", "user_agent", "client", "events", "filtered", "findings",
)  # fmt: skip
_EVENT_COLUMNS = (
    "id", "request_id", "received_at", "event", "distinct_id", "uuid", "timestamp", "source",
    "normalized", "findings",
)  # fmt: skip
# Where a request carries a project key besides its body: posthog-js's remote config path,
# its cookie name, a query parameter, an Authorization header.
_PATH_KEY = re.compile(r"/array/([^/]+)/")
_COOKIE_KEY = re.compile(r"\bph_(.+?)_posthog=")
_QUERY_KEY = re.compile(r"(?:^|&)(?:api_key|token)=([^&]+)")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so readers can poll "id > last"
    received_at REAL NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    headers TEXT NOT NULL,
    body TEXT NOT NULL,
    body_size INTEGER NOT NULL,
    status INTEGER NOT NULL,
    reply TEXT NOT NULL,
    source TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    client TEXT NOT NULL,
    events INTEGER NOT NULL,
    filtered INTEGER NOT NULL,
    findings TEXT NOT NULL,
    offered INTEGER NOT NULL DEFAULT 0, -- event objects in the request, refused ones included
    served TEXT NOT NULL DEFAULT ''     -- an SDK call besides capture: flags, config, recording...
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
    received_at REAL NOT NULL,
    event TEXT NOT NULL,
    distinct_id TEXT NOT NULL,
    uuid TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    source TEXT NOT NULL,
    normalized TEXT NOT NULL,
    findings TEXT NOT NULL,
    verdict TEXT NOT NULL DEFAULT 'accepted'  -- accepted, changed or dropped (see verdict_of)
);
CREATE INDEX IF NOT EXISTS events_by_request ON events(request_id);
"""


def source_of(user_agent: str) -> str:
    return "composer" if user_agent.startswith("posthog-event-composer/") else "external"


@dataclass(frozen=True)
class InboxRequest:
    id: int
    received_at: float
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str
    body_size: int
    status: int
    reply: str
    source: str
    user_agent: str
    client: str
    events: int
    filtered: int
    findings: list[dict[str, str]]
    served: str = ""  # an SDK call besides capture: flags, config, recording...
    offered: int = 0  # event objects in the request (snapshots, for a recording)


@dataclass(frozen=True)
class InboxEvent:
    """One stored event. Its stored form and person outcome stay JSON text until read: an inbox
    of 100,000 events is listed without parsing 100,000 documents (on a thread that shares the
    window's interpreter lock)."""

    id: int
    request_id: int
    received_at: float
    event: str
    distinct_id: str
    uuid: str
    timestamp: str
    source: str
    normalized_json: str
    findings: list[dict[str, str]]
    person_json: str | None = None  # what person processing did; None before it ran
    person_summary: str = ""

    @cached_property
    def normalized(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.normalized_json)
        return value

    @cached_property
    def person(self) -> dict[str, Any] | None:
        """Outcome.to_dict() of person processing, None before it ran or for an old file."""
        if self.person_json is None:
            return None
        value: dict[str, Any] = orjson.loads(self.person_json)
        return value


class StoreError(Exception):
    """The inbox file could not be opened or written; the message says what to do."""


def _findings_json(findings: Sequence[Finding]) -> str:
    return orjson.dumps([f.to_dict() for f in findings]).decode()


class SandboxStore:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self.moved_aside: Path | None = None
        self.damage = ""  # why the file found here was kept aside
        self._known: OrderedDict[str, None] = OrderedDict()
        self._conn = self._open_for_writing()

    # -- keys ----------------------------------------------------------------------------------

    def learn_keys(self, keys: Iterable[str | None]) -> None:
        """Remember project keys to mask wherever they appear from now on."""
        with self._lock:
            for key in keys:
                if key:
                    self._known[key] = None
                    self._known.move_to_end(key)
            while len(self._known) > MAX_KNOWN_KEYS:
                self._known.popitem(last=False)

    def redact(self, text: str) -> str:
        """`text` with every key this store knows, and every key-shaped string, masked."""
        return redact(text, tuple(self._known))

    # -- opening -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _open_for_writing(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            path = Path(self.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            damage = self._damage(path) if path.exists() and path.stat().st_size else ""
            if damage:
                # A damaged file is kept for inspection under another name, never overwritten.
                self.moved_aside = keep_aside_with_journal(path)
                self.damage = damage
        conn = self._prepared()
        try:
            self.persons = PersonsWorker(self.path, Ledger(conn, self.redact))
            conn.commit()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot open the sandbox inbox {self.path}: {exc}") from exc
        return conn

    def _prepared(self) -> sqlite3.Connection:
        """A connection to the inbox with its tables made (StoreError when it cannot be)."""
        deadline = time.monotonic() + OPEN_RETRY_S
        while True:
            conn = self._connect()
            try:
                self._prepare(conn)
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                # Two sandboxes opening one new inbox at once (two windows starting together):
                # switching it to WAL and making the tables can meet a lock SQLite reports at
                # once, without waiting out its busy timeout. The other is done in a moment.
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise StoreError(f"cannot open the sandbox inbox {self.path}: {exc}") from exc
                time.sleep(0.05)
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise StoreError(f"cannot open the sandbox inbox {self.path}: {exc}") from exc

    def _damage(self, path: Path) -> str:
        """Why the inbox file cannot be used as is ("" when it can)."""
        if not is_database(path):
            return "not an SQLite database"
        try:
            with closing(read_only(path)) as conn:
                damage = page_damage(conn)
                if damage:
                    return damage
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                if not tables & {"meta", "requests", "events"}:
                    return "" if not tables else "it holds other tables, not an inbox"
                return missing_columns(conn, "requests", _REQUEST_COLUMNS) or missing_columns(
                    conn, "events", _EVENT_COLUMNS
                )
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"cannot read the sandbox inbox {self.path}: {exc}. If another program holds it"
                " locked, close it, or point the sandbox at another file with --db."
            ) from exc

    def _prepare(self, conn: sqlite3.Connection) -> None:
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        # One transaction, the write lock taken first: another sandbox opening the file
        # meanwhile waits, then finds every table, column and the schema version made, never
        # a half-made inbox it would take for damage or fill in a second time.
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA.split(";"):  # no statement of it holds a ";" of its own
            if statement.strip():
                conn.execute(statement)
        columns = {r[1] for r in conn.execute("PRAGMA table_info(requests)")}
        if "offered" not in columns:  # an inbox from before the local API counted refusals
            conn.execute("ALTER TABLE requests ADD COLUMN offered INTEGER NOT NULL DEFAULT 0")
        if "served" not in columns:  # ... or answered the SDKs' other calls
            conn.execute("ALTER TABLE requests ADD COLUMN served TEXT NOT NULL DEFAULT ''")
        if "verdict" not in {r[1] for r in conn.execute("PRAGMA table_info(events)")}:
            conn.execute("ALTER TABLE events ADD COLUMN verdict TEXT NOT NULL DEFAULT 'accepted'")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer Event Composer (schema {row[0]}); update the"
                " app, or point the sandbox at another file with --db."
            )
        conn.commit()

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around answering a request: person processing steps aside meanwhile."""
        self.persons.request_started()
        try:
            yield
        finally:
            self.persons.request_ended()

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait until person processing has caught up with every stored event."""
        return self.persons.settle(timeout)

    def close(self) -> None:
        self.persons.close()
        with self._lock:
            self._conn.close()

    # -- writing -------------------------------------------------------------------------------

    def record(self, request: CaptureRequest, outcome: CaptureOutcome, received_at: float) -> int:
        """Store one answered request and its accepted events; returns the request's id."""
        self.learn_keys([outcome.token, *(e.token for e in outcome.events), *keys_in(request)])
        redact = self.redact
        user_agent = request.header("user-agent") or ""
        source = source_of(user_agent)
        body_text = outcome.decoded
        if body_text is None:
            body_text = request.body[:MAX_STORED_BODY].decode("utf-8", "replace")
        headers = dict(request.headers)
        with self._lock, self._conn:
            cursor = self._conn.execute(
                "INSERT INTO requests (received_at, method, path, query, headers, body,"
                " body_size, status, reply, source, user_agent, client, events, filtered,"
                " findings, offered, served)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    received_at,
                    request.method,
                    redact(request.path),
                    redact(request.query),
                    redact(orjson.dumps(headers).decode()),
                    redact(body_text[:MAX_STORED_BODY]),
                    len(request.body),
                    outcome.status,
                    redact(outcome.reply_text[:2000]),
                    source,
                    redact(user_agent[:300]),
                    request.client,
                    len(outcome.events),
                    outcome.filtered,
                    redact(_findings_json(outcome.findings[:200])),
                    outcome.offered,
                    outcome.served,
                ),
            )
            request_id = int(cursor.lastrowid or 0)
            self._conn.executemany(
                "INSERT INTO events (request_id, received_at, event, distinct_id, uuid,"
                " timestamp, source, normalized, findings, verdict)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        request_id,
                        received_at,
                        redact(e.event),
                        redact(e.distinct_id),
                        e.uuid,
                        e.timestamp,
                        source,
                        redact(orjson.dumps(e.normalized).decode()),
                        redact(_findings_json(e.findings)),
                        verdict_of(e.findings),
                    )
                    for e in outcome.events
                ],
            )
            if outcome.events:
                ids = [
                    row[0]
                    for row in self._conn.execute(
                        "SELECT id FROM events WHERE request_id = ? ORDER BY id", (request_id,)
                    )
                ]
                # Persons follow on their own thread; the answer does not wait for them.
                self.persons.submit(ids, [e.normalized for e in outcome.events])
        return request_id

    def clear(self) -> None:
        """Empty the inbox, and the persons and groups its events made."""
        with self._lock, self._conn:
            self.persons.clear(self._conn)  # waits for the persons thread to be idle
            self._conn.execute("DELETE FROM events")
            self._conn.execute("DELETE FROM requests")


# Findings after which PostHog does not keep the event at all (a duplicate uuid is merged
# away by ClickHouse; a $groupidentify with a key over 400 characters is dropped).
DROPPING_CODES = frozenset({"uuid.duplicate", "group.too_long"})


def verdict_of(findings: Sequence[Finding]) -> str:
    """What PostHog does with an accepted event: keeps it (accepted), keeps it changed
    (truncated, clamped, fields ignored: changed) or drops it after answering 200 (dropped;
    person processing marks the events it drops itself, later)."""
    if any(f.code in DROPPING_CODES for f in findings):
        return "dropped"
    if any(f.severity.value == "warning" for f in findings):
        return "changed"
    return "accepted"


def keys_in(request: CaptureRequest) -> list[str]:
    """Project keys a request carries outside its JSON: in its path, query or cookies."""
    found = _PATH_KEY.findall(request.path) + _QUERY_KEY.findall(request.query)
    cookie = request.header("cookie")
    if cookie:
        found += _COOKIE_KEY.findall(cookie)
    auth = request.header("authorization") or ""
    if auth.lower().startswith("bearer "):
        found.append(auth[7:].strip())
    return found


_NO_FINDINGS: list[dict[str, str]] = []  # shared, never changed: most events have none


def read_requests_after(path: str, after_id: int, limit: int = 1000) -> list[InboxRequest]:
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        return _requests(conn, after_id, limit)


def read_events_for(
    path: str, request_ids: Sequence[int], pause: Callable[[], None] | None = None
) -> list[InboxEvent]:
    """`pause()` runs after every thousand events made: a window reading the inbox on a
    worker thread gives its GUI thread turns at the interpreter lock there."""
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        return _events(conn, request_ids, pause)


def _requests(conn: sqlite3.Connection, after_id: int, limit: int) -> list[InboxRequest]:
    columns = {r[1] for r in conn.execute("PRAGMA table_info(requests)")}
    served = "served" if "served" in columns else "''"
    offered = "offered" if "offered" in columns else "0"
    rows = conn.execute(
        "SELECT id, received_at, method, path, query, headers, body, body_size, status, reply,"
        f" source, user_agent, client, events, filtered, findings, {served}, {offered}"
        " FROM requests WHERE id > ? ORDER BY id LIMIT ?",
        (after_id, limit),
    ).fetchall()
    return [
        InboxRequest(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            orjson.loads(r[5]),
            r[6],
            r[7],
            r[8],
            r[9],
            r[10],
            r[11],
            r[12],
            r[13],
            r[14],
            orjson.loads(r[15]),
            r[16],
            r[17],
        )
        for r in rows
    ]


def _events(
    conn: sqlite3.Connection, request_ids: Sequence[int], pause: Callable[[], None] | None = None
) -> list[InboxEvent]:
    if not request_ids:
        return []
    marks = ",".join("?" * len(request_ids))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    person = "p.outcome, p.summary" if "event_persons" in tables else "NULL, ''"
    join = " LEFT JOIN event_persons p ON p.event_id = e.id" if "event_persons" in tables else ""
    rows = conn.execute(
        "SELECT e.id, e.request_id, e.received_at, e.event, e.distinct_id, e.uuid, e.timestamp,"
        f" e.source, e.normalized, e.findings, {person} FROM events e{join}"
        f" WHERE e.request_id IN ({marks}) ORDER BY e.id",
        list(request_ids),
    ).fetchall()
    made: list[InboxEvent] = []
    for start in range(0, len(rows), _SLICE):
        if start and pause is not None:
            pause()
        made.extend(
            InboxEvent(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                _NO_FINDINGS if r[9] == "[]" else orjson.loads(r[9]),
                r[10],
                r[11] or "",
            )
            for r in rows[start : start + _SLICE]
        )
    return made


_SLICE = 1000


def count_events(path: str) -> int:
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
