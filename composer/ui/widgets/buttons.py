"""The small text buttons of the tool rows (batch, templates, history, plan)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton, QWidget


def tool_button(
    parent: QWidget, text: str, name: str, slot: Callable[[], object], tip: str = ""
) -> QToolButton:
    """A text-only tool button with an accessible name (tool buttons size to their text;
    push buttons keep a wide minimum, which crowds a row of them)."""
    button = QToolButton(parent)
    button.setText(text)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    button.setAccessibleName(name)
    button.setToolTip(tip or name)
    button.clicked.connect(slot)
    return button
