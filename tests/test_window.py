"""The composer window, driven through accessible names with pytest-qt, sending to a real server."""

from __future__ import annotations

import orjson
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableView,
    QTabWidget,
    QToolButton,
    QWidget,
)

from composer.app import create_main_window
from composer.core.capture import bodies
from composer.ui import dialogs, names
from composer.ui.main_window import MainWindow
from tests.support.fault_server import FaultServer, Reply, Stall
from tests.window_helpers import by_name, open_every_tab

KEY = "phc_window_test_key_000000000000000000000000"


@pytest.fixture
def window(qtbot) -> MainWindow:
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.workspace.profiles.loaded, timeout=10000)
    return w


@pytest.fixture
def target(window: MainWindow, fault_server: FaultServer) -> FaultServer:
    choose(window, names.TARGET, "Other host")
    by_name(window, QLineEdit, names.HOST).setText(fault_server.url)
    by_name(window, QLineEdit, names.API_KEY).setText(KEY)
    return fault_server


def type_into(qtbot, window: MainWindow, name: str, text: str) -> None:
    field = by_name(window, QLineEdit, name)
    field.clear()
    qtbot.keyClicks(field, text)


def choose(window: MainWindow, name: str, text: str) -> None:
    combo = by_name(window, QComboBox, name)
    index = combo.findText(text, Qt.MatchFlag.MatchStartsWith)
    assert index >= 0, f"{text!r} is not an option of {name}"
    combo.setCurrentIndex(index)


def preview_json(window: MainWindow) -> dict:
    window.workspace.compose.update_preview()
    return orjson.loads(by_name(window, QPlainTextEdit, names.JSON_PREVIEW).toPlainText())


def finding_codes(window: MainWindow) -> list[str]:
    window.workspace.compose.update_preview()
    return [f.code for f in window.workspace.compose.last_findings]


def send_and_wait(qtbot, window: MainWindow) -> None:
    status = by_name(window, QLabel, names.RESPONSE_STATUS)
    before = window.workspace.response.history_model.rowCount()
    by_name(window, QToolButton, names.SEND).click()
    qtbot.waitUntil(
        lambda: window.workspace.response.history_model.rowCount() > before, timeout=10000
    )
    assert status.text()


def test_every_required_accessible_name_exists(window: MainWindow) -> None:
    open_every_tab(window)
    present = {w.accessibleName() for w in window.findChildren(QWidget)}
    missing = [name for name in names.REQUIRED if name not in present]
    assert missing == []


def _owning_control(widget: QWidget) -> QWidget | None:
    """Qt's internal parts (a combo's editor and popup list, a table's header, a tab bar)
    are announced through the composite control that owns them."""
    parent = widget.parentWidget()
    for _ in range(3):
        if parent is None:
            return None
        if isinstance(parent, QComboBox | QAbstractItemView | QTabWidget | QAbstractSpinBox):
            return parent
        parent = parent.parentWidget()
    return None


def test_every_focusable_widget_has_an_accessible_name(window: MainWindow) -> None:
    open_every_tab(window)
    labelled = {label.buddy() for label in window.findChildren(QLabel) if label.buddy()}
    unnamed = []
    for widget in window.findChildren(QWidget):
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        if widget.accessibleName() or widget in labelled:
            continue
        owner = _owning_control(widget)
        if owner is not None and (owner.accessibleName() or owner in labelled):
            continue
        unnamed.append(f"{type(widget).__name__}:{widget.objectName()}")
    assert unnamed == [], unnamed


def test_compose_an_event(qtbot, window: MainWindow) -> None:
    by_name(window, QLineEdit, names.API_KEY).setText(KEY)
    type_into(qtbot, window, names.EVENT_NAME, "plan_upgraded")
    type_into(qtbot, window, names.DISTINCT_ID, "user-42")
    window.workspace.form.properties.fill_from_text('{"plan": "team", "seats": 5}')
    body = preview_json(window)
    assert body["event"] == "plan_upgraded"
    assert body["distinct_id"] == "user-42"
    assert body["properties"] == {"plan": "team", "seats": 5}
    assert body["api_key"] == bodies.mask_key(KEY)
    assert KEY not in by_name(window, QPlainTextEdit, names.JSON_PREVIEW).toPlainText()
    assert "uuid" in body
    assert window.workspace.compose.last_check is not None
    assert window.workspace.compose.last_check.ok


def test_findings_update_live_and_mark_the_field(qtbot, window: MainWindow) -> None:
    by_name(window, QLineEdit, names.API_KEY).setText(KEY)
    type_into(qtbot, window, names.DISTINCT_ID, "user-1")
    event_name = by_name(window, QLineEdit, names.EVENT_NAME)
    event_name.editingFinished.emit()  # the user left the event name empty: now it is wrong
    assert "event.empty" in finding_codes(window)
    assert event_name.property("severity") == "error"
    predicted = by_name(window, QLabel, names.PREDICTED_REPLY)
    assert "400" in predicted.text()
    qtbot.keyClicks(event_name, "signed_up")
    assert "event.empty" not in finding_codes(window)
    assert event_name.property("severity") == ""
    by_name(window, QLineEdit, names.API_KEY).setText("phx_personal")
    assert "token.personal_key" in finding_codes(window)
    assert "401" in predicted.text()


def test_identify_alias_and_group_forms(qtbot, window: MainWindow) -> None:
    by_name(window, QLineEdit, names.API_KEY).setText(KEY)
    type_into(qtbot, window, names.DISTINCT_ID, "user-1")
    choose(window, names.PAYLOAD_KIND, "Identify")
    type_into(qtbot, window, names.ANON_DISTINCT_ID, "anon-7")
    window.workspace.form.set_editor.fill_from_text('{"email": "a@example.com"}')
    body = preview_json(window)
    assert body["event"] == "$identify"
    assert body["properties"]["$anon_distinct_id"] == "anon-7"
    assert body["$set"] == {"email": "a@example.com"}
    assert by_name(window, QLineEdit, names.EVENT_NAME).isReadOnly()

    choose(window, names.PAYLOAD_KIND, "Alias")
    type_into(qtbot, window, names.ALIAS, "user-2")
    body = preview_json(window)
    assert body["event"] == "$create_alias"
    assert body["properties"] == {"alias": "user-2"}
    assert "$set" not in body
    merge = by_name(window, QCheckBox, names.MERGE_DANGEROUSLY)
    merge.setChecked(True)
    assert preview_json(window)["event"] == "$merge_dangerously"
    assert window.workspace.form.merge_warning.isVisible()
    assert "cannot be undone" in window.workspace.form.merge_warning.text()
    assert "merge.dangerous" in finding_codes(window)

    choose(window, names.PAYLOAD_KIND, "Group identify")
    type_into(qtbot, window, names.GROUP_TYPE, "company")
    type_into(qtbot, window, names.GROUP_KEY, "acme")
    window.workspace.form.group_set.fill_from_text('{"name": "Acme"}')
    body = preview_json(window)
    assert body["event"] == "$groupidentify"
    assert body["properties"] == {
        "$group_type": "company",
        "$group_key": "acme",
        "$group_set": {"name": "Acme"},
    }

    choose(window, names.PAYLOAD_KIND, "Event")
    type_into(qtbot, window, names.EVENT_NAME, "back_to_events")
    assert preview_json(window)["event"] == "back_to_events"


def test_switching_kinds_keeps_what_was_typed(qtbot, window: MainWindow) -> None:
    type_into(qtbot, window, names.EVENT_NAME, "kept_name")
    choose(window, names.PAYLOAD_KIND, "Identify")
    assert preview_json(window)["event"] == "$identify"
    choose(window, names.PAYLOAD_KIND, "Event")
    assert by_name(window, QLineEdit, names.EVENT_NAME).text() == "kept_name"


def test_invalid_property_values_are_marked_and_block_send(
    qtbot, window: MainWindow, target: FaultServer
) -> None:
    type_into(qtbot, window, names.EVENT_NAME, "e")
    type_into(qtbot, window, names.DISTINCT_ID, "u")
    model = window.workspace.form.properties.model
    row = model.add_row()
    model.setData(model.index(row, 0), "seats")
    model.setData(model.index(row, 1), "number")
    model.setData(model.index(row, 2), "five")
    assert "form.invalid_value" in finding_codes(window)
    assert model.data(model.index(row, 2), Qt.ItemDataRole.ToolTipRole).startswith("'five'")
    assert model.data(model.index(row, 2)) == "five"  # what was typed stays
    by_name(window, QToolButton, names.SEND).click()
    qtbot.wait(200)
    assert target.requests == []
    assert "Fix the marked values" in window.statusBar().currentMessage()


def test_send_shows_status_body_and_time(qtbot, window: MainWindow, target: FaultServer) -> None:
    type_into(qtbot, window, names.EVENT_NAME, "signed_up")
    type_into(qtbot, window, names.DISTINCT_ID, "user-1")
    preview_text = by_name(window, QPlainTextEdit, names.JSON_PREVIEW).toPlainText()
    window.workspace.compose.update_preview()
    preview_text = by_name(window, QPlainTextEdit, names.JSON_PREVIEW).toPlainText()
    send_and_wait(qtbot, window)
    assert by_name(window, QLabel, names.RESPONSE_STATUS).text() == "200 accepted"
    assert by_name(window, QLabel, names.RESPONSE_TIME).text().endswith("ms")
    body_view = by_name(window, QPlainTextEdit, names.RESPONSE_BODY, visible=False)
    assert '"status": "Ok"' in body_view.toPlainText()
    headers = by_name(window, QTableView, names.RESPONSE_HEADERS, visible=False)
    assert headers.model().rowCount() >= 2
    (request,) = target.requests
    # Exactly the previewed bytes, with the real key where the preview shows it masked.
    assert request.raw_body == preview_text.replace(bodies.mask_key(KEY), KEY).encode()
    assert request.path == "/i/v0/e/"
    # An automatic uuid is renewed, so the next send is a new event.
    assert preview_json(window)["uuid"] != orjson.loads(request.raw_body)["uuid"]


def test_ctrl_enter_sends_and_history_keeps_each_answer(
    qtbot, window: MainWindow, target: FaultServer
) -> None:
    type_into(qtbot, window, names.EVENT_NAME, "e")
    type_into(qtbot, window, names.DISTINCT_ID, "u")
    target.queue(
        Reply(200), Reply(503, b"transient error, please retry", (("Content-Type", "text/plain"),))
    )
    window.workspace.controller.transport().retry = (
        window.workspace.controller.transport().retry.__class__(max_retries=0)
    )
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.workspace.response.history_model.rowCount() == 1, timeout=10000)
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.workspace.response.history_model.rowCount() == 2, timeout=10000)
    status = by_name(window, QLabel, names.RESPONSE_STATUS)
    assert status.text().startswith("503")
    history = window.workspace.response.history
    history.setCurrentIndex(window.workspace.response.history_model.index(0))
    assert status.text() == "200 accepted"


def test_401_and_413_show_their_guidance(qtbot, window: MainWindow, target: FaultServer) -> None:
    type_into(qtbot, window, names.EVENT_NAME, "e")
    type_into(qtbot, window, names.DISTINCT_ID, "u")
    guidance = window.workspace.response.guidance_label
    target.queue(
        Reply(401, b"API key is not valid: personal_api_key", (("Content-Type", "text/plain"),))
    )
    send_and_wait(qtbot, window)
    assert by_name(window, QLabel, names.RESPONSE_STATUS).text() == "401 Unauthorized"
    assert "personal API key" in guidance.text()
    assert "phc_" in guidance.text()
    target.queue(
        Reply(
            413,
            b"maximum event size exceeded: Request body exceeds limit of 20971520 bytes",
            (("Content-Type", "text/plain"),),
        )
    )
    send_and_wait(qtbot, window)
    assert by_name(window, QLabel, names.RESPONSE_STATUS).text() == "413 Payload Too Large"
    assert "20 MiB" in guidance.text()


def test_cancel_during_a_stalled_request_leaves_the_window_usable(
    qtbot, window: MainWindow, target: FaultServer
) -> None:
    type_into(qtbot, window, names.EVENT_NAME, "e")
    type_into(qtbot, window, names.DISTINCT_ID, "u")
    target.queue(Stall(30))
    send = by_name(window, QToolButton, names.SEND)
    cancel = by_name(window, QToolButton, names.CANCEL)
    assert not cancel.isEnabled()
    send.click()
    qtbot.waitUntil(lambda: len(target.requests) == 1, timeout=5000)
    assert not send.isEnabled()
    assert cancel.isEnabled()
    cancel.click()
    assert send.isEnabled()
    assert not cancel.isEnabled()
    assert by_name(window, QLabel, names.RESPONSE_STATUS).text().startswith("Cancelled")
    # Still usable: typing works and the next send gets its answer.
    type_into(qtbot, window, names.EVENT_NAME, "after_cancel")
    send_and_wait(qtbot, window)
    assert by_name(window, QLabel, names.RESPONSE_STATUS).text() == "200 accepted"
    assert orjson.loads(target.requests[-1].raw_body)["event"] == "after_cancel"


def test_broken_raw_json_keeps_the_text_and_shows_where(
    qtbot, window: MainWindow, target: FaultServer
) -> None:
    preview = by_name(window, QPlainTextEdit, names.JSON_PREVIEW)
    by_name(window, QToolButton, names.EDIT_JSON).click()
    assert not preview.isReadOnly()
    broken = '{\n  "event": "x",\n  "distinct_id": "u"\n  "properties": {}\n}'
    preview.setPlainText(broken)
    window.workspace.compose.update_preview()
    assert preview.toPlainText() == broken
    error = window.workspace.compose.preview_error
    assert error.isVisible()
    assert "line 4, column 3" in error.text()
    assert "body.invalid_json" in [f.code for f in window.workspace.compose.last_findings]
    by_name(window, QToolButton, names.SEND).click()
    qtbot.wait(100)
    assert target.requests == []
    assert preview.toPlainText() == broken


def test_valid_raw_json_drives_the_form_and_is_sent_as_shown(
    qtbot, window: MainWindow, target: FaultServer
) -> None:
    preview = by_name(window, QPlainTextEdit, names.JSON_PREVIEW)
    by_name(window, QToolButton, names.EDIT_JSON).click()
    preview.setPlainText(
        '{"event": "from_json", "distinct_id": "json-user", "properties": {"n": 1}}'
    )
    window.workspace.compose.update_preview()
    assert by_name(window, QLineEdit, names.EVENT_NAME).text() == "from_json"
    assert by_name(window, QLineEdit, names.DISTINCT_ID).text() == "json-user"
    send_and_wait(qtbot, window)
    (request,) = target.requests
    assert orjson.loads(request.raw_body) == {
        "api_key": KEY,
        "event": "from_json",
        "distinct_id": "json-user",
        "properties": {"n": 1},
    }
    assert request.raw_body == preview.toPlainText().replace(bodies.mask_key(KEY), KEY).encode()
    by_name(window, QToolButton, names.EDIT_JSON).click()
    assert preview.isReadOnly()
    assert preview_json(window)["event"] == "from_json"


def test_refused_bodies_ask_before_sending(
    qtbot, window: MainWindow, target: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(dialogs, "confirm", lambda *a: asked.append(a[2]) or False)
    type_into(qtbot, window, names.DISTINCT_ID, "u")  # no event name: PostHog answers 400
    by_name(window, QToolButton, names.SEND).click()
    assert asked
    assert "400" in asked[0]
    assert target.requests == []
    monkeypatch.setattr(dialogs, "confirm", lambda *a: True)
    target.queue(Reply(400, b"event submitted with an empty event name"))
    send_and_wait(qtbot, window)
    assert by_name(window, QLabel, names.RESPONSE_STATUS).text() == "400 Bad Request"


def test_keyboard_shortcuts(qtbot, window: MainWindow) -> None:
    by_name(window, QLineEdit, names.API_KEY).setText(KEY)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    type_into(qtbot, window, names.EVENT_NAME, "typed")
    by_name(window, QLineEdit, names.DISTINCT_ID).setFocus()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is by_name(window, QLineEdit, names.EVENT_NAME)
    qtbot.keyClick(
        window,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    copied = QGuiApplication.clipboard().text()
    assert orjson.loads(copied)["event"] == "typed"
    assert KEY not in copied
    old_uuid = preview_json(window)["uuid"]
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    body = preview_json(window)
    assert body["event"] == ""
    assert body["uuid"] != old_uuid
    in_menus = [a for top in window.menuBar().actions() for a in top.menu().actions()]
    for action, keys in (
        (window.send_action, "Ctrl+Return"),
        (window.new_action, "Ctrl+N"),
        (window.focus_event_action, "Ctrl+L"),
        (window.copy_action, "Ctrl+Shift+C"),
        (window.cancel_action, "Esc"),
        (window.edit_json_action, "Ctrl+E"),
    ):
        assert keys in [s.toString() for s in action.shortcuts()]
        assert action in in_menus, action.text()


def test_show_key_reveals_it_in_the_preview(window: MainWindow) -> None:
    by_name(window, QLineEdit, names.API_KEY).setText(KEY)
    assert preview_json(window)["api_key"] != KEY
    window.show_key_action.setChecked(True)
    assert preview_json(window)["api_key"] == KEY
    assert by_name(window, QLineEdit, names.API_KEY).echoMode() == QLineEdit.EchoMode.Normal
    window.show_key_action.setChecked(False)
    assert preview_json(window)["api_key"] == bodies.mask_key(KEY)


def test_choosing_a_finding_focuses_its_field(qtbot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    by_name(window, QLineEdit, names.API_KEY).setText(KEY)
    type_into(qtbot, window, names.EVENT_NAME, "e")
    window.workspace.compose.update_preview()
    (missing,) = [
        f for f in window.workspace.compose.last_findings if f.code == "distinct_id.empty"
    ]
    window.workspace.compose.go_to_finding(missing)
    assert QApplication.focusWidget() is by_name(window, QLineEdit, names.DISTINCT_ID)
    window.workspace.form.properties.fill_from_text('{"$cookieless_mode": "yes"}')
    window.workspace.compose.update_preview()
    (cookieless,) = [
        f for f in window.workspace.compose.last_findings if f.code == "properties.cookieless_mode"
    ]
    window.workspace.compose.go_to_finding(cookieless)
    table = window.workspace.form.properties.table
    assert QApplication.focusWidget() is table
    assert table.currentIndex().row() == 0


def test_geometry_splitters_and_kind_are_restored(qtbot) -> None:
    first = create_main_window()
    qtbot.addWidget(first)
    first.show()
    first.resize(1010, 650)  # near the smallest the form, the body and the response allow
    choose(first, names.PAYLOAD_KIND, "Group identify")
    first.workspace.splitter.setSizes([300, 250, 200])
    sizes = first.workspace.splitter.sizes()
    first.close()
    second = create_main_window()
    qtbot.addWidget(second)
    second.show()
    assert second.workspace.form.current_kind().value == "group_identify"
    assert (second.width(), second.height()) == (1010, 650)
    assert second.workspace.splitter.sizes() == sizes
    second.close()


def test_dark_palette_reaches_every_pane(window: MainWindow) -> None:
    from composer.ui.palettes import Appearance

    window.appearance_actions[Appearance.DARK].trigger()
    QApplication.processEvents()
    try:
        ws = window.workspace
        for widget in (
            ws.form.properties.table,
            ws.preview,
            ws.findings.view,
            ws.response.headers,
            ws.form.distinct_id,
        ):
            assert widget.palette().color(widget.palette().ColorRole.Base).lightness() < 128, (
                widget.objectName() or type(widget).__name__
            )
    finally:
        window.appearance_actions[Appearance.SYSTEM].trigger()


def test_status_colours_follow_a_theme_switch(qtbot, window: MainWindow) -> None:
    """The verdict and the response status keep a readable colour after light <-> dark."""
    from composer.ui.palettes import Appearance, dark_palette, light_palette
    from composer.ui.theme import status_colors

    ws = window.workspace
    ws.form.event_name.setText("e")
    ws.form.distinct_id.setText("u")
    ws.compose.update_preview()
    dark_ok = status_colors(dark_palette()).ok.name()
    light_ok = status_colors(light_palette()).ok.name()
    assert dark_ok != light_ok
    try:
        window.appearance_actions[Appearance.LIGHT].trigger()
        QApplication.processEvents()
        assert light_ok in ws.findings.predicted.styleSheet()
        window.appearance_actions[Appearance.DARK].trigger()
        QApplication.processEvents()
        assert dark_ok in ws.findings.predicted.styleSheet()
    finally:
        window.appearance_actions[Appearance.SYSTEM].trigger()


def test_marked_fields_are_tinted_not_restyled(qtbot, window: MainWindow) -> None:
    field = by_name(window, QLineEdit, names.EVENT_NAME)
    plain = by_name(window, QLineEdit, names.UUID)
    field.editingFinished.emit()  # left empty: an error at that field
    window.workspace.compose.update_preview()
    base = field.palette().color(field.palette().ColorRole.Base)
    assert base != plain.palette().color(plain.palette().ColorRole.Base)
    assert field.styleSheet() == ""
    qtbot.keyClicks(field, "named")
    window.workspace.compose.update_preview()
    assert field.palette().color(field.palette().ColorRole.Base) == plain.palette().color(
        plain.palette().ColorRole.Base
    )
