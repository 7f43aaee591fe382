"""The composer's main window."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QPlainTextEdit


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("PostHog Event Composer")
        self.setCentralWidget(QPlainTextEdit(self))
