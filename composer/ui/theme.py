"""Colours that read well on both light and dark palettes."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QWidget

from composer.core.findings import Finding, Severity


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


@dataclass(frozen=True)
class JsonColors:
    key: QColor
    string: QColor
    number: QColor
    keyword: QColor
    error_background: QColor


@dataclass(frozen=True)
class StatusColors:
    ok: QColor
    client_error: QColor
    server_error: QColor
    invalid_background: QColor
    warning_background: QColor


def json_colors(palette: QPalette) -> JsonColors:
    if is_dark(palette):
        return JsonColors(
            QColor("#8ab4ff"),
            QColor("#7ee2a8"),
            QColor("#ffb86b"),
            QColor("#d7a6ff"),
            QColor("#5c1f24"),
        )
    return JsonColors(
        QColor("#1a45d6"),
        QColor("#0a6b2c"),
        QColor("#9a4a00"),
        QColor("#6d28d9"),
        QColor("#fde2e2"),
    )


def status_colors(palette: QPalette) -> StatusColors:
    if is_dark(palette):
        return StatusColors(
            QColor("#6ee7a0"),
            QColor("#ff8a8a"),
            QColor("#ffb86b"),
            QColor("#5c1f24"),
            QColor("#4d3b12"),
        )
    return StatusColors(
        QColor("#0a7a33"),
        QColor("#b3261e"),
        QColor("#9a4a00"),
        QColor("#fde2e2"),
        QColor("#fff1c2"),
    )


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""

    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return (
            0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())
        )

    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def tint_field(widget: QWidget, finding: Finding | None) -> None:
    """Mark a field a finding points at: red for an error, amber for a warning, none for None.

    The tint is the one palette role the widget overrides: every other colour keeps following
    the application palette (light or dark)."""
    colors = status_colors(QGuiApplication.palette())
    widget.setProperty("severity", finding.severity.value if finding else "")
    tint = QPalette()
    if finding is not None:
        error = finding.severity is Severity.ERROR
        tint.setColor(
            QPalette.ColorRole.Base,
            colors.invalid_background if error else colors.warning_background,
        )
    widget.setPalette(tint)
    widget.setToolTip(f"{finding.message}\n{finding.fix}".strip() if finding else "")
    widget.setAccessibleDescription(finding.message if finding else "")
