"""The toolbar's target row: the profile switcher, its colour badge, the host and the key.

One expanding row rather than separate toolbar items: a toolbar hides items that do not fit
behind an overflow arrow, and Send (added at the row's end by the window) must never be
hidden; a row shrinks the fields instead.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QSizePolicy, QWidget

from composer.ui import names
from composer.ui.widgets.key_field import KeyField

HOST_PLACEHOLDER = "us, eu, or https://your-posthog.example.com"


class TargetRow(QWidget):
    def __init__(self, first_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.target = QComboBox(self)
        self.target.setAccessibleName(names.TARGET)
        self.target.setObjectName("profile_combo")
        self.target.setToolTip(
            "Where Send sends: the local sandbox (built in, no account), one of your profiles"
            " (host and key in the OS keyring), or another host typed here."
        )
        self.target.setMinimumContentsLength(10)
        self.target.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.target.addItem(first_name)
        self.badge = QLabel(self)
        self.badge.setObjectName("profile_badge")
        self.badge.setAccessibleName(names.ACTIVE_PROFILE)
        self.host = QLineEdit(self)
        self.host.setAccessibleName(names.HOST)
        self.host.setObjectName("host_edit")
        self.host.setPlaceholderText(HOST_PLACEHOLDER)
        self.host.setToolTip(
            "The ingestion host: us (us.i.posthog.com), eu (eu.i.posthog.com), or the URL of"
            " a self-hosted instance"
        )
        self.host.setMinimumWidth(90)
        self.key = KeyField(self)
        self.key.setAccessibleName(names.API_KEY)
        self.key.setObjectName("api_key_edit")
        self.key.setPlaceholderText("phc_… project API key")
        self.key.setToolTip("The project API key (phc_…). Kept in memory only.")
        self.key.setAccessibleDescription(
            "The project API key, phc_ and then letters and digits, from the project's settings"
            " in PostHog; kept in the OS keyring with its profile, masked on screen."
        )
        self.key.setMinimumWidth(56)
        host_label = QLabel("  &Host ", self)
        host_label.setBuddy(self.host)
        key_label = QLabel("  Project API &key ", self)
        key_label.setBuddy(self.key)
        target_label = QLabel("&Profile ", self)
        target_label.setBuddy(self.target)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(4, 2, 4, 2)
        for widget, stretch in (
            (self.badge, 0),
            (target_label, 0),
            (self.target, 0),
            (host_label, 0),
            (self.host, 3),
            (key_label, 0),
            (self.key, 2),
        ):
            self.row.addWidget(widget, stretch)

    def focus_order(self) -> list[QWidget]:
        """The row's widgets that take focus, left to right as they stand (Send included)."""
        items = (self.row.itemAt(i) for i in range(self.row.count()))
        widgets = (item.widget() for item in items if item is not None)
        return [w for w in widgets if w is not None and w.focusPolicy() != Qt.FocusPolicy.NoFocus]

    def show_target(
        self,
        host: str,
        key: str,
        *,
        editable: bool,
        name: str,
        color: str,
        production: bool,
        host_hint: str = "",
    ) -> None:
        """A colour block always; the word PRODUCTION when it is one. The name is in the
        switcher next to it (and the window puts it in its title)."""
        self.host.setReadOnly(not editable)
        self.key.setReadOnly(not editable)
        self.host.setPlaceholderText(HOST_PLACEHOLDER if editable else host_hint)
        self.host.setText(host)
        self.key.setText(key)
        self.badge.setText(" PRODUCTION " if production else "")
        self.badge.setMinimumWidth(12)
        self.badge.setToolTip(
            f"Sending to {name}"
            + (": a production project, every send asks first." if production else ".")
        )
        text_color = "#ffffff" if QColor(color).lightness() < 150 else "#000000"
        self.badge.setStyleSheet(
            f"background: {color}; color: {text_color}; border-radius: 3px;"
            f" font-weight: {'800' if production else '600'}; padding: 2px 4px;"
        )
