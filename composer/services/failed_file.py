"""The failed file of a batch send: events that were not delivered, written as their chunk
fails (or as the check holds them back), not at the end, so a killed send leaves it too.

JSON Lines, one event a line, with its uuid, so that sending the file again lets PostHog
drop whatever did arrive. Each append is flushed before the journal records the failure:
a kill in between leaves an event here that the journal does not know failed, and the
resumed send, which starts this file afresh, tries it again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import orjson

from composer.core.batch.rows import BatchRow
from composer.services.journal import JournalError, SendJournal


class FailedFile:
    def __init__(self, path: str | Path, journal: SendJournal | None = None) -> None:
        self.path = Path(path)
        self.journal = journal
        self.count = 0
        self._handle: BinaryIO | None = None
        self._mutex = threading.Lock()  # held rows come from the checking thread

    def append(self, rows: Sequence[BatchRow]) -> None:
        if not rows:
            return
        # The wire bytes are the event's own encoding (a row a reader process parsed has no
        # other); an event whose {{variables}} were filled in is written as the user wrote it.
        data = b"".join(
            (row.wire if row.wire is not None else orjson.dumps(row.event)) + b"\n" for row in rows
        )
        with self._mutex:
            if self._handle is None:
                if self.journal is not None:
                    self.journal.note_failed_file(str(self.path))
                try:
                    # Truncated at the first failure of a run: what an earlier run of this send
                    # wrote has been tried again (resumed) or belongs to a send that is over.
                    self._handle = self.path.open("wb")
                except OSError as exc:
                    raise JournalError(
                        f"cannot write the failed file {self.path}: {exc.strerror or exc}"
                    ) from None
            self._handle.write(data)
            self._handle.flush()
            self.count += len(rows)

    def close(self) -> None:
        with self._mutex:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    @property
    def written(self) -> bool:
        return self._handle is not None or self.count > 0
