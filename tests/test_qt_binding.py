"""Guards against the PySide6 release that aborts Python 3.11 after a few thousand Qt calls.

PySide6-Essentials 6.12.0 drops a reference to None on every void call; after about 5,000 of
them CPython aborts with "Fatal Python error: none_dealloc". The calls run in a subprocess so a
regression fails this test instead of killing the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
obj = QObject()
label = QLabel()
for i in range(20000):
    obj.setObjectName("n")      # void calls: each one used to leak a None reference
    label.setText("t")
    label.setToolTip("x")
print("survived", sys.getrefcount(None) > 0)
"""


def test_many_void_qt_calls_do_not_abort_the_interpreter() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "none_dealloc" not in proc.stderr
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "survived True"


def test_the_pinned_binding_is_not_the_broken_release() -> None:
    from importlib.metadata import version

    if sys.version_info < (3, 12):
        assert version("PySide6-Essentials") != "6.12.0"
