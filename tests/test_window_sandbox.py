"""The window with its local sandbox: first start sends there, the Inbox shows what arrives."""

from __future__ import annotations

import os
import signal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPlainTextEdit, QTableView, QToolButton

from composer.app import create_main_window
from composer.ui import dialogs, names
from composer.ui.main_window import MainWindow
from tests.support.fault_server import unused_port
from tests.test_sandbox import _start_cli_sandbox
from tests.window_helpers import by_name


@pytest.fixture
def window(qtbot) -> MainWindow:
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.workspace.profiles.loaded, timeout=10000)
    yield w
    w.close()


def wait_for_sandbox(qtbot, window: MainWindow) -> str:
    host = by_name(window, QLineEdit, names.HOST)
    qtbot.waitUntil(lambda: host.text().startswith("http://127.0.0.1:"), timeout=10000)
    return host.text()


def inbox_rows(window: MainWindow) -> list[tuple[str, str, str]]:
    model = by_name(window, QTableView, names.INBOX, visible=False).model()
    return [tuple(model.index(r, c).data() for c in (1, 2, 3)) for r in range(model.rowCount())]


def test_first_start_sends_to_the_sandbox_offline(qtbot, window: MainWindow) -> None:
    assert by_name(window, QComboBox, names.TARGET).currentText() == "Local sandbox"
    wait_for_sandbox(qtbot, window)
    key = by_name(window, QLineEdit, names.API_KEY)
    assert key.text().startswith("phc_sandbox_")
    assert key.isReadOnly()
    event_name = by_name(window, QLineEdit, names.EVENT_NAME)
    qtbot.keyClicks(event_name, "first_event")
    qtbot.keyClicks(by_name(window, QLineEdit, names.DISTINCT_ID), "user-1")
    by_name(window, QToolButton, names.SEND).click()
    status = by_name(window, QLabel, names.RESPONSE_STATUS, visible=False)
    qtbot.waitUntil(lambda: status.text() == "200 accepted", timeout=10000)
    qtbot.waitUntil(
        lambda: ("first_event", "user-1", "this app") in inbox_rows(window), timeout=10000
    )
    tabs = window.workspace.rooms
    assert tabs.tabText(tabs.indexOf(window.workspace.inbox)) == "Sandbox inbox (1)"


def test_inbox_detail_shows_request_event_and_findings(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    wait_for_sandbox(qtbot, window)
    form = window.workspace.form
    form.event_name.setText("detail_event")
    form.distinct_id.setText("undefined")  # stored, but PostHog never merges through it
    window.workspace.send()
    qtbot.waitUntil(lambda: len(inbox_rows(window)) == 1, timeout=10000)
    inbox = window.workspace.inbox
    inbox.select_last()
    stored = by_name(window, QPlainTextEdit, "Stored event", visible=False).toPlainText()
    raw = by_name(window, QPlainTextEdit, "Raw request", visible=False).toPlainText()
    findings = by_name(window, QPlainTextEdit, "What PostHog would do", visible=False)
    assert '"event": "detail_event"' in stored
    assert raw.startswith("POST /i/v0/e/")
    assert "user-agent: posthog-event-composer/" in raw
    assert window.workspace.shell.key.text() not in raw  # the key is masked in the inbox
    assert "distinct_id.illegal" in findings.toPlainText()
    monkeypatch.setattr(dialogs, "confirm", lambda *a: True)
    inbox.clear_button.click()
    qtbot.waitUntil(lambda: inbox_rows(window) == [], timeout=10000)


def test_a_refused_request_shows_in_the_inbox(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    wait_for_sandbox(qtbot, window)
    monkeypatch.setattr(dialogs, "confirm", lambda *a: True)
    window.workspace.form.distinct_id.setText("u")  # no event name: PostHog answers 400
    window.workspace.send()
    qtbot.waitUntil(lambda: len(inbox_rows(window)) == 1, timeout=10000)
    (row,) = inbox_rows(window)
    assert row[0] == "refused: 400 event submitted with an empty event name"


def test_other_host_keeps_what_was_typed(qtbot, window: MainWindow) -> None:
    sandbox_url = wait_for_sandbox(qtbot, window)
    target = by_name(window, QComboBox, names.TARGET)
    host = by_name(window, QLineEdit, names.HOST)
    target.setCurrentIndex(target.findText("Other host", Qt.MatchFlag.MatchStartsWith))
    assert not host.isReadOnly()
    host.setText("eu")
    window.key.setText("phc_typed_by_hand")
    target.setCurrentIndex(target.findText("Local sandbox"))
    assert host.text() == sandbox_url
    target.setCurrentIndex(target.findText("Other host", Qt.MatchFlag.MatchStartsWith))
    assert host.text() == "eu"
    assert window.key.text() == "phc_typed_by_hand"


def test_sdk_events_sent_to_the_headless_sandbox_show_in_the_window(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posthog import Posthog

    port = unused_port()
    proc = _start_cli_sandbox(port, dict(os.environ))
    try:
        # The window finds the sandbox already on its port, and follows that inbox.
        monkeypatch.setenv("COMPOSER_SANDBOX_PORT", str(port))
        window = create_main_window()
        qtbot.addWidget(window)
        window.show()
        assert wait_for_sandbox(qtbot, window) == f"http://127.0.0.1:{port}"
        assert window.workspace.sandbox.local is not None
        assert not window.workspace.sandbox.local.owned
        client = Posthog(
            "phc_from_the_sdk_key", host=f"http://127.0.0.1:{port}", sync_mode=True, max_retries=0
        )
        client.capture("sdk_event", distinct_id="sdk-user")
        client.shutdown()
        qtbot.waitUntil(lambda: any(r[0] == "sdk_event" for r in inbox_rows(window)), timeout=10000)
        (row,) = [r for r in inbox_rows(window) if r[0] == "sdk_event"]
        assert row[1] == "sdk-user"
        assert row[2].startswith("external (posthog-python/")
        window.close()
        assert proc.stdout is not None
        assert "POST /batch/" in proc.stdout.readline()  # and in the sandbox's own log
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)


def test_a_key_anywhere_in_a_request_is_in_no_text_the_window_shows(
    qtbot, window: MainWindow
) -> None:
    from PySide6.QtWidgets import QApplication, QWidget

    from tests.test_sandbox_limits import KEY, OTHER_KEY, key_everywhere_requests

    url = wait_for_sandbox(qtbot, window)
    key_everywhere_requests(url)
    inbox = window.workspace.inbox
    qtbot.waitUntil(lambda: inbox.model.rowCount() >= 5, timeout=10000)
    seen: list[str] = [window.windowTitle(), window.statusBar().currentMessage()]
    model = inbox.model
    for row in range(model.rowCount()):
        inbox.table.selectRow(row)
        qtbot.wait(50)
        seen.extend(str(model.index(row, c).data()) for c in range(model.columnCount()))
        seen.extend(v.toPlainText() for v in (inbox.event_view, inbox.request_view))
        seen.append(inbox.findings_view.toPlainText())
    for widget in QApplication.allWidgets():
        if isinstance(widget, QWidget):
            seen.extend((widget.toolTip(), widget.accessibleDescription()))
    text = "\n".join(seen)
    assert "phc_" in text  # the requests are shown, masked
    assert KEY not in text
    assert OTHER_KEY not in text


def test_the_windows_sandbox_runs_in_a_process_of_its_own(qtbot, window: MainWindow) -> None:
    # Ingesting a big batch there never takes the window's interpreter lock.
    wait_for_sandbox(qtbot, window)
    local = window.workspace.sandbox.local
    assert local is not None
    assert local.owned
    assert local.process is not None
    assert local.process.pid != os.getpid()
    assert local.process.poll() is None
    process = local.process
    window.close()
    assert process.wait(timeout=10) is not None  # it ends with the window
