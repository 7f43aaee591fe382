"""The sandbox's own API, under `/_sandbox/` (a path PostHog never serves): what arrived, as
JSON, for tests and CI to assert on.

    GET  /_sandbox                          who is listening, its inbox file, these routes
    GET  /_sandbox/events                   stored events, newest last; filters below
    GET  /_sandbox/events/<uuid or id>      one event: stored form, raw request, findings, person
    GET  /_sandbox/requests?refused=1       requests (only the refused ones with refused=1)
    GET  /_sandbox/counts                   {requests, total, accepted, changed, dropped, rejected,
                                             recordings, sdk_calls}
    GET  /_sandbox/persons                  persons, oldest first (search=, distinct_id=)
    GET  /_sandbox/persons/<uuid or id>     one person, by uuid or any of its distinct ids
    GET  /_sandbox/groups                   groups with their properties
    POST /_sandbox/reset                    empty the inbox, its persons and groups

Event filters: event, distinct_id, uuid, person (a person uuid), verdict (accepted, changed,
dropped), since and until (epoch seconds or ISO 8601, on the time the sandbox received it),
limit (default 100, at most 10,000) and offset. Counts: `total` is every event object the
sandbox was sent, `accepted` + `changed` + `dropped` the ones stored (changed: PostHog would
truncate, clamp or ignore part of it; dropped: it answers 200 and then drops it) and
`rejected` those in requests PostHog would refuse.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from contextlib import closing
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import orjson

from composer.core.capture.service import CaptureOutcome
from composer.sandbox.persons import read_groups, read_person, read_persons

PREFIX = "/_sandbox"
MAX_LIMIT = 10_000
VERDICTS = ("accepted", "changed", "dropped")
ROUTES = (
    "GET /_sandbox",
    "GET /_sandbox/events",
    "GET /_sandbox/events/<uuid or id>",
    "GET /_sandbox/requests",
    "GET /_sandbox/counts",
    "GET /_sandbox/persons",
    "GET /_sandbox/persons/<uuid or distinct id>",
    "GET /_sandbox/groups",
    "POST /_sandbox/reset",
)


class _BadQuery(Exception):
    pass


def is_api_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def answer(
    method: str,
    path: str,
    query: str,
    db: str,
    info: dict[str, Any],
    reset: Callable[[], None],
) -> CaptureOutcome:
    """The API's answer to one request (JSON; errors say what is wrong and how to fix it)."""
    parts = [p for p in path[len(PREFIX) :].split("/") if p]
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    method = method.upper()
    try:
        if not parts:
            return _ok({**info, "routes": list(ROUTES)}) if method == "GET" else _not_allowed()
        if parts == ["reset"]:
            if method != "POST":
                return _error(405, "reset takes POST: curl -X POST <sandbox>/_sandbox/reset")
            reset()
            return _ok({"reset": True})
        if method != "GET":
            return _not_allowed()
        with closing(sqlite3.connect(db, timeout=10)) as conn:
            conn.row_factory = sqlite3.Row
            return _route(conn, db, parts, params)
    except _BadQuery as exc:
        return _error(400, str(exc))


def _route(
    conn: sqlite3.Connection, db: str, parts: list[str], params: Mapping[str, str]
) -> CaptureOutcome:
    match parts:
        case ["events"]:
            return _ok(_events(conn, params))
        case ["events", key]:
            event = _event(conn, key)
            if event is None:
                return _error(404, f"no event {key!r}: give an event's uuid or its inbox id")
            return _ok(event)
        case ["requests"]:
            return _ok(_requests(conn, params))
        case ["counts"]:
            return _ok(_counts(conn))
        case ["persons"]:
            return _ok(_persons(db, params))
        case ["persons", key]:
            found = _person(db, key)
            if found is None:
                return _error(404, f"no person with uuid or distinct id {key!r}")
            return _ok(found)
        case ["groups"]:
            return _ok({"groups": read_groups(db)})
    return _error(404, f"unknown sandbox route; the routes are: {', '.join(ROUTES)}")


# -- events ----------------------------------------------------------------------------------

_EVENT_COLUMNS = (
    "e.id, e.request_id, e.received_at, e.event, e.distinct_id, e.uuid, e.timestamp, e.source,"
    " e.normalized, e.findings, e.verdict, r.path, r.status, p.person_id, p.outcome"
)
_EVENT_FROM = (
    " FROM events e JOIN requests r ON r.id = e.request_id"
    " LEFT JOIN event_persons p ON p.event_id = e.id"
)


def _events(conn: sqlite3.Connection, params: Mapping[str, str]) -> dict[str, Any]:
    where: list[str] = []
    args: list[Any] = []
    for name, column in (
        ("event", "e.event"),
        ("distinct_id", "e.distinct_id"),
        ("uuid", "e.uuid"),
    ):
        if name in params:
            where.append(f"{column} = ?")
            args.append(params[name])
    if "person" in params:
        where.append("p.person_id = ?")
        args.append(params["person"])
    if "verdict" in params:
        if params["verdict"] not in VERDICTS:
            raise _BadQuery(
                f"verdict is one of {', '.join(VERDICTS)} (refused requests: /requests)"
            )
        where.append("e.verdict = ?")
        args.append(params["verdict"])
    for name, op in (("since", ">="), ("until", "<=")):
        if name in params:
            where.append(f"e.received_at {op} ?")
            args.append(_when(name, params[name]))
    limit, offset = _paging(params)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    total = conn.execute(f"SELECT COUNT(*){_EVENT_FROM}{clause}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS}{_EVENT_FROM}{clause} ORDER BY e.id LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return {
        "events": [_event_json(r) for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def _event_json(row: sqlite3.Row) -> dict[str, Any]:
    outcome = orjson.loads(row["outcome"]) if row["outcome"] else None
    return {
        "id": row["id"],
        "uuid": row["uuid"],
        "event": row["event"],
        "distinct_id": row["distinct_id"],
        "timestamp": row["timestamp"],
        "received_at": row["received_at"],
        "source": row["source"],
        "endpoint": row["path"],
        "verdict": row["verdict"],
        "stored": orjson.loads(row["normalized"]),
        "findings": orjson.loads(row["findings"]),
        "person": None
        if outcome is None
        else {
            "person_id": row["person_id"],
            "summary": outcome.get("summary", ""),
            "warnings": outcome.get("warnings", []),
        },
    }


def _event(conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    column = "e.id" if key.isdigit() else "e.uuid"
    row = conn.execute(
        f"SELECT {_EVENT_COLUMNS}{_EVENT_FROM} WHERE {column} = ? ORDER BY e.id DESC LIMIT 1",
        (int(key) if key.isdigit() else key,),
    ).fetchone()
    if row is None:
        return None
    event = _event_json(row)
    event["person"] = orjson.loads(row["outcome"]) if row["outcome"] else None
    request = conn.execute("SELECT * FROM requests WHERE id = ?", (row["request_id"],)).fetchone()
    event["request"] = _request_json(request)
    return event


# -- requests and counts -----------------------------------------------------------------------


def _requests(conn: sqlite3.Connection, params: Mapping[str, str]) -> dict[str, Any]:
    limit, offset = _paging(params)
    clause = " WHERE status >= 300" if params.get("refused") in ("1", "true") else ""
    total = conn.execute(f"SELECT COUNT(*) FROM requests{clause}").fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM requests{clause} ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
    ).fetchall()
    return {"requests": [_request_json(r) for r in rows], "total": total}


def _request_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "received_at": row["received_at"],
        "method": row["method"],
        "path": row["path"],
        "query": row["query"],
        "headers": orjson.loads(row["headers"]),
        "body": row["body"],
        "body_size": row["body_size"],
        "status": row["status"],
        "reply": row["reply"],
        "source": row["source"],
        "user_agent": row["user_agent"],
        "events": row["events"],
        "offered": row["offered"],
        "filtered": row["filtered"],
        "findings": orjson.loads(row["findings"]),
    }


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    verdicts = dict(conn.execute("SELECT verdict, COUNT(*) FROM events GROUP BY verdict"))
    requests, rejected, filtered, recordings, served = conn.execute(
        "SELECT COUNT(*),"
        " COALESCE(SUM(CASE WHEN status >= 300 AND served = '' THEN offered END), 0),"
        " COALESCE(SUM(filtered), 0),"
        " COALESCE(SUM(CASE WHEN served = 'recording' AND status < 300 THEN offered END), 0),"
        " COALESCE(SUM(CASE WHEN served NOT IN ('', 'recording') THEN 1 END), 0)"
        " FROM requests"
    ).fetchone()
    stored = sum(verdicts.values())
    return {
        "requests": requests,
        "total": stored + rejected + filtered,
        "accepted": verdicts.get("accepted", 0),
        "changed": verdicts.get("changed", 0),
        "dropped": verdicts.get("dropped", 0) + filtered,  # $performance_event: 200, then gone
        "rejected": rejected,
        "recordings": recordings,  # session replay snapshots sent to /s/
        "sdk_calls": served,  # flags, remote config, local evaluation ... answered
    }


# -- persons ---------------------------------------------------------------------------------


def _persons(db: str, params: Mapping[str, str]) -> dict[str, Any]:
    limit, offset = _paging(params)
    if "distinct_id" in params:
        found = _person(db, params["distinct_id"])
        return {"persons": [found] if found else []}
    persons = read_persons(db, params.get("search", ""), limit, offset)
    return {"persons": [p.to_dict() for p in persons]}


def _person(db: str, key: str) -> dict[str, Any] | None:
    person = read_person(db, key)
    return person.to_dict() if person else None


# -- plumbing --------------------------------------------------------------------------------


def _paging(params: Mapping[str, str]) -> tuple[int, int]:
    try:
        limit = int(params.get("limit", 100))
        offset = int(params.get("offset", 0))
    except ValueError:
        raise _BadQuery("limit and offset are whole numbers, e.g. ?limit=50&offset=100") from None
    if not 0 < limit <= MAX_LIMIT or offset < 0:
        raise _BadQuery(f"limit is 1 to {MAX_LIMIT} and offset 0 or more")
    return limit, offset


def _when(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise _BadQuery(
            f"{name} is epoch seconds or ISO 8601 (2024-05-01T12:00:00Z), not {raw!r}"
        ) from None


def _ok(value: Any) -> CaptureOutcome:
    return CaptureOutcome(200, orjson.dumps(value), "application/json")


def _error(status: int, message: str) -> CaptureOutcome:
    return CaptureOutcome(status, orjson.dumps({"error": message}), "application/json")


def _not_allowed() -> CaptureOutcome:
    return _error(405, "this route takes GET (reset takes POST)")
