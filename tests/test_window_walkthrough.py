"""A new user's walk through the window (issue 16): typed values, focus, messages, layout."""

from __future__ import annotations

import orjson
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTableView,
    QToolButton,
    QWidget,
)

from composer.app import create_main_window
from composer.ui import names
from composer.ui.main_window import MainWindow
from tests.window_helpers import by_name


@pytest.fixture
def window(qtbot) -> MainWindow:
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.workspace.profiles.loaded, timeout=10000)
    return w


def preview_json(window: MainWindow) -> dict:
    window.workspace.compose.update_preview()
    return orjson.loads(by_name(window, QPlainTextEdit, names.JSON_PREVIEW).toPlainText())


def findings(window: MainWindow) -> dict[str, str]:
    window.workspace.compose.update_preview()
    return {f.code: f.fix for f in window.workspace.compose.last_findings}


def type_in_cell(qtbot, table: QTableView, index: QModelIndex, text: str) -> None:
    """Type into a cell the way a user does: open its editor, type, press Return."""
    table.setCurrentIndex(index)
    table.edit(index)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit), type(editor)
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    press_return(qtbot, table, editor)


def press_return(qtbot, table: QTableView, editor: QWidget) -> None:
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # Qt commits the editor's text from the event loop, after the key press.
    qtbot.waitUntil(lambda: table.state() != QTableView.State.EditingState, timeout=5000)


def choose_in_cell(qtbot, table: QTableView, index: QModelIndex, text: str) -> None:
    table.setCurrentIndex(index)
    table.edit(index)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QComboBox), type(editor)
    editor.setCurrentIndex(editor.findText(text))
    press_return(qtbot, table, editor)


def test_a_new_row_takes_the_type_its_value_has(qtbot, window: MainWindow) -> None:
    by_name(window, QToolButton, f"Add row to {names.PROPERTIES}").click()
    table = by_name(window, QTableView, names.PROPERTIES)
    model = table.model()
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)  # the new row's key is being edited
    qtbot.keyClicks(editor, "price")
    press_return(qtbot, table, editor)
    type_in_cell(qtbot, table, model.index(0, 2), "19.99")
    assert model.data(model.index(0, 1)) == "number"
    assert "chosen from the value" in model.data(model.index(0, 1), Qt.ItemDataRole.ToolTipRole)
    assert preview_json(window)["properties"]["price"] == 19.99
    assert "value.number_as_text" not in findings(window)

    # The type follows the value while nobody chose one ...
    type_in_cell(qtbot, table, model.index(0, 2), "nineteen")
    assert model.data(model.index(0, 1)) == "string"
    type_in_cell(qtbot, table, model.index(0, 2), "true")
    assert model.data(model.index(0, 1)) == "boolean"
    assert preview_json(window)["properties"]["price"] is True

    # ... and a type the user picks is kept, with a warning that says how to fix it.
    choose_in_cell(qtbot, table, model.index(0, 1), "string")
    type_in_cell(qtbot, table, model.index(0, 2), "19.99")
    assert model.data(model.index(0, 1)) == "string"
    assert preview_json(window)["properties"]["price"] == "19.99"
    fix = findings(window)["value.number_as_text"]
    assert "19.99 without quotes" in fix
    assert "Type to number" in fix


def test_identifiers_stay_text_and_loaded_values_keep_their_type(qtbot, window: MainWindow) -> None:
    by_name(window, QToolButton, f"Add row to {names.PROPERTIES}").click()
    table = by_name(window, QTableView, names.PROPERTIES)
    model = table.model()
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    qtbot.keyClicks(editor, "order_id")
    press_return(qtbot, table, editor)
    type_in_cell(qtbot, table, model.index(0, 2), "1001")
    assert model.data(model.index(0, 1)) == "string"
    assert "value.number_as_text" not in findings(window)

    # A body pasted as JSON is shown as it is: text stays text, and the check says so.
    window.workspace.form.properties.fill_from_text('{"plan_seats": "5", "renews": "01.05.2024"}')
    assert model.data(model.index(0, 1)) == "string"
    codes = findings(window)
    assert "value.number_as_text" in codes
    assert "value.date_not_recognised" in codes
