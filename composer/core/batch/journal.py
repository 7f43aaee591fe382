"""The send journal's records: what a batch send has done, one JSON line per step, and what a
journal read back after a crash says about every row.

A journal is JSON Lines. The first line is the header (where the send goes, which input it is,
the seed its drawn uuids come from); then, in the order they happened:

    {"op":"plan","uuids":[...]}                  the window: the rows this send covers
    {"op":"send","chunk":7,"uuids":[...]}         a request is about to go out with these events
    {"op":"ack","chunk":7,"status":200,"at":"…"}  its 2xx arrived: delivered, never sent again
    {"op":"fail","chunk":7,"why":"503 …"}         it failed after the transport's retries
    {"op":"split","chunk":7}                      refused whole (400, 413): sent again in halves
    {"op":"held","rows":[[uuid, why], ...]}       rows the pre-flight check held back
    {"op":"failed_file","path":"…"}               the failed file this send writes into
    {"op":"done","at":"…"}                        the window: every planned row settled

A later record about a uuid wins over an earlier one (a resend after a failure acknowledges
what had failed). A "send" without its "ack" or "fail" is a request whose answer never came:
the server may have stored it, so it is sent again with the same uuids and counted as a
possible duplicate. Pure: bytes in, state out; the file, its lock and fsync are in
composer/services/journal.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import orjson

from composer.core.batch.rows import BatchRow
from composer.core.jsonio import dumps_kept

JOURNAL_VERSION = 1


class JournalKind(StrEnum):
    CLI = "cli"  # `event-composer send FILE`, keyed by the input file
    WINDOW = "window"  # the window's batch, matched to its rows by uuid


class Outcome(StrEnum):
    SENDING = "sending"  # in a request whose answer never came
    ACKED = "acked"
    FAILED = "failed"
    HELD = "held"


SETTLED = frozenset({Outcome.ACKED, Outcome.FAILED, Outcome.HELD})


class JournalDamaged(Exception):
    """The journal's header cannot be read: nothing in it can be trusted."""


class JournalTooNew(JournalDamaged):
    """A newer composer wrote it; this one must not guess what its records mean."""


@dataclass(frozen=True)
class InputIdentity:
    """Which file a CLI journal belongs to: the same path and the same bytes.

    Content, not mtime, decides: `touch`, `cp` or a git checkout change the mtime of identical
    bytes, and resuming against identical bytes is right; a same-size edit in the middle of the
    file changes the hash, and resuming against it would skip the wrong events.
    """

    path: str  # resolved
    size: int
    mtime_ns: int  # kept for the message only
    sha256: str

    def same_content(self, other: InputIdentity) -> bool:
        return self.size == other.size and self.sha256 == other.sha256

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "sha256": self.sha256,
        }

    @classmethod
    def from_json(cls, value: Any) -> InputIdentity:
        return cls(
            str(value["path"]), int(value["size"]), int(value["mtime_ns"]), str(value["sha256"])
        )


@dataclass(frozen=True)
class JournalHeader:
    kind: JournalKind
    created: str  # ISO 8601, UTC
    url: str  # the /batch/ URL the send goes to
    project: str  # key_fingerprint() of the project key; never the key itself
    seed: str = ""  # hex; the CLI derives the uuids of events without one from it
    source: InputIdentity | None = None
    rows: int = 0  # rows in the input (CLI) or planned (window)
    version: int = JOURNAL_VERSION

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "journal": self.version,
            "kind": self.kind.value,
            "created": self.created,
            "url": self.url,
            "project": self.project,
            "rows": self.rows,
        }
        if self.seed:
            doc["seed"] = self.seed
        if self.source is not None:
            doc["source"] = self.source.to_json()
        return doc

    @classmethod
    def from_json(cls, value: Any) -> JournalHeader:
        if not isinstance(value, dict) or "journal" not in value:
            raise JournalDamaged("the first line is not a journal header")
        version = value["journal"]
        if not isinstance(version, int):
            raise JournalDamaged(f"the journal version {version!r} is not a number")
        if version > JOURNAL_VERSION:
            raise JournalTooNew(f"written by a newer composer (journal version {version})")
        try:
            source = value.get("source")
            return cls(
                kind=JournalKind(value["kind"]),
                created=str(value["created"]),
                url=str(value["url"]),
                project=str(value["project"]),
                seed=str(value.get("seed", "")),
                source=InputIdentity.from_json(source) if source is not None else None,
                rows=int(value.get("rows", 0)),
                version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise JournalDamaged(f"the header is incomplete ({exc})") from None


# -- writing: one line per step ------------------------------------------------------------


def _line(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc) + b"\n"


def header_line(header: JournalHeader) -> bytes:
    return _line(header.to_json())


def plan_line(uuids: Sequence[str]) -> bytes:
    return _line({"op": "plan", "uuids": list(uuids)})


def send_line(chunk: int, uuids: Sequence[str]) -> bytes:
    return _line({"op": "send", "chunk": chunk, "uuids": list(uuids)})


def ack_line(chunk: int, status: int, at: str) -> bytes:
    return _line({"op": "ack", "chunk": chunk, "status": status, "at": at})


def fail_line(chunk: int, why: str) -> bytes:
    return _line({"op": "fail", "chunk": chunk, "why": why})


def split_line(chunk: int) -> bytes:
    return _line({"op": "split", "chunk": chunk})


def held_line(rows: Sequence[tuple[str, str]]) -> bytes:
    return _line({"op": "held", "rows": [list(pair) for pair in rows]})


def failed_file_line(path: str) -> bytes:
    return _line({"op": "failed_file", "path": path})


def done_line(at: str) -> bytes:
    return _line({"op": "done", "at": at})


# -- reading: what the journal says ----------------------------------------------------------


@dataclass
class JournalState:
    """Every row's latest outcome, and what is needed to go on appending."""

    header: JournalHeader
    outcomes: dict[str, tuple[Outcome, str]] = field(default_factory=dict)  # uuid -> (what, text)
    plan: list[str] | None = None  # the window's planned rows, in order
    open_chunks: dict[int, list[str]] = field(default_factory=dict)  # "send" without an answer
    next_chunk: int = 1
    failed_file: str | None = None
    last_ack_at: str | None = None
    done: bool = False
    damaged_lines: list[int] = field(default_factory=list)  # 1-based; ignored
    torn_tail: int = 0  # bytes of a last line cut short by a crash; ignored
    complete_bytes: int = 0  # the length of the journal up to its last complete line
    # False for a streaming send: the outcomes of what this run sends are written to the
    # journal but not kept here (10M uuids would not fit in memory); only open chunks are.
    remember: bool = True

    def apply(self, record: Any) -> None:
        """Take one record into the state; a record that makes no sense raises ValueError."""
        if not isinstance(record, dict):
            raise ValueError("not a record")
        op = record.get("op")
        if op == "send":
            self.sending(int(record["chunk"]), _uuids(record["uuids"]))
        elif op == "ack":
            self.answered(int(record["chunk"]), Outcome.ACKED, str(record.get("status", 200)))
            self.last_ack_at = str(record.get("at") or self.last_ack_at or "")
        elif op == "fail":
            self.answered(int(record["chunk"]), Outcome.FAILED, str(record.get("why", "")))
        elif op == "split":
            for uuid in self.open_chunks.pop(int(record["chunk"]), []):
                self.outcomes.pop(uuid, None)
        elif op == "held":
            for uuid, why in record["rows"]:
                self.outcomes[str(uuid)] = (Outcome.HELD, str(why))
        elif op == "plan":
            self.plan = [*(self.plan or []), *_uuids(record["uuids"])]
        elif op == "failed_file":
            self.failed_file = str(record["path"])
        elif op == "done":
            self.done = True
        else:
            raise ValueError(f"unknown record {op!r}")

    # The two records every chunk writes, without a record dict: the sender calls them per
    # request with thousands of uuids, so one shared value per call, filled in at C speed.

    def sending(self, chunk: int, uuids: list[str]) -> None:
        self.open_chunks[chunk] = uuids
        self.next_chunk = max(self.next_chunk, chunk + 1)
        if self.remember:
            self.outcomes.update(dict.fromkeys(uuids, (Outcome.SENDING, "")))

    def answered(self, chunk: int, outcome: Outcome, text: str) -> None:
        uuids = self.open_chunks.pop(chunk, [])
        if self.remember:
            self.outcomes.update(dict.fromkeys(uuids, (outcome, text)))

    def outcome(self, uuid: str) -> Outcome | None:
        found = self.outcomes.get(uuid)
        return found[0] if found is not None else None

    def count(self, what: Outcome) -> int:
        return sum(1 for outcome, _text in self.outcomes.values() if outcome is what)

    @property
    def acknowledged(self) -> set[str]:
        return {u for u, (outcome, _t) in self.outcomes.items() if outcome is Outcome.ACKED}

    @property
    def in_flight(self) -> set[str]:
        """Sent, but the answer never came: the server may have them."""
        return {u for u, (outcome, _t) in self.outcomes.items() if outcome is Outcome.SENDING}

    def unsettled(self, uuids: Iterable[str]) -> list[str]:
        """Those of `uuids` that were neither acknowledged, failed nor held back."""
        out = []
        for uuid in uuids:
            found = self.outcomes.get(uuid)
            if found is None or found[0] not in SETTLED:
                out.append(uuid)
        return out

    def unacknowledged(self, uuids: Iterable[str]) -> list[str]:
        return [u for u in uuids if self.outcome(u) is not Outcome.ACKED]


def _uuids(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("uuids is not a list")
    return [str(u) for u in value]


def replay(data: bytes) -> JournalState:
    """Read a journal back. A last line without its newline was cut short by a crash and is
    ignored (`torn_tail` says how many bytes); a line in the middle that cannot be read is
    ignored too (`damaged_lines`): forgetting a record only means sending its events again,
    with the same uuids, which PostHog deduplicates. Raises JournalDamaged when the header
    itself is unreadable: then nothing was sent with it (it is written before the first send).
    """
    cut = data.rfind(b"\n") + 1
    complete, tail = data[:cut], data[cut:]
    lines = complete.split(b"\n")[:-1] if complete else []
    if not lines:
        raise JournalDamaged("the journal has no complete header line")
    try:
        header = JournalHeader.from_json(orjson.loads(lines[0]))
    except orjson.JSONDecodeError:
        raise JournalDamaged("the header line is not JSON") from None
    state = JournalState(header, torn_tail=len(tail), complete_bytes=len(complete))
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        try:
            state.apply(orjson.loads(raw))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            state.damaged_lines.append(number)
    return state


# -- uuids that come back the same -----------------------------------------------------------


def new_seed(random_bytes: bytes) -> str:
    return random_bytes.hex()


def derived_uuid(seed: bytes, index: int) -> str:
    """The uuid of the row at `index` of a send with this seed.

    A keyed BLAKE2b of the position: as unpredictable as a random uuid (the seed is 16 random
    bytes), and the same every time the same send is resumed, so PostHog can deduplicate what
    an interrupted run had delivered. Formatted as version 4, as a drawn uuid would be.
    """
    raw = bytearray(hashlib.blake2b(index.to_bytes(8, "big"), key=seed, digest_size=16).digest())
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def assign_derived_uuids(rows: Sequence[BatchRow], seed: bytes, start: int = 0) -> int:
    """Replace the uuids drawn at import (events without one) by ones derived from the seed and
    the row's position in the file (`start` is the first row's, for a file read in blocks);
    returns how many. An event whose uuid cannot be read keeps it (the check reports it) and
    only its row key is derived."""
    changed = 0
    for index, row in enumerate(rows, start):
        if not row.drawn:
            continue
        made = derived_uuid(seed, index)
        if row.uuid.startswith("row-"):
            row.uuid = f"row-{made}"
        else:
            row.event = {**row.event, "uuid": made}
            row.uuid = made
            if row.wire is not None:  # the same length: only the bytes change
                row.wire = dumps_kept(row.event)
        changed += 1
    return changed


def key_fingerprint(api_key: str) -> str:
    """Tells two projects apart without writing the key anywhere (keys are long and random,
    so a truncated hash reveals nothing usable)."""
    return hashlib.sha256(f"posthog-event-composer:{api_key}".encode()).hexdigest()[:16]


def host_of(url: str) -> str:
    """scheme://host[:port] of a send's URL, for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url
