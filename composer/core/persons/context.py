"""The per-event state the rules share while one event is applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from composer.core.persons.normalize import NormalizedEvent
from composer.core.persons.outcome import Outcome, PropertyOp
from composer.core.persons.properties import EventOps


@dataclass(slots=True)
class EventContext:
    index: int
    event: NormalizedEvent
    ops: EventOps
    outcome: Outcome
    # The op that last wrote each key during this event, to label the net changes.
    last_op: dict[str, PropertyOp] = field(default_factory=dict)

    @property
    def source(self) -> tuple[int, str | None]:
        return (self.index, self.event.uuid)


def parse_timestamp(value: str | None) -> datetime | None:
    """An event timestamp as UTC, or None; a time without a zone is read as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
