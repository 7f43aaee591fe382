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
    """Run the event loop until `condition` holds; exit the benchmark after `timeout` s.

    A real event loop, as the app's own: between events the GUI thread waits inside Qt, not
    holding the interpreter lock. (A processEvents-and-sleep loop took the lock back after
    every sleep, and with a busy worker each time cost up to the 5 ms switch interval: the
    benchmark's own stalls.)"""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(20)
    timed_out = False

    def check() -> None:
        nonlocal timed_out
        if condition():
            loop.quit()
        elif time.monotonic() > deadline:
            timed_out = True
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    if timed_out:
        raise SystemExit(f"timed out waiting for {what}")


def open_window() -> tuple[QApplication, MainWindow]:
    """The composer's main window, shown, its profiles loaded and its sandbox started."""
    from PySide6.QtWidgets import QApplication

    from composer.app import after_start, create_main_window

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    window = create_main_window()
    window.show()
    ws = window.workspace
    after_start(window)  # what the app does once its window is up: httpx imported on a worker
    wait(app, lambda: ws.profiles.loaded and ws.sandbox.local is not None, "the window")
    wait(app, lambda: ws.controller.warm, "httpx imported")
    return app, window
