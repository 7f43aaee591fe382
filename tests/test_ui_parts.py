"""The window's parts on their own: JSON view, properties editor, timestamps, palettes."""

from __future__ import annotations

import orjson
import pytest
from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from composer.core import jsonlocate
from composer.core.capture import bodies
from composer.core.compose.values import PropertyRow, ValueType
from composer.ui.compose.timestamp_edit import timestamp_text
from composer.ui.palettes import Appearance, apply_appearance, dark_palette, light_palette
from composer.ui.theme import contrast_ratio, json_colors, status_colors
from composer.ui.widgets.json_view import JsonView
from composer.ui.widgets.properties_editor import PropertiesEditor


@pytest.fixture
def view(qtbot) -> JsonView:
    v = JsonView()
    qtbot.addWidget(v)
    v.resize(500, 400)
    v.show()
    return v


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", '{\n  "a": 1\n}'),
        ('{"a": "x"}', '{"a": "xy"}'),
        ('{"emoji": "🙂🙂"}', '{"emoji": "🙂x🙂", "b": "é"}'),
        ("abc🙂def", "ab🙂🙂ef"),
        ("same", "same"),
        ("a" * 1000, "b"),
    ],
)
def test_json_view_updates_to_exactly_the_new_text(view: JsonView, old: str, new: str) -> None:
    view.set_text(old)
    view.set_text(new)
    assert view.toPlainText() == new
    assert view.text() == new


def test_json_view_colours_only_what_is_on_screen(view: JsonView) -> None:
    big = bodies.render({"properties": {f"p{i}": i for i in range(5000)}}).decode()
    view.set_text(big)
    QApplication.processEvents()
    first = view.document().firstBlock().next()
    assert first.layout().formats()  # visible: coloured
    last = view.document().lastBlock().previous().previous()  # "p4999": 4999
    assert not last.layout().formats()  # far below: not yet
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())
    QApplication.processEvents()
    view.highlight_visible()
    assert last.layout().formats()


def test_json_view_edit_mode_reports_edits(qtbot, view: JsonView) -> None:
    view.set_text('{"a": 1}')
    with qtbot.assert_not_emitted(view.edited):
        view.set_text('{"a": 2}')
    view.set_editable(True)
    with qtbot.wait_signal(view.edited, timeout=1000):
        qtbot.keyClicks(view, "x")


def test_megabyte_body_previews_exactly(view: JsonView) -> None:
    body = {"event": "big", "properties": {f"prop_{i}": "v" * 80 for i in range(12000)}}
    text = bodies.render(body).decode()
    assert len(text) > 1_000_000
    view.set_text(text)
    body["properties"]["prop_6000"] = "changed"
    changed = bodies.render(body).decode()
    view.set_text(changed)
    assert view.toPlainText() == changed


def test_locate_finds_keys_and_items() -> None:
    text = bodies.render(
        {"api_key": "k", "batch": [{"event": "a"}, {"event": "b", "properties": {"x y": [1, 2]}}]}
    ).decode()
    lines = text.splitlines()
    line, column = jsonlocate.locate(text, "batch[1].event")
    assert lines[line - 1][column - 1 :].startswith('"event": "b"')
    line, column = jsonlocate.locate(text, 'batch[1].properties["x y"][1]')
    assert lines[line - 1][column - 1 :].startswith("2")
    assert jsonlocate.locate(text, "batch[5]") is None
    assert jsonlocate.locate(text, "batch[0]") is not None
    assert jsonlocate.locate('{"a": {"b"', "a.b") is None


@pytest.fixture
def editor(qtbot) -> PropertiesEditor:
    e = PropertiesEditor("Properties")
    qtbot.addWidget(e)
    e.show()
    return e


def test_properties_editor_types_and_problems(editor: PropertiesEditor) -> None:
    model = editor.model
    for key, kind, text in (
        ("s", "string", "x"),
        ("n", "number", "2.5"),
        ("b", "boolean", "TRUE"),
        ("z", "null", ""),
        ("o", "object", '{"k": [1]}'),
        ("a", "array", "[1, 2]"),
        ("t", "date-time", "2024-05-01T12:00:00Z"),
    ):
        row = model.add_row()
        model.setData(model.index(row, 0), key)
        model.setData(model.index(row, 1), kind)
        model.setData(model.index(row, 2), text)
    values, problems = editor.to_object()
    assert problems == []
    assert values == {
        "s": "x",
        "n": 2.5,
        "b": True,
        "z": None,
        "o": {"k": [1]},
        "a": [1, 2],
        "t": "2024-05-01T12:00:00Z",
    }
    row = model.add_row(PropertyRow("n", ValueType.NUMBER, "7"))
    values, problems = editor.to_object()
    assert [p.row for p in problems] == [row]
    assert "already row" in problems[0].message
    assert model.data(model.index(row, 0), Qt.ItemDataRole.BackgroundRole) is not None
    assert editor.problem_label.isVisible()


def test_properties_editor_reorders_and_removes(editor: PropertiesEditor) -> None:
    editor.set_object({"a": 1, "b": 2, "c": 3})
    editor.table.setCurrentIndex(editor.model.index(2, 0))
    editor.move_selected(-1)
    assert list(editor.to_object()[0]) == ["a", "c", "b"]
    editor.table.selectRow(0)
    editor.remove_selected()
    assert list(editor.to_object()[0]) == ["c", "b"]


def test_paste_json_object_fills_or_refuses(qtbot, editor: PropertiesEditor) -> None:
    editor.set_object({"keep": 1})
    QGuiApplication.clipboard().setText("[1, 2]")
    with qtbot.wait_signal(editor.message) as message:
        editor.paste_json_object()
    assert "not an object" in message.args[0]
    assert editor.to_object()[0] == {"keep": 1}
    QGuiApplication.clipboard().setText('{"plan": "team", "n": 1, "ok": true, "x": null}')
    editor.paste_json_object()
    assert editor.to_object()[0] == {"plan": "team", "n": 1, "ok": True, "x": None}
    types = [editor.model.data(editor.model.index(i, 1)) for i in range(4)]
    assert types == ["string", "number", "boolean", "null"]


def test_timestamp_text_uses_the_zone_offset_on_that_date() -> None:
    summer = QDateTime(QDate(2024, 7, 1), QTime(14, 0))
    assert timestamp_text(summer, "Europe/Berlin") == "2024-07-01T14:00:00+02:00"
    winter = QDateTime(QDate(2024, 1, 1), QTime(14, 0))
    assert timestamp_text(winter, "Europe/Berlin") == "2024-01-01T14:00:00+01:00"
    assert timestamp_text(winter, "UTC") == "2024-01-01T14:00:00Z"
    assert timestamp_text(winter, "America/New_York") == "2024-01-01T14:00:00-05:00"


@pytest.mark.parametrize("palette_factory", [light_palette, dark_palette])
def test_colours_are_readable_on_both_palettes(qapp, palette_factory) -> None:
    palette = palette_factory()
    base = palette.color(palette.ColorRole.Base)
    window_bg = palette.color(palette.ColorRole.Window)
    json = json_colors(palette)
    for color in (json.key, json.string, json.number, json.keyword):
        assert contrast_ratio(color, base) >= 4.5, color.name()
    status = status_colors(palette)
    for color in (status.ok, status.client_error, status.server_error):
        assert contrast_ratio(color, window_bg) >= 4.5, color.name()
    text = palette.color(palette.ColorRole.Text)
    assert contrast_ratio(text, status.invalid_background) >= 4.5


def test_appearance_switches_the_application_palette(qapp) -> None:
    apply_appearance(Appearance.DARK)
    assert qapp.palette().color(qapp.palette().ColorRole.Base).lightness() < 128
    apply_appearance(Appearance.LIGHT)
    assert qapp.palette().color(qapp.palette().ColorRole.Base).lightness() > 128
    apply_appearance(Appearance.SYSTEM)


def test_rendered_preview_round_trips(view: JsonView) -> None:
    body = {"api_key": "phc_k", "event": "é🙂", "distinct_id": "u"}
    view.set_text(bodies.render(body).decode())
    assert orjson.loads(view.toPlainText()) == body
