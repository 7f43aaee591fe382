"""Where the shipped resources (icons, examples, starter templates) live.

The repository keeps them in a top-level `resources/` folder; a wheel carries the same folder
as `composer/_resources`. Everything that reads them goes through `resources_root()`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def resources_root() -> Path:
    package = Path(__file__).resolve().parent
    for candidate in (package / "_resources", package.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "the composer's resources folder is missing; reinstall posthog-event-composer"
    )


def resource(*parts: str) -> Path:
    return resources_root().joinpath(*parts)
