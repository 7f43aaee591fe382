"""Templates, variables and drafts in the real window, against real files and a real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from PySide6.QtWidgets import QTreeView

from composer.app import create_main_window
from composer.core.templates.document import TemplateType
from composer.services.templates import TemplateStore
from composer.ui import dialogs
from composer.ui.main_window import MainWindow
from composer.ui.templates import dialogs as template_dialogs
from composer.ui.templates.dialogs import SaveChoice
from tests.conftest import files_containing
from tests.support.fault_server import FaultServer
from tests.test_window import choose
from tests.window_helpers import by_name

KEY = "phc_test_template_window_key_0123456789a"


def open_window(qtbot) -> MainWindow:
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.workspace.profiles.loaded, timeout=10000)
    qtbot.waitUntil(lambda: w.workspace.templates.loaded, timeout=10000)
    qtbot.waitUntil(lambda: w.workspace.drafts.restored, timeout=10000)
    return w


@pytest.fixture
def shared_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A templates folder both "machines" use, like a git checkout."""
    folder = tmp_path / "tracking-plan"
    monkeypatch.setenv("COMPOSER_TEMPLATES_DIR", str(folder))
    return folder


def other_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh config, data and cache folders: nothing but the shared templates folder in common."""
    for name in ("CONFIG", "DATA", "CACHE"):
        monkeypatch.setenv(f"COMPOSER_{name}_DIR", str(tmp_path / "machine-2" / name.lower()))


def target(window: MainWindow, server: FaultServer) -> None:
    choose(window, "Profile", "Other host")
    window.host.setText(server.url)
    window.key.setText(KEY)


def test_a_template_saved_here_opens_on_a_second_machine_and_resolves_at_send(
    qtbot,
    shared_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault_server: FaultServer,
) -> None:
    window = open_window(qtbot)
    target(window, fault_server)
    ws = window.workspace
    ws.form.event_name.setText("plan_upgraded")
    ws.form.distinct_id.setText("{{user}}")
    ws.form.properties.fill_from_text('{"plan": "{{plan}}", "seats": 5, "at": "{{$now - 2h}}"}')
    monkeypatch.setattr(
        template_dialogs,
        "ask_save_template",
        lambda *a, **k: SaveChoice("Plan upgraded", "billing", "When a team upgrades"),
    )
    window.save_template_action.trigger()
    path = shared_folder / "billing" / "plan-upgraded.json"
    qtbot.waitUntil(path.exists, timeout=5000)
    doc = orjson.loads(path.read_bytes())
    assert doc["name"] == "Plan upgraded"
    assert doc["type"] == "payload"
    assert doc["event"]["distinct_id"] == "{{user}}"
    assert "uuid" not in doc["event"]  # automatic: a fresh one at every send
    assert path.read_text().startswith('{\n  "schema_version": 1,\n')
    qtbot.waitUntil(lambda: ws.compose.current_template is not None, timeout=5000)
    window.close()

    # The second machine: its own data and config, the same folder of templates.
    other_machine(tmp_path, monkeypatch)
    window = open_window(qtbot)
    target(window, fault_server)
    ws = window.workspace
    tree = by_name(window, QTreeView, "Templates", visible=False)
    assert tree.model() is ws.templates.model
    entry = ws.templates.entry_named("Plan upgraded")
    assert entry is not None
    assert entry.folder == "billing"
    assert ws.templates.select_path(entry.path)
    ws.templates.open_selected()
    qtbot.waitUntil(lambda: ws.form.event_name.text() == "plan_upgraded", timeout=5000)
    assert ws.form.uuid_auto.isChecked()

    # Unresolved: a pre-flight error naming the variable, and Send refuses.
    ws.compose.update_preview()
    unresolved = [f for f in ws.compose.last_findings if f.code == "variable.unresolved"]
    assert {f.path for f in unresolved} == {"distinct_id", "properties.plan"}
    assert "{{user}}" in unresolved[0].message
    window.send_action.trigger()
    assert fault_server.requests == []

    # Variables from the workspace file (merged, as a second window would write them).
    monkeypatch.setattr(
        template_dialogs, "ask_variables", lambda *a: ({"user": "user-7", "plan": "team"}, ())
    )
    window.variables_action.trigger()
    qtbot.waitUntil(lambda: ws.compose.variables.get("plan") == "team", timeout=5000)
    ws.compose.update_preview()
    preview = orjson.loads(ws.preview.text())
    assert preview["distinct_id"] == "user-7"
    assert preview["properties"]["plan"] == "team"
    assert not [f for f in ws.compose.last_findings if f.code == "variable.unresolved"]
    window.send_action.trigger()
    qtbot.waitUntil(lambda: len(fault_server.requests) == 1, timeout=10000)
    sent = orjson.loads(fault_server.requests[0].body)
    assert sent["distinct_id"] == "user-7"
    assert sent["properties"]["plan"] == "team"
    assert sent["properties"]["seats"] == 5
    assert sent["properties"]["at"].endswith("Z")
    uuid.UUID(sent["uuid"])
    # The key went to the server and nowhere else: not the template, not the variables.
    assert sent["api_key"] == KEY
    assert files_containing(KEY, shared_folder) == []
    window.close()


def test_starter_templates_open_and_save_as_a_copy(
    qtbot, shared_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot)
    ws = window.workspace
    identify = ws.templates.entry_named("Identify")
    assert identify is not None
    assert identify.builtin
    ws.templates.open_entry(identify)
    qtbot.waitUntil(lambda: ws.form.event_name.text() == "$identify", timeout=5000)
    assert ws.compose.current_template is None  # a starter is never written over
    monkeypatch.setattr(
        template_dialogs, "ask_save_template", lambda *a, **k: SaveChoice("My identify", "", "")
    )
    window.save_template_action.trigger()
    qtbot.waitUntil((shared_folder / "my-identify.json").exists, timeout=5000)
    batch = ws.templates.entry_named("Batch of two events")
    assert batch is not None
    ws.templates.open_entry(batch)
    qtbot.waitUntil(lambda: len(ws.batch.model.rows) == 2, timeout=5000)
    assert ws.bottom_tabs.currentWidget() is ws.batch
    window.close()


def test_a_conflicting_save_keeps_both_versions(
    qtbot, shared_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot)
    ws = window.workspace
    ws.form.event_name.setText("checkout_started")
    ws.form.distinct_id.setText("u1")
    monkeypatch.setattr(
        template_dialogs, "ask_save_template", lambda *a, **k: SaveChoice("Checkout", "", "")
    )
    window.save_template_action.trigger()
    path = shared_folder / "checkout.json"
    qtbot.waitUntil(lambda: ws.compose.current_template is not None, timeout=5000)
    # Another window (or a git pull) changes the file meanwhile.
    store = TemplateStore(shared_folder, with_starters=False)
    template, entry = store.load(path)
    template.description = "theirs"
    store.save_over(entry, template)
    ws.form.event_name.setText("checkout_started_v2")
    monkeypatch.setattr(dialogs, "choose", lambda *a: "Save as a new template")
    monkeypatch.setattr(
        template_dialogs, "ask_save_template", lambda *a, **k: SaveChoice("Checkout (mine)", "", "")
    )
    window.save_template_action.trigger()
    mine = shared_folder / "checkout-mine.json"
    qtbot.waitUntil(mine.exists, timeout=5000)
    assert orjson.loads(path.read_bytes())["description"] == "theirs"
    assert orjson.loads(mine.read_bytes())["event"]["event"] == "checkout_started_v2"
    window.close()


def test_a_corrupt_template_is_listed_with_its_problem_and_left_alone(
    qtbot, shared_folder: Path
) -> None:
    shared_folder.mkdir(parents=True)
    broken = shared_folder / "broken.json"
    broken.write_bytes(b'{"schema_version": 1, "name": "Broken", "event": {')
    window = open_window(qtbot)
    ws = window.workspace
    entry = next(e for e in ws.templates.entries if e.path == broken)
    assert "Not valid JSON" in entry.error
    ws.templates.select_path(broken)
    assert not ws.templates.open_button.isEnabled()
    assert broken.read_bytes() == b'{"schema_version": 1, "name": "Broken", "event": {'
    window.close()


def test_a_batch_template_resolves_every_row_at_send(
    qtbot, shared_folder: Path, fault_server: FaultServer
) -> None:
    TemplateStore(shared_folder, with_starters=False).update_variables({"plan": "team"})
    window = open_window(qtbot)
    target(window, fault_server)
    ws = window.workspace
    for _ in range(3):
        ws.batch.add_event(
            {
                "event": "seat_added",
                "distinct_id": "{{$random_email}}",
                "properties": {"plan": "{{plan}}", "n": "{{$counter}}"},
            }
        )
    assert all(r.findings == () for r in ws.batch.model.rows)
    ws.batch.send_all()
    qtbot.waitUntil(lambda: not ws.batch.busy and bool(fault_server.requests), timeout=10000)
    sent = orjson.loads(fault_server.requests[0].body)["batch"]
    assert [e["properties"]["n"] for e in sent] == [1, 2, 3]
    assert {e["properties"]["plan"] for e in sent} == {"team"}
    assert len({e["distinct_id"] for e in sent}) == 3
    # The rows keep their placeholders: the batch is still a template.
    assert ws.batch.model.rows[0].event["properties"]["plan"] == "{{plan}}"
    window.close()


_TYPIST = """
import sys, time
from PySide6.QtWidgets import QApplication
from composer.app import configure_application, create_main_window
app = QApplication([])
configure_application(app)
window = create_main_window()
window.show()
def wait(predicate, timeout=15.0):
    end = time.monotonic() + timeout
    while not predicate():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > end:
            sys.exit("timed out")
wait(lambda: window._workspace is not None and window.workspace.drafts.restored)
ws = window.workspace
ws.form.event_name.setText("half_typed_event")
ws.form.distinct_id.setText("user-99")
ws.form.properties.fill_from_text('{"plan": "team"}')
ws.form.properties.model.add_row()
ws.form.properties.model.setData(ws.form.properties.model.index(1, 0), "seats")
ws.form.properties.model.setData(ws.form.properties.model.index(1, 1), "number")
ws.form.properties.model.setData(ws.form.properties.model.index(1, 2), "five")
ws.batch.add_event({"event": "queued", "distinct_id": "u"})
saves = ws.drafts.saves
wait(lambda: ws.drafts.saves > saves and ws.drafts.store.batch_path.exists())
print("typed", flush=True)
while True:
    app.processEvents()
    time.sleep(0.05)
"""


def test_a_killed_window_comes_back_with_its_composition(qtbot) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with subprocess.Popen(
        [sys.executable, "-c", _TYPIST], stdout=subprocess.PIPE, env=env, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "typed"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == -signal.SIGKILL

    window = open_window(qtbot)
    ws = window.workspace
    assert ws.form.event_name.text() == "half_typed_event"
    assert ws.form.distinct_id.text() == "user-99"
    rows = ws.form.properties.model.rows()
    assert [(r.key, r.type.value, r.text) for r in rows] == [
        ("plan", "string", "team"),
        ("seats", "number", "five"),  # not valid yet, and still there
    ]
    assert [r.name for r in ws.batch.model.rows] == ["queued"]
    window.close()


def test_saving_a_batch_as_a_template(
    qtbot, shared_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot)
    ws = window.workspace
    ws.batch.add_event({"event": "a", "distinct_id": "u"})
    ws.batch.add_event({"event": "b", "distinct_id": "u"})
    monkeypatch.setattr(
        template_dialogs, "ask_save_template", lambda *a, **k: SaveChoice("Two events", "", "")
    )
    window.save_batch_template_action.trigger()
    path = shared_folder / "two-events.json"
    qtbot.waitUntil(path.exists, timeout=5000)
    doc = orjson.loads(path.read_bytes())
    assert doc["type"] == TemplateType.BATCH.value
    assert [e["event"] for e in doc["events"]] == ["a", "b"]
    # Replaying a template must not repeat uuids (PostHog would drop the replay as duplicates).
    assert not any("uuid" in e for e in doc["events"])
    window.close()


def test_save_template_never_puts_a_batch_row_or_json_over_the_wrong_thing(
    qtbot, shared_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot)
    ws = window.workspace
    ws.form.event_name.setText("signup")
    ws.form.distinct_id.setText("u")
    monkeypatch.setattr(
        template_dialogs,
        "ask_save_template",
        lambda *a, **k: SaveChoice("Signup", "", "Important description"),
    )
    window.save_template_action.trigger()
    path = shared_folder / "signup.json"
    qtbot.waitUntil(lambda: ws.compose.current_template is not None, timeout=5000)
    saved = path.read_bytes()

    # Editing a batch row, then Save template: a new template, never the opened one.
    ws.batch.add_event({"event": "unrelated_row", "distinct_id": "x"})
    ws.batch.add_event({"event": "another_row", "distinct_id": "x"})
    ws.batch.select(ws.batch.model.rows[0].uuid)
    assert ws.compose.editing is not None
    asked: list[str] = []
    monkeypatch.setattr(
        template_dialogs, "ask_save_template", lambda *a, **k: asked.append(a[1]) or None
    )
    window.save_template_action.trigger()
    assert asked == ["Save template"]
    assert path.read_bytes() == saved
    ws.compose.stop_editing_row()

    # JSON editing keeps the description and does not freeze the uuid into the template.
    # (The tree is rescanned off the GUI thread after the save: wait for the entry.)
    qtbot.waitUntil(lambda: ws.templates.entry_named("Signup") is not None, timeout=10000)
    ws.templates.open_entry(ws.templates.entry_named("Signup"))
    qtbot.waitUntil(lambda: ws.compose.current_template is not None, timeout=5000)
    window.edit_json_action.setChecked(True)
    window.save_template_action.trigger()
    qtbot.waitUntil(lambda: ws.templates.busy is False, timeout=5000)
    doc = orjson.loads(path.read_bytes())
    assert doc["description"] == "Important description"
    assert "uuid" not in doc["event"]
    window.edit_json_action.setChecked(False)
    window.close()


def test_variables_changed_by_another_window_keep_arriving(qtbot, shared_folder: Path) -> None:
    window = open_window(qtbot)
    ws = window.workspace
    other = TemplateStore(shared_folder, with_starters=False)
    for value in ("b", "c", "d"):
        other.update_variables({"v": value})
        qtbot.waitUntil(lambda value=value: ws.compose.variables.get("v") == value, timeout=5000)
    window.close()


def test_a_key_in_a_variable_is_refused(qtbot, shared_folder: Path, monkeypatch) -> None:
    window = open_window(qtbot)
    ws = window.workspace
    window.key.setText(KEY)
    monkeypatch.setattr(template_dialogs, "ask_variables", lambda *a: ({"nested": {"k": KEY}}, ()))
    window.variables_action.trigger()
    qtbot.waitUntil(lambda: ws.templates.busy is False, timeout=5000)
    assert files_containing(KEY, shared_folder) == []
    window.close()


def test_a_draft_that_could_not_be_restored_is_kept_aside(
    qtbot, monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path
) -> None:
    import time

    from composer.services.drafts import DraftStore
    from composer.ui.drafts import DraftKeeper

    drafts = DraftStore(isolated_dirs / "data" / "drafts")
    drafts.save_composition({"form": {"event": {"event": "precious_work", "distinct_id": "u"}}})
    slow_open = DraftKeeper._open

    def slower(self: DraftKeeper):  # the disk is slow; the user is fast
        time.sleep(0.6)
        return slow_open(self)

    monkeypatch.setattr(DraftKeeper, "_open", slower)
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._workspace is not None, timeout=10000)
    w.workspace.form.event_name.setText("typed_first")
    qtbot.waitUntil(lambda: w.workspace.drafts.restored, timeout=10000)
    assert w.workspace.form.event_name.text() == "typed_first"
    kept = list(drafts.folder.glob("composition.json.not-restored-*"))
    assert len(kept) == 1
    assert b"precious_work" in kept[0].read_bytes()
    w.close()
