"""Tab widgets that keep room for descenders."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QTabBar, QTabWidget, QWidget


class _RoomyTabBar(QTabBar):
    """Tabs with room below the baseline, so the underscore of "$set_once" is not clipped.

    A style sheet would do it too, but style sheets on a tab bar stop palette changes (light
    and dark) from reaching the pages below it.
    """

    def tabSizeHint(self, index: int) -> QSize:
        hint = super().tabSizeHint(index)
        return QSize(hint.width() + 8, hint.height() + 6)


class EditorTabs(QTabWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabBar(_RoomyTabBar(self))
