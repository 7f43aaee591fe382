"""The live list of pre-flight findings, and what PostHog would answer."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QStyle,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from composer.core.capture.preflight import PredictedReply
from composer.core.findings import Finding, Severity
from composer.core.plans.check import is_plan_finding
from composer.ui import names
from composer.ui.theme import status_colors

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    SEVERITY = 0
    WHERE = 1
    MESSAGE = 2


_ICONS = {
    Severity.ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
    Severity.WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
    Severity.INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
}


def severity_icon(severity: Severity) -> QIcon:
    return QApplication.style().standardIcon(_ICONS[severity])


class FindingsModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._findings: list[Finding] = []
        self._icons: dict[Severity, QIcon] = {}

    def set_findings(self, findings: list[Finding]) -> None:
        ordered = sorted(findings, key=lambda f: f.severity.rank)  # stable: rule order kept
        if ordered == self._findings:
            return
        self.beginResetModel()
        self._findings = ordered
        self.endResetModel()

    def finding(self, row: int) -> Finding:
        return self._findings[row]

    def findings(self) -> list[Finding]:
        return list(self._findings)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._findings)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Severity", "Where", "What happens")[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        f = self._findings[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if column is Column.SEVERITY:
                return f.severity.value
            if column is Column.WHERE:
                return f.path or "$"
            return f.message
        if role == Qt.ItemDataRole.DecorationRole and column is Column.SEVERITY:
            if f.severity not in self._icons:
                self._icons[f.severity] = severity_icon(f.severity)
            return self._icons[f.severity]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{f.code}\n{f.message}\nFix: {f.fix}" if f.fix else f"{f.code}\n{f.message}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{f.severity.value} at {f.path or 'the body'}: {f.message} {f.fix}".strip()
        return None


class FindingsPane(QWidget):
    """Signals: activated(Finding): the user chose a finding (click or Enter)."""

    activated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tone = "ok"
        self.predicted = QLabel(self)
        self.predicted.setAccessibleName(names.PREDICTED_REPLY)
        self.predicted.setWordWrap(True)
        self.predicted.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = FindingsModel(self)
        self.view = QTreeView(self)
        self.view.setModel(self.model)
        self.view.setAccessibleName(names.FINDINGS)
        self.view.setObjectName("findings_view")
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setWordWrap(False)
        header = self.view.header()
        header.setSectionResizeMode(Column.SEVERITY, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.WHERE, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(Column.WHERE, 170)
        header.setStretchLastSection(True)
        self.detail = QLabel(self)
        self.detail.setObjectName("finding_detail_label")
        self.detail.setAccessibleName("Finding detail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setMinimumHeight(self.fontMetrics().lineSpacing() * 3)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.predicted)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.detail)
        self.view.activated.connect(self._on_activated)
        self.view.clicked.connect(self._on_activated)
        self.view.selectionModel().currentChanged.connect(self._on_current_changed)

    def show_result(
        self,
        findings: list[Finding],
        predicted: PredictedReply | None,
        waiting: Sequence[str] = (),
    ) -> None:
        """Show the findings; `waiting` names the empty fields of a new form whose findings
        are held back until they are touched (or Send is pressed)."""
        self.model.set_findings(findings)
        errors = sum(1 for f in findings if f.severity is Severity.ERROR)
        warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
        counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        if waiting and not errors:
            fields = " and ".join(waiting) if len(waiting) < 3 else ", ".join(waiting)
            text = f"To start, fill in {fields}. The check follows as you type."
            tone = "neutral"
        elif predicted is None:
            text, tone = f"Fix the JSON first ({counts}).", "client_error"
        elif (
            predicted.status == 200
            and errors
            and all(is_plan_finding(f) for f in findings if f.severity is Severity.ERROR)
        ):
            text = f"PostHog would accept this (200), but it breaks the tracking plan ({counts})."
            tone = "client_error"
        elif predicted.status == 200 and errors:
            text, tone = f"Not ready to send ({counts}).", "client_error"
        elif predicted.status == 200:
            text, tone = f"PostHog would accept this: 200 ({counts}).", "ok"
        else:
            text = f"PostHog would refuse this: {predicted.status} {predicted.body} ({counts})."
            tone = "client_error"
        self.predicted.setText(text)
        self._tone = tone
        self._apply_tone()
        current = self.view.currentIndex()
        self._show_detail(current.row() if current.isValid() else 0)

    def _apply_tone(self) -> None:
        # From the application palette: a widget's own palette can lag behind a theme switch.
        palette = QApplication.palette()
        if self._tone == "neutral":  # guidance, not a verdict
            color = palette.color(QPalette.ColorRole.WindowText)
        else:
            color = getattr(status_colors(palette), self._tone)
        sheet = f"color: {color.name()}; font-weight: 600;"
        if self.predicted.styleSheet() != sheet:  # a new style sheet costs a restyle (~40 ms)
            self.predicted.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_tone()  # the colour of the verdict follows light and dark

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_detail(current.row() if current.isValid() else 0)

    def _show_detail(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            self.detail.setText("")
            return
        f = self.model.finding(row)
        fix = f"<br><b>Fix:</b> {_escape(f.fix)}" if f.fix else ""
        self.detail.setText(
            f"<b>{_escape(f.code)}</b> at <code>{_escape(f.path or '$')}</code>:"
            f" {_escape(f.message)}{fix}"
        )

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.activated.emit(self.model.finding(index.row()))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
