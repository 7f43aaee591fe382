"""Writing files so that a crash or a full disk never leaves half a file behind."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


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
