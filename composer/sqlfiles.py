"""SQLite files the app keeps (the send history, the sandbox inbox): damage found and kept aside.

A damaged file is never written over: it is renamed out of the way with its journal, so it
still opens for inspection, and the caller starts a new one and says so.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from composer.files import keep_aside

BUSY_TIMEOUT_S = 10.0


def read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file: a writable one would checkpoint its WAL into
    it, or delete that WAL, when it closes, so a file kept aside would not be as found."""
    uri = path.resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)


def page_damage(conn: sqlite3.Connection) -> str:
    """What quick_check finds ("" for a sound file). Locked or unreadable is not damage and
    is raised (sqlite3.OperationalError)."""
    try:
        result = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError):
            raise
        return str(exc)
    return "" if result == ["ok"] else "; ".join(map(str, result[:3]))


def missing_columns(conn: sqlite3.Connection, table: str, wanted: tuple[str, ...]) -> str:
    """ "" when `table` has every column in `wanted`, else what is missing, in words."""
    columns = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})").fetchall()}
    if not columns:
        return f"its {table} table is missing"
    missing = [c for c in wanted if c not in columns]
    return f"its {table} table lacks {', '.join(missing)}" if missing else ""


def keep_aside_with_journal(path: Path) -> Path:
    """Rename a damaged database and its -wal/-shm out of the way; returns the new name.
    Left behind, a -wal would be replayed into the new file and bring the damage back."""
    aside = keep_aside(path)
    for suffix in ("-wal", "-shm"):
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            target = aside.with_name(aside.name + suffix)
            if target.exists():
                keep_aside(sidecar)
            else:
                sidecar.rename(target)
    return aside


def is_database(path: Path) -> bool:
    """True unless SQLite says the file is not a database at all (a file of other bytes)."""
    try:
        with closing(read_only(path)) as conn:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "not a database" not in str(exc):
            raise
        return False
    return True
