"""Dialogs of the templates tab: naming a template, and editing the workspace variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from composer.core.templates.document import TemplateError, check_name
from composer.ui.widgets.properties_editor import PropertiesEditor


@dataclass(frozen=True)
class SaveChoice:
    name: str
    folder: str
    description: str


class SaveTemplateDialog(QDialog):
    def __init__(
        self,
        title: str,
        name: str,
        folders: list[str],
        folder: str = "",
        description: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("save_template_dialog")
        self.name = QLineEdit(name, self)
        self.name.setAccessibleName("Template name")
        self.name.selectAll()
        self.folder = QComboBox(self)
        self.folder.setEditable(True)
        self.folder.setAccessibleName("Template folder")
        self.folder.addItem("")
        self.folder.addItems(folders)
        self.folder.setCurrentText(folder)
        self.folder.setToolTip("A sub-folder of the templates folder; type a new one to create it")
        self.description = QLineEdit(description, self)
        self.description.setAccessibleName("Template description")
        self.problem = QLabel(self)
        self.problem.setAccessibleName("Template name problem")
        self.problem.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        assert self.save_button is not None
        self.save_button.setAccessibleName("Save template")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&Name", self.name)
        form.addRow("&Folder", self.folder)
        form.addRow("&Description", self.description)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(
            QLabel(
                "The template is a JSON file in the templates folder. The project key is never"
                " written to it.",
                self,
            )
        )
        layout.addWidget(buttons)
        self.name.textChanged.connect(self._check)
        self._check()
        self.resize(460, self.sizeHint().height())

    def _check(self) -> None:
        try:
            check_name(self.name.text())
        except TemplateError as exc:
            self.problem.setText(str(exc))
            self.save_button.setEnabled(False)
        else:
            self.problem.setText("")
            self.save_button.setEnabled(True)

    def choice(self) -> SaveChoice:
        return SaveChoice(
            check_name(self.name.text()),
            self.folder.currentText().strip().strip("/"),
            self.description.text().strip(),
        )


class VariablesDialog(QDialog):
    """Workspace variables as typed rows, the way properties are edited."""

    def __init__(self, variables: dict[str, Any], path: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Workspace variables")
        self.setObjectName("variables_dialog")
        self.original = dict(variables)
        self.editor = PropertiesEditor("Workspace variables", self)
        self.editor.set_object(variables)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("Variables problem")
        help_text = QLabel(
            f"Stored in {path}, beside the templates, and shared with everyone who uses the"
            " folder. Write {{name}} in any value to use one; a value that is only {{name}}"
            " takes the variable's type. Built-in values: {{$uuid}}, {{$now}}, {{$now - 2h}},"
            " {{$timestamp}}, {{$random_int}}, {{$random_email}}, {{$random_name}},"
            " {{$counter}}. Keys belong in a profile, not here.",
            self,
        )
        help_text.setWordWrap(True)
        help_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        assert self.save_button is not None
        self.save_button.setAccessibleName("Save variables")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(help_text)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.editor.edited.connect(self._check)
        self._check()
        self.resize(560, 420)

    def _check(self) -> None:
        _values, problems = self.editor.to_object()
        self.problem.setText(
            f"Row {problems[0].row + 1}: {problems[0].message}" if problems else ""
        )
        self.save_button.setEnabled(not problems)

    def changes(self) -> tuple[dict[str, Any], tuple[str, ...]]:
        """(changed or new values, removed names) against what the dialog opened with."""
        values, _ = self.editor.to_object()
        changed = {k: v for k, v in values.items() if self.original.get(k, object()) != v}
        removed = tuple(k for k in self.original if k not in values)
        return changed, removed


def ask_save_template(
    parent: QWidget | None,
    title: str,
    name: str,
    folders: list[str],
    folder: str = "",
    description: str = "",
) -> SaveChoice | None:
    dialog = SaveTemplateDialog(title, name, folders, folder, description, parent)
    return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None


def ask_variables(
    parent: QWidget | None, variables: dict[str, Any], path: str
) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    """(changed, removed) workspace variables, or None when cancelled."""
    dialog = VariablesDialog(variables, path, parent)
    return dialog.changes() if dialog.exec() == QDialog.DialogCode.Accepted else None
