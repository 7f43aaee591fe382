"""Finding widgets the way a screen reader or an automation tool does: by accessible name."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QTabWidget, QWidget

W = TypeVar("W", bound=QWidget)


def by_name(root: QWidget, kind: type[W], name: str, *, visible: bool = True) -> W:
    found = [
        w
        for w in root.findChildren(kind)
        if w.accessibleName() == name and (w.isVisible() or not visible)
    ]
    assert found, f"no {'visible ' if visible else ''}{kind.__name__} named {name!r}"
    assert len(found) == 1, f"{len(found)} widgets named {name!r}"
    return found[0]


def open_every_tab(window: QWidget) -> None:
    """Rooms are built when their tab is first shown: show every tab once, as a user would."""
    seen: set[QTabWidget] = set()
    while unseen := [t for t in window.findChildren(QTabWidget) if t not in seen]:
        for tabs in unseen:
            seen.add(tabs)
            current = tabs.currentIndex()
            for index in range(tabs.count()):
                tabs.setCurrentIndex(index)
            tabs.setCurrentIndex(current)
