"""Modal questions, in one place so that tests can answer them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

if TYPE_CHECKING:
    from composer.ui.templates.dialogs import SaveChoice


def confirm(parent: QWidget | None, title: str, text: str, accept: str) -> bool:
    """Ask a yes/no question whose "yes" button says what will happen."""
    box = QMessageBox(parent)
    box.setObjectName("confirm_box")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    yes = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is yes


def choose(parent: QWidget | None, title: str, text: str, options: list[str]) -> str | None:
    """Ask a question with several answers; each button says what it does. None: cancelled."""
    box = QMessageBox(parent)
    box.setObjectName("choose_box")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    buttons = [(box.addButton(o, QMessageBox.ButtonRole.AcceptRole), o) for o in options]
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    return next((option for button, option in buttons if button is clicked), None)


def ask_text(parent: QWidget | None, title: str, label: str, text: str = "") -> str | None:
    """One line of text (a new name, a folder); None when cancelled."""
    from PySide6.QtWidgets import QInputDialog

    value, ok = QInputDialog.getText(parent, title, label, text=text)
    return value if ok else None


def ask_save_template(
    parent: QWidget | None,
    title: str,
    name: str,
    folders: list[str],
    folder: str = "",
    description: str = "",
) -> SaveChoice | None:
    from composer.ui.templates.dialogs import SaveTemplateDialog

    dialog = SaveTemplateDialog(title, name, folders, folder, description, parent)
    return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None


def ask_variables(
    parent: QWidget | None, variables: dict[str, Any], path: str
) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    """(changed, removed) workspace variables, or None when cancelled."""
    from composer.ui.templates.dialogs import VariablesDialog

    dialog = VariablesDialog(variables, path, parent)
    return dialog.changes() if dialog.exec() == QDialog.DialogCode.Accepted else None


def ask_folder(parent: QWidget | None, title: str, start: str) -> str | None:
    from PySide6.QtWidgets import QFileDialog

    chosen = QFileDialog.getExistingDirectory(parent, title, start)
    return chosen or None
