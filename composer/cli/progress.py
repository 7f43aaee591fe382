"""The progress line of a long command, on stderr: events done of about how many, events per
second and the time left.

On a terminal it redraws one line (at most ten times a second); otherwise (a log, CI) it
writes a line every few seconds. Nothing is written in the first second, so short commands
stay quiet.
"""

from __future__ import annotations

import time
from typing import TextIO

QUIET_SECONDS = 1.0


class ProgressLine:
    def __init__(self, stream: TextIO, what: str = "ev", quiet: float = QUIET_SECONDS) -> None:
        self.stream = stream
        self.what = what
        self.tty = stream.isatty()
        self._started = time.monotonic()
        self._quiet = quiet
        self._last = 0.0
        self._drawn = False

    def show(self, done: int, total: int, rate: float | None = None) -> None:
        now = time.monotonic()
        elapsed = now - self._started
        if elapsed < self._quiet or now - self._last < (0.1 if self.tty else 2.0):
            return
        self._last = now
        if rate is None:
            rate = done / elapsed if elapsed > 0 else 0.0
        total = max(total, done)
        eta = f" ETA {(total - done) / rate:,.0f}s" if rate > 0 and total > done else ""
        filled = int(30 * done / max(total, 1))
        text = (
            f"[{'#' * filled}{'.' * (30 - filled)}] {done:,}/~{total:,}"
            f" {rate:,.0f} {self.what}/s{eta}"
        )
        if self.tty:
            self.stream.write("\r" + text + "\x1b[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
