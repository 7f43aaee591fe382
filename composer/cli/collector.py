"""The cyclic garbage collector, paced for a streaming command.

A send or validate of a big file makes ~15 container objects per event and frees nearly all
of them by reference counting; the collector's automatic passes find nothing there, yet they
cost 0.3 s per 100,000 events (most of it full passes over the rows in flight, measured
with and without `gc.disable()` on `event-composer send`). So the command turns the
automatic passes off and collects by hand every so many requests (or blocks): what a cycle
holds (httpx's per-request objects) is still freed, and memory stays bounded however long
the file. (Nothing is frozen: tests run these commands in their own process.)
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

COLLECT_EVERY = 50  # requests (or blocks) between passes: ~20 ms each, start-up's objects too


class PacedCollector:
    def __init__(self, every: int = COLLECT_EVERY) -> None:
        self.every = every
        self.passes = 0
        self._last = 0
        self._lock = threading.Lock()

    def tick(self, done: int) -> None:
        """`done` requests (or blocks) so far; a pass when `every` more have gone by."""
        with self._lock:
            if done - self._last < self.every:
                return
            self._last = done
            self.passes += 1
        gc.collect()


@contextmanager
def paced() -> Iterator[None]:
    """No automatic passes in here: a PacedCollector's ticks run them."""
    resume = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if resume:
            gc.enable()
