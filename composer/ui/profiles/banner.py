"""The keyring banner: shown above the panes while the active profile's secret is unavailable."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from composer.ui.theme import status_colors


class KeyringBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keyring_banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setAccessibleName("Keyring problem")
        self.session = QPushButton("Enter host and key for this session…", self)
        self.session.setAccessibleName("Enter host and key for this session")
        self.retry = QPushButton("Try the keyring again", self)
        self.retry.setAccessibleName("Try the keyring again")
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.session)
        layout.addWidget(self.retry)
        self.setVisible(False)

    def show_text(self, text: str) -> None:
        """Show the problem, or hide the banner for ""."""
        self.text.setText(text)
        self.setVisible(bool(text))
        if text:
            colors = status_colors(self.palette())
            self.setStyleSheet(
                f"QFrame#keyring_banner {{ background: {colors.warning_background.name()}; }}"
            )
