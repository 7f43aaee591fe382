"""Where the sandbox is: its usual port, what a refused bind means, and its inbox file.

Apart from the server so that a window, which only starts the sandbox as a process of its
own, does not load the server (asyncio, h11, the store) to know them.
"""

from __future__ import annotations

import errno
from pathlib import Path

DEFAULT_PORT = 8787


def port_in_use(error: OSError) -> bool:
    return error.errno in (errno.EADDRINUSE, errno.EACCES)


def default_db_path() -> Path:
    """The inbox file the window and `event-composer sandbox` share, in the app's data dir."""
    from composer.paths import data_dir

    return data_dir() / "sandbox.sqlite3"
