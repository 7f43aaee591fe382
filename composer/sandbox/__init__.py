"""The local sandbox: a PostHog-compatible capture endpoint on 127.0.0.1, with an inbox."""

from __future__ import annotations

import secrets
import string
from pathlib import Path

from composer.paths import data_dir

_ALPHABET = string.ascii_letters + string.digits


def default_db_path() -> Path:
    return data_dir() / "sandbox.sqlite3"


def generate_sandbox_key() -> str:
    """A well-formed project key for the sandbox, which accepts any; it opens nothing else."""
    return "phc_sandbox_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))
