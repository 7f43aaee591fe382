"""Tab order that follows the screen, declared as lists of widgets in reading order."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QWidget


def tab_chain(widgets: Iterable[QWidget]) -> None:
    """Tab goes through `widgets` in this order (Qt's default is the order they were made,
    which follows the code, not the screen)."""
    previous: QWidget | None = None
    for widget in widgets:
        if previous is not None:
            QWidget.setTabOrder(previous, widget)
        previous = widget
