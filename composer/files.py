"""Writing files so that a crash or a full disk never leaves half a file behind, and so that
two composer processes changing one file never lose each other's change.

Every file the app rewrites (profiles, keys, settings, variables) is changed by
`read_modify_write`: under a lock shared by every composer process (`<file>.lock`, beside it),
the file is read as it is now, the change is applied to that, and the result is written
atomically. A writer never puts an in-memory copy made earlier over someone else's newer change.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

LOCK_TIMEOUT = 10.0  # seconds; a rewrite holds the lock for milliseconds
T = TypeVar("T")


class LockTimeout(OSError):
    """Another composer process held a file's lock for longer than the timeout."""


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def free_path(path: Path, taken: frozenset[str] = frozenset()) -> Path:
    """`path`, or name-2.ext, name-3.ext ... the first that does not exist (nor is `taken`)."""
    candidate, counter = path, 2
    while candidate.exists() or candidate.name in taken:
        candidate = path.with_name(f"{path.stem}-{counter}{path.suffix}")
        counter += 1
    return candidate


def keep_aside(path: Path, why: str = "corrupt") -> Path:
    """Rename a file out of the way (never overwriting another) and return the new name,
    `name.ext.<why>-YYYYmmdd-HHMMSS`."""
    aside = path.with_name(f"{path.name}.{why}-{time.strftime('%Y%m%d-%H%M%S')}")
    counter = 1
    while aside.exists():
        aside = aside.with_name(f"{aside.name}-{counter}")
        counter += 1
    path.rename(aside)
    return aside


def lock_path(path: Path) -> Path:
    """The lock every composer process takes before rewriting `path`: `path.lock`, beside it.

    Beside the file rather than in a shared folder, so that a COMPOSER_CONFIG_DIR (or a second
    HOME) brings its own locks. The lock file stays after release: removing it would let two
    processes hold "the" lock on two different inodes.
    """
    return path.with_name(path.name + ".lock")


@contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the cross-process lock of `path` (see `lock_path`) for the `with` block."""
    from filelock import FileLock, Timeout  # 30-50 ms to import: not before a lock is taken

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = FileLock(str(lock_path(path)), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise LockTimeout(
            f"{path} is being changed by another Event Composer window or command that has"
            f" held its lock ({lock_path(path).name}) for {timeout:g} s; try again, or close"
            " the composer that is stuck."
        ) from None
    try:
        yield
    finally:
        lock.release()


def read_modify_write(
    path: Path,
    change: Callable[[bytes | None], tuple[bytes | None, T]],
    mode: int = 0o600,
    timeout: float = LOCK_TIMEOUT,
) -> T:
    """Change `path` as it is on disk now, under its lock: `change` gets the current bytes
    (None when there is no file) and returns (new bytes, or None to leave the file as it is;
    a result for the caller). An exception from `change` writes nothing."""
    with locked(path, timeout):
        try:
            current: bytes | None = path.read_bytes()
        except FileNotFoundError:
            current = None
        data, result = change(current)
        if data is not None:
            write_atomic(path, data, mode)
    return result
