"""Sending a batch: pre-flight, chunking under the size and event caps, per-row results.

Checking and encoding the next request overlaps with the current one on the wire (a sender
thread does the HTTP), so the check costs little throughput. A request PostHog refuses as a
whole (400, 413) is split in halves until the rows it refuses are isolated; everything else
is delivered. Network errors and 5xx are retried by the transport; a request that still fails
marks its rows failed, for "Resend failed".
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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
from composer.services.transport import ResponseRecord, Transport

SPLIT_STATUSES = frozenset({400, 413})


@dataclass
class Progress:
    total: int  # rows to send (held-back rows excluded)
    sent: int = 0
    failed: int = 0
    held: int = 0
    requests: int = 0
    elapsed: float = 0.0

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
        return ("Cancelled: " + text) if self.cancelled else text


RowCallback = Callable[[Sequence[str], RowStatus, str], None]


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
    ) -> None:
        self.transport = transport
        # Fills in {{variables}} as each row is checked, so every send gets fresh $uuid/$now.
        self.resolver = resolver
        self.plan = plan  # re-checking a row keeps its tracking-plan findings
        self.reuse_resolved = reuse_resolved  # a resend keeps the values of the first attempt
        self.url = url
        self.api_key = api_key
        self.historical_migration = historical_migration
        self.max_bytes = max_bytes
        self.max_events = max_events
        self.on_rows = on_rows or (lambda uuids, status, text: None)
        self.on_progress = on_progress or (lambda progress: None)
        self.pause = pause or threading.Event()
        self.cancel = cancel or threading.Event()
        self._lock = threading.Lock()

    def send(self, rows: Sequence[BatchRow], now: datetime | None = None) -> Summary:
        """Check and send `rows`; rows with errors are held back. Blocks until done."""
        started = time.monotonic()
        progress = Progress(total=len(rows))
        summary = Summary(progress)
        bodies: queue.Queue[tuple[list[BatchRow], bytes] | None] = queue.Queue(maxsize=2)
        worker = threading.Thread(
            target=self._post_all, name="batch-sender", daemon=True, args=(bodies, summary, started)
        )
        worker.start()
        checker = RowChecker(now, self.resolver, self.plan, self.reuse_resolved)
        # Each request is checked and encoded while the one before it is on the wire.
        for chunk in plan_chunks(
            self._sendable(rows, checker, progress), self.max_bytes, self.max_events
        ):
            if self.cancel.is_set():
                break
            body = envelope_bytes(chunk, self.api_key, self.historical_migration)
            while not self.cancel.is_set():  # wait for room, but stay cancellable
                try:
                    bodies.put((chunk, body), timeout=0.2)
                    break
                except queue.Full:
                    continue
        bodies.put(None)
        worker.join()
        summary.cancelled = self.cancel.is_set()
        progress.elapsed = time.monotonic() - started
        self.on_progress(progress)
        return summary

    def _sendable(
        self, rows: Sequence[BatchRow], checker: RowChecker, progress: Progress
    ) -> Iterator[BatchRow]:
        for row in rows:
            checker.check(row)  # a fresh verdict: the row may have been edited since
            if row.blocked:
                progress.held += 1
                progress.total -= 1
                self._mark([row], RowStatus.HELD, held_back_reason(row))
                continue
            yield row

    # -- the sender thread -----------------------------------------------------------------

    def _post_all(
        self,
        bodies: queue.Queue[tuple[list[BatchRow], bytes] | None],
        summary: Summary,
        started: float,
    ) -> None:
        while True:
            item = bodies.get()
            if item is None:
                return
            if self.cancel.is_set():
                continue  # drain: the producer is stopping
            chunk, body = item
            self._deliver(chunk, body, summary)
            summary.progress.elapsed = time.monotonic() - started
            self.on_progress(summary.progress)

    def _wait_if_paused(self) -> None:
        while self.pause.is_set() and not self.cancel.is_set():
            time.sleep(0.05)

    def _deliver(self, chunk: list[BatchRow], body: bytes | None, summary: Summary) -> None:
        self._wait_if_paused()
        if self.cancel.is_set():
            return
        if body is None:
            body = envelope_bytes(chunk, self.api_key, self.historical_migration)
        self._mark(chunk, RowStatus.QUEUED, "sending")
        record = self.transport.send(self.url, body, secrets=[self.api_key], cancel=self.cancel)
        summary.progress.requests += 1
        if record.ok:
            self._mark(chunk, RowStatus.SENT, f"{record.status}")
            summary.progress.sent += len(chunk)
            return
        if record.status in SPLIT_STATUSES and len(chunk) > 1:
            # PostHog refused the request as a whole and does not say which event: halve it.
            middle = len(chunk) // 2
            self._deliver(chunk[:middle], None, summary)
            self._deliver(chunk[middle:], None, summary)
            return
        why = _reason(record)
        self._mark(chunk, RowStatus.FAILED, why)
        summary.progress.failed += len(chunk)
        for row in chunk:
            summary.failures[row.uuid] = why

    def _mark(self, rows: Sequence[BatchRow], status: RowStatus, text: str) -> None:
        for row in rows:
            row.status = status
            row.status_text = text
        self.on_rows([r.uuid for r in rows], status, text)


def _reason(record: ResponseRecord) -> str:
    if record.status is None:
        return record.error.message if record.error else "no answer"
    text = record.body.decode("utf-8", "replace").strip()[:200]
    return f"{record.status} {text}".strip()
