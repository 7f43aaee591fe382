"""The batch builder in the window: rows, undo, imports, and sending to a real server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableView,
)

from composer.app import create_main_window
from composer.core.batch.rows import RowStatus
from composer.ui import dialogs
from composer.ui.batch.csv_mapping import CsvMappingDialog
from composer.ui.batch.model import BatchModel, Column
from composer.ui.main_window import MainWindow
from tests.support.fault_server import FaultServer
from tests.window_helpers import by_name


@pytest.fixture
def window(qtbot) -> MainWindow:
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.workspace.profiles.loaded, timeout=10000)
    yield w
    w.close()


def to_server(window: MainWindow, server: FaultServer) -> None:
    """Send to `server` (the "Other host" target) instead of the window's sandbox."""
    from tests.test_window import choose

    choose(window, "Profile", "Other host")
    window.host.setText(server.url)
    window.key.setText("phc_batch_window_key_000000000000000000")


def wait_sandbox(qtbot, window: MainWindow) -> str:
    qtbot.waitUntil(lambda: window.host.text().startswith("http://"), timeout=10000)
    return window.workspace.sandbox.local.db  # type: ignore[union-attr]


def stored(db: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT uuid FROM events ORDER BY id")]


def jsonl(path: Path, n: int, bad: tuple[int, ...] = ()) -> Path:
    lines = []
    for i in range(n):
        event = {"event": "imported", "distinct_id": f"user-{i}", "properties": {"i": i}}
        if i in bad:
            event["event"] = ""
        lines.append(orjson.dumps(event))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_the_model_passes_qt_model_checks(qtmodeltester) -> None:
    from composer.core.batch.rows import BatchRow

    model = BatchModel()
    model.add_rows([BatchRow.of({"event": f"e{i}", "distinct_id": "u"}) for i in range(5)])
    qtmodeltester.check(model)


def test_the_filter_passes_qt_model_checks(qtbot, qtmodeltester) -> None:
    from PySide6.QtCore import QThreadPool

    from composer.core.batch.rows import BatchRow
    from composer.ui.batch.filtering import BatchFilter
    from composer.ui.tasks import TaskRunner

    model = BatchModel()
    model.add_rows([BatchRow.of({"event": f"e{i % 3}", "distinct_id": "u"}) for i in range(9)])
    pool = QThreadPool()
    proxy = BatchFilter(TaskRunner(pool))
    proxy.setSourceModel(model)
    proxy.set_filter("e1", "All rows", now=True)
    qtbot.waitUntil(lambda: not proxy.pending, timeout=5000)
    assert proxy.rows == [1, 4, 7]
    qtmodeltester.check(proxy)
    # Rows added while filtering are matched as they come.
    model.add_rows([BatchRow.of({"event": "e1", "distinct_id": "v"})])
    assert proxy.rows == [1, 4, 7, 9]
    pool.waitForDone()


def test_add_edit_duplicate_move_delete_undo(qtbot, window: MainWindow) -> None:
    ws = window.workspace
    batch = ws.batch
    ws.form.event_name.setText("first")
    ws.form.distinct_id.setText("u1")
    window.add_batch_action.trigger()
    # Adding leaves the form composing: same fields, a fresh automatic uuid, no row edited.
    assert ws.compose.editing is None
    assert ws.form.uuid_auto.isChecked()
    assert ws.form.uuid.text() != batch.model.rows[0].uuid
    ws.form.event_name.setText("second")
    window.add_batch_action.trigger()
    assert [r.name for r in batch.model.rows] == ["first", "second"]
    assert len({r.uuid for r in batch.model.rows}) == 2

    # Selecting a row puts it in the form; edits write back to that row.
    first = batch.model.rows[0].uuid
    batch.select(first)
    assert ws.compose.editing == first
    assert ws.form.event_name.text() == "first"
    ws.form.event_name.setText("first_renamed")
    ws.compose.update_preview()
    assert batch.model.row(first).name == "first_renamed"  # type: ignore[union-attr]
    batch.undo.undo()
    assert batch.model.row(first).name == "first"  # type: ignore[union-attr]
    ws.compose.stop_editing_row()

    batch.select(first)
    batch.duplicate_selected()
    assert [r.name for r in batch.model.rows] == ["first", "first", "second"]
    assert len({r.uuid for r in batch.model.rows}) == 3
    second = batch.model.rows[2].uuid
    batch.move_rows([second], 0)
    assert batch.model.rows[0].uuid == second
    batch.undo.undo()
    assert batch.model.rows[2].uuid == second
    batch.select(second)
    batch.delete_selected()
    assert len(batch.model.rows) == 2
    batch.undo.undo()
    assert [r.uuid for r in batch.model.rows][2] == second
    batch.undo.redo()
    assert second not in batch.model.uuids()

    # Dragging rows goes through the same undoable move.
    mime = batch.model.mimeData([batch.model.index(1, 0)])
    batch.model.dropMimeData(
        mime, batch.model.supportedDropActions(), 0, 0, batch.model.index(-1, -1)
    )
    assert batch.model.rows[0].name == "first"
    assert batch.undo.undoText().startswith("Move")


def test_filtering_by_text_and_verdict(qtbot, window: MainWindow, tmp_path: Path) -> None:
    batch = window.workspace.batch
    batch.import_file(str(jsonl(tmp_path / "e.jsonl", 20, bad=(4, 9))))
    qtbot.waitUntil(lambda: "2 held back" in batch.status.text(), timeout=10000)
    assert batch.status.text().startswith("Imported 20 rows from e.jsonl.")
    table = by_name(window, QTableView, "Batch table", visible=False)
    batch.filter_choice.setCurrentText("Errors")
    # Matched off the GUI thread: the view switches when the pass is done.
    qtbot.waitUntil(lambda: table.model() is batch.proxy and not batch.proxy.pending, timeout=5000)
    assert table.model().rowCount() == 2
    assert table.model().headerData(0, Qt.Orientation.Vertical) == "5"  # its place in the batch
    batch.filter_choice.setCurrentText("All rows")
    for char in "user-1":  # typed: one pass after the pause, not one per key
        batch.filter_text.setText(batch.filter_text.text() + char)
    assert batch.proxy.pending
    qtbot.waitUntil(lambda: not batch.proxy.pending, timeout=5000)
    assert table.model().rowCount() == 11  # user-1, user-10 .. user-19
    # Rows deleted while filtered: the view never points past the end.
    batch.model.take([batch.model.rows[-1].uuid])
    assert all(r < len(batch.model.rows) for r in batch.proxy.rows)
    qtbot.waitUntil(lambda: not batch.proxy.pending, timeout=5000)
    assert table.model().rowCount() == 10
    batch.filter_text.setText("")
    assert table.model() is batch.model


def test_import_100k_jsonl_and_send_to_the_sandbox_exactly_once(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    db = wait_sandbox(qtbot, window)
    batch = window.workspace.batch
    path = jsonl(tmp_path / "big.jsonl", 100_000, bad=(10, 50_000, 99_999))
    batch.import_file(str(path))
    qtbot.waitUntil(lambda: len(batch.model.rows) == 100_000, timeout=60000)
    batch.send_all()
    qtbot.waitUntil(lambda: not batch.busy, timeout=120000)
    summary = by_name(window, QLabel, "Batch summary", visible=False).text()
    assert "99,997 sent, 0 failed, 3 held back" in summary
    assert "row 11 (event.empty)" in summary
    assert "row 50001 (event.empty)" in summary
    assert "row 100000 (event.empty)" in summary
    uuids = stored(db)
    assert len(uuids) == 99_997
    assert len(set(uuids)) == 99_997
    sent = {r.uuid for r in batch.model.rows if r.status is RowStatus.SENT}
    assert set(uuids) == sent


def test_csv_import_with_mapping(qtbot, window: MainWindow, tmp_path: Path) -> None:
    db = wait_sandbox(qtbot, window)
    path = tmp_path / "events.csv"
    path.write_text(
        "name,user,plan,seats,$set.email\n"
        "signed_up,u1,team,5,a@x.io\nsigned_up,u2,free,x,b@x.io\n"
        "upgraded,u3,team,7,c@x.io\n"
    )

    picked: list[str] = []

    def pick() -> None:  # what a user does in the modal dialog, through accessible names
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, CsvMappingDialog):
            QTimer.singleShot(20, pick)
            return
        try:
            combos = {c.accessibleName(): c for c in dialog.findChildren(QComboBox)}
            ok = next(
                b
                for b in dialog.findChildren(QPushButton)
                if b.accessibleName() == "Import with this mapping"
            )
            # "user" is guessed as the distinct ID; "name" is not (it may be a person's
            # name), and with no event column Import is refused.
            assert combos["Column user: becomes"].currentText() == "Distinct ID"
            assert not ok.isEnabled()
            assert "exactly one column for the event name" in dialog.problem.text()
            # The dialog opens at its first column, whatever the file's width.
            assert dialog.focusWidget() is combos["Column name: becomes"]
            assert dialog.findChild(QScrollArea).verticalScrollBar().value() == 0
            combos["Column name: becomes"].setCurrentText("Event name")
            combos["Column seats: type"].setCurrentText("number")
            assert ok.isEnabled()
            assert not dialog.problem.text()
            picked.append(combos["Column $set.email: becomes"].currentText())
            ok.click()
        finally:
            if not picked:  # a failed assertion must not leave the modal dialog open
                dialog.reject()

    QTimer.singleShot(0, pick)
    batch = window.workspace.batch
    batch.import_file(str(path))
    qtbot.waitUntil(lambda: len(batch.model.rows) == 2, timeout=10000)
    assert "line 3: column 'seats'" in batch.status.text()
    assert batch.model.rows[0].event["properties"] == {"plan": "team", "seats": 5}
    assert batch.model.rows[0].event["$set"] == {"email": "a@x.io"}
    batch.send_all()
    qtbot.waitUntil(lambda: not batch.busy, timeout=20000)
    assert len(stored(db)) == 2
    assert picked == ["$set property"]


def test_csv_import_of_a_spreadsheet_export(qtbot, window: MainWindow, tmp_path: Path) -> None:
    """Excel in a German locale: semicolons, Windows-1252. The dialog guesses the separator,
    says how the file will be read before importing, and splits again when told otherwise."""
    path = tmp_path / "export.csv"
    path.write_bytes(
        "event;distinct_id;city\nsigned_up;u1;Köln\nupgraded;u2;Zürich\n".encode("cp1252")
    )
    seen: list[str] = []

    def pick() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, CsvMappingDialog):
            QTimer.singleShot(20, pick)
            return
        try:
            separator = next(
                c
                for c in dialog.findChildren(QComboBox)
                if c.accessibleName() == "Column separator"
            )
            seen.append(separator.currentText())
            encoding = by_name(dialog, QLabel, "File encoding")
            assert "read as Windows-1252" in encoding.text()
            assert "byte 0xf6 on line 2" in encoding.text()
            separator.setCurrentIndex(separator.findData(","))  # as commas: one column
            names = {c.accessibleName() for c in dialog.findChildren(QComboBox)}
            assert "Column event;distinct_id;city: becomes" in names
            assert "Column city: becomes" not in names
            separator.setCurrentIndex(separator.findData(";"))
            names = {c.accessibleName() for c in dialog.findChildren(QComboBox)}
            assert "Column city: becomes" in names
            assert dialog.ok_button.isEnabled()
            seen.append("imported")
            dialog.ok_button.click()
        finally:
            if len(seen) < 2:
                dialog.reject()

    QTimer.singleShot(0, pick)
    batch = window.workspace.batch
    batch.import_file(str(path))
    qtbot.waitUntil(lambda: len(batch.model.rows) == 2, timeout=10000)
    assert seen == ["Semicolon (;)", "imported"]
    assert [r.event["properties"]["city"] for r in batch.model.rows] == ["Köln", "Zürich"]


def test_a_rejected_chunk_ends_with_exactly_that_event_failed(
    qtbot,
    window: MainWindow,
    fault_server: FaultServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    to_server(window, fault_server)
    batch = window.workspace.batch
    assert not batch.send_button.isEnabled()  # nothing to send yet
    batch.import_file(str(jsonl(tmp_path / "e.jsonl", 3000)))
    qtbot.waitUntil(lambda: len(batch.model.rows) == 3000, timeout=10000)
    assert batch.send_button.isEnabled()
    assert not batch.resend_button.isEnabled()
    marked = batch.model.rows[1234].uuid
    fault_server.reject_if = lambda body: marked.encode() in body
    batch.send_all()
    qtbot.waitUntil(lambda: not batch.busy, timeout=30000)
    failed = [r.uuid for r in batch.model.rows if r.status is RowStatus.FAILED]
    assert failed == [marked]
    assert sum(r.status is RowStatus.SENT for r in batch.model.rows) == 2999
    assert batch.resend_button.isEnabled()
    fault_server.reject_if = None
    monkeypatch.setattr(dialogs, "confirm", lambda *a: True)
    batch.resend_failed()
    qtbot.waitUntil(lambda: not batch.busy, timeout=30000)
    assert batch.model.row(marked).status is RowStatus.SENT  # type: ignore[union-attr]
    assert "1 sent" in batch.status.text()
    assert not batch.resend_button.isEnabled()


def test_import_can_be_cancelled_and_bad_lines_are_named(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"event": "a", "distinct_id": "u"}\nnot json\n{"event": "b", "distinct_id": "u"}\n'
    )
    batch = window.workspace.batch
    batch.import_file(str(path))
    qtbot.waitUntil(lambda: len(batch.model.rows) == 2, timeout=10000)
    assert "line 2: not valid JSON" in batch.status.text()
    batch._cancel.set()
    from composer.services.batch_files import Cancelled, read_batch_file

    with pytest.raises(Cancelled):
        read_batch_file(jsonl(tmp_path / "c.jsonl", 10_000), cancel=batch._cancel)


def test_imported_and_checked_rows_are_kept_off_the_collector(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    """A full collection pass over 100,000 rows froze the window for up to a second mid-send:
    the import and the check freeze what they made (ui/heap.py)."""
    import gc

    gc.unfreeze()
    batch = window.workspace.batch
    batch.import_file(str(jsonl(tmp_path / "e.jsonl", 3_000)))
    qtbot.waitUntil(
        lambda: len(batch.model.rows) == 3_000 and not batch.checks_running, timeout=20000
    )
    tracked = {id(o) for o in gc.get_objects()}
    row = batch.model.rows[0]
    assert gc.isenabled()
    assert id(row.event) not in tracked
    assert gc.get_freeze_count() >= 3_000
    gc.unfreeze()


def test_a_send_neither_resizes_the_table_nor_repaints_per_chunk(
    qtbot, window: MainWindow, fault_server: FaultServer, tmp_path: Path
) -> None:
    """Each repaint of the table calls into Python hundreds of times, and while the send's
    worker runs Python each call waits for the interpreter lock: the send's start keeps
    the table's size (the summary wrapping onto a second line shrank it), and the rows'
    statuses are painted a few times a second, not once per chunk and status."""
    to_server(window, fault_server)
    batch = window.workspace.batch
    batch.import_file(str(jsonl(tmp_path / "e.jsonl", 3000)))
    qtbot.waitUntil(lambda: len(batch.model.rows) == 3000 and not batch.busy, timeout=10000)
    qtbot.waitUntil(lambda: not batch.checks_running, timeout=10000)
    batch.sending.chunk_events = 100  # 30 requests, 60 status changes
    window.resize(1024, 700)  # where the send's summary takes two lines
    qtbot.wait(50)
    height = batch.table.height()
    painted: list[tuple[int, int]] = []

    def on_changed(top, bottom, _roles) -> None:  # type: ignore[no-untyped-def]
        if top.column() == bottom.column() == Column.STATUS:
            painted.append((top.row(), bottom.row()))

    batch.model.dataChanged.connect(on_changed)
    batch.send_all()
    assert batch.busy
    qtbot.wait(50)
    assert batch.table.height() == height
    qtbot.waitUntil(lambda: not batch.busy, timeout=30000)
    assert all(r.status is RowStatus.SENT for r in batch.model.rows)
    assert 1 <= len(painted) < 30
    assert painted[-1][1] == 2999  # the end of the send paints what was left at once


def test_imported_rows_reach_the_table_already_checked(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    """The import's worker checks the rows before they reach the table: checked after, the
    check's Python ran while the GUI thread painted the new rows (a 0.5 s stall)."""
    batch = window.workspace.batch
    seen: list[list[object]] = []
    batch.model.rowsInserted.connect(
        lambda *_args: seen.append([r.findings for r in batch.model.rows])
    )
    batch.import_file(str(jsonl(tmp_path / "e.jsonl", 500, bad=(7,))))
    qtbot.waitUntil(lambda: len(batch.model.rows) == 500 and not batch.busy, timeout=10000)
    assert seen
    assert all(findings is not None for findings in seen[0])
    assert batch.model.rows[7].blocked
    assert "1 held back from Send batch" in batch.status.text()


def offer_streaming(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Files over 1,000 bytes are offered streaming, and the offer is taken; the questions
    asked are returned as they come."""
    from composer.ui.batch import streaming, transfer

    monkeypatch.setattr(streaming, "STREAM_OFFER_BYTES", 1000)
    asked: list[str] = []

    def answer(_parent, _title, text, options):  # type: ignore[no-untyped-def]
        asked.append(text)
        return transfer.SEND_STREAMING

    monkeypatch.setattr(dialogs, "choose", answer)
    return asked


def test_a_file_too_big_for_the_table_is_offered_and_sent_streaming(
    qtbot,
    window: MainWindow,
    fault_server: FaultServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bigger than the table should hold, a JSON Lines file is sent by `event-composer send`
    in a process of its own, in bounded memory, with its progress and summary in the batch
    bar; the table stays as it was. Cancel stops the process, and sending again resumes."""

    to_server(window, fault_server)
    batch = window.workspace.batch
    path = jsonl(tmp_path / "big.jsonl", 3000, bad=(5,))
    asked = offer_streaming(monkeypatch)
    batch.import_file(str(path))
    assert asked
    assert "big.jsonl" in asked[0]
    assert "streaming" in asked[0]
    assert batch.busy == "stream"
    assert batch.cancel_button.isEnabled()
    assert not batch.pause_button.isEnabled()
    qtbot.waitUntil(lambda: not batch.busy, timeout=60000)
    assert fault_server.events_received == 2999
    assert not batch.model.rows  # nothing was read into the table
    summary = batch.status.text()
    assert "big.jsonl sent streaming: 2,999 sent, 0 failed, 1 held back" in summary
    assert "big.failed.jsonl" in summary
    assert (tmp_path / "big.failed.jsonl").exists()


def test_a_csv_file_too_big_for_the_table_is_offered_streaming(
    qtbot,
    window: MainWindow,
    fault_server: FaultServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    to_server(window, fault_server)
    batch = window.workspace.batch
    path = tmp_path / "big.csv"
    rows = "".join(f"visit,user-{i},Köln\n" for i in range(2000))
    path.write_text("Event Name,User,properties.city\n" + rows, encoding="utf-8")
    asked = offer_streaming(monkeypatch)
    fault_server.record_uuids = True
    batch.import_file(str(path))
    assert asked
    assert "big.csv" in asked[0]
    assert "automatic column mapping" in asked[0]
    qtbot.waitUntil(lambda: not batch.busy, timeout=60000)
    assert "big.csv sent streaming: 2,000 sent" in batch.status.text()
    assert not batch.model.rows
    events = list(fault_server.stored_events.values())
    assert len(events) == 2000
    assert {e["event"] for e in events} == {"visit"}  # "Event Name" mapped, as the CLI maps it
    assert {e["properties"]["city"] for e in events} == {"Köln"}  # type: ignore[index]


def test_a_streaming_send_cancelled_goes_on_where_it_stopped(
    qtbot,
    window: MainWindow,
    fault_server: FaultServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from composer.ui.batch import streaming, transfer

    to_server(window, fault_server)
    batch = window.workspace.batch
    batch.sending.chunk_events = 500  # six requests
    path = jsonl(tmp_path / "big.jsonl", 3000)
    monkeypatch.setattr(streaming, "STREAM_OFFER_BYTES", 1000)
    monkeypatch.setattr(dialogs, "choose", lambda *_args: transfer.SEND_STREAMING)
    fault_server.record_uuids = True
    fault_server.hold_request(3)  # two chunks acknowledged, the third in flight
    batch.import_file(str(path))
    assert fault_server.holding.wait(30)
    batch.cancel()
    qtbot.waitUntil(lambda: not batch.busy, timeout=30000)
    fault_server.release()
    assert "was stopped" in batch.status.text()
    assert "Send the file again" in batch.status.text()
    first = sum(fault_server.stored.values())
    assert 1000 <= first <= 1500
    batch.import_file(str(path))  # the same file again: the journal resumes it
    qtbot.waitUntil(lambda: not batch.busy, timeout=60000)
    assert "sent streaming" in batch.status.text()
    assert len(fault_server.stored) == 3000  # every event arrived
    # Only the chunk whose answer the cancel cut off can have come twice.
    assert sum(fault_server.stored.values()) - 3000 <= 500
