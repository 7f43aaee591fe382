"""Tracking plans in the real window: live findings, pre-filled events, batch rows, the inbox,
learning a plan, and a broken plan that blocks nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QTreeView

from composer.app import create_main_window
from composer.core.batch.rows import RowStatus
from composer.core.compose.values import PropertyRow, ValueType
from composer.services.plans import example_plan_path
from composer.ui.main_window import MainWindow
from tests.window_helpers import by_name


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "plan-repo"
    path.mkdir()
    monkeypatch.setenv("COMPOSER_TEMPLATES_DIR", str(path))
    return path


def open_window(qtbot, *, plan: bool = True) -> MainWindow:
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    ws = w.workspace
    qtbot.waitUntil(lambda: ws.profiles.loaded and ws.drafts.restored, timeout=10000)
    qtbot.waitUntil(lambda: ws.plan_panel.loaded and ws.plan_panel.idle, timeout=10000)
    if plan:
        qtbot.waitUntil(lambda: ws.compose.plan is not None, timeout=10000)
    qtbot.waitUntil(lambda: w.host.text().startswith("http://"), timeout=10000)
    return w


def codes(window: MainWindow) -> list[str]:
    window.workspace.compose.update_preview()
    return [f.code for f in window.workspace.compose.last_findings if f.code.startswith("plan.")]


def test_the_example_plan_prefills_and_checks_live(qtbot, folder: Path) -> None:
    shutil.copy(example_plan_path(), folder / "tracking-plan.yaml")
    window = open_window(qtbot)
    ws = window.workspace
    assert "plan_upgraded" in ws.form.completer.model().stringList()
    ws.form.event_name.setText("plan_upgraded")
    ws.form.event_name.editingFinished.emit()
    rows = {r.key: (r.type.value, r.text) for r in ws.form.properties.model.rows()}
    assert rows == {"plan": ("string", "free"), "previous_plan": ("string", "free")}
    assert ws.form.properties.model.choices["plan"] == ["free", "team", "enterprise"]
    ws.form.distinct_id.setText("user-1")
    assert codes(window) == []
    # A value the plan forbids is a finding at once, with the plan's words.
    ws.form.properties.model.setData(ws.form.properties.model.index(0, 2), "gold")
    ws.form.properties.model.add_row(PropertyRow("seats", ValueType.STRING, "3"))
    assert sorted(codes(window)) == ["plan.enum", "plan.type_mismatch"]
    predicted = by_name(window, QLabel, "Predicted reply").text()
    assert "breaks the tracking plan" in predicted
    seats = next(f for f in ws.compose.last_findings if f.code == "plan.type_mismatch")
    assert 'PostHog stores "3" as text' in seats.message
    # A slip is answered with the allowed value it was probably meant to be.
    ws.form.properties.model.setData(ws.form.properties.model.index(0, 2), "teams")
    codes(window)
    enum = next(f for f in ws.compose.last_findings if f.code == "plan.enum")
    assert enum.fix == 'Use "team", the closest allowed value.'
    window.close()


def test_batch_rows_and_inbox_events_are_checked_but_never_held_back(qtbot, folder: Path) -> None:
    shutil.copy(example_plan_path(), folder / "tracking-plan.yaml")
    window = open_window(qtbot)
    ws = window.workspace
    good = {
        "event": "invoice_paid",
        "distinct_id": "u1",
        "properties": {"plan": "team", "amount": 12.5, "currency": "EUR"},
    }
    bad = {
        "event": "invoice_paid",
        "distinct_id": "u2",
        "properties": {"plan": "team", "amount": -1, "currency": "euro"},
    }
    ws.batch.add_event(good)
    ws.batch.add_event(bad)
    first, second = ws.batch.model.rows
    assert [f.code for f in first.findings or ()] == []
    assert sorted(f.code for f in second.findings or ()) == ["plan.pattern", "plan.range"]
    assert not second.blocked
    ws.batch.send_all()
    qtbot.waitUntil(lambda: not ws.batch.busy, timeout=20000)
    assert [r.status for r in ws.batch.model.rows] == [RowStatus.SENT, RowStatus.SENT]
    # The sandbox received both; its inbox shows what the plan says of each.
    qtbot.waitUntil(lambda: ws.inbox.model.rowCount() >= 1, timeout=10000)
    rows = ws.inbox.model.rows
    broken = [r for r in rows if r.event is not None and r.event.distinct_id == "u2"]
    assert broken
    assert {f["code"] for f in broken[0].plan} == {"plan.pattern", "plan.range"}
    assert "plan error" in ws.inbox.model.data(ws.inbox.model.index(rows.index(broken[0]), 4))
    # The plan tab counts what breaks each planned event.
    ws.plan_panel.count_breaks()
    qtbot.waitUntil(
        lambda: ws.plan_panel.breaks.get("inbox", {}).get("invoice_paid") == 1, timeout=10000
    )
    assert ws.plan_panel.breaks["batch"]["invoice_paid"] == 1
    window.close()


def test_a_plan_learned_from_the_batch_passes_the_batch(qtbot, folder: Path) -> None:
    window = open_window(qtbot, plan=False)
    ws = window.workspace
    assert ws.compose.plan is None
    for i in range(6):
        ws.batch.add_event(
            {
                "event": "report_exported",
                "distinct_id": f"u{i}",
                "properties": {"format": ["csv", "pdf"][i % 2], "pages": i + 1},
            }
        )
    ws.plan_panel.learn("batch")
    qtbot.waitUntil(lambda: ws.compose.plan is not None, timeout=10000)
    assert (folder / "tracking-plan.yaml").exists()
    assert ws.compose.plan is not None
    assert ws.compose.plan.events["report_exported"].properties["format"].enum == ("csv", "pdf")
    qtbot.waitUntil(lambda: all(r.findings == () for r in ws.batch.model.rows), timeout=10000)
    tree = by_name(window, QTreeView, "Tracking plan", visible=False)
    assert tree.model().rowCount() == 1
    window.close()


def test_a_broken_plan_is_reported_and_blocks_nothing(qtbot, folder: Path) -> None:
    (folder / "tracking-plan.yaml").write_text(
        "version: 1\nevents:\n  signed_up:\n    properties:\n      n: {type: int}\n"
        "      m: {type: string, required: true}\n"
    )
    window = open_window(qtbot)
    ws = window.workspace
    problems = by_name(window, QLabel, "Tracking plan problems", visible=False).text()
    assert "tracking-plan.yaml:5: 'int' is not a property type." in problems
    # The sound part is used ...
    ws.form.event_name.setText("signed_up")
    ws.form.distinct_id.setText("u")
    assert codes(window) == ["plan.missing_required"]
    # ... and sending is not blocked by any of it.
    window.send_action.trigger()
    qtbot.waitUntil(lambda: ws.response.history_model.rowCount() == 1, timeout=10000)
    assert ws.response.history_model.entries[0].record.status == 200
    # A plan that cannot be read at all is no plan: nothing is checked.
    (folder / "tracking-plan.yaml").write_text("version: 1\nevents: [\n")
    ws.plan_panel.reload()
    qtbot.waitUntil(lambda: ws.compose.plan is None, timeout=10000)
    assert "not valid YAML" in ws.plan_panel.problems.text()
    assert codes(window) == []
    window.close()


def test_prefill_keeps_what_the_user_already_set(qtbot, folder: Path) -> None:
    shutil.copy(example_plan_path(), folder / "tracking-plan.yaml")
    window = open_window(qtbot)
    ws = window.workspace
    ws.form.properties.fill_from_text('{"signup_method": "github", "$set": {"email": "a@b.co"}}')
    ws.form.event_name.setText("signed_up")
    ws.form.distinct_id.setText("u")
    ws.form.event_name.editingFinished.emit()
    assert ws.form.set_editor.model.rows() == []  # email is set in properties.$set already
    assert [r.key for r in ws.form.properties.model.rows()] == ["signup_method", "$set"]
    assert codes(window) == []
    window.close()


def test_learning_beside_a_hand_written_plan_never_replaces_it(
    qtbot, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from composer.ui import dialogs

    mine = folder / "tracking-plan.yml"
    mine.write_text("version: 1\nevents:\n  handwritten: {}\n")
    window = open_window(qtbot)
    ws = window.workspace
    assert set(ws.compose.plan.events) == {"handwritten"}  # type: ignore[union-attr]
    ws.batch.add_event({"event": "learned", "distinct_id": "u"})
    asked: list[str] = []
    monkeypatch.setattr(dialogs, "confirm", lambda *a: asked.append(a[1]) or False)
    ws.plan_panel.learn("batch")
    qtbot.waitUntil(lambda: bool(asked), timeout=10000)
    assert asked == ["A draft plan was written"]
    assert (folder / "tracking-plan.learned.yaml").exists()
    assert not (folder / "tracking-plan.yaml").exists()
    ws.plan_panel.reload()
    qtbot.waitUntil(lambda: ws.plan_panel.idle, timeout=10000)
    assert set(ws.compose.plan.events) == {"handwritten"}  # type: ignore[union-attr]
    assert mine.read_text() == "version: 1\nevents:\n  handwritten: {}\n"
    window.close()


def test_an_unchanged_plan_is_not_re_applied_and_edits_recount(qtbot, folder: Path) -> None:
    shutil.copy(example_plan_path(), folder / "tracking-plan.yaml")
    window = open_window(qtbot)
    ws = window.workspace
    applied: list[object] = []
    ws.plan_panel.plan_changed.connect(applied.append)
    (folder / "unrelated.json").write_text("{}")  # the folder changes, the plan does not
    ws.plan_panel.reload()
    qtbot.waitUntil(lambda: ws.plan_panel.idle, timeout=10000)
    assert applied == []
    ws.batch.add_event({"event": "invoice_paid", "distinct_id": "u", "properties": {}})
    ws.batch.add_event({"event": "other", "distinct_id": "u"})
    uuid = ws.batch.model.rows[0].uuid
    qtbot.waitUntil(
        lambda: ws.plan_panel.breaks.get("batch", {}).get("invoice_paid") == 1, timeout=10000
    )
    ws.batch.edit_row(
        uuid,
        {
            "event": "invoice_paid",
            "distinct_id": "u",
            "properties": {"plan": "team", "amount": 1, "currency": "EUR"},
        },
    )
    qtbot.waitUntil(
        lambda: ws.plan_panel.breaks.get("batch", {}).get("invoice_paid", 0) == 0, timeout=10000
    )
    unplanned = ws.plan_panel.model.item(ws.plan_panel.model.rowCount() - 1, 0)
    assert unplanned.text() == "(not in the plan)"
    window.close()
