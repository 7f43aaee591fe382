"""Small behaviours of one-line fields."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit


def show_start_when_set(line: QLineEdit) -> None:
    """Text set by the program (a uuid, a timestamp) is shown from its start, not its end:
    in a narrow field "2024-05-01 12:00" says more than ":00.913767"."""

    def to_start() -> None:
        if not line.hasFocus():
            line.setCursorPosition(0)

    line.textChanged.connect(to_start)
