"""Turns at the interpreter lock for the GUI thread, given by workers that run long in Python.

Every call Qt makes into Python (a model's data() for each cell and role of a repaint, a slot,
a timer) needs the interpreter lock. While a worker thread runs Python bytecode, each such
call waits for the lock to be handed over, up to the switch interval (composer/app.py sets
1 ms), and a repaint makes hundreds of them: a busy worker turned one repaint into 50-500 ms.
A worker that sleeps for a moment now and then leaves the lock free for the GUI thread's
calls to run one after another. For work no one waits on second by second (the inbox's
reading, for one), not for the send's own loop.
"""

from __future__ import annotations

import time

NAP_S = 0.001


def give() -> None:
    """Leave the interpreter lock to the GUI thread for a moment."""
    time.sleep(NAP_S)
