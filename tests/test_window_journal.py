"""Exactly once across crashes, in the window: a batch send killed mid-way comes back with its
rows' statuses, and "Resume batch send" delivers only what was never acknowledged.

The first window is a real process (offscreen Qt) killed with SIGKILL while the server holds
one of its requests in flight; the second is a window in this process on the same data folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
from PySide6.QtWidgets import QLineEdit, QToolButton

from composer.core.batch.journal import JournalKind
from composer.core.batch.rows import RowStatus
from composer.services.journal import journals_dir
from composer.ui import names
from composer.ui.main_window import MainWindow
from tests.conftest import ROOT
from tests.support.fault_server import FaultServer
from tests.test_window import KEY, choose
from tests.test_window_templates import open_window
from tests.window_helpers import by_name

ROWS = 20_000
CHUNK = 100

_SENDER = """
import sys, time
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QToolButton
from composer.app import configure_application, create_main_window
from composer.ui import names
url, key, path, rows, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
app = QApplication([])
configure_application(app)
window = create_main_window()
window.show()
def wait(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while not predicate():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > end:
            sys.exit("timed out")
def named(kind, name):
    return next(w for w in window.findChildren(kind) if w.accessibleName() == name)
wait(lambda: window._workspace is not None and window.workspace.drafts.restored)
ws = window.workspace
wait(lambda: ws.profiles.loaded)
combo = named(QComboBox, names.TARGET)
combo.setCurrentIndex(combo.findText("Other host", Qt.MatchFlag.MatchStartsWith))
named(QLineEdit, names.HOST).setText(url)
named(QLineEdit, names.API_KEY).setText(key)
ws.batch.sending.chunk_events = int(chunk)
ws.batch.import_file(path)
wait(lambda: len(ws.batch.model.rows) == rows and not ws.batch.busy)
wait(lambda: all(r.findings is not None for r in ws.batch.model.rows))
ws.drafts.save_batch()
draft = ws.drafts.store.batch_path
wait(lambda: draft.exists() and draft.read_bytes().count(b"\\n") == rows + 1)
print("imported", flush=True)
named(QToolButton, "Send batch").click()
while True:
    app.processEvents()
    time.sleep(0.01)
"""


@pytest.fixture
def server() -> FaultServer:
    s = FaultServer(keep_bodies=False, record_uuids=True).start()
    yield s
    s.stop()


def events_file(path: Path, n: int) -> Path:
    lines = [
        orjson.dumps({"event": "imported", "distinct_id": f"u{i}", "properties": {"i": i}})
        for i in range(n)
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def target(window: MainWindow, server: FaultServer) -> None:
    choose(window, names.TARGET, "Other host")
    by_name(window, QLineEdit, names.HOST).setText(server.url)
    by_name(window, QLineEdit, names.API_KEY).setText(KEY)


def window_journals() -> list[Path]:
    return sorted(journals_dir(JournalKind.WINDOW).glob("*.jsonl"))


def resume_button(window: MainWindow) -> QToolButton:
    return by_name(window, QToolButton, "Resume batch send", visible=False)


def test_a_killed_window_restores_its_statuses_and_resumes_the_send(
    qtbot, tmp_path: Path, server: FaultServer
) -> None:
    path = events_file(tmp_path / "events.jsonl", ROWS)
    held_request = 101  # half the requests
    server.hold_request(held_request)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    args = [server.url, KEY, str(path), str(ROWS), str(CHUNK)]
    with subprocess.Popen(
        [sys.executable, "-c", _SENDER, *args], stdout=subprocess.PIPE, env=env, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "imported"
            assert server.holding.wait(60), "the window never reached the request to hold"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
            server.release()
    assert proc.returncode == -signal.SIGKILL
    in_flight = set(server.held_uuids)
    assert len(in_flight) == CHUNK
    acknowledged = (held_request - 1) * CHUNK

    window = open_window(qtbot)
    ws = window.workspace
    qtbot.waitUntil(lambda: len(ws.batch.model.rows) == ROWS, timeout=20000)
    qtbot.waitUntil(lambda: ws.batch.journal is not None, timeout=10000)
    rows = ws.batch.model.rows
    statuses = Counter(r.status for r in rows)
    assert statuses[RowStatus.SENT] == acknowledged
    assert statuses[RowStatus.INTERRUPTED] == ROWS - acknowledged
    assert {r.uuid for r in rows if r.status is RowStatus.INTERRUPTED} >= in_flight
    assert "Resume batch send sends those" in ws.batch.status.text()
    resume = resume_button(window)
    assert resume.isEnabled()

    # Another host is refused: resuming there would skip rows it never received.
    other = FaultServer(record_uuids=True).start()
    try:
        target(window, other)
        resume.click()
        assert "The interrupted send went to " + server.url in ws.batch.status.text()
        assert other.requests_seen == 0
    finally:
        other.stop()

    target(window, server)
    ws.batch.sending.chunk_events = CHUNK
    resume.click()
    qtbot.waitUntil(
        lambda: not ws.batch.busy and all(r.status is RowStatus.SENT for r in rows),
        timeout=30000,
    )
    assert "100 may be duplicates" in ws.batch.status.text()
    assert not resume.isEnabled()
    # Every row delivered; only the chunk in flight at the kill twice, with the same uuids.
    assert len(server.stored) == ROWS
    assert {u for u, count in server.stored.items() if count > 1} == in_flight
    assert set(server.stored) == {r.uuid for r in rows}
    window.close()
    assert window_journals() == []  # settled, and the drafts were written before the close


def test_cancel_then_resume_in_the_same_window(qtbot, server: FaultServer) -> None:
    window = open_window(qtbot)
    ws = window.workspace
    target(window, server)
    ws.batch.add_events([{"event": "e", "distinct_id": f"u{i}"} for i in range(1_000)], "rows")
    ws.batch.sending.chunk_events = CHUNK
    server.hold_request(3)
    by_name(window, QToolButton, "Send batch", visible=False).click()
    qtbot.waitUntil(server.holding.is_set, timeout=30000)  # the GUI thread keeps running
    ws.batch.cancel()
    server.release()  # the held request ends without an answer: its rows fail
    qtbot.waitUntil(lambda: not ws.batch.busy, timeout=20000)
    rows = ws.batch.model.rows
    statuses = Counter(r.status for r in rows)
    assert statuses[RowStatus.SENT] == 2 * CHUNK
    assert statuses[RowStatus.FAILED] == CHUNK
    assert statuses[RowStatus.INTERRUPTED] == 1_000 - 3 * CHUNK
    resume = resume_button(window)
    assert resume.isEnabled()
    resume.click()
    qtbot.waitUntil(lambda: not ws.batch.busy and not resume.isEnabled(), timeout=20000)
    assert Counter(r.status for r in rows)[RowStatus.FAILED] == CHUNK  # Resume leaves these
    by_name(window, QToolButton, "Resend failed", visible=False).click()
    qtbot.waitUntil(
        lambda: not ws.batch.busy and all(r.status is RowStatus.SENT for r in rows),
        timeout=20000,
    )
    assert len(server.stored) == 1_000
    # The held chunk reached the server and was resent with its uuids: PostHog drops one.
    assert {u for u, c in server.stored.items() if c > 1} == set(server.held_uuids)
    window.close()
    assert window_journals() == []
