"""The desktop application: builds the QApplication and the main window."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMainWindow

from composer import __version__
from composer.resources import resource

if TYPE_CHECKING:
    from composer.ui.main_window import MainWindow

APP_ID = "io.github.posthog_event_composer"


def create_main_window(*, defer_workspace: bool = False) -> MainWindow:
    """The main window, ready to show; the caller has created the QApplication.

    With `defer_workspace`, the forms and panes are built on the first event-loop turn after
    the window is shown, which is how the app itself starts.
    """
    from composer.ui.main_window import MainWindow

    # Worker threads (reading the inbox, checks, the history) share the interpreter lock with
    # the GUI thread, and each of a repaint's calls into Python waits for it up to the switch
    # interval while a worker runs Python (see composer/ui/turns.py). Every 0.5 ms rather
    # than Python's 5: the longest GUI stall of a 100,000-row send fell from 44-71 ms (1 ms)
    # to 33-42 ms in five runs of benchmarks/gui_stalls.py send.
    sys.setswitchinterval(0.0005)
    return MainWindow(defer_workspace=defer_workspace)


def _no_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def configure_application(app: QApplication) -> None:
    app.setApplicationName("PostHog Event Composer")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("posthog-event-composer")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(QIcon(str(resource("icons", "app.svg"))))


def _install_excepthook(app: QApplication) -> None:
    """An unexpected error is reported, and the window stays open with nothing typed lost."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        previous(kind, value, tb)  # the traceback goes to stderr, as before
        window = app.activeWindow()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(
                f"Something went wrong inside the composer ({kind.__name__}: {value}). The"
                " window keeps working; please report it with the output above.",
                15000,
            )

    sys.excepthook = hook


def _selftest_report(app: QApplication, window: MainWindow, *_ready: object) -> None:
    """What a packaged build needs to have found: plugins, resources, the workspace."""
    print(f"event-composer {__version__}")
    print(f"qt platform: {app.platformName()}")
    print(f"resources: {resource('icons', 'app.svg').parent.parent}")
    print(f"window shown: {window.isVisible()}, workspace ready: {window.ready}")
    app.quit()


def main(argv: Sequence[str] | None = None, *, selftest: bool = False) -> int:
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
    configure_application(app)
    _install_excepthook(app)
    window = create_main_window(defer_workspace=True)
    window.workspace_ready.connect(after_start)
    if selftest:
        window.workspace_ready.connect(partial(_selftest_report, app, window))
    window.show()
    return app.exec()


def after_start(window: MainWindow) -> None:
    # httpx is imported on a worker thread once the window is up, not before it.
    window.workspace.controller.warm_up()
