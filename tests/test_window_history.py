"""The send history in the real window: kept across restarts, reopened, resent, compared."""

from __future__ import annotations

from pathlib import Path

import orjson
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QTableView, QToolButton

from composer import settings
from composer.app import create_main_window
from composer.ui.history.panel import COLUMNS
from composer.ui.main_window import MainWindow
from tests.conftest import files_containing
from tests.support.fault_server import FaultServer, Reply
from tests.test_window import choose
from tests.window_helpers import by_name

KEY = "phc_test_history_window_key_0123456789ab"


def open_window(qtbot, server: FaultServer) -> MainWindow:
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.workspace.profiles.loaded, timeout=10000)
    qtbot.waitUntil(lambda: w.workspace.history.opened, timeout=10000)
    qtbot.waitUntil(lambda: w.workspace.drafts.restored, timeout=10000)
    choose(w, "Profile", "Other host")
    w.host.setText(server.url)
    w.key.setText(KEY)
    return w


def send_event(qtbot, window: MainWindow, server: FaultServer, name: str) -> None:
    ws = window.workspace
    ws.form.event_name.setText(name)
    ws.form.distinct_id.setText("user-1")
    ws.form.properties.fill_from_text('{"plan": "team"}')
    before = len(server.requests)
    window.send_action.trigger()
    qtbot.waitUntil(lambda: len(server.requests) == before + 1, timeout=10000)
    qtbot.waitUntil(lambda: not ws.controller.busy, timeout=10000)


def history_rows(qtbot, window: MainWindow, count: int) -> QTableView:
    history = window.workspace.history
    qtbot.waitUntil(lambda: len(history.model.entries) == count and history.idle, timeout=10000)
    return by_name(window, QTableView, "History table", visible=False)


def select_rows(table: QTableView, *rows: int) -> None:
    selection = table.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(
            table.model().index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )


def test_history_survives_a_restart_and_a_past_send_reopens_and_resends(
    qtbot, fault_server: FaultServer, isolated_dirs: Path
) -> None:
    window = open_window(qtbot, fault_server)
    send_event(qtbot, window, fault_server, "report_exported")
    history_rows(qtbot, window, 1)
    first_sent = orjson.loads(fault_server.requests[0].body)
    window.close()

    window = open_window(qtbot, fault_server)
    ws = window.workspace
    table = history_rows(qtbot, window, 1)
    entry = ws.history.model.entries[0]
    assert (entry.status, entry.event_names, entry.profile) == (
        200,
        "report_exported",
        "Other host (not saved)",
    )
    assert entry.host == fault_server.url

    # Choosing it shows its answer in the response pane.
    select_rows(table, 0)
    qtbot.waitUntil(lambda: ws.response.status_label.text().startswith("200"), timeout=5000)

    # Reopen: the form holds the payload again, as a new event.
    ws.compose.new_payload()
    ws.history.reopen_selected()
    qtbot.waitUntil(lambda: ws.form.event_name.text() == "report_exported", timeout=5000)
    assert ws.form.uuid_auto.isChecked()
    assert ws.form.uuid.text() != first_sent["uuid"]

    # Resend: the same body again, with the current key.
    ws.history.resend_selected()
    qtbot.waitUntil(lambda: len(fault_server.requests) == 2, timeout=10000)
    again = orjson.loads(fault_server.requests[1].body)
    assert again == first_sent  # byte-for-byte the same event, uuid included
    assert again["api_key"] == KEY
    history_rows(qtbot, window, 2)
    window.close()
    # The key went to the server, never to the history file.
    assert files_containing(KEY, isolated_dirs) == []


def test_search_compare_and_retention(qtbot, fault_server: FaultServer) -> None:
    window = open_window(qtbot, fault_server)
    ws = window.workspace
    send_event(qtbot, window, fault_server, "first_event")
    fault_server.queue(
        Reply(400, b"Invalid event", (("Content-Type", "text/plain"),)),
    )
    send_event(qtbot, window, fault_server, "second_event")
    table = history_rows(qtbot, window, 2)

    ws.history.search.setText("second")
    qtbot.waitUntil(lambda: len(ws.history.model.entries) == 1, timeout=5000)
    assert ws.history.model.entries[0].status == 400
    ws.history.search.setText("")
    table = history_rows(qtbot, window, 2)

    select_rows(table, 0, 1)
    assert ws.history.compare_button.isEnabled()
    ws.history.compare_selected()
    qtbot.waitUntil(lambda: ws.history._compare is not None, timeout=5000)
    dialog = ws.history._compare
    assert dialog is not None
    qtbot.waitUntil(lambda: "differ" in dialog.summary.text(), timeout=5000)
    assert dialog.left.toPlainText().startswith("200")
    assert dialog.right.toPlainText().startswith("400")
    assert dialog.differing  # the status line at least
    dialog.close()

    index = ws.history.retention.findData(7)
    ws.history.retention.setCurrentIndex(index)
    ws.history.retention.activated.emit(index)
    qtbot.waitUntil(lambda: settings.load().settings.history_days == 7, timeout=5000)

    select_rows(table, 0)
    ws.history.delete_selected()
    history_rows(qtbot, window, 1)
    window.close()


def test_a_key_pasted_into_the_json_reaches_no_file(
    qtbot, fault_server: FaultServer, isolated_dirs: Path
) -> None:
    pasted = "phc_" + "PastedIntoTheJson0123456789abcdefghij"  # key-shaped
    window = open_window(qtbot, fault_server)
    ws = window.workspace
    window.key.setText("")  # no key in the field: the one in the JSON is sent
    window.edit_json_action.setChecked(True)
    ws.preview.set_text(
        orjson.dumps({"api_key": pasted, "event": "pasted", "distinct_id": "u"}).decode()
    )
    ws.compose.update_preview()
    window.send_action.trigger()
    qtbot.waitUntil(lambda: len(fault_server.requests) == 1, timeout=10000)
    assert orjson.loads(fault_server.requests[0].body)["api_key"] == pasted
    history_rows(qtbot, window, 1)
    ws.drafts.save_composition()
    qtbot.waitUntil(lambda: ws.drafts.saves >= 1, timeout=5000)
    window.close()
    assert files_containing(pasted, isolated_dirs) == []


def test_compare_diffs_the_request_bodies_key_by_key(qtbot, fault_server: FaultServer) -> None:
    window = open_window(qtbot, fault_server)
    ws = window.workspace
    send_event(qtbot, window, fault_server, "compared_event")
    ws.form.properties.fill_from_text('{"plan": "team"}')
    send_event(qtbot, window, fault_server, "compared_event")
    table = history_rows(qtbot, window, 2)
    select_rows(table, 0, 1)
    ws.history.compare_selected()
    qtbot.waitUntil(lambda: ws.history._compare is not None, timeout=5000)
    dialog = ws.history._compare
    assert dialog is not None
    qtbot.waitUntil(lambda: "differ" in dialog.summary.text(), timeout=5000)
    left, right = dialog.left.toPlainText(), dialog.right.toPlainText()
    assert "— request —" in left
    assert '"event": "compared_event"' in right  # the bodies, indented
    right_lines = right.splitlines()
    changed = {right_lines[i] for i in dialog.differing}
    assert any('"uuid"' in line for line in changed)  # every send gets its own uuid
    assert '"api_key": "phc_' in right  # masked as stored, never the key itself


def test_the_session_list_names_each_send_by_its_events(qtbot, fault_server: FaultServer) -> None:
    window = open_window(qtbot, fault_server)
    ws = window.workspace
    send_event(qtbot, window, fault_server, "named_send")
    titles = [e.title for e in ws.response.history_model.entries]
    assert len(titles) == 1
    assert "named_send" in titles[0]
    assert "200" in titles[0]
    # The time shown is the whole send's, as the history keeps it.
    entry = ws.history.model.entries[0] if ws.history.model.entries else None
    qtbot.waitUntil(lambda: bool(ws.history.model.entries), timeout=5000)
    entry = ws.history.model.entries[0]
    assert entry.elapsed_ms is not None
    assert ws.response.time_label.text().startswith(f"{entry.elapsed_ms:.0f} ms")


def test_the_response_pane_searches_shows_raw_and_copies(qtbot, fault_server: FaultServer) -> None:
    from PySide6.QtGui import QGuiApplication

    window = open_window(qtbot, fault_server)
    body = b'{"status":"Ok","detail":{"zeta":1,"alpha":"found me"}}'
    fault_server.queue(Reply(200, body, (("Content-Type", "application/json"),)))
    send_event(qtbot, window, fault_server, "answered")
    pane = window.workspace.response
    assert '"alpha": "found me"' in pane.body.toPlainText()  # pretty by default
    pane.search.setText("found me")
    assert pane.body.textCursor().selectedText() == "found me"
    pane.search.setText("not in there")
    assert not pane.find_next()
    pane.raw.setChecked(True)
    assert pane.body.toPlainText() == body.decode()  # exactly as it came
    pane.copy_response()
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith(pane.status_label.text())
    assert "content-type: application/json" in copied.lower()
    assert copied.endswith(body.decode())


def test_a_batch_send_is_one_history_entry_with_counts_and_its_rows(
    qtbot, fault_server: FaultServer
) -> None:
    window = open_window(qtbot, fault_server)
    ws = window.workspace
    batch = ws.batch
    events = [{"event": "signed_up", "distinct_id": f"u{i}"} for i in range(20)]
    events += [{"event": "$pageview", "distinct_id": f"u{i}"} for i in range(10)]
    events.append({"event": "", "distinct_id": "u"})  # held back: PostHog refuses it
    batch.add_events(events, "rows")
    batch.sending.chunk_events = 10  # several requests, still one entry
    by_name(window, QToolButton, "Send batch", visible=False).click()
    qtbot.waitUntil(lambda: not batch.busy and len(fault_server.requests) >= 3, timeout=20000)
    table = history_rows(qtbot, window, 1)
    (entry,) = ws.history.model.entries
    assert entry.kind == "batch run"
    assert entry.events == 31
    assert entry.event_names == "signed_up ×20, $pageview ×10, (no name)"
    assert entry.elapsed_ms is not None
    assert table.model().rowCount() == 1

    # The entry leads back to its rows, and is not offered as a body to reopen or resend.
    batch.table.clearSelection()
    select_rows(table, 0)
    assert not ws.history.reopen_button.isEnabled()
    assert not ws.history.resend_button.isEnabled()
    by_name(window, QToolButton, "Show rows of batch run", visible=False).click()
    qtbot.waitUntil(lambda: len(batch.selected_uuids()) == 31, timeout=5000)
    assert ws.bottom_tabs.currentWidget() is batch
    full = ws.history.store.get(entry.id) if ws.history.store else None
    assert full is not None
    run = full.batch_run()
    assert run is not None
    assert (run.sent, run.failed, run.held, run.requests) == (30, 0, 1, 3)
    window.close()


def test_sends_are_recorded_before_the_history_tab_is_built(
    qtbot, fault_server: FaultServer
) -> None:
    """The History tab is built when it is first opened; a send before that is on disk all
    the same, and building the tab for it would stall the end of a batch send."""
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    ws = w.workspace
    qtbot.waitUntil(lambda: ws.profiles.loaded and ws.drafts.restored, timeout=10000)
    qtbot.waitUntil(lambda: ws.history_log.is_open, timeout=10000)
    choose(w, "Profile", "Other host")
    w.host.setText(fault_server.url)
    w.key.setText(KEY)
    send_event(qtbot, w, fault_server, "before_the_tab")
    qtbot.waitUntil(lambda: ws.history_log.idle, timeout=10000)
    assert not ws.history_page.built
    counted: list[int] = []
    ws.history_log.run(lambda store: store.count(), counted.append)
    qtbot.waitUntil(lambda: counted == [1], timeout=10000)

    ws.show_bottom("history")  # opening the tab builds it, and it lists that send
    assert ws.history_page.built
    table = history_rows(qtbot, w, 1)
    what = table.model().index(0, COLUMNS.index("What")).data()
    assert "before_the_tab" in str(what)
