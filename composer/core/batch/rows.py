"""A batch of events: rows keyed by event uuid, their verdicts, and how they split into requests.

Rows are addressed by the event's uuid, never by position: results arrive after the user may
have sorted, filtered or reordered the table. Every row carries a uuid (one is made when an
event has none) so that a resend can never count twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, cast

import orjson

from composer.core.capture.identifiers import canonical_uuid
from composer.core.capture.parse import BodyShape
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.events import check_event
from composer.core.capture.preflight.fast import future_limit, is_plain
from composer.core.compose.payloads import kind_for_event_name
from composer.core.findings import Finding, Severity
from composer.core.jsonio import JsonObject, dumps_compact, dumps_kept
from composer.core.plans.check import check_against_plan, is_plan_finding
from composer.core.plans.model import Plan
from composer.core.templates.variables import Resolver, has_placeholders, unresolved_findings

if TYPE_CHECKING:
    from composer.core.persons import PersonGraph

DEFAULT_CHUNK_BYTES = 5 * 1024 * 1024
MAX_CHUNK_BYTES = 20 * 1024 * 1024 - 64 * 1024  # PostHog's 20 MiB, less room for the envelope
DEFAULT_CHUNK_EVENTS = 10_000
_ENVELOPE_OVERHEAD = 256


class RowStatus(StrEnum):
    NEW = ""
    HELD = "held back"  # an error the server would refuse: not sent
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    # Part of a send that stopped (a crash, a kill, Cancel) before this row was acknowledged:
    # its send journal knows, and "Resume batch send" sends it with the same uuid.
    INTERRUPTED = "interrupted"


def new_uuid() -> str:
    """A random (version 4) uuid, formatted; faster than uuid.uuid4() for big imports."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def with_uuid(event: JsonObject) -> tuple[JsonObject, str]:
    """The event with a uuid (its own, canonical, or a new one) and that uuid.

    An unparseable uuid is left as it is (the check reports it) and the row gets a key of
    its own, so nothing the user wrote is changed behind their back.
    """
    given = event.get("uuid")
    if isinstance(given, str) and given:
        canonical = canonical_uuid(given)
        return event, canonical or f"row-{new_uuid()}"
    if given is None:
        made = new_uuid()
        event = {**event, "uuid": made}
        return event, made
    return event, f"row-{new_uuid()}"


# The event of a row read in another process (services/parallel_rows.py): its `wire` is the
# event, parsed back only where it is needed (read_back). Read-only, so a change made to it
# by mistake fails loudly instead of changing every such row.
UNREAD: JsonObject = cast(JsonObject, MappingProxyType({}))


@dataclass(slots=True)
class BatchRow:
    uuid: str
    event: JsonObject
    size: int  # compact JSON bytes of `event`
    findings: tuple[Finding, ...] | None = None  # None: not checked yet
    status: RowStatus = RowStatus.NEW
    status_text: str = ""
    # The event with its {{variables}} filled in, when it has any (set by a RowChecker with a
    # resolver): what is checked and sent, while `event` keeps the placeholders.
    resolved: JsonObject | None = None
    resolved_size: int = 0
    unresolved: tuple[Finding, ...] = ()
    # What the event will do to persons, predicted over the whole batch in order (see
    # predict_persons); shown with the findings, never a reason to hold a row back.
    persons: tuple[Finding, ...] = ()
    # The uuid (or the row key, for an unreadable uuid) was made up here, not read from the
    # event: a resumed send derives it again (core/batch/journal.py) instead of drawing anew.
    drawn: bool = False
    # An error PostHog (or an unfilled variable) would make of it: held back. Tracking-plan
    # errors are shown but do not hold a row back; PostHog accepts what a plan forbids.
    # Kept with the findings (set_findings), not worked out again: the window counts these
    # over 100,000 rows on its GUI thread.
    blocked: bool = False
    # The event's compact JSON as it goes on the wire (`size` is its length), so a request is
    # built by joining bytes; None once the event is edited. And that no string in it can
    # hold a {{placeholder}} (known from its line to the streaming reader, core/batch/
    # stream.py, or from the first check's walk), so later checks skip that walk.
    wire: bytes | None = None
    literal: bool = False
    # The tracking plan the findings were made against (None: none): a send trusts a clean
    # verdict only when it was made against the plan the send uses (see RowChecker).
    checked_plan: Plan | None = None

    def set_findings(self, findings: tuple[Finding, ...] | None) -> None:
        self.findings = findings
        # Most verdicts are clean: no generator made for them (a check per row of a send).
        self.blocked = bool(findings) and any(
            f.severity is Severity.ERROR and not is_plan_finding(f) for f in findings or ()
        )

    @property
    def wire_event(self) -> JsonObject:
        return self.resolved if self.resolved is not None else self.event

    @property
    def wire_size(self) -> int:
        return self.resolved_size if self.resolved is not None else self.size

    @classmethod
    def of(cls, event: JsonObject, size: int | None = None) -> BatchRow:
        given = event.get("uuid")
        event, uid = with_uuid(event)
        row = cls(uid, event, 0, drawn=given is None or uid.startswith("row-"))
        if size is None:  # the encoding is made for the size anyway: kept for the send
            row.wire = dumps_kept(event)
            size = len(row.wire)
        row.size = size
        return row

    def edited(self, event: JsonObject) -> None:
        """The event was changed: everything worked out from the old one is forgotten."""
        self.event = event
        self.wire = dumps_kept(event)
        self.size = len(self.wire)
        self.literal = False
        self.set_findings(None)  # checked again before it is sent
        self.resolved = None  # and its variables filled in again
        self.unresolved = ()

    @property
    def name(self) -> str:
        value = self.event.get("event")
        return value if isinstance(value, str) else ""

    @property
    def kind_label(self) -> str:
        return kind_for_event_name(self.event.get("event")).label

    @property
    def distinct_id(self) -> str:
        value = self.event.get("distinct_id")
        if value is None and isinstance(self.event.get("properties"), dict):
            value = self.event["properties"].get("distinct_id")
        return "" if value is None else value if isinstance(value, str) else str(value)

    @property
    def timestamp(self) -> str:
        value = self.event.get("timestamp")
        return value if isinstance(value, str) else ""

    @property
    def property_count(self) -> int:
        props = self.event.get("properties")
        return len(props) if isinstance(props, dict) else 0

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        return (*(self.findings or ()), *self.persons)

    @property
    def verdict(self) -> Severity | None:
        """The worst finding's severity; None when clean or not checked."""
        if self.findings is None:
            return None
        found = self.all_findings
        return min((f.severity for f in found), key=lambda s: s.rank) if found else None


class RowChecker:
    """Checks rows one at a time, remembering uuids across them (duplicates are findings)."""

    def __init__(
        self,
        now: datetime | None = None,
        resolver: Resolver | None = None,
        plan: Plan | None = None,
        reuse_resolved: bool = False,
        remember: int | None = None,
        trust_clean: bool = False,
    ) -> None:
        """`remember`: how many uuids to keep for the duplicate warning (None: all; a
        streaming check of a file of any size keeps a bounded number, 0 for a send, where
        the warning changes nothing).

        `trust_clean`: a row already found clean, with no {{placeholder}}, against this same
        plan, is not checked again (the window's send: its rows were checked when they came
        in, an edit forgets the verdict, and a change of plan or variables checks them all
        again). Only a clean verdict is kept: nothing in PostHog's rules turns a clean event
        bad as time passes, while a timestamp too far ahead can become fine."""
        self.now = now or datetime.now(UTC)
        self._trust = trust_clean
        self._remember = remember
        self._reuse = reuse_resolved
        self._plan = plan if plan is not None and plan.usable else None
        self._limit = future_limit(self.now)
        self._seen: dict[str, int] = {}
        self._position = 0
        self._resolver = resolver

    def check(self, row: BatchRow, position: int | None = None) -> BatchRow:
        """`position`: the row's place in the batch, when rows before it were checked
        elsewhere (by a reader process); else the one after the last row checked here."""
        if position is None:
            position = self._position
        self._position = position + 1
        if self._trust and row.literal and row.findings == () and row.checked_plan is self._plan:
            if self._remember != 0:
                self.duplicate(read_back(row).event.get("uuid"), position)  # for rows after it
            return row
        read_back(row)  # a row from a reader process is judged by its event, not by UNREAD
        if (
            row.literal
            and row.resolved is None
            and self._plan is None
            and is_plain(row.event, row.size, self._limit)
        ):
            # The common row of a big file, in as few steps as its verdict allows: nothing to
            # fill in, no plan, and (after the duplicate look) the fast rules say clean.
            if self._remember == 0:
                duplicate = None
            else:
                duplicate = self.duplicate(row.event.get("uuid"), position)
            row.checked_plan = None
            if duplicate is None:
                row.findings = ()
                row.blocked = False
            else:
                row.set_findings((duplicate,))
            return row
        findings: list[Finding] = []
        if not row.literal and not has_placeholders(row.event):
            row.literal = True  # walked once: no later check walks it again
        if self._resolver is not None and not row.literal:
            if self._reuse and row.resolved is not None:
                pass  # a resend: the values drawn for the first attempt, so PostHog can dedupe
            else:
                resolution = self._resolver.resolve(row.event)
                # Size first, then the event: a sender thread reading the row mid-check sees
                # either the old pair or the new one, never an unfilled event.
                row.resolved_size = len(dumps_compact(resolution.value))
                row.resolved = resolution.value
                row.unresolved = tuple(
                    replace(f, event_index=position)
                    for f in unresolved_findings(resolution.unresolved)
                )
            findings.extend(row.unresolved)
        elif row.resolved is not None:
            row.resolved = None  # edited: no placeholders any more
        if row.resolved is None:  # wire_event and wire_size, without two property calls
            event, size = row.event, row.size
        else:
            event, size = row.resolved, row.resolved_size
        if not is_plain(event, size, self._limit):
            out = Collector(self.now)
            check_event(event, "", position, BodyShape.BATCH, False, out, size)
            findings.extend(out.findings)
        if self._plan is not None:
            findings.extend(check_against_plan(event, self._plan, "", position))
        if self._remember != 0:
            duplicate = self.duplicate(event.get("uuid"), position)
            if duplicate is not None:
                findings.append(duplicate)
        row.set_findings(tuple(findings))
        row.checked_plan = self._plan
        return row

    def duplicate(self, uid: object, position: int) -> Finding | None:
        """The warning when an earlier row had this uuid; the uuid is remembered."""
        if not isinstance(uid, str) or not uid or self._remember == 0:
            return None
        if self._remember is not None and len(self._seen) >= self._remember:
            first = self._seen.get(uid.lower(), position)
        else:
            first = self._seen.setdefault(uid.lower(), position)
        if first == position:
            return None
        return Finding(
            Severity.WARNING,
            "uuid.duplicate",
            "uuid",
            f"Row {position + 1} has the same uuid as row {first + 1}; PostHog"
            " keeps only one of them.",
            "Give every event its own uuid.",
            position,
        )


_PERSON_EVENTS = frozenset(
    {"$identify", "$create_alias", "$merge_dangerously", "$set", "$set_once", "$groupidentify"}
)


def check_rows(
    rows: Sequence[BatchRow],
    now: datetime | None = None,
    resolver: Resolver | None = None,
    plan: Plan | None = None,
) -> None:
    """Fill in each row's findings, as PostHog would judge the event inside a batch (and the
    tracking plan, when there is one)."""
    checker = RowChecker(now, resolver, plan)
    for row in rows:
        checker.check(row)


def plan_chunks(
    rows: Iterable[BatchRow],
    max_bytes: int = DEFAULT_CHUNK_BYTES,
    max_events: int = DEFAULT_CHUNK_EVENTS,
) -> Iterator[list[BatchRow]]:
    """Group rows into requests under both caps (an oversize event travels alone)."""
    max_bytes = min(max_bytes, MAX_CHUNK_BYTES)
    # Locals, not a Chunk's attributes: this runs once per event of a file of any size.
    chunk: list[BatchRow] = []
    size = _ENVELOPE_OVERHEAD
    for row in rows:
        cost = (row.size if row.resolved is None else row.resolved_size) + 1  # wire_size
        if chunk and (size + cost > max_bytes or len(chunk) >= max_events):
            yield chunk
            chunk = []
            size = _ENVELOPE_OVERHEAD
        chunk.append(row)
        size += cost
    if chunk:
        yield chunk


def envelope_bytes(rows: Sequence[BatchRow], api_key: str, historical_migration: bool) -> bytes:
    """{"api_key":…,"batch":[…]} as compact JSON, joined from each event's encoding: the
    wire bytes made on import as they are, and an encoding made now only for an event with
    its {{variables}} filled in or with none kept (the bytes orjson gives the whole body).
    A row a reader process parsed has its wire bytes alone (its event is UNREAD)."""
    events = b",".join(
        [
            r.wire
            if r.resolved is None and r.wire is not None
            else dumps_compact(r.resolved if r.resolved is not None else r.event)
            for r in rows
        ]
    )
    tail = b'],"historical_migration":true}' if historical_migration else b"]}"
    return b'{"api_key":' + dumps_compact(api_key) + b',"batch":[' + events + tail


def read_back(row: BatchRow) -> BatchRow:
    """The row with its event parsed from its wire bytes, when a reader process read it."""
    if row.event is UNREAD and row.wire is not None:
        row.event = orjson.loads(row.wire)
    return row


def held_back_reason(row: BatchRow) -> str:
    """Why a row is not sent: its errors, briefly."""
    errors = [
        f for f in row.findings or () if f.severity is Severity.ERROR and not is_plan_finding(f)
    ]
    return "; ".join(f"{f.code}: {f.message}" for f in errors[:2])


def held_back_note(rows: Sequence[BatchRow]) -> str:
    """ ". Held back: row 3 (distinct_id.missing), ..." for the rows a send held back, or ""."""
    return held_note([(p, r) for p, r in enumerate(rows) if r.status is RowStatus.HELD])


def held_note(held: Sequence[tuple[int, BatchRow]], total: int | None = None) -> str:
    """The note for held-back rows given with their positions in the batch (the first five
    are named; `total` is how many there are, when more than were given)."""
    if not held:
        return ""
    named = ", ".join(f"row {p + 1} ({held_back_reason(r).split(':')[0]})" for p, r in held[:5])
    more = (total if total is not None else len(held)) > 5
    return f". Held back: {named}{' …' if more else ''}."


def predict_persons(rows: Sequence[BatchRow], graph: PersonGraph | None) -> None:
    """What every row will do to persons, in the batch's order on a copy of `graph` (None: an
    empty project), so row 40's $identify sees what row 12's $create_alias did. Plain events
    that only create or update a person say nothing; merges, person updates and every
    ingestion warning do."""
    # Imported here: the persons pipeline is the window's and `persons simulate`'s, not
    # every command's that reads rows (12 ms of each CLI start).
    from composer.core.capture.persons import outcome_findings, predict

    events = [row.wire_event for row in rows]
    outcomes = predict(graph, events)
    for position, (row, event, outcome) in enumerate(zip(rows, events, outcomes, strict=True)):
        found = outcome_findings(event, outcome, "", position)
        if not outcome.warnings and event.get("event") not in _PERSON_EVENTS:
            found = []
        row.persons = tuple(found)
