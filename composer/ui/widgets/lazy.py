"""A tab page whose room is built (and its modules imported) the first time it is needed.

The page stays in its tab for good; the room it builds is laid out inside it. It is built when
the page is first shown (its tab chosen) or when `room()` is called, whichever comes first, so
a room the user never opens costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

W = TypeVar("W", bound=QWidget)


class LazyPage(QWidget, Generic[W]):
    """`build(page)` makes the room with the page as its parent and wires it; it runs once.

    Signals: room_made(): the room has just been built and laid out in the page.
    """

    room_made = Signal()

    def __init__(self, build: Callable[[QWidget], W], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build: Callable[[QWidget], W] | None = build
        self._room: W | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._room is not None

    def room(self) -> W:
        """The room, built now if it was not yet."""
        if self._room is None:
            build, self._build = self._build, None
            if build is None:  # asked for again while it was being built
                raise RuntimeError("a lazily built room was asked for while being built")
            room = build(self)
            self._layout.addWidget(room)
            if self.isVisible():
                room.show()  # now, not on the layout's next turn of the event loop
            self._room = room
            self.room_made.emit()
        return self._room

    def showEvent(self, event: QShowEvent) -> None:
        self.room()
        super().showEvent(event)
