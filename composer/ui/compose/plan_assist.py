"""What the tracking plan gives the form: event names to complete, required properties to
pre-fill, and drop-downs of allowed values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from PySide6.QtCore import QObject, QStringListModel, Qt, SignalInstance
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from composer.core.compose.payloads import PayloadKind
from composer.core.plans.model import EventSpec, Plan
from composer.core.plans.prefill import enum_choices, planned_row
from composer.ui.widgets.properties_editor import PropertiesEditor


class AssistedForm(Protocol):
    """The parts of the compose form the plan fills in (ComposeForm is one)."""

    event_name: QLineEdit
    properties: PropertiesEditor
    set_editor: PropertiesEditor
    set_once_editor: PropertiesEditor
    message: SignalInstance

    def current_kind(self) -> PayloadKind: ...


class PlanAssist(QObject):
    def __init__(self, form: AssistedForm, parent: QWidget) -> None:
        super().__init__(parent)
        self.form = form
        self.plan: Plan | None = None
        self._choices_for: EventSpec | None = None
        self._names = QStringListModel(self)
        self.completer = QCompleter(self._names, parent)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        form.event_name.setCompleter(self.completer)
        self.completer.activated.connect(self._planned_event_chosen)
        form.event_name.editingFinished.connect(self._planned_event_chosen)
        form.event_name.textChanged.connect(self._offer_plan_choices)

    def set_plan(self, plan: Plan | None) -> None:
        """Complete event names from the plan and offer its allowed values."""
        self.plan = plan
        names = sorted(n for n in plan.events if not n.startswith("$")) if plan else []
        self._names.setStringList(names)
        self._choices_for = None
        self._offer_plan_choices()

    def planned_event(self) -> EventSpec | None:
        name = self.form.current_kind().event_name or self.form.event_name.text().strip()
        return self.plan.events.get(name) if self.plan is not None else None

    def _offer_plan_choices(self, *_args: object) -> None:
        spec = self.planned_event()
        if spec is self._choices_for:
            return  # the same planned event: its drop-downs are set already
        self._choices_for = spec
        self.form.properties.set_choices(enum_choices(spec.properties) if spec else {})
        self.form.set_editor.set_choices(enum_choices(spec.set) if spec else {})
        self.form.set_once_editor.set_choices(enum_choices(spec.set_once) if spec else {})

    def _planned_event_chosen(self, *_args: object) -> None:
        if self.form.event_name.isReadOnly() and self.form.current_kind().event_name is None:
            return  # JSON editing: the form only follows
        self.prefill_from_plan()

    def prefill_from_plan(self) -> int:
        """Add the planned event's required properties that are not in the form yet."""
        spec = self.planned_event()
        if spec is None:
            return 0
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        added = 0
        props, _ = self.form.properties.to_object()
        for editor, specs, inner in (
            (self.form.properties, spec.properties, None),
            (self.form.set_editor, spec.set, props.get("$set")),
            (self.form.set_once_editor, spec.set_once, props.get("$set_once")),
        ):
            # A person property already in properties.$set counts as set: a pre-filled blank
            # in the top-level $set would win over it (PostHog merges the top level last).
            present = set(inner) if isinstance(inner, dict) else set()
            rows = [
                planned_row(p, now) for p in specs.values() if p.required and p.name not in present
            ]
            added += editor.prefill(rows)
        self._offer_plan_choices()
        if added:
            self.form.message.emit(
                f"Added the {added} propert{'ies' if added != 1 else 'y'} the tracking plan"
                f" requires for {spec.name}."
            )
        return added
