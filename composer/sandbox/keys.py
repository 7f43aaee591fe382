"""The sandbox's generated project key."""

from __future__ import annotations

import os
import string

_ALPHABET = string.ascii_letters + string.digits


def generate_sandbox_key() -> str:
    """A well-formed project key for the sandbox, which accepts any; it opens nothing else."""
    # os.urandom rather than secrets: the key guards nothing, and secrets costs start-up time.
    return "phc_sandbox_" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in os.urandom(24))
