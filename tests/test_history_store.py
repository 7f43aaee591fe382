"""The send history: real SQLite files in a temp folder, and real processes writing at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from composer.core.capture.bodies import mask_key, render, single_body
from composer.services import history
from composer.services.history import (
    DEFAULT_RETENTION_DAYS,
    RETENTION_CHOICES,
    HistoryEntry,
    HistoryError,
    HistoryStore,
    default_path,
)
from composer.services.transport import Attempt, ErrorKind, NetworkError, ResponseRecord

KEY = "phc_test_history_secret_key_0123456789abc"
NOW = datetime(2025, 3, 14, 12, 0, 0, 123456, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def record(
    *,
    url: str = "https://us.i.posthog.com/i/v0/e/",
    body: bytes = b'{"event": "plan_upgraded"}',
    status: int | None = 200,
    headers: list[tuple[str, str]] | None = None,
    response: bytes = b'{"status": "Ok"}',
    error: NetworkError | None = None,
    attempted: bool = True,
) -> ResponseRecord:
    return ResponseRecord(
        method="POST",
        url=url,
        request_headers=[("content-type", "application/json")],
        request_body=body,
        request_size=len(body),
        gzip=False,
        status=status,
        response_headers=headers if headers is not None else [("content-type", "application/json")],
        body=response,
        elapsed=0.25,
        attempts=[Attempt(1, 0.0, 0.25, status=status, error=error)] if attempted else [],
        error=error,
    )


def entry(
    event: str = "plan_upgraded",
    *,
    sent_at: datetime = NOW,
    profile: str = "Local sandbox",
    host: str = "http://127.0.0.1:8787",
    rec: ResponseRecord | None = None,
) -> HistoryEntry:
    return HistoryEntry.from_record(
        rec or record(url=f"{host}/i/v0/e/", body=f'{{"event": "{event}"}}'.encode()),
        profile=profile,
        host=host,
        endpoint="/i/v0/e/",
        kind="event",
        event_names=event,
        events=1,
        sent_at=sent_at,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    s = HistoryStore(tmp_path / "history.sqlite3")
    yield s
    s.close()


def file_bytes(path: Path) -> bytes:
    """The database and its journal files, as they are on disk now."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


def test_an_entry_comes_back_exactly_as_it_was_added(store: HistoryStore) -> None:
    headers = [
        ("content-type", "application/json"),
        ("set-cookie", "b=2"),
        ("x-request-id", "abc"),
        ("set-cookie", "a=1"),
    ]
    rec = record(
        url="https://us.i.posthog.com/batch/",
        body=b'{"batch": [{"event": "signed_up"}]}',
        status=400,
        headers=headers,
        response=b'{"type": "validation_error", "detail": "bad"}',
    )
    paris = timezone(timedelta(hours=2))
    sent = datetime(2025, 6, 1, 14, 30, 15, 654321, tzinfo=paris)
    original = HistoryEntry.from_record(
        rec,
        profile="Other host",
        host="https://us.i.posthog.com",
        endpoint="/batch/",
        kind="batch",
        event_names="signed_up, $pageview (+3)",
        events=5,
        sent_at=sent,
    )
    assert original.elapsed_ms == pytest.approx(250.0)
    assert original.error == ""
    new_id = store.add(original)
    assert new_id > 0
    back = store.get(new_id)
    assert back == replace(original, id=new_id)
    assert back is not None
    assert back.response_headers == headers  # order and repeated names kept
    assert back.sent_at.tzinfo is UTC
    assert back.sent_at == sent
    assert back.sent_at.hour == 12  # the same instant, read back in UTC
    assert back.truncated is False
    assert store.get(new_id + 100) is None


def test_a_failed_send_keeps_its_error_on_one_line(store: HistoryStore) -> None:
    error = NetworkError(ErrorKind.REFUSED, "127.0.0.1 refused\nthe connection.", "Start it.")
    failed = entry(rec=record(status=None, response=b"", headers=[], error=error))
    back = store.get(store.add(failed))
    assert back is not None
    assert back.error == "127.0.0.1 refused the connection."
    assert back.status is None
    assert back.response_headers == []
    cancelled = NetworkError(ErrorKind.CANCELLED, "Cancelled before an answer arrived.", "")
    never_sent = entry(rec=record(status=None, error=cancelled, attempted=False))
    assert never_sent.elapsed_ms is None
    never_id = store.add(never_sent)
    assert store.get(never_id) == replace(never_sent, id=never_id)


def test_sent_at_must_say_its_timezone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        entry(sent_at=datetime(2025, 1, 1, 12, 0))  # naive: the point of the test


def test_search_matches_every_field_ignoring_case_newest_first(store: HistoryStore) -> None:
    refused = NetworkError(ErrorKind.REFUSED, "Nothing is listening on that port.", "")
    ids = {
        "plan": store.add(entry("plan_upgraded", sent_at=NOW - timedelta(hours=3))),
        "eu": store.add(
            entry(
                "signed_up",
                sent_at=NOW - timedelta(hours=1),
                profile="EU cloud",
                host="https://eu.i.posthog.com",
            )
        ),
        "bad": store.add(
            entry(
                "broken",
                sent_at=NOW - timedelta(hours=2),
                rec=record(
                    url="https://us.i.posthog.com/capture/?ver=1.2",
                    body=b'{"event": "broken", "distinct_id": "Customer-42"}',
                    status=400,
                ),
            )
        ),
        "down": store.add(
            entry(
                "été_commencé",
                sent_at=NOW,
                rec=record(body=b'{"event": "x"}', status=None, error=refused, response=b""),
            )
        ),
    }

    def found(text: str) -> list[int | None]:
        return [e.id for e in store.search(text)]

    everything = store.search()
    assert [e.id for e in everything] == [ids["down"], ids["eu"], ids["bad"], ids["plan"]]
    assert all(e.body == b"" and e.response_body == b"" for e in everything)
    assert everything[1].event_names == "signed_up"  # the rest of the row is there
    assert found("PLAN_UPGRADED") == [ids["plan"]]  # event name, any case
    assert found("eu cloud") == [ids["eu"]]  # profile
    assert found("EU.I.POSTHOG") == [ids["eu"]]  # host
    assert found("ver=1.2") == [ids["bad"]]  # url
    assert found("400") == [ids["bad"]]  # status as text
    assert found("listening ON") == [ids["down"]]  # error
    assert found("customer-42") == [ids["bad"]]  # request body
    assert found("ÉTÉ") == [ids["down"]]  # non-ASCII folds too
    assert found("  signed_up ") == [ids["eu"]]
    assert found("nowhere") == []
    # LIKE's wildcards are searched for literally.
    assert found("%") == []
    assert found("pla__upgraded") == []
    assert found("_up") == [ids["eu"], ids["plan"]]
    # Paging, for a long history.
    assert [e.id for e in store.search(limit=2)] == [ids["down"], ids["eu"]]
    assert [e.id for e in store.search(limit=2, offset=2)] == [ids["bad"], ids["plan"]]


def test_the_key_is_masked_everywhere_and_never_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    store = HistoryStore(path)
    body = render(single_body({"event": "leaky", "properties": {"note": KEY}}, KEY))
    rec = record(
        url=f"http://127.0.0.1:8787/i/v0/e/?token={KEY}",
        body=body,
        status=401,
        headers=[("x-echo", f"key={KEY}"), ("content-type", "text/plain")],
        response=f"<html>invalid key {KEY}</html>".encode(),
        error=NetworkError(ErrorKind.OTHER, f"The request with {KEY} failed.", ""),
    )
    leaky = entry("leaky", rec=rec, profile=f"Profile {KEY}")
    assert KEY.encode() in leaky.body  # the test feeds the key in everywhere
    back = store.get(store.add(leaky, secrets=("", KEY)))
    assert back is not None
    masked = mask_key(KEY)
    for text in (back.url, back.error, back.profile, back.response_headers[0][1]):
        assert KEY not in text
        assert masked in text
    for data in (back.body, back.response_body):
        assert KEY.encode() not in data
        assert masked.encode() in data
    assert b'"api_key": "phc_****' in back.body  # still the same JSON, resendable
    assert KEY.encode() not in file_bytes(path)  # while open: the WAL holds the rows
    store.close()
    assert KEY.encode() not in file_bytes(path)
    assert file_bytes(path)  # something was read


def test_a_secret_is_also_found_in_its_json_escaped_form(store: HistoryStore) -> None:
    odd = 'phx_personal"Key\\with/escapes'
    body = render(single_body({"event": "odd"}, odd))
    assert odd.encode() not in body  # only its escaped form is in the JSON
    back = store.get(store.add(entry("odd", rec=record(body=body)), secrets=(odd,)))
    assert back is not None
    assert b"personal" not in back.body
    assert b'"api_key": "phx_****' in back.body


def test_big_bodies_are_cut_and_flagged(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3", max_body_bytes=1000)
    # The key straddles the limit: it is masked before the cut, so no half of it survives.
    body = b"x" * 990 + KEY.encode() + b"y" * 4000
    big = entry("big", rec=record(body=body, response=b"ok"))
    big_back = store.get(store.add(big, secrets=(KEY,)))
    assert big_back is not None
    assert big_back.truncated is True
    assert len(big_back.body) == 1000
    assert big_back.body.startswith(b"x" * 990 + b"phc_")
    assert KEY[4:10].encode() not in big_back.body
    assert big_back.response_body == b"ok"
    reply = entry("reply", rec=record(body=b"{}", response=b"r" * 1001))
    reply_back = store.get(store.add(reply))
    assert reply_back is not None
    assert reply_back.truncated is True
    assert reply_back.response_body == b"r" * 1000
    fits = entry("fits", rec=record(body=b"z" * 1000, response=b"r" * 1000))
    fits_back = store.get(store.add(fits))
    assert fits_back is not None
    assert fits_back.truncated is False
    assert fits_back.body == b"z" * 1000
    assert [e.truncated for e in store.search()] == [False, True, True]
    store.close()


def test_prune_by_age_and_by_count(store: HistoryStore) -> None:
    ages = [0, 1, 10, 40, 100, 400]
    ids = {age: store.add(entry(f"age_{age}", sent_at=NOW - timedelta(days=age))) for age in ages}
    assert store.prune(now=NOW) == 0  # "Forever"
    assert store.prune(keep_days=30, now=NOW) == 3
    assert [e.id for e in store.search()] == [ids[0], ids[1], ids[10]]
    assert store.prune(keep_max=2) == 1
    assert [e.id for e in store.search()] == [ids[0], ids[1]]
    # Same time: the one added last counts as newer.
    later = store.add(entry("same_time", sent_at=NOW))
    assert store.prune(keep_days=7, keep_max=1, now=NOW) == 2
    assert [e.id for e in store.search()] == [later]
    assert store.prune(keep_max=0) == 1
    assert store.count() == 0
    with pytest.raises(ValueError, match="negative"):
        store.prune(keep_days=-1)


def test_prune_gives_the_space_back(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    store = HistoryStore(path)
    for i in range(20):
        store.add(entry(f"e{i}", rec=record(body=os.urandom(100_000))))
    store.close()
    full = path.stat().st_size
    assert full > 2_000_000
    store = HistoryStore(path)
    assert store.prune(keep_max=1) == 19
    store.close()
    assert path.stat().st_size < full / 5


def test_delete_removes_only_what_is_asked(store: HistoryStore) -> None:
    first, second, third = (store.add(entry(f"e{i}")) for i in range(3))
    assert store.delete([]) == 0
    assert store.delete([first, third, 9999]) == 2
    assert store.get(first) is None
    assert store.get(third) is None
    assert store.get(second) is not None
    assert store.count() == 1
    # Ids are never reused, so an id a window still shows cannot point at a newer send.
    assert store.add(entry("new")) > third


def test_the_history_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "data" / "history.sqlite3"
    store = HistoryStore(path)
    added = entry("kept", rec=record(response=b"\x00\xffbinary"))
    entry_id = store.add(added)
    store.close()
    store.close()  # twice is harmless
    with pytest.raises(HistoryError, match="closed"):
        store.count()
    again = HistoryStore(path)
    assert again.note == ""
    assert again.count() == 1
    assert again.get(entry_id) == replace(added, id=entry_id)
    again.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (history.SCHEMA_VERSION,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        indexes = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
        assert ("sends_by_time",) in indexes
    conn.close()
    assert path.stat().st_mode & 0o777 == 0o600  # users' event data: only for them


def test_a_new_schema_version_is_one_appended_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.sqlite3"
    store = HistoryStore(path)
    old_id = store.add(entry("before"))
    store.close()
    ran: list[int] = []

    def add_column(conn: sqlite3.Connection) -> None:
        ran.append(1)
        conn.execute("ALTER TABLE sends ADD COLUMN note TEXT NOT NULL DEFAULT ''")

    monkeypatch.setattr(history, "_MIGRATIONS", (*history._MIGRATIONS, add_column))
    monkeypatch.setattr(history, "SCHEMA_VERSION", 2)
    upgraded = HistoryStore(path)
    assert ran == [1]
    assert upgraded.get(old_id) is not None
    upgraded.add(entry("after"))
    upgraded.close()
    HistoryStore(path).close()
    assert ran == [1]  # only once
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
        assert conn.execute("SELECT COUNT(*) FROM sends WHERE note = ''").fetchone() == (2,)
    conn.close()


def test_a_damaged_file_is_kept_aside_and_a_new_history_started(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    garbage = b"this is not a database, just bytes\x00\x01" * 200
    path.write_bytes(garbage)
    # A journal left beside it would be replayed into the new file: it must move with it.
    wal = path.with_name(path.name + "-wal")
    wal.write_bytes(b"stale journal")
    store = HistoryStore(path)
    assert "damaged" in store.note
    kept = [p for p in tmp_path.glob("history.sqlite3.corrupt-*") if p.name[-1].isdigit()]
    assert len(kept) == 1
    aside = kept[0]
    assert str(aside) in store.note
    assert aside.read_bytes() == garbage
    assert aside.with_name(aside.name + "-wal").read_bytes() == b"stale journal"
    entry_id = store.add(entry("fresh"))
    assert store.count() == 1
    store.close()
    reopened = HistoryStore(path)
    assert reopened.note == ""
    assert [e.id for e in reopened.search()] == [entry_id]
    reopened.close()


def test_a_file_with_a_damaged_page_is_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    store = HistoryStore(path)
    for i in range(50):
        store.add(entry(f"e{i}", rec=record(body=b"b" * 3000)))
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 3 : page * 6] = b"\xff" * (page * 3)  # header intact, table pages not
    path.write_bytes(bytes(data))
    damaged = HistoryStore(path)
    assert "damaged" in damaged.note
    assert damaged.count() == 0
    damaged.close()
    kept = [p for p in tmp_path.glob("history.sqlite3.corrupt-*") if p.name[-1].isdigit()]
    assert [p.read_bytes() for p in kept] == [bytes(data)]


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ("CREATE TABLE sends (id INTEGER PRIMARY KEY, sent_at INTEGER)", "lacks profile"),
        ("CREATE TABLE other (x TEXT)", "sends table is missing"),
    ],
)
def test_a_file_with_a_damaged_schema_is_kept_aside(tmp_path: Path, schema: str, why: str) -> None:
    path = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(schema)
    conn.execute(f"PRAGMA user_version = {history.SCHEMA_VERSION}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    store = HistoryStore(path)
    assert "damaged" in store.note
    assert why in store.note
    entry_id = store.add(entry("fresh"))
    assert [e.id for e in store.search()] == [entry_id]
    store.close()
    kept = [p for p in tmp_path.glob("history.sqlite3.corrupt-*") if p.name[-1].isdigit()]
    assert [p.read_bytes() for p in kept] == [before]


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_file_from_a_newer_version_is_refused_and_left_alone(
    tmp_path: Path, journal: str
) -> None:
    path = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute("CREATE TABLE sends_v9 (id INTEGER PRIMARY KEY, what TEXT)")
    conn.execute("INSERT INTO sends_v9 (what) VALUES ('from the future')")
    conn.execute(f"PRAGMA user_version = {history.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="newer version of Event Composer"):
        HistoryStore(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*corrupt*"))
    # A read-only look may leave an empty journal beside it, never a transaction in it.
    assert all(p.stat().st_size == 0 for p in tmp_path.glob("*-wal"))


_WRITER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from composer.services.history import HistoryEntry, HistoryStore
path, who, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.005)
store = HistoryStore(path)
for i in range(200):
    store.add(HistoryEntry(
        None, datetime.now(UTC), who, "http://127.0.0.1:8787", "http://127.0.0.1:8787/i/v0/e/",
        "/i/v0/e/", "event", f"{who}-{i}", 1, b"{}", 200, 1.0, [], b"{}",
    ))
store.close()
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "history.sqlite3"  # neither finds the file: both create it
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), who, str(go)],
            env=env,
            stderr=subprocess.PIPE,
        )
        for who in ("a", "b")
    ]
    go.touch()  # both start together, after their imports
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    store = HistoryStore(path)
    assert store.count() == 400
    rows = store.search(limit=1000)
    assert {e.event_names for e in rows} == {f"{w}-{i}" for w in "ab" for i in range(200)}
    assert len({e.id for e in rows}) == 400
    store.close()


def test_defaults_for_the_window(tmp_path: Path) -> None:
    assert default_path() == Path(os.environ["COMPOSER_DATA_DIR"]) / "history.sqlite3"
    assert dict(RETENTION_CHOICES)["Forever"] is None
    assert dict(RETENTION_CHOICES)["1 year"] == 365
    assert DEFAULT_RETENTION_DAYS in dict(RETENTION_CHOICES).values()
    with pytest.raises(HistoryError, match="Cannot open the send history"):
        HistoryStore(tmp_path)  # a folder, not a file
