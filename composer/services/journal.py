"""The send journal on disk: append-only, flushed on every record, fsynced on every answer.

What the records mean is composer/core/batch/journal.py. Here: where journals live (the app's
data folder, `journals/cli/` keyed by the input file's resolved path, `journals/window/` one
per window batch send), the lock that keeps two processes from writing one journal (the
kernel drops it when its process dies, so a killed send leaves a journal anyone may resume),
and the writes:

- every record is one unbuffered write, so a killed process leaves whole lines behind (a
  record bigger than one write may be cut short: replay ignores a torn last line);
- the header (with the seed its uuids are derived from) and the plan are fsynced before the
  first request, an "ack" or "fail" before the rows are reported delivered or failed. A
  "send" is only flushed: the "ack" after it syncs both, and a "send" lost to a power cut
  only means sending that chunk again with the same uuids.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from composer import paths
from composer.core.batch import journal as records
from composer.core.batch.journal import (
    InputIdentity,
    JournalDamaged,
    JournalHeader,
    JournalKind,
    JournalState,
)

__all__ = [
    "InputIdentity",
    "JournalBusy",
    "JournalDamaged",
    "JournalError",
    "JournalLock",
    "SendJournal",
    "cli_journal_path",
    "input_identity",
    "journals_dir",
    "read_journal",
    "utc_now",
]

HASH_BLOCK = 1024 * 1024


class JournalError(Exception):
    """A journal could not be written or read; the message says which file and why."""


class JournalBusy(JournalError):
    """Another process is writing this journal right now."""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def journals_dir(kind: JournalKind) -> Path:
    folder = paths.data_dir() / "journals" / kind.value
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def cli_journal_path(input_path: str | Path) -> Path:
    """One journal per input file: resuming is "send the same file again"."""
    resolved = str(Path(input_path).resolve())
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:24]
    return journals_dir(JournalKind.CLI) / f"{digest}.jsonl"


def input_identity(path: str | Path) -> InputIdentity:
    """The resolved path, size and SHA-256 of a file (OSError when it cannot be read).

    The whole file is hashed: `send` reads and parses all of it anyway, and hashing runs at
    about a gigabyte a second, far faster than the parse.
    """
    resolved = Path(path).resolve()
    digest = hashlib.sha256()
    with resolved.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return InputIdentity(str(resolved), stat.st_size, stat.st_mtime_ns, digest.hexdigest())


class JournalLock:
    """A lock beside the journal (`<journal>.lock`), taken without waiting."""

    def __init__(self, journal_path: Path) -> None:
        self.path = journal_path.with_name(journal_path.name + ".lock")
        # Not thread-local: the window takes it on a worker thread and lets go on the GUI one.
        self._lock = FileLock(str(self.path), timeout=0, thread_local=False)

    def acquire(self) -> JournalLock:
        try:
            self._lock.acquire()
        except Timeout:
            raise JournalBusy(f"{self.path} is held by another running event-composer") from None
        return self

    def release(self, *, remove: bool = False) -> None:
        if not self._lock.is_locked:
            return
        if remove:
            # Unlinked while still held, so no other process can take the old file's lock in
            # between and believe it owns a journal that is gone.
            self.path.unlink(missing_ok=True)
        self._lock.release()

    @property
    def held(self) -> bool:
        return bool(self._lock.is_locked)


def read_journal(path: Path) -> JournalState | None:
    """The state a journal records; None when there is none. Raises JournalDamaged when its
    header cannot be read, JournalError when the file cannot be read at all."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JournalError(f"cannot read the send journal {path}: {exc.strerror or exc}") from None
    return records.replay(data)


class SendJournal:
    """One send's journal, open for appending; safe to call from the sender's threads.

    Keeps its state up to date as it writes, so the sender's owner can ask what is settled
    without reading the file back.
    """

    def __init__(self, path: Path, fd: int, lock: JournalLock, state: JournalState) -> None:
        self.path = path
        self.lock = lock
        self.state = state
        self._fd: int | None = fd
        self._mutex = threading.Lock()
        self.fsyncs = 0  # for tests and the benchmark
        self.fsync_seconds = 0.0

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path,
        header: JournalHeader,
        lock: JournalLock,
        plan: Sequence[str] | None = None,
    ) -> SendJournal:
        """A new journal (replacing any at `path`): header and plan are on disk on return."""
        data = records.header_line(header)
        if plan is not None:
            data += records.plan_line(plan)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, 0o600)
            _write_all(fd, data)
            os.fsync(fd)
            os.close(fd)
            # Renamed into place only when complete: a reader never sees half a header.
            os.replace(tmp, path)
            _fsync_dir(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | _BINARY)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise JournalError(
                f"cannot write the send journal {path}: {exc.strerror or exc}. Free some space"
                " in the data folder (or set COMPOSER_DATA_DIR), then send again."
            ) from None
        state = JournalState(header, complete_bytes=len(data))
        if plan is not None:
            state.plan = list(plan)
        return cls(path, fd, lock, state)

    @classmethod
    def reopen(cls, path: Path, state: JournalState, lock: JournalLock) -> SendJournal:
        """Go on appending to a journal read back with replay(); a torn last line is cut off
        first, so the next record starts on a line of its own."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | _BINARY)
            if state.torn_tail:
                os.ftruncate(fd, state.complete_bytes)
                os.fsync(fd)
                state.torn_tail = 0
        except OSError as exc:
            raise JournalError(
                f"cannot append to the send journal {path}: {exc.strerror or exc}"
            ) from None
        return cls(path, fd, lock, state)

    # -- records ---------------------------------------------------------------------------

    def begin(self, uuids: Sequence[str]) -> int:
        """A request is about to go out with these events; returns its chunk number."""
        with self._mutex:
            chunk = self.state.next_chunk
            self._write(records.send_line(chunk, uuids), sync=False)
            self.state.apply({"op": "send", "chunk": chunk, "uuids": list(uuids)})
            return chunk

    def acknowledged(self, chunk: int, status: int) -> None:
        """Durable before returning: the caller reports the rows delivered only after this."""
        with self._mutex:
            at = utc_now()
            self._write(records.ack_line(chunk, status, at), sync=True)
            self.state.apply({"op": "ack", "chunk": chunk, "status": status, "at": at})

    def failed(self, chunk: int, why: str) -> None:
        with self._mutex:
            self._write(records.fail_line(chunk, why), sync=True)
            self.state.apply({"op": "fail", "chunk": chunk, "why": why})

    def split(self, chunk: int) -> None:
        """PostHog refused the request as a whole (400, 413): nothing of it was stored, and
        its halves go out as requests of their own. Not synced, like a "send"."""
        with self._mutex:
            self._write(records.split_line(chunk), sync=False)
            self.state.apply({"op": "split", "chunk": chunk})

    def held(self, rows: Sequence[tuple[str, str]]) -> None:
        """Rows the check held back. Not synced: the next answer's fsync carries them, and a
        held row that was forgotten is only checked (and held) again."""
        if not rows:
            return
        with self._mutex:
            self._write(records.held_line(rows), sync=False)
            self.state.apply({"op": "held", "rows": [list(pair) for pair in rows]})

    def extend_plan(self, uuids: Sequence[str]) -> None:
        with self._mutex:
            self._write(records.plan_line(uuids), sync=True)
            self.state.apply({"op": "plan", "uuids": list(uuids)})

    def note_failed_file(self, path: str) -> None:
        """Before the first event goes into a failed file: a resumed send knows to rewrite it."""
        with self._mutex:
            if self.state.failed_file == path:
                return
            self._write(records.failed_file_line(path), sync=True)
            self.state.apply({"op": "failed_file", "path": path})

    def mark_done(self) -> None:
        with self._mutex:
            if not self.state.done:
                self._write(records.done_line(utc_now()), sync=True)
                self.state.done = True

    def _write(self, data: bytes, *, sync: bool) -> None:
        if self._fd is None:
            raise JournalError(f"the send journal {self.path} is closed")
        try:
            _write_all(self._fd, data)
            if sync:
                started = time.perf_counter()
                os.fsync(self._fd)
                self.fsync_seconds += time.perf_counter() - started
                self.fsyncs += 1
        except OSError as exc:
            raise JournalError(
                f"cannot write the send journal {self.path}: {exc.strerror or exc}; the send"
                " stopped so that what was delivered stays known."
            ) from None

    # -- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop writing and let others resume it; the file stays."""
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        self.lock.release()

    def discard(self) -> None:
        """The send is over (or started over): the journal and its lock file go."""
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.path.unlink(missing_ok=True)
        self.lock.release(remove=True)

    @property
    def closed(self) -> bool:
        return self._fd is None


_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); Windows has no directory handles to sync."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
