"""The Code tab, Copy as … and Paste from code … in the window, driven by accessible names.

- The Code tab follows the form live, in the chosen language, without the key; ticking
  "Include the key in the code" puts it in for one copy, and the tick clears itself.
- Copy as … (the payload, batch rows, a history send, a template) never carries the key.
- Pasting each curl example of the PostHog tutorial fills the form with its golden body
  (the batch one goes to JSON editing, the form holding one event); malformed code keeps
  the dialog open with the text as typed and a message, and the form as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QPlainTextEdit, QPushButton

from composer.app import create_main_window
from composer.core.capture import bodies
from composer.core.snippets import LANGUAGES
from composer.ui import dialogs, names
from composer.ui.main_window import MainWindow
from tests.conftest import DATA
from tests.window_helpers import by_name

KEY = "phc_window_code_test_key_0000000000000000"
GOLDEN = Path(__file__).parent / "golden"
ORDER = ["basic", "properties_timestamp", "batch", "identify", "alias"]


@pytest.fixture
def window(qtbot) -> MainWindow:
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.workspace.profiles.loaded, timeout=10000)
    qtbot.waitUntil(lambda: bool(w.host.text()), timeout=10000)  # the sandbox is up
    return w


def show_code(window: MainWindow, language: str = "curl") -> str:
    ws = window.workspace
    ws.preview_tabs.setCurrentWidget(ws.code.view)
    combo = by_name(window, QComboBox, names.CODE_LANGUAGE)
    combo.setCurrentIndex(combo.findData(language))
    ws.code.refresh()
    return by_name(window, QPlainTextEdit, names.CODE).toPlainText()


def test_the_code_tab_follows_the_form_without_the_key(qtbot, window: MainWindow) -> None:
    ws = window.workspace
    by_name(window, QLineEdit, names.API_KEY).setText(KEY)
    ws.form.event_name.setText("signed_up")
    ws.form.distinct_id.setText("user-7")
    for language in LANGUAGES:
        code = show_code(window, language.id)
        assert KEY not in code, language.id
        assert "POSTHOG_PROJECT_API_KEY" in code, language.id
        assert window.host.text() in code, language.id
        assert "signed_up" in code, language.id
    code_view = by_name(window, QPlainTextEdit, names.CODE)
    show_code(window, "posthog-python")
    ws.form.event_name.setText("plan_upgraded")
    qtbot.waitUntil(lambda: "plan_upgraded" in code_view.toPlainText(), timeout=3000)
    notes = ws.code.view.notes.text()
    assert "posthog-python adds $lib" in notes

    include = by_name(window, QCheckBox, names.INCLUDE_KEY)
    include.setChecked(True)
    assert KEY in code_view.toPlainText()
    by_name(window, QPushButton, names.COPY_CODE).click()
    assert KEY in QGuiApplication.clipboard().text()
    assert not include.isChecked()  # for that copy only
    assert KEY not in code_view.toPlainText()
    by_name(window, QPushButton, names.COPY_CODE).click()
    assert KEY not in QGuiApplication.clipboard().text()
    assert "plan_upgraded" in QGuiApplication.clipboard().text()


def test_copy_as_never_carries_the_key(qtbot, window: MainWindow) -> None:
    ws = window.workspace
    by_name(window, QLineEdit, names.API_KEY).setText(KEY)
    ws.form.event_name.setText("signed_up")
    ws.code.view.include_key.setChecked(True)  # the menu ignores the tick
    menu = window.copy_as_menu
    assert menu.isEnabled()
    labels = [a.text() for a in menu.actions() if a.text() and not a.menu()]
    assert labels == [language.label for language in LANGUAGES]
    for language in LANGUAGES:
        action = next(a for a in menu.actions() if a.objectName() == f"copy_as_{language.id}")
        action.trigger()
        copied = QGuiApplication.clipboard().text()
        assert "signed_up" in copied
        assert KEY not in copied

    # The selected batch rows, as one /batch/ request.
    ws.add_to_batch()
    ws.form.event_name.setText("second")
    ws.add_to_batch()
    ws.batch.table.selectAll()
    batch_menu = next(a.menu() for a in menu.actions() if a.menu() is not None)
    next(a for a in batch_menu.actions() if a.objectName() == "copy_batch_as_curl").trigger()
    copied = QGuiApplication.clipboard().text()
    assert "/batch/" in copied
    assert "signed_up" in copied
    assert "second" in copied
    assert KEY not in copied

    # A template, read off the GUI thread.
    QGuiApplication.clipboard().setText("")
    qtbot.waitUntil(lambda: ws.templates.loaded, timeout=10000)
    identify = ws.templates.entry_named("Identify")
    assert identify is not None
    assert ws.templates.select_path(identify.path)
    ws.code.copy_as("posthog-node", "template")
    qtbot.waitUntil(lambda: "$identify" in QGuiApplication.clipboard().text(), timeout=5000)
    assert KEY not in QGuiApplication.clipboard().text()

    # No history send chosen: a message, and the clipboard untouched.
    QGuiApplication.clipboard().setText("before")
    ws.code.copy_as("curl", "history")
    assert QGuiApplication.clipboard().text() == "before"


def tutorial_curl(index: int) -> str:
    text = (DATA / "posthog-api-capture-tutorial.md").read_text()
    return re.findall(r"```bash\n(.*?)```", text, re.S)[index]


def test_each_tutorial_curl_example_fills_the_form(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = window.workspace
    asked: list[str] = []
    # Leaving JSON editing with several events asks before keeping only the first.
    monkeypatch.setattr(dialogs, "confirm", lambda _p, title, *_a: asked.append(title) or True)
    assert window.paste_code_action.shortcut() == QKeySequence("Ctrl+Alt+V")
    for index, name in enumerate(ORDER):
        window.paste_code_action.trigger()
        dialog = ws.code.paste_dialog
        assert dialog is not None
        assert dialog.isVisible()
        box = by_name(dialog, QPlainTextEdit, names.PASTE_CODE)
        box.setPlainText(tutorial_curl(index))
        dialog.fill.click()
        assert not dialog.isVisible(), dialog.error.text()
        golden = (GOLDEN / f"{name}.curl.json").read_bytes()
        if name == "batch":
            assert ws.compose.raw_mode  # several events: JSON editing
            body = ws.compose.json_editing.body("<ph_project_api_key>")
            assert bodies.render(body) + b"\n" == golden
            continue
        assert not ws.compose.raw_mode
        assert ws.form.endpoint_path() == "/capture/"
        event = ws.form.template_event()  # its automatic uuid left out, as the tutorial has none
        assert bodies.render(bodies.single_body(event, "<ph_project_api_key>")) + b"\n" == golden
    assert asked == ["Keep only the first event?"]  # the paste after the batch one


def test_malformed_code_keeps_the_text_and_the_form(qtbot, window: MainWindow) -> None:
    ws = window.workspace
    ws.form.event_name.setText("kept")
    ws.compose.update_preview()
    before = ws.preview.text()
    dialog = ws.code.paste_from_code()
    text = 'curl -v \\\n  -d \'{"event": "x",\n  "distinct_id": }\' https://h/capture/'
    dialog.text.setPlainText(text)
    dialog.fill.click()
    assert dialog.isVisible()
    assert dialog.text.toPlainText() == text
    assert dialog.error.isVisible()
    assert "line 2 of the body" in dialog.error.text()
    ws.compose.update_preview()
    assert ws.preview.text() == before
    dialog.reject()

    # Reopened, the text is still there; a Python error puts the cursor on its line.
    dialog = ws.code.paste_from_code()
    assert dialog.text.toPlainText() == text
    dialog.text.setPlainText("import requests\n\nrequests.post('http://h/e/', json={\n 'a': f(x)})")
    dialog.fill.click()
    assert dialog.isVisible()
    assert dialog.error.text().startswith("Line 4")
    assert dialog.text.textCursor().blockNumber() == 3
    dialog.reject()


def test_a_pasted_python_snippet_with_a_key_fills_the_form_but_not_the_key(
    qtbot, window: MainWindow
) -> None:
    ws = window.workspace
    dialog = ws.code.paste_from_code()
    dialog.text.setPlainText(
        "import requests\n"
        f"body = {{'api_key': '{KEY}', 'event': 'paid', 'distinct_id': 'u-3',"
        " 'uuid': '0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b'}\n"
        "requests.post('https://eu.i.posthog.com/batch/', json={'batch': [body]})\n"
    )
    dialog.fill.click()
    assert not dialog.isVisible()
    assert ws.form.event_name.text() == "paid"
    assert ws.form.endpoint_path() == "/batch/"
    assert ws.form.uuid.text() == "0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"  # kept as pasted
    assert window.key.text() != KEY
    body = orjson.loads(ws.preview.text())
    assert KEY not in orjson.dumps(body).decode()


def test_copy_a_history_send_as_code_without_its_key(qtbot, fault_server) -> None:
    from tests.test_window_history import KEY as HISTORY_KEY
    from tests.test_window_history import history_rows, open_window, select_rows, send_event

    window = open_window(qtbot, fault_server)
    ws = window.workspace
    send_event(qtbot, window, fault_server, "history_send")
    table = history_rows(qtbot, window, 1)
    shown: list[object] = []
    ws.history.show_requested.connect(shown.append)
    select_rows(table, 0)
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    ws.code.copy_as("python-httpx", "history")
    copied = QGuiApplication.clipboard().text()
    assert "history_send" in copied
    assert HISTORY_KEY not in copied
    assert bodies.mask_key(HISTORY_KEY) not in copied  # the masked key is not "the key" either
    assert 'os.environ["POSTHOG_PROJECT_API_KEY"]' in copied
    assert fault_server.url in copied  # the current target's host
    window.close()
