"""The timestamp field: typed ISO text, "now", or a date and time picked in a time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, QTimeZone, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from composer.core.capture.timestamps import format_rfc3339
from composer.ui import names


def timestamp_text(value: QDateTime, zone_id: str) -> str:
    """RFC 3339 text for a wall-clock time in a zone, with that zone's offset on that date."""
    zone = QTimeZone(zone_id.encode())
    if not zone.isValid():
        zone = QTimeZone.utc()
    local = QDateTime(value.date(), value.time(), zone)
    if local.offsetFromUtc() == 0:
        return format_rfc3339(datetime.fromtimestamp(local.toSecsSinceEpoch(), UTC))
    return str(local.toString("yyyy-MM-ddTHH:mm:ss")) + _offset(local.offsetFromUtc())


def _offset(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


class TimestampDialog(QDialog):
    """Pick a date, a time and a time zone."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Pick the event's date and time")
        self.setObjectName("timestamp_dialog")
        self.when = QDateTimeEdit(QDateTime.currentDateTime(), self)
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.when.setAccessibleName("Date and time")
        self.zone = QComboBox(self)
        self.zone.setEditable(True)
        self.zone.setAccessibleName("Time zone")
        ids = [bytes(z.data()).decode() for z in QTimeZone.availableTimeZoneIds()]
        local = bytes(QTimeZone.systemTimeZoneId().data()).decode() or "UTC"
        self.zone.addItems(["UTC", local, *[i for i in ids if i not in ("UTC", local)]])
        completer = QCompleter(self.zone.model(), self.zone)
        completer.setFilterMode(completer.filterMode().MatchContains)
        self.zone.setCompleter(completer)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Date and time", self.when)
        form.addRow("Time zone", self.zone)
        form.addRow(buttons)

    def result_text(self) -> str:
        return timestamp_text(self.when.dateTime(), self.zone.currentText())

    @classmethod
    def ask(cls, parent: QWidget | None) -> str | None:
        dialog = cls(parent)
        return dialog.result_text() if dialog.exec() == QDialog.DialogCode.Accepted else None


class TimestampEdit(QWidget):
    """Signals: edited: the text changed."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = QLineEdit(self)
        self.line.setAccessibleName(names.TIMESTAMP)
        self.line.setObjectName("timestamp_edit")
        self.line.setPlaceholderText("empty: PostHog uses the time it receives the event")
        self.line.setToolTip(
            "ISO 8601 / RFC 3339 text, such as 2024-05-01T12:00:00Z. Leave it empty to let"
            " PostHog use the time it receives the event."
        )
        self.line.setClearButtonEnabled(True)
        self.now_button = QPushButton("Now", self)
        self.now_button.setAccessibleName(names.TIMESTAMP_NOW)
        self.now_button.setToolTip("Fill in the current time in UTC")
        self.pick_button = QPushButton("Pick…", self)
        self.pick_button.setAccessibleName(names.TIMESTAMP_PICK)
        self.pick_button.setToolTip("Choose a date, a time and a time zone")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.now_button)
        layout.addWidget(self.pick_button)
        self.line.textChanged.connect(self.edited)
        self.now_button.clicked.connect(self.set_now)
        self.pick_button.clicked.connect(self._pick)
        self.setFocusProxy(self.line)

    def text(self) -> str:
        return self.line.text().strip()

    def focus_order(self) -> list[QWidget]:
        return [self.line, self.now_button, self.pick_button]

    def set_text(self, text: str) -> None:
        self.line.setText(text)

    def set_now(self) -> None:
        self.line.setText(format_rfc3339(datetime.now(UTC)))

    def _pick(self) -> None:
        picked = TimestampDialog.ask(self)
        if picked is not None:
            self.line.setText(picked)
