"""The send history: every send from the window, kept in SQLite to search, reopen and resend.

Several windows (processes) may write to the same file at once, so the file is in WAL mode with
a busy timeout, and every write is one short `BEGIN IMMEDIATE` transaction. Project keys never
reach the file: the bodies come masked from the transport, and `add` masks the given secrets
again in every text it stores. A damaged file is kept aside and a new one started; a file from
a newer version of the app is left alone.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from composer.core.batch.runs import KIND as RUN_KIND
from composer.core.batch.runs import BatchRun
from composer.core.capture.bodies import mask_in_render, mask_key
from composer.core.jsonio import JsonSyntaxError, loads
from composer.sqlfiles import keep_aside_with_journal, missing_columns, page_damage, read_only

if TYPE_CHECKING:  # httpx stays off the window's start-up path
    from composer.services.transport import ResponseRecord

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024  # enough to show and resend any real capture request
DEFAULT_RETENTION_DAYS = 90
RETENTION_CHOICES: tuple[tuple[str, int | None], ...] = (
    ("7 days", 7),
    ("30 days", 30),
    ("90 days", 90),
    ("1 year", 365),
    ("Forever", None),
)

_BUSY_TIMEOUT_S = 5.0


def default_path() -> Path:
    """The history file every window shares, in the app's data dir."""
    from composer.paths import data_dir

    return data_dir() / "history.sqlite3"


@dataclass(frozen=True)
class HistoryEntry:
    id: int | None
    sent_at: datetime  # timezone-aware; read back in UTC
    profile: str
    host: str
    url: str
    endpoint: str
    kind: str
    event_names: str
    events: int
    body: bytes  # as sent, key masked
    status: int | None
    elapsed_ms: float | None
    response_headers: list[tuple[str, str]]
    response_body: bytes
    error: str = ""
    truncated: bool = False  # a body was cut to the store's limit, so it cannot be resent as is

    def __post_init__(self) -> None:
        # A naive time would be read back shifted by the UTC offset of whoever wrote it.
        if self.sent_at.tzinfo is None or self.sent_at.utcoffset() is None:
            raise ValueError("sent_at must be timezone-aware")

    @classmethod
    def from_record(
        cls,
        record: ResponseRecord,
        *,
        profile: str,
        host: str,
        endpoint: str,
        kind: str,
        event_names: str,
        events: int,
        sent_at: datetime | None = None,
    ) -> HistoryEntry:
        error = ""
        if record.error is not None:
            error = " ".join(record.error.message.split())
        return cls(
            id=None,
            sent_at=sent_at if sent_at is not None else datetime.now(UTC),
            profile=profile,
            host=host,
            url=record.url,
            endpoint=endpoint,
            kind=kind,
            event_names=event_names,
            events=events,
            body=record.request_body,
            status=record.status,
            # Cancelled before the first attempt: there is no time worth showing.
            elapsed_ms=record.elapsed * 1000 if record.attempts else None,
            response_headers=list(record.response_headers),
            response_body=record.body,
            error=error,
        )

    @classmethod
    def from_batch_run(
        cls, run: BatchRun, *, profile: str, host: str, sent_at: datetime | None = None
    ) -> HistoryEntry:
        """One entry for a whole batch send: its counts as the body, the link to its rows."""
        return cls(
            id=None,
            sent_at=sent_at if sent_at is not None else datetime.now(UTC),
            profile=profile,
            host=host,
            url=run.url,
            endpoint="/batch/",
            kind=RUN_KIND,
            event_names=run.names,
            events=run.rows,
            body=run.to_json(),
            status=200 if run.ok else None,
            elapsed_ms=run.elapsed * 1000,
            response_headers=[],
            response_body=run.line().encode(),
            error="" if run.ok else (run.first_failure or run.line()),
            truncated=True,  # its rows are in the batch, not in this entry: never a body to resend
        )

    def batch_run(self) -> BatchRun | None:
        return BatchRun.from_json(self.body) if self.kind == RUN_KIND else None

    def reopenable_body(self) -> tuple[object, str]:
        """The body as JSON to open or send again, or None and why it cannot be."""
        if self.kind == RUN_KIND:
            return None, (
                "This is a whole batch run; its rows are in the batch, not in the history."
                " Show rows brings them up there."
            )
        if self.truncated:
            return None, (
                "This send's body was too large to keep whole in the history; it cannot be"
                " reopened or resent."
            )
        try:
            return loads(self.body), ""
        except JsonSyntaxError:
            return None, "This send's body is not JSON; it cannot be reopened."


class HistoryError(Exception):
    """The history file could not be opened or written; the message says what to do."""


# -- schema ------------------------------------------------------------------------------------


def _create_v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE sends (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: an id the UI holds stays valid
            sent_at INTEGER NOT NULL,  -- microseconds since the epoch, UTC: exact and sortable
            profile TEXT NOT NULL,
            host TEXT NOT NULL,
            url TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            kind TEXT NOT NULL,
            event_names TEXT NOT NULL,
            events INTEGER NOT NULL,
            body BLOB NOT NULL,
            status INTEGER,
            elapsed_ms REAL,
            response_headers TEXT NOT NULL,  -- JSON array of [name, value]: order and repeats kept
            response_body BLOB NOT NULL,
            error TEXT NOT NULL,
            truncated INTEGER NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX sends_by_time ON sends(sent_at)")


def _schema_damage(conn: sqlite3.Connection, version: int) -> str:
    """Why a sound SQLite file is not a history this version can use ("" when it is): a file
    that says it has the schema must have its table and every column the queries read."""
    if version == 0:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        # Version 0 is a new, empty file; tables without a version are someone else's file.
        return f"it holds tables but no schema version ({len(tables)} tables)" if tables else ""
    return missing_columns(conn, "sends", _REQUIRED_COLUMNS)


# Migration i takes the file from user_version i to i + 1; a new version appends a function.
_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_create_v1,)
SCHEMA_VERSION = len(_MIGRATIONS)

_REQUIRED_COLUMNS = (
    "id", "sent_at", "profile", "host", "url", "endpoint", "kind", "event_names", "events",
    "body", "status", "elapsed_ms", "response_headers", "response_body", "error", "truncated",
)  # fmt: skip
_LIST_COLUMNS = (
    "id, sent_at, profile, host, url, endpoint, kind, event_names, events, status, elapsed_ms,"
    " response_headers, error, truncated"
)
_SEARCHED = (
    "event_names",
    "profile",
    "host",
    "url",
    "COALESCE(CAST(status AS TEXT), '')",
    "error",
    # Builds with SQLITE_LIKE_DOESNT_MATCH_BLOBS (Debian's, for one) never match a BLOB.
    "CAST(body AS TEXT)",
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


# -- masking and conversions -------------------------------------------------------------------


def _mask_text(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, mask_key(secret))
    return text


def _mask_bytes(data: bytes, secrets: Sequence[str]) -> bytes:
    # The JSON-escaped form for bodies, then the raw bytes for anything that is not JSON.
    data = mask_in_render(data, secrets)
    for secret in secrets:
        if secret:
            data = data.replace(secret.encode(), mask_key(secret).encode())
    return data


def _to_micros(when: datetime) -> int:
    # Integer arithmetic: a float timestamp would not give back the same microsecond.
    return (when - _EPOCH) // _MICROSECOND


def _from_micros(micros: int) -> datetime:
    return _EPOCH + micros * _MICROSECOND


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(needle: str, *fields: Any) -> bool:
    """SQL function for needles SQLite's LIKE cannot fold (it folds ASCII letters only)."""
    for value in fields:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if isinstance(text, str) and needle in text.casefold():
            return True
    return False


def _entry(row: Sequence[Any], body: bytes = b"", response_body: bytes = b"") -> HistoryEntry:
    return HistoryEntry(
        id=row[0],
        sent_at=_from_micros(row[1]),
        profile=row[2],
        host=row[3],
        url=row[4],
        endpoint=row[5],
        kind=row[6],
        event_names=row[7],
        events=row[8],
        body=body,
        status=row[9],
        elapsed_ms=row[10],
        response_headers=[(str(k), str(v)) for k, v in orjson.loads(row[11])],
        response_body=response_body,
        error=row[12],
        truncated=bool(row[13]),
    )


# -- the store ---------------------------------------------------------------------------------


class HistoryStore:
    def __init__(self, path: Path, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_body_bytes < 0:
            raise ValueError("max_body_bytes must not be negative")
        self.path = Path(path)
        self.max_body_bytes = max_body_bytes
        self.note = ""
        # One worker thread at a time is the plan; the lock makes a second one safe, not fast.
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = self._open()  # None once closed

    # -- opening -------------------------------------------------------------------------------

    def _create_private(self) -> None:
        if not self.path.exists():
            # Bodies carry users' event data; SQLite gives its -wal and -shm the same mode.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))

    def _connect(self) -> sqlite3.Connection:
        # Autocommit at the driver level, so transactions are exactly the BEGINs written here.
        conn = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.create_function("composer_contains", -1, _contains, deterministic=True)
        return conn

    def _open(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._create_private()
            damage = self._damage()
            if damage:
                aside = self._keep_aside()
                self.note = (
                    f"The send history was damaged ({damage}); it is kept as {aside} and a new,"
                    " empty history was started."
                )
                self._create_private()
            conn = self._connect()
            self._prepare(conn)
        except HistoryError:
            if conn is not None:
                conn.close()
            raise
        except (OSError, sqlite3.Error) as exc:
            if conn is not None:
                conn.close()
            raise HistoryError(
                f"Cannot open the send history {self.path}: {exc}. If another program holds it"
                " locked, close that program; check that the folder exists and is writable."
            ) from exc
        return conn

    def _damage(self) -> str:
        """Why the file cannot be used as is ("" when it can); refuses files from newer apps."""
        with closing(read_only(self.path)) as conn:
            return self._check(conn)

    def _check(self, conn: sqlite3.Connection) -> str:
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise  # locked or unreadable: not damage, and not ours to move
            return str(exc)
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"The send history {self.path} was written by a newer version of Event Composer"
                f" (schema {version}, this version knows {SCHEMA_VERSION}). Update the app to"
                " read it; it has been left untouched."
            )
        return page_damage(conn) or _schema_damage(conn, version)

    def _keep_aside(self) -> Path:
        return keep_aside_with_journal(self.path)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        # Only takes effect on a file without tables: lets prune give space back to the disk.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
        conn.execute("PRAGMA synchronous = NORMAL")  # safe in WAL: a crash loses no commit
        with self._write(conn):
            # Read again under the write lock: another window may have migrated meanwhile.
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise HistoryError(
                    f"The send history {self.path} was just upgraded by a newer version of"
                    " Event Composer running beside this one. Update the app to keep using it."
                )
            for number in range(version, SCHEMA_VERSION):
                _MIGRATIONS[number](conn)
            if version != SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _write(self, conn: sqlite3.Connection) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front, so a busy file is waited for (busy timeout)
        # instead of failing half-way when a read would have to be upgraded to a write.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # SQLite ends some failed transactions itself (a full disk); then there is none.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _using(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise HistoryError(f"Cannot {action}: the send history is closed.")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise HistoryError(
                    f"Cannot {action} in the send history {self.path}: {exc}. If another window"
                    " is busy with it, try again; if the disk is full, free some space."
                ) from exc

    # -- writing -------------------------------------------------------------------------------

    def add(self, entry: HistoryEntry, secrets: Sequence[str] = ()) -> int:
        """Store one send, with `secrets` masked everywhere; returns its id."""
        # Masked before cut, so a key straddling the limit cannot leave its first half behind.
        body = _mask_bytes(entry.body, secrets)
        response_body = _mask_bytes(entry.response_body, secrets)
        truncated = entry.truncated or max(len(body), len(response_body)) > self.max_body_bytes
        headers = [
            (_mask_text(k, secrets), _mask_text(v, secrets)) for k, v in entry.response_headers
        ]
        values = (
            _to_micros(entry.sent_at),
            _mask_text(entry.profile, secrets),
            _mask_text(entry.host, secrets),
            _mask_text(entry.url, secrets),
            _mask_text(entry.endpoint, secrets),
            entry.kind,
            _mask_text(entry.event_names, secrets),
            entry.events,
            body[: self.max_body_bytes],
            entry.status,
            entry.elapsed_ms,
            orjson.dumps(headers).decode(),
            response_body[: self.max_body_bytes],
            _mask_text(entry.error, secrets),
            int(truncated),
        )
        with self._using("save the send") as conn, self._write(conn):
            cursor = conn.execute(
                "INSERT INTO sends (sent_at, profile, host, url, endpoint, kind, event_names,"
                " events, body, status, elapsed_ms, response_headers, response_body, error,"
                " truncated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            return int(cursor.lastrowid or 0)

    def delete(self, ids: Sequence[int]) -> int:
        """Remove these entries; returns how many there were."""
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        with self._using("delete entries") as conn:
            with self._write(conn):
                removed = conn.execute(
                    f"DELETE FROM sends WHERE id IN ({marks})", [int(i) for i in ids]
                ).rowcount
            self._give_back_space(conn, removed)
        return removed

    def prune(
        self,
        *,
        keep_days: int | None = None,
        keep_max: int | None = None,
        now: datetime | None = None,
    ) -> int:
        """Remove entries older than `keep_days` and beyond the newest `keep_max`."""
        if (keep_days is not None and keep_days < 0) or (keep_max is not None and keep_max < 0):
            raise ValueError("keep_days and keep_max must not be negative")
        removed = 0
        with self._using("remove old entries") as conn:
            with self._write(conn):
                if keep_days is not None:
                    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
                    removed += conn.execute(
                        "DELETE FROM sends WHERE sent_at < ?", (_to_micros(cutoff),)
                    ).rowcount
                if keep_max is not None:
                    removed += conn.execute(
                        "DELETE FROM sends WHERE id NOT IN (SELECT id FROM sends"
                        " ORDER BY sent_at DESC, id DESC LIMIT ?)",
                        (keep_max,),
                    ).rowcount
            self._give_back_space(conn, removed)
        return removed

    def _give_back_space(self, conn: sqlite3.Connection, removed: int) -> None:
        if not removed:
            return
        # A busy file only delays this: freed pages are reused, and the next prune frees them.
        with suppress(sqlite3.OperationalError):
            # executescript steps the pragma to the end; execute would free a single page.
            conn.executescript("PRAGMA incremental_vacuum;")

    # -- reading -------------------------------------------------------------------------------

    def search(self, text: str = "", *, limit: int = 200, offset: int = 0) -> list[HistoryEntry]:
        """Entries newest first, without their bodies; `text` is a case-insensitive substring."""
        needle = text.strip()
        where, params = "", list[str]()
        if needle.isascii():
            if needle:
                where = "WHERE " + " OR ".join(f"{f} LIKE ? ESCAPE '\\'" for f in _SEARCHED)
                params = [_like_pattern(needle)] * len(_SEARCHED)
        else:
            where = f"WHERE composer_contains(?, {', '.join(_SEARCHED)})"
            params = [needle.casefold()]
        with self._using("search") as conn:
            rows = conn.execute(
                f"SELECT {_LIST_COLUMNS} FROM sends {where}"
                " ORDER BY sent_at DESC, id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        return [_entry(row) for row in rows]

    def get(self, entry_id: int) -> HistoryEntry | None:
        """One entry with its bodies, or None when it was deleted (by another window perhaps)."""
        with self._using("read the entry") as conn:
            row = conn.execute(
                f"SELECT {_LIST_COLUMNS}, body, response_body FROM sends WHERE id = ?",
                (entry_id,),
            ).fetchone()
        if row is None:
            return None
        return _entry(row, bytes(row[14]), bytes(row[15]))

    def count(self) -> int:
        with self._using("count entries") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM sends").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
