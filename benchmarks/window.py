"""Window benchmarks: start-to-first-shown against a bare PySide6 window, and preview updates.

Startup: each run is a fresh process; the parent times from spawn until the child reports that
its window has been shown and painted once. Bare QMainWindow and the composer alternate, so
both see the same machine load. Preview: one field is edited in a 1 KB and in a 1 MB payload,
and the time covers building the body, rendering it, updating the text, the pre-flight check,
the findings and the colouring of what is on screen.

Run: .venv/bin/python benchmarks/window.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

# Both children report "shown" from the window's first paint event, the moment a user sees it.
FIRST_PAINT = """
from PySide6.QtCore import QEvent, QObject
class FirstPaint(QObject):
    def __init__(self, after=None):
        super().__init__()
        self.done = False
        self.after = after
    def eventFilter(self, obj, event):
        if not self.done and event.type() == QEvent.Type.Paint:
            self.done = True
            print("shown", flush=True)
            if self.after:
                self.after()
        return False
"""

BARE = (
    FIRST_PAINT
    + """
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
w = QMainWindow()
w.resize(1200, 800)
painted = FirstPaint(app.quit)
w.installEventFilter(painted)
w.show()
app.exec()
"""
)

COMPOSER = (
    FIRST_PAINT
    + """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from composer.app import configure_application, create_main_window
app = QApplication([])
configure_application(app)
w = create_main_window(defer_workspace=True)  # as composer.app.main starts it
painted = FirstPaint()
w.installEventFilter(painted)
w.show()
assert "httpx" not in sys.modules and "keyring" not in sys.modules, "imported before showing"
def ready():
    if w.ready:
        print("ready", flush=True)
        app.quit()
    else:
        QTimer.singleShot(1, ready)
QTimer.singleShot(0, ready)
app.exec()
"""
)


def time_start(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Seconds until the window is shown, and until it is ready (the same for a bare window)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    shown = time.perf_counter() - t0
    ready = shown
    if "ready" in code:
        line2 = proc.stdout.readline()
        ready = time.perf_counter() - t0
        if line2.strip() != "ready":
            raise SystemExit(f"child did not get ready: {line2!r}")
    proc.wait(timeout=60)
    if line.strip() != "shown" or proc.returncode != 0:
        raise SystemExit(f"child failed (exit {proc.returncode}): {line!r}")
    return shown, ready


def startup(runs: int) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    scratch = tempfile.mkdtemp(prefix="composer-bench-")
    for name in ("CONFIG", "DATA", "CACHE"):
        env[f"COMPOSER_{name}_DIR"] = os.path.join(scratch, name.lower())
    env["COMPOSER_SANDBOX_PORT"] = "0"  # never collide with a sandbox already running
    # An installed app has its bytecode compiled (pip does it, and so does the bundle); a
    # checkout run with PYTHONDONTWRITEBYTECODE has none, and every start would then time the
    # compiler on 300 modules, which a bare window (PySide6's own bytecode is there) never pays.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", os.path.join(root, "composer")], check=True
    )
    time_start(BARE, env)  # warm the file cache for both
    time_start(COMPOSER, env)
    bare: list[float] = []
    shown: list[float] = []
    ready: list[float] = []
    for _ in range(runs):
        bare.append(time_start(BARE, env)[0])
        s, r = time_start(COMPOSER, env)
        shown.append(s)
        ready.append(r)
    b, o, r = statistics.median(bare), statistics.median(shown), statistics.median(ready)
    print(f"startup ({runs} runs each, median, QT_QPA_PLATFORM={env['QT_QPA_PLATFORM']}):")
    print(f"  bare PySide6 QMainWindow shown      {b * 1000:7.0f} ms")
    print(
        f"  composer window shown               {o * 1000:7.0f} ms   ratio {o / b:.2f}x"
        " (target <= 1.3x)"
    )
    print(f"  composer workspace built and ready  {r * 1000:7.0f} ms   ratio {r / b:.2f}x")


def preview(runs: int) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = tempfile.mkdtemp(prefix="composer-bench-")
    for name in ("CONFIG", "DATA", "CACHE"):
        os.environ[f"COMPOSER_{name}_DIR"] = os.path.join(scratch, name.lower())
    os.environ["COMPOSER_SANDBOX_PORT"] = "0"
    from PySide6.QtWidgets import QApplication

    from composer.app import configure_application, create_main_window

    app = QApplication.instance() or QApplication([])
    configure_application(app)  # type: ignore[arg-type]
    window = create_main_window()
    window.resize(1400, 860)
    window.show()
    ws = window.workspace
    ws.form.event_name.setText("bench")
    ws.form.distinct_id.setText("user-1")

    def measure(label: str, properties: dict[str, str]) -> None:
        ws.form.properties.set_object(properties)
        ws.compose.update_preview()
        app.processEvents()
        size = len(ws.preview.text().encode())
        times = []
        for i in range(runs):
            ws.form.distinct_id.setText(f"user-{i}")  # one field edited, as when typing
            t0 = time.perf_counter()
            ws.compose.update_preview()
            app.processEvents()  # paint, and colour what is on screen
            times.append(time.perf_counter() - t0)
        full = []
        for _ in range(max(3, runs // 5)):
            ws.preview.set_text("")
            app.processEvents()
            t0 = time.perf_counter()
            ws.compose.update_preview()
            app.processEvents()
            full.append(time.perf_counter() - t0)
        print(
            f"  {label:<6} body {size / 1024:8.1f} KiB: edit {statistics.median(times) * 1000:6.1f}"
            f" ms median (max {max(times) * 1000:.1f}); full redraw"
            f" {statistics.median(full) * 1000:6.1f} ms"
        )

    print(f"preview update, highlighting included ({runs} runs, median):")
    measure("1 KB", {f"prop_{i}": "value " * 4 for i in range(25)})
    measure("1 MB", {f"prop_{i}": "value " * 12 for i in range(11500)})
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", choices=("startup", "preview"))
    args = parser.parse_args()
    if args.only != "preview":
        startup(args.runs)
    if args.only != "startup":
        preview(args.runs)


if __name__ == "__main__":
    main()
