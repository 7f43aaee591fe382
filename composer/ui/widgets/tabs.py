"""Tab widgets whose tab bar is announced by name, and that keep room for descenders."""

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


class NamedTabs(QTabWidget):
    """A tab widget with an accessible name on itself and on its tab bar: the bar is what
    takes keyboard focus, so a screen reader says the bar's name when Tab reaches it."""

    def __init__(
        self, name: str, parent: QWidget | None = None, *, document_mode: bool = False
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.setDocumentMode(document_mode)
        self.tabBar().setAccessibleName(name)

    def setTabBar(self, bar: QTabBar) -> None:
        bar.setAccessibleName(self.accessibleName())
        super().setTabBar(bar)


class EditorTabs(NamedTabs):
    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(name, parent)
        self.setTabBar(_RoomyTabBar(self))
