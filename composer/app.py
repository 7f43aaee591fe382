"""The desktop application: builds the QApplication and the main window."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication, QMainWindow


def create_main_window() -> QMainWindow:
    """The main window, ready to show; the caller has created the QApplication."""
    from composer.ui.main_window import MainWindow

    return MainWindow()


def _no_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: Sequence[str] | None = None) -> int:
    if _no_display():
        # Qt would abort with a long plugin error; say what is wrong instead.
        print(
            "event-composer: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are"
            " unset). Run it in a desktop session, or use the command line: event-composer"
            " --help",
            file=sys.stderr,
        )
        return 2
    app = QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName("PostHog Event Composer")
    window = create_main_window()
    window.show()
    return app.exec()
