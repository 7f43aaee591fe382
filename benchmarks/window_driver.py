"""Driving the real window from a benchmark: open it offscreen, wait for it without blocking
its event loop. Shared by gui_stalls.py and batch_send.py (whose window runs in a child
process that puts this folder on sys.path)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from composer.ui.main_window import MainWindow


def wait(app: QApplication, condition: Callable[[], bool], what: str, timeout: float = 600) -> None:
    """Turn the event loop until `condition` holds; exit the benchmark after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        app.processEvents()
        time.sleep(0.001)
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")


def open_window() -> tuple[QApplication, MainWindow]:
    """The composer's main window, shown, its profiles loaded and its sandbox started."""
    from PySide6.QtWidgets import QApplication

    from composer.app import create_main_window

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    window = create_main_window()
    window.show()
    ws = window.workspace
    wait(app, lambda: ws.profiles.loaded and ws.sandbox.local is not None, "the window")
    return app, window
