"""One batch send, as the history keeps it: what was sent, how it went, and which rows.

A run of 100,000 rows is one history entry, not 1,000 requests' worth: its counts, its time,
the events it carried by name, and a link back to its rows in the batch (their uuids, or the
first and last for a run too long to list).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from composer.core.batch.rows import BatchRow

LINKED_ROWS = 1_000  # uuids listed one by one up to this many; beyond, the first and the last
KIND = "batch run"


@dataclass(frozen=True)
class BatchRun:
    url: str
    rows: int
    sent: int
    failed: int
    held: int
    requests: int
    elapsed: float  # seconds
    cancelled: bool
    names: str  # "signed_up ×30, $pageview ×10"
    first: str
    last: str
    uuids: tuple[str, ...] = ()  # every row's uuid, when there are at most LINKED_ROWS
    first_failure: str = ""

    @classmethod
    def of(
        cls,
        url: str,
        rows: Sequence[BatchRow],
        *,
        sent: int,
        failed: int,
        held: int,
        requests: int,
        elapsed: float,
        cancelled: bool,
        first_failure: str = "",
    ) -> BatchRun:
        uuids = [r.uuid for r in rows]
        return cls(
            url,
            len(rows),
            sent,
            failed,
            held,
            requests,
            elapsed,
            cancelled,
            name_summary(rows),
            uuids[0] if uuids else "",
            uuids[-1] if uuids else "",
            tuple(uuids) if len(uuids) <= LINKED_ROWS else (),
            first_failure,
        )

    @property
    def ok(self) -> bool:
        return not self.cancelled and not self.failed and self.sent + self.held == self.rows

    def line(self) -> str:
        text = (
            f"Batch run of {self.rows:,} rows: {self.sent:,} sent, {self.failed:,} failed,"
            f" {self.held:,} held back, in {self.requests:,} requests"
        )
        return ("Cancelled. " if self.cancelled else "") + text + "."

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"batch_run": {k: getattr(self, k) for k in self.__dataclass_fields__}},
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def from_json(cls, data: bytes) -> BatchRun | None:
        try:
            doc = orjson.loads(data)["batch_run"]
            return cls(**{**doc, "uuids": tuple(doc.get("uuids", ()))})
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return None


def name_summary(rows: Sequence[BatchRow], shown: int = 3) -> str:
    """The events of a run by name, most sent first: "signed_up ×30, $pageview ×10 and 2 more"."""
    counts = Counter(r.name or "(no name)" for r in rows)
    top = [f"{name} ×{count:,}" if count > 1 else name for name, count in counts.most_common(shown)]
    more = len(counts) - shown
    return ", ".join(top) + (f" and {more} more" if more > 0 else "")
