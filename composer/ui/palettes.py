"""Light, dark, or the system's palette; the preview and status colours follow it."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_system_palette: QPalette | None = None


class Appearance(StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"

    @property
    def label(self) -> str:
        return {"system": "&System", "light": "&Light", "dark": "&Dark"}[self.value]

    @classmethod
    def from_text(cls, text: str) -> Appearance:
        try:
            return cls(text)
        except ValueError:
            return cls.SYSTEM


def dark_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, "#1f2125"),
        (roles.WindowText, "#e8eaed"),
        (roles.Base, "#17181b"),
        (roles.AlternateBase, "#24262b"),
        (roles.ToolTipBase, "#2b2d31"),
        (roles.ToolTipText, "#e8eaed"),
        (roles.Text, "#e8eaed"),
        (roles.Button, "#2b2d31"),
        (roles.ButtonText, "#e8eaed"),
        (roles.BrightText, "#ff6b6b"),
        (roles.Link, "#8ab4ff"),
        (roles.Highlight, "#3d6fe0"),
        (roles.HighlightedText, "#ffffff"),
        (roles.PlaceholderText, "#9aa0a6"),
        (roles.Mid, "#3c4043"),
        (roles.Dark, "#101114"),
        (roles.Light, "#3c4043"),
        (roles.Midlight, "#34363a"),
        (roles.Shadow, "#000000"),
    ):
        p.setColor(role, QColor(color))
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7c8086"))
    return p


def light_palette() -> QPalette:
    return QApplication.style().standardPalette()


def apply_appearance(choice: Appearance) -> None:
    global _system_palette  # noqa: PLW0603 - the palette the app started with, kept once
    app = QGuiApplication.instance()
    if not isinstance(app, QApplication):
        return
    if _system_palette is None:
        if choice is Appearance.SYSTEM:
            return  # nothing was ever changed; setting a palette costs ~20 ms at start-up
        _system_palette = QPalette(app.palette())
    if choice is not Appearance.SYSTEM and app.style().name().lower() != "fusion":
        # Native styles (Windows, macOS) draw with their own colours; Fusion follows ours.
        app.setStyle("Fusion")
    if choice is Appearance.DARK:
        app.setPalette(dark_palette())
    elif choice is Appearance.LIGHT:
        app.setPalette(light_palette())
    else:
        app.setPalette(_system_palette)
