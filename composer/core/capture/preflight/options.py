"""The options of the check (what a body is checked for), shared by its rule modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CheckOptions:
    endpoint: str | None = None  # None: /batch/ for a batch envelope, else /i/v0/e/
    host: str | None = None  # as the user typed it; checked when given
    now: datetime | None = None  # for "in the future"; the current time when None
    wire_size: int | None = None  # bytes that will be sent; computed from the body when None
    # Read a pasted Python literal as the JSON it stands for. The sandbox turns this off:
    # PostHog itself takes JSON only.
    python_literals: bool = True
    # Check the body as it is sent with this key (a profile's): it replaces the body's own
    # token, or is added, exactly as `send` does.
    api_key: str | None = None
