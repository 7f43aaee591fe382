"""Creating and editing a profile: name, host, project key, colour, production flag.

The key is checked as it is typed (a personal key is refused, with the reason), the host too
(an app host instead of an ingestion host gets a hint), and "Check connection" asks the host,
off the GUI thread, whether it answers like a capture endpoint, storing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import QThreadPool, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from composer.core.capture.hosts import (
    EU_INGESTION,
    US_INGESTION,
    HostError,
    is_loopback,
    resolve_host,
)
from composer.core.capture.keys import KeyVerdict, check_project_key
from composer.profiles.book import COLORS, PRODUCTION_COLOR
from composer.ui.tasks import submit
from composer.ui.theme import status_colors

COLOR_NAMES = dict(
    zip(
        (*COLORS, PRODUCTION_COLOR),
        ("Blue", "Green", "Orange", "Purple", "Teal", "Pink", "Grey", "Red"),
        strict=True,
    )
)


@dataclass(frozen=True)
class ProfileDraft:
    name: str
    host: str  # as resolved: a full URL
    key: str
    color: str
    production: bool


def _swatch(color: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


class ProfileDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        title: str = "New profile",
        draft: ProfileDraft | None = None,
        taken: frozenset[str] = frozenset(),
        session_only: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("profile_dialog")
        self.setMinimumWidth(520)
        self._taken = {name.casefold() for name in taken}
        self._pool = QThreadPool(self)
        self.name = QLineEdit(self)
        self.name.setAccessibleName("Profile name")
        self.name.setPlaceholderText("e.g. Production US")
        self.host = QComboBox(self)
        self.host.setEditable(True)
        self.host.setAccessibleName("Profile host")
        self.host.addItems([US_INGESTION, EU_INGESTION])
        self.host.setCurrentText("")
        host_edit = self.host.lineEdit()
        assert host_edit is not None
        host_edit.setPlaceholderText("us, eu, or https://posthog.example.com")
        self.key = QLineEdit(self)
        self.key.setAccessibleName("Project API key")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("phc_…")
        self.show_key = QPushButton("Show", self)
        self.show_key.setCheckable(True)
        self.show_key.setAccessibleName("Show project key")
        self.color = QComboBox(self)
        self.color.setAccessibleName("Profile colour")
        for value, label in COLOR_NAMES.items():
            self.color.addItem(_swatch(value), label, value)
        self.production = QCheckBox("Production project: ask before every send", self)
        self.production.setAccessibleName("Production project")
        self.problems = QLabel(self)
        self.problems.setWordWrap(True)
        self.problems.setAccessibleName("Profile problems")
        self.check_button = QPushButton("Check connection", self)
        self.check_button.setAccessibleName("Check connection")
        self.connection = QLabel(self)
        self.connection.setWordWrap(True)
        self.connection.setAccessibleName("Connection result")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        assert save is not None
        save.setAccessibleName("Save profile")
        self.save_button = save

        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.show_key)
        check_row = QHBoxLayout()
        check_row.addWidget(self.check_button)
        check_row.addWidget(self.connection, 1)
        form = QFormLayout(self)
        for label, field in (("&Name", self.name), ("&Host", self.host)):
            text = QLabel(label, self)
            text.setBuddy(field)
            form.addRow(text, field)
        key_label = QLabel("Project &key", self)
        key_label.setBuddy(self.key)
        form.addRow(key_label, key_row)
        colour_label = QLabel("&Colour", self)
        colour_label.setBuddy(self.color)
        form.addRow(colour_label, self.color)
        form.addRow("", self.production)
        form.addRow(self.problems)
        form.addRow(check_row)
        form.addRow(self.buttons)

        if draft is not None:
            self.name.setText(draft.name)
            self.host.setCurrentText(draft.host)
            self.key.setText(draft.key)
            self.color.setCurrentIndex(max(0, self.color.findData(draft.color)))
            self.production.setChecked(draft.production)
        if session_only:
            self.name.setReadOnly(True)
            self.color.setEnabled(False)
            self.production.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.show_key.toggled.connect(self._on_show_key)
        self.check_button.clicked.connect(self.check_connection)
        self.production.toggled.connect(self._on_production)
        for signal in (self.name.textChanged, self.host.currentTextChanged, self.key.textChanged):
            signal.connect(self.validate)
        self.validate()

    # -- values and validation -----------------------------------------------------------

    def draft(self) -> ProfileDraft:
        try:
            host = resolve_host(self.host.currentText()).url
        except HostError:
            host = self.host.currentText().strip()
        return ProfileDraft(
            self.name.text().strip(),
            host,
            self.key.text().strip(),
            str(self.color.currentData()),
            self.production.isChecked(),
        )

    def problem_lines(self) -> tuple[list[str], list[str]]:
        """(errors that block saving, warnings and hints)."""
        errors: list[str] = []
        hints: list[str] = []
        name = self.name.text().strip()
        if not name:
            errors.append("Give the profile a name.")
        elif name.casefold() in self._taken:
            errors.append(f"A profile named {name!r} already exists.")
        hostname = ""
        try:
            host = resolve_host(self.host.currentText())
            hostname = host.hostname
            hints.extend(f"{f.message} {f.fix}" for f in host.findings)
        except HostError as exc:
            errors.append(f"Host: {exc}.")
        key = self.key.text().strip()
        verdict = check_project_key(key)
        if verdict.verdict is KeyVerdict.REFUSED:
            errors.append(verdict.message)
        elif verdict.verdict is KeyVerdict.WARNING:
            hints.append(verdict.message)
        if key.startswith("phc_sandbox_") and hostname and not is_loopback(hostname):
            hints.append(
                "That is a local-sandbox key; no PostHog project owns it, so PostHog"
                " would drop every event sent with it."
            )
        return errors, hints

    def validate(self) -> bool:
        errors, hints = self.problem_lines()
        colors = status_colors(self.palette())
        lines = [
            f"<span style='color:{colors.client_error.name()}'>{_html(e)}</span>" for e in errors
        ]
        lines += [
            f"<span style='color:{colors.server_error.name()}'>{_html(h)}</span>" for h in hints
        ]
        self.problems.setText("<br>".join(lines))
        self.problems.setVisible(bool(lines))
        self.save_button.setEnabled(not errors)
        self.check_button.setEnabled(not any(e.startswith("Host:") for e in errors))
        return not errors

    def _on_show_key(self, shown: bool) -> None:
        self.key.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_key.setText("Hide" if shown else "Show")

    def _on_production(self, on: bool) -> None:
        if on and self.color.currentData() == COLORS[0]:
            self.color.setCurrentIndex(self.color.findData(PRODUCTION_COLOR))

    # -- check connection ------------------------------------------------------------------

    def check_connection(self) -> None:
        from composer.services.connection import check_connection

        self.check_button.setEnabled(False)
        self.connection.setText("Checking…")
        submit(
            self._pool,
            self,
            partial(check_connection, self.host.currentText(), self.key.text().strip()),
            self._on_checked,
            self._on_check_failed,
        )

    @Slot(int, object)
    def _on_checked(self, _tag: int, report: Any) -> None:
        colors = status_colors(self.palette())
        color = colors.ok if report.ok else colors.client_error
        detail = f"<br>{_html(report.detail)}" if report.detail else ""
        self.connection.setText(
            f"<span style='color:{color.name()}'>{_html(report.summary)}</span>{detail}"
        )
        self.check_button.setEnabled(True)

    @Slot(int, object)
    def _on_check_failed(self, _tag: int, exc: Any) -> None:
        self.connection.setText(f"The check failed: {_html(str(exc))}")
        self.check_button.setEnabled(True)

    def done(self, result: int) -> None:
        self._pool.waitForDone(100)
        super().done(result)

    @classmethod
    def ask(cls, parent: QWidget | None, **options: Any) -> ProfileDraft | None:
        dialog = cls(parent, **options)
        return dialog.draft() if dialog.exec() == QDialog.DialogCode.Accepted else None


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
