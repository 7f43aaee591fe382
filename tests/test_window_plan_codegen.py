"""The Plan tab's Generate code…: a preview of the typed functions in either language, saved
to the file `plan codegen --check` then finds up to date; nothing to save when an event cannot
be code. Every control has an accessible name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QPlainTextEdit, QPushButton, QToolButton, QWidget

from composer.core.plans.codegen import generate_code
from composer.core.plans.reader import parse_plan
from composer.services.plan_files import is_stale
from composer.services.plans import example_plan_path
from composer.ui.plan.codegen_dialog import CodegenDialog
from tests.test_window_plan import open_window
from tests.window_helpers import by_name


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "plan-repo"
    path.mkdir()
    monkeypatch.setenv("COMPOSER_TEMPLATES_DIR", str(path))
    return path


def unnamed_controls(dialog: QWidget) -> list[str]:
    return [
        f"{type(w).__name__} {w.objectName()!r}"
        for w in dialog.findChildren(QWidget)
        if w.isVisible() and w.focusPolicy() != Qt.FocusPolicy.NoFocus and not w.accessibleName()
    ]


def test_generate_code_previews_both_languages_and_saves(
    qtbot, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(example_plan_path(), folder / "tracking-plan.yaml")
    window = open_window(qtbot)
    panel = window.workspace.plan_panel
    ws = window.workspace
    ws.bottom_tabs.setCurrentWidget(panel)
    button = by_name(window, QToolButton, "Generate code from plan")
    assert button.isEnabled()
    seen: list[CodegenDialog] = []

    def exec_(dialog: CodegenDialog) -> int:  # instead of the modal loop
        seen.append(dialog)
        dialog.show()
        qtbot.addWidget(dialog)
        return 0

    monkeypatch.setattr(CodegenDialog, "exec", exec_)
    button.click()
    (dialog,) = seen
    assert dialog.preview.isReadOnly()
    plan = panel.plan
    assert plan is not None
    python = generate_code(plan, "python", "tracking-plan.yaml")
    assert dialog.preview.toPlainText() == python
    assert "7 planned events" in dialog.status.text()
    assert unnamed_controls(dialog) == []
    for kind, name in (
        (QComboBox, "Code language"),
        (QPlainTextEdit, "Generated code"),
        (QPushButton, "Save generated code"),
        (QPushButton, "Close code generation"),
    ):
        by_name(dialog, kind, name)
    dialog.language.setCurrentIndex(dialog.language.findData("typescript"))
    typescript = dialog.preview.toPlainText()
    assert "export function planUpgraded(" in typescript
    assert dialog.suggested_path() == folder / "tracking.ts"
    target = folder / "src" / "tracking.ts"
    monkeypatch.setattr(dialog, "choose_path", lambda: target)
    dialog.save_button.click()
    assert dialog.saved_to == target
    assert "Saved to" in dialog.status.text()
    assert not is_stale(target, generate_code(plan, "typescript", "tracking-plan.yaml"))


def test_nothing_to_save_when_an_event_cannot_be_code(qtbot) -> None:
    plan = parse_plan("version: 1\nevents:\n  ok: {}\n  '!!!': {}\n", "plan.yaml")
    dialog = CodegenDialog(plan, Path("plan.yaml"))
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.save_button.isEnabled()
    assert "'!!!' has no letter or digit" in dialog.status.text()
    assert dialog.preview.toPlainText() == ""
    broken = parse_plan("version: 1\nevents:\n  ok: {}\n  bad: [1]\n", "broken.yaml")
    partial = CodegenDialog(broken, Path("broken.yaml"))
    qtbot.addWidget(partial)
    assert not partial.save_button.isEnabled()  # `bad` would be missing from the file
    assert "fix them to save" in partial.status.text()
