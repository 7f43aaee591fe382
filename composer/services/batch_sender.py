"""Sending a batch: pre-flight, chunking under the size and event caps, per-row results.

Checking and encoding the next request overlaps with the current one on the wire (a sender
thread does the HTTP), so the check costs little throughput. A request PostHog refuses as a
whole (400, 413) is split in halves until the rows it refuses are isolated; everything else
is delivered. Network errors and 5xx are retried by the transport; a request that still fails
marks its rows failed, for "Resend failed".

With a journal (services/journal.py) every request is recorded before it goes out and its
answer before its rows are reported, so a killed send can resume where it stopped. A request
whose answer was lost (the connection dropped after the server may have stored it) is retried
by the transport with the same bytes, hence the same uuids: PostHog deduplicates by uuid, and
the summary counts those events as possible duplicates.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from composer.core.batch.rows import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_EVENTS,
    BatchRow,
    RowChecker,
    RowStatus,
    envelope_bytes,
    held_back_reason,
    plan_chunks,
)
from composer.core.plans.model import Plan
from composer.core.templates.variables import Resolver
from composer.services.journal import SendJournal
from composer.services.transport import ErrorKind, ResponseRecord, Transport

SPLIT_STATUSES = frozenset({400, 413})
# Failures after the request may have reached the server: it may have stored the events.
# (Refused connections, DNS and TLS failures never got that far.)
ANSWER_LOST = frozenset(
    {
        ErrorKind.RESET,
        ErrorKind.READ_TIMEOUT,
        ErrorKind.WRITE_TIMEOUT,
        ErrorKind.PROTOCOL,
        ErrorKind.OTHER,
    }
)
GATEWAY_STATUSES = frozenset({502, 504})  # a proxy gave up; the upstream may have stored them
DUPLICATE_NOTE = "may be a duplicate: PostHog deduplicates by uuid"


@dataclass
class Progress:
    total: int  # rows to send (held-back rows excluded)
    sent: int = 0
    failed: int = 0
    held: int = 0
    requests: int = 0
    elapsed: float = 0.0
    # Delivered after an earlier attempt whose answer was lost (or after an interrupted run
    # had them in flight): sent again with the same uuids, so PostHog keeps one of each.
    duplicates: int = 0

    @property
    def done(self) -> int:
        return self.sent + self.failed

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class Summary:
    progress: Progress
    cancelled: bool = False
    failures: dict[str, str] = field(default_factory=dict)  # uuid -> why

    def line(self) -> str:
        p = self.progress
        text = (
            f"{p.sent:,} sent, {p.failed:,} failed, {p.held:,} held back, in"
            f" {p.elapsed:.1f} s ({p.rate:,.0f} events/s, {p.requests} requests)"
        )
        if p.duplicates:
            text += (
                f"; {p.duplicates:,} may be duplicates (sent again after their answer was lost,"
                " with the same uuids: PostHog deduplicates by uuid)"
            )
        return ("Cancelled: " + text) if self.cancelled else text


RowCallback = Callable[[Sequence[str], RowStatus, str], None]
# Rows that will not be delivered (failed, or held back), before the journal records them.
UndeliveredCallback = Callable[[Sequence[BatchRow]], None]


@dataclass
class _Held:
    rows: list[BatchRow]


_Item = tuple[list[BatchRow], bytes] | _Held | None


class BatchSender:
    def __init__(
        self,
        transport: Transport,
        url: str,
        api_key: str,
        *,
        historical_migration: bool = False,
        max_bytes: int = DEFAULT_CHUNK_BYTES,
        max_events: int = DEFAULT_CHUNK_EVENTS,
        on_rows: RowCallback | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        pause: threading.Event | None = None,
        cancel: threading.Event | None = None,
        resolver: Resolver | None = None,
        plan: Plan | None = None,
        reuse_resolved: bool = False,
        journal: SendJournal | None = None,
        on_undelivered: UndeliveredCallback | None = None,
        resent: frozenset[str] | set[str] = frozenset(),
        remember: int | None = None,
        failures_kept: int | None = None,
        trust_clean: bool = False,
    ) -> None:
        """`remember` and `failures_kept` bound the memory of a streaming send: how many
        uuids the check keeps for its duplicate warning (0: none; a warning holds nothing
        back), and how many failures the summary lists (None: all)."""
        self.transport = transport
        self.remember = remember
        self.trust_clean = trust_clean  # see RowChecker: the window's rows were checked already
        self.failures_kept = failures_kept
        self.journal = journal
        self.on_undelivered = on_undelivered or (lambda rows: None)
        # Rows an interrupted send had in flight: delivered now, they may be duplicates.
        self.resent = resent
        # Fills in {{variables}} as each row is checked, so every send gets fresh $uuid/$now.
        self.resolver = resolver
        self.plan = plan  # re-checking a row keeps its tracking-plan findings
        self.reuse_resolved = reuse_resolved  # a resend keeps the values of the first attempt
        self.url = url
        self.api_key = api_key
        self.historical_migration = historical_migration
        self.max_bytes = max_bytes
        self.max_events = max_events
        self.on_rows = on_rows  # None: nobody follows the rows (the CLI), no uuid lists made
        self.on_progress = on_progress or (lambda progress: None)
        self.pause = pause or threading.Event()
        self.cancel = cancel or threading.Event()
        self._lock = threading.Lock()
        self._failure: Exception | None = None

    def send(
        self, rows: Iterable[BatchRow], now: datetime | None = None, total: int | None = None
    ) -> Summary:
        """Check and send `rows`; rows with errors are held back. Blocks until done.

        `rows` may be an iterator (a file read as it is sent), with `total` its expected
        length, for the progress; only the chunks on their way are held in memory."""
        started = time.monotonic()
        if total is None:
            total = len(rows) if isinstance(rows, Sequence) else 0
        progress = Progress(total=total)
        summary = Summary(progress)
        bodies: queue.Queue[_Item] = queue.Queue(maxsize=2)
        worker = threading.Thread(
            target=self._post_all, name="batch-sender", daemon=True, args=(bodies, summary, started)
        )
        worker.start()
        checker = RowChecker(
            now, self.resolver, self.plan, self.reuse_resolved, self.remember, self.trust_clean
        )
        held: list[BatchRow] = []
        # Each request is checked and encoded while the one before it is on the wire.
        for chunk in plan_chunks(
            self._sendable(rows, checker, progress, held), self.max_bytes, self.max_events
        ):
            if self.cancel.is_set():
                break
            if held:
                # The sender thread writes them down, in order with the chunks' outcomes.
                self._put(bodies, _Held(held))
                held = []
            body = envelope_bytes(chunk, self.api_key, self.historical_migration)
            self._put(bodies, (chunk, body))
        if held and not self.cancel.is_set():
            self._put(bodies, _Held(held))
        while worker.is_alive():  # a sender thread that died takes nothing any more
            try:
                bodies.put(None, timeout=0.2)
                break
            except queue.Full:
                continue
        worker.join()
        if self._failure is not None:
            raise self._failure  # a journal that cannot be written stops the send, loudly
        summary.cancelled = self.cancel.is_set()
        progress.elapsed = time.monotonic() - started
        self.on_progress(progress)
        return summary

    def _put(self, bodies: queue.Queue[_Item], item: _Item) -> None:
        while not self.cancel.is_set():  # wait for room, but stay cancellable
            try:
                bodies.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _sendable(
        self,
        rows: Iterable[BatchRow],
        checker: RowChecker,
        progress: Progress,
        held: list[BatchRow],
    ) -> Iterator[BatchRow]:
        for row in rows:
            checker.check(row)  # a fresh verdict: the row may have been edited since
            if row.blocked:
                progress.held += 1
                progress.total -= 1
                self._mark([row], RowStatus.HELD, held_back_reason(row))
                held.append(row)
                continue
            yield row

    # -- the sender thread -----------------------------------------------------------------

    def _post_all(self, bodies: queue.Queue[_Item], summary: Summary, started: float) -> None:
        try:
            self._post_each(bodies, summary, started)
        except Exception as exc:  # handed to send(), which raises it in the caller's thread
            self._failure = exc
            self.cancel.set()

    def _post_each(self, bodies: queue.Queue[_Item], summary: Summary, started: float) -> None:
        while True:
            try:
                item = bodies.get_nowait()
            except queue.Empty:
                if self.journal is not None:
                    self.journal.flush()  # nothing to send yet: the answers go to disk now
                item = bodies.get()
            if item is None:
                if self.journal is not None:
                    self.journal.flush()
                return
            if isinstance(item, _Held):
                self.on_undelivered(item.rows)  # the failed file first, then the journal
                if self.journal is not None:
                    self.journal.held([(r.uuid, r.status_text) for r in item.rows])
                continue
            if self.cancel.is_set():
                continue  # drain: the producer is stopping
            chunk, body = item
            self._deliver(chunk, body, summary)
            summary.progress.elapsed = time.monotonic() - started
            self.on_progress(summary.progress)

    def _wait_if_paused(self) -> None:
        if self.pause.is_set() and self.journal is not None:
            self.journal.flush()
        while self.pause.is_set() and not self.cancel.is_set():
            time.sleep(0.05)

    def _deliver(self, chunk: list[BatchRow], body: bytes | None, summary: Summary) -> None:
        self._wait_if_paused()
        if self.cancel.is_set():
            return
        if body is None:
            body = envelope_bytes(chunk, self.api_key, self.historical_migration)
        self._mark(chunk, RowStatus.QUEUED, "sending")
        ref = self.journal.begin([r.uuid for r in chunk]) if self.journal is not None else 0
        record = self.transport.send(self.url, body, secrets=[self.api_key], cancel=self.cancel)
        summary.progress.requests += 1
        lost = answer_lost(record)
        if record.ok:
            assert record.status is not None
            if self.journal is not None:
                self.journal.acknowledged(ref, record.status)  # on disk before it is reported
            if lost:
                again = len(chunk)
            else:
                again = sum(r.uuid in self.resent for r in chunk) if self.resent else 0
            summary.progress.duplicates += again
            note = f" (sent again after a lost answer; {DUPLICATE_NOTE})" if again else ""
            self._mark(chunk, RowStatus.SENT, f"{record.status}{note}")
            summary.progress.sent += len(chunk)
            return
        if record.status in SPLIT_STATUSES and len(chunk) > 1:
            # PostHog refused the request as a whole and does not say which event: halve it.
            middle = len(chunk) // 2
            if self.journal is not None:
                self.journal.split(ref)  # nothing stored: its halves are recorded on their own
            self._deliver(chunk[:middle], None, summary)
            self._deliver(chunk[middle:], None, summary)
            return
        why = _reason(record)
        if lost:
            why += " (an answer was lost: they may have arrived; resending keeps their uuids)"
        self._mark(chunk, RowStatus.FAILED, why)
        # The failed file first, then the journal: a kill in between tries them again on
        # resume, never leaves them in neither.
        self.on_undelivered(chunk)
        if self.journal is not None:
            self.journal.failed(ref, why)
        summary.progress.failed += len(chunk)
        kept = chunk
        if self.failures_kept is not None:
            kept = chunk[: max(0, self.failures_kept - len(summary.failures))]
        for row in kept:
            summary.failures[row.uuid] = why

    def _mark(self, rows: Sequence[BatchRow], status: RowStatus, text: str) -> None:
        for row in rows:
            row.status = status
            row.status_text = text
        if self.on_rows is not None:
            self.on_rows([r.uuid for r in rows], status, text)


def answer_lost(record: ResponseRecord) -> bool:
    """Whether an attempt of this request may have been stored without its answer arriving:
    every attempt but a successful last one counts."""
    attempts = record.attempts[:-1] if record.ok else record.attempts
    return any(
        (a.error is not None and a.error.kind in ANSWER_LOST) or a.status in GATEWAY_STATUSES
        for a in attempts
    )


def _reason(record: ResponseRecord) -> str:
    if record.status is None:
        return record.error.message if record.error else "no answer"
    text = record.body.decode("utf-8", "replace").strip()[:200]
    return f"{record.status} {text}".strip()
