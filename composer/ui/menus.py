"""Building the menu bar: which actions go in which menu, and the Appearance choices."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget

from composer.ui.palettes import Appearance


def add_menu(bar: QMenuBar | QMenu, title: str, *items: QAction | QMenu | None) -> QMenu:
    """A menu of `items`, in order: an action, a submenu, or None for a separator."""
    menu = bar.addMenu(title)
    for item in items:
        if item is None:
            menu.addSeparator()
        elif isinstance(item, QMenu):
            menu.addMenu(item)
        else:
            menu.addAction(item)
    return menu


def appearance_menu(parent: QWidget) -> tuple[QMenu, QActionGroup, dict[Appearance, QAction]]:
    """System, light or dark: one checkable action each, in one exclusive group."""
    menu = QMenu("&Appearance", parent)
    group = QActionGroup(parent)
    actions: dict[Appearance, QAction] = {}
    for choice in Appearance:
        action = QAction(choice.label, parent, checkable=True)
        action.setData(choice.value)
        group.addAction(action)
        menu.addAction(action)
        actions[choice] = action
    return menu, group, actions
