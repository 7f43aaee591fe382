"""The send journal on disk: append-only, flushed on every record, fsynced on every answer.

What the records mean is composer/core/batch/journal.py. Here: where journals live (the app's
data folder, `journals/cli/` keyed by the input file's resolved path, `journals/window/` one
per window batch send), the lock that keeps two processes from writing one journal (the
kernel drops it when its process dies, so a killed send leaves a journal anyone may resume),
and the writes:

- every record is one unbuffered write, so a killed process leaves whole lines behind (a
  record bigger than one write may be cut short: replay ignores a torn last line);
- the header (with the seed its uuids are derived from) and the plan are fsynced before the
  first request; an "ack" or "fail" is written together with the next request's "send" (one
  write per chunk), or on its own before the sender waits for anything, and every write that
  holds answers is followed by an fsync on the journal's own thread, so the next request
  never waits for the disk. What a power cut takes before an fsync is sent again, with its
  uuids; a kill takes nothing that was written.
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
        from filelock import FileLock  # slow to import: not at the window's start-up

        # Not thread-local: the window takes it on a worker thread and lets go on the GUI one.
        self._lock = FileLock(str(self.path), timeout=0, thread_local=False)

    def acquire(self) -> JournalLock:
        from filelock import Timeout

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
    without reading the file back. Answers are synced by a thread of its own (group commit):
    every "ack" or "fail" is followed by an fsync that covers it, without the next request
    waiting for the disk. A kill loses nothing that was written (the kernel has it); a power
    cut before that fsync loses at most the last answers, whose chunks are then sent again
    with the same uuids.
    """

    def __init__(self, path: Path, fd: int, lock: JournalLock, state: JournalState) -> None:
        self.path = path
        self.lock = lock
        self.state = state
        self._fd: int | None = fd
        self._mutex = threading.Lock()
        self._changed = threading.Condition(self._mutex)
        self._answers: list[bytes] = []  # "ack" and "fail" lines not yet written
        self._written = 0  # answers written ...
        self._synced = 0  # ... and covered by an fsync
        self._sync_error: OSError | None = None
        self._syncer: threading.Thread | None = None
        self._closing = False
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
        """A new journal (replacing any at `path`): header and plan are on disk on return,
        before any uuid derived from its seed can leave the machine."""
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
        """A request is about to go out with these events; returns its chunk number. The
        answers recorded since the last write go to disk with it, in one write."""
        uuids = list(uuids)
        with self._mutex:
            chunk = self.state.next_chunk
            self._write(records.send_line(chunk, uuids))
            self.state.sending(chunk, uuids)
            return chunk

    def acknowledged(self, chunk: int, status: int) -> None:
        """Written with the next record, or by flush(): the sender writes before its next
        request goes out and before it waits for anything, so a kill never loses an answer
        that something else already followed."""
        with self._mutex:
            at = utc_now()
            self._answers.append(records.ack_line(chunk, status, at))
            self.state.answered(chunk, records.Outcome.ACKED, str(status))
            self.state.last_ack_at = at

    def failed(self, chunk: int, why: str) -> None:
        with self._mutex:
            self._answers.append(records.fail_line(chunk, why))
            self.state.answered(chunk, records.Outcome.FAILED, why)

    def flush(self) -> None:
        """Write the answers recorded so far (the journal's thread syncs them)."""
        with self._mutex:
            if self._answers:
                self._write(b"")

    def split(self, chunk: int) -> None:
        """PostHog refused the request as a whole (400, 413): nothing of it was stored, and
        its halves go out as requests of their own."""
        with self._mutex:
            self._write(records.split_line(chunk))
            self.state.apply({"op": "split", "chunk": chunk})

    def held(self, rows: Sequence[tuple[str, str]]) -> None:
        """Rows the check held back (a held row that was forgotten is checked and held again,
        so these need no fsync of their own)."""
        if not rows:
            return
        with self._mutex:
            self._write(records.held_line(rows))
            self.state.apply({"op": "held", "rows": [list(pair) for pair in rows]})

    def extend_plan(self, uuids: Sequence[str]) -> None:
        with self._mutex:
            self._write(records.plan_line(uuids), sync=True)
            self.state.apply({"op": "plan", "uuids": list(uuids)})
        self.wait_synced()

    def note_failed_file(self, path: str) -> None:
        """Before the first event goes into a failed file, on disk: a resumed send knows to
        start that file afresh, so nothing acknowledged stays in it."""
        with self._mutex:
            if self.state.failed_file == path:
                return
            self._write(records.failed_file_line(path), sync=True)
            self.state.apply({"op": "failed_file", "path": path})
        self.wait_synced()

    def mark_done(self) -> None:
        with self._mutex:
            if self.state.done:
                return
            self._write(records.done_line(utc_now()), sync=True)
            self.state.done = True
        self.wait_synced()

    def _write(self, data: bytes, *, sync: bool = False) -> None:
        """With the mutex held: the answers not yet written, then `data`, in one write. The
        journal's thread is woken for an fsync when answers (or `sync`) are in it."""
        if self._fd is None:
            raise JournalError(f"the send journal {self.path} is closed")
        if self._sync_error is not None:
            raise self._error(self._sync_error)
        if self._answers:
            data = b"".join(self._answers) + data
            self._answers.clear()
            sync = True
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            raise self._error(exc) from None
        if sync:
            self._written += 1
            if self._syncer is None:
                self._syncer = threading.Thread(
                    target=self._sync_loop, name="journal-fsync", daemon=True
                )
                self._syncer.start()
            self._changed.notify_all()

    def _sync_loop(self) -> None:
        while True:
            with self._changed:
                while self._synced == self._written and not self._closing:
                    self._changed.wait()
                if self._synced == self._written:
                    return  # closing, and nothing left to sync
                target, fd = self._written, self._fd
            try:
                started = time.perf_counter()
                if fd is not None:
                    os.fsync(fd)  # the mutex is free: the sender goes on writing meanwhile
                elapsed = time.perf_counter() - started
            except OSError as exc:
                with self._changed:
                    self._sync_error = exc
                    self._synced = self._written  # nobody waits for what cannot be synced
                    self._changed.notify_all()
                return
            with self._changed:
                self._synced = target
                self.fsyncs += 1
                self.fsync_seconds += elapsed
                self._changed.notify_all()

    def wait_synced(self) -> None:
        """Until every answer written so far is on disk."""
        with self._changed:
            while self._synced < self._written:
                self._changed.wait()
            if self._sync_error is not None:
                raise self._error(self._sync_error)

    def _error(self, exc: OSError) -> JournalError:
        return JournalError(
            f"cannot write the send journal {self.path}: {exc.strerror or exc}; the send"
            " stopped so that what was delivered stays known."
        )

    # -- closing ---------------------------------------------------------------------------

    def _stop(self, *, sync: bool) -> None:
        with self._changed:
            if sync and self._answers and self._fd is not None and self._sync_error is None:
                self._write(b"")
            if sync and self._fd is not None and self._sync_error is None:
                while self._synced < self._written:
                    self._changed.wait()
            self._closing = True
            self._changed.notify_all()
        if self._syncer is not None and self._syncer is not threading.current_thread():
            self._syncer.join()
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def close(self) -> None:
        """Stop writing (every answer on disk first) and let others resume it; the file stays."""
        self._stop(sync=True)
        self.lock.release()

    def discard(self) -> None:
        """The send is over (or started over): the journal and its lock file go."""
        self._stop(sync=False)
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
