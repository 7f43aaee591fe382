"""The payload form: a kind selector and the fields each kind needs.

One form serves every kind: rows that a kind does not use are hidden, and their values are kept,
so switching from Identify to Event and back loses nothing the user typed.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from composer.core import jsonpath
from composer.core.capture import endpoints
from composer.core.compose.payloads import (
    Composition,
    DistinctIdPlacement,
    PayloadKind,
    build_event,
    composition_from_event,
)
from composer.core.findings import Finding, Severity, Stage
from composer.core.plans.model import Plan
from composer.ui import names
from composer.ui.compose.plan_assist import PlanAssist
from composer.ui.compose.timestamp_edit import TimestampEdit
from composer.ui.theme import tint_field
from composer.ui.widgets.fields import show_start_when_set
from composer.ui.widgets.properties_editor import PropertiesEditor
from composer.ui.widgets.tabs import EditorTabs

# The kinds the selector offers; "merge dangerously" is an option of Alias.
KIND_CHOICES: tuple[tuple[str, PayloadKind], ...] = (
    ("Event", PayloadKind.EVENT),
    ("Identify", PayloadKind.IDENTIFY),
    ("Alias", PayloadKind.ALIAS),
    ("Group identify", PayloadKind.GROUP_IDENTIFY),
    ("Set person properties ($set)", PayloadKind.SET),
    ("Set person properties once ($set_once)", PayloadKind.SET_ONCE),
)
PLACEMENTS: tuple[tuple[str, DistinctIdPlacement], ...] = (
    ("at the top level", DistinctIdPlacement.TOP),
    ("in properties", DistinctIdPlacement.PROPERTIES),
    ("in both", DistinctIdPlacement.BOTH),
    ("left out", DistinctIdPlacement.OMIT),
)
MERGE_WARNING = (
    "$merge_dangerously merges the alias person into this one even if both are already"
    " identified. It cannot be undone."
)


# JSON paths a finding can name -> the form field that edits them.
FIELD_PATHS: dict[str, str] = {
    "event": "event_name",
    "distinct_id": "distinct_id",
    "$distinct_id": "distinct_id",
    "properties.distinct_id": "distinct_id",
    "timestamp": "timestamp",
    "uuid": "uuid",
    "properties.$anon_distinct_id": "anon_id",
    "properties.alias": "alias",
    "properties.$group_type": "group_type",
    "properties.$group_key": "group_key",
    "endpoint": "endpoint",
}


class ComposeForm(QWidget):
    """Signals:
    edited: any field changed.
    message: a short text for the status bar.
    """

    edited = Signal()
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._extra: dict[str, Any] = {}
        self._distinct_value: Any = ""  # a non-string id read from JSON, until retyped
        self._distinct_text = ""
        self._event_text = ""  # the name typed for a plain event; fixed-name kinds show theirs
        self._showing_fixed_name = False
        self._setting = False

        self.kind = QComboBox(self)
        self.kind.setAccessibleName(names.PAYLOAD_KIND)
        self.kind.setObjectName("payload_kind_combo")
        for label, kind in KIND_CHOICES:
            self.kind.addItem(label, kind.value)
        # Sized by its shorter choices, not by "Set person properties once ($set_once)": with
        # "Merge dangerously" beside it (Alias), that label made the form, and so the window,
        # 1,078 px at the least, wider than a 1024 px screen.
        self.kind.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.kind.setMinimumContentsLength(len("Group identify"))
        self.merge = QCheckBox("Merge dangerously", self)
        self.merge.setAccessibleName(names.MERGE_DANGEROUSLY)
        self.merge.setToolTip(MERGE_WARNING)
        self.merge_warning = QLabel(MERGE_WARNING, self)
        self.merge_warning.setWordWrap(True)
        self.merge_warning.setObjectName("merge_warning_label")

        self.endpoint = QComboBox(self)
        self.endpoint.setEditable(True)
        self.endpoint.setAccessibleName(names.ENDPOINT)
        self.endpoint.setObjectName("endpoint_combo")
        self.endpoint.addItems(list(endpoints.OFFERED))
        self.endpoint.setToolTip(
            "/i/v0/e/ and /capture/ take one event; /batch/ takes a batch envelope"
        )

        self.event_name = self._line(names.EVENT_NAME, "event_name_edit", "e.g. signed_up")
        self.distinct_id = self._line(names.DISTINCT_ID, "distinct_id_edit", "the user's id")
        self.placement = QComboBox(self)
        self.placement.setAccessibleName(names.DISTINCT_ID_PLACEMENT)
        self.placement.setToolTip("Where distinct_id goes in the event")
        for label, placement in PLACEMENTS:
            self.placement.addItem(label, placement.value)
        self.anon_id = self._line(
            names.ANON_DISTINCT_ID, "anon_distinct_id_edit", "the anonymous id to merge in"
        )
        self.alias = self._line(names.ALIAS, "alias_edit", "the other distinct id")
        self.group_type = self._line(names.GROUP_TYPE, "group_type_edit", "e.g. company")
        self.group_key = self._line(names.GROUP_KEY, "group_key_edit", "e.g. acme-inc")
        self.timestamp = TimestampEdit(self)
        self.uuid = self._line(names.UUID, "uuid_edit", "")
        self.uuid_auto = QCheckBox("Automatic", self)
        self.uuid_auto.setAccessibleName(names.UUID_AUTO)
        self.uuid_auto.setToolTip("A fresh uuid for every send, so a resend is a new event")
        self.uuid_auto.setChecked(True)

        self.properties = PropertiesEditor(names.PROPERTIES, self)
        self.set_editor = PropertiesEditor(names.SET, self)
        self.set_once_editor = PropertiesEditor(names.SET_ONCE, self)
        self.group_set = PropertiesEditor(names.GROUP_PROPERTIES, self)
        self.tabs = EditorTabs(names.EDITOR_TABS, self)
        self.tabs.setDocumentMode(True)

        distinct_row = QHBoxLayout()
        distinct_row.addWidget(self.distinct_id, 1)
        distinct_row.addWidget(self.placement)
        uuid_row = QHBoxLayout()
        uuid_row.addWidget(self.uuid, 1)
        uuid_row.addWidget(self.uuid_auto)
        kind_row = QHBoxLayout()
        kind_row.addWidget(self.kind, 1)
        kind_row.addWidget(self.merge)

        self.fields = QFormLayout()
        self.fields.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._labels: dict[QWidget, QLabel] = {}
        self._row("&Kind", kind_row, self.kind)
        self.fields.addRow(self.merge_warning)
        self._row("E&ndpoint", self.endpoint)
        self._row("&Event name", self.event_name)
        self._row("&Distinct ID", distinct_row, self.distinct_id)
        self._row("Anon&ymous ID", self.anon_id)
        self._row("&Alias", self.alias)
        self._row("Group t&ype", self.group_type)
        self._row("Group &key", self.group_key)
        self._row("&Timestamp", self.timestamp, self.timestamp.line)
        self._row("&UUID", uuid_row, self.uuid)

        layout = QVBoxLayout(self)
        layout.addLayout(self.fields)
        layout.addWidget(self.tabs, 1)

        for widget in (
            self.event_name,
            self.distinct_id,
            self.anon_id,
            self.alias,
            self.group_type,
            self.group_key,
            self.uuid,
        ):
            widget.textChanged.connect(self._changed)
        self.timestamp.edited.connect(self._changed)
        for editor in (self.properties, self.set_editor, self.set_once_editor, self.group_set):
            editor.edited.connect(self._changed)
            editor.edited.connect(self.update_tab_titles)
            editor.message.connect(self.message)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.merge.toggled.connect(self._kind_changed)
        self.placement.currentIndexChanged.connect(self._changed)
        self.endpoint.currentTextChanged.connect(self._changed)
        self.uuid_auto.toggled.connect(self._uuid_auto_toggled)
        show_start_when_set(self.uuid)
        show_start_when_set(self.timestamp.line)
        self.uuid.setText(str(uuidlib.uuid4()))
        self.uuid.setReadOnly(True)
        self.plan_assist = PlanAssist(self, self)
        self.completer = self.plan_assist.completer
        self._kind_changed()

    # -- construction helpers ----------------------------------------------------------------

    def _line(self, accessible: str, object_name: str, placeholder: str) -> QLineEdit:
        line = QLineEdit(self)
        line.setAccessibleName(accessible)
        line.setObjectName(object_name)
        line.setPlaceholderText(placeholder)
        return line

    def _row(self, label: str, field: Any, buddy: QWidget | None = None) -> None:
        text = QLabel(label, self)
        target = buddy or field
        text.setBuddy(target)
        self.fields.addRow(text, field)
        self._labels[target] = text

    def _set_row_visible(self, widget: QWidget, visible: bool) -> None:
        label = self._labels[widget]
        self.fields.setRowVisible(label, visible)

    # -- kind --------------------------------------------------------------------------------

    def current_kind(self) -> PayloadKind:
        kind = PayloadKind(self.kind.currentData())
        if kind is PayloadKind.ALIAS and self.merge.isChecked():
            return PayloadKind.MERGE_DANGEROUSLY
        return kind

    def set_kind(self, kind: PayloadKind) -> None:
        shown = PayloadKind.ALIAS if kind is PayloadKind.MERGE_DANGEROUSLY else kind
        self.kind.setCurrentIndex(self.kind.findData(shown.value))
        self.merge.setChecked(kind is PayloadKind.MERGE_DANGEROUSLY)

    def _kind_changed(self) -> None:
        kind = self.current_kind()
        alias_like = kind in (PayloadKind.ALIAS, PayloadKind.MERGE_DANGEROUSLY)
        self.merge.setVisible(alias_like)
        self.merge_warning.setVisible(kind is PayloadKind.MERGE_DANGEROUSLY)
        fixed = kind.event_name
        self.event_name.setReadOnly(fixed is not None)
        if fixed is not None:
            self.event_name.setPlaceholderText(fixed)
            self.event_name.setToolTip(f"{kind.label} events are always named {fixed}")
        else:
            self.event_name.setPlaceholderText("e.g. signed_up")
            self.event_name.setToolTip("")
        self._refresh_event_name_display()
        self._set_row_visible(self.anon_id, kind is PayloadKind.IDENTIFY)
        self._set_row_visible(self.alias, alias_like)
        self._set_row_visible(self.group_type, kind is PayloadKind.GROUP_IDENTIFY)
        self._set_row_visible(self.group_key, kind is PayloadKind.GROUP_IDENTIFY)
        self._rebuild_tabs(kind)
        self._changed()

    def _refresh_event_name_display(self) -> None:
        fixed = self.current_kind().event_name
        self._showing_fixed_name = True
        try:
            self.event_name.setText(fixed if fixed is not None else self._event_text)
        finally:
            self._showing_fixed_name = False

    def _rebuild_tabs(self, kind: PayloadKind) -> None:
        wanted: list[tuple[PropertiesEditor, str]] = []
        if kind is PayloadKind.GROUP_IDENTIFY:
            wanted.append((self.group_set, "Group properties"))
        wanted.append((self.properties, "Properties"))
        if kind in (PayloadKind.EVENT, PayloadKind.IDENTIFY, PayloadKind.SET):
            wanted.append((self.set_editor, "$set"))
        if kind in (PayloadKind.EVENT, PayloadKind.IDENTIFY, PayloadKind.SET_ONCE):
            wanted.append((self.set_once_editor, "$set_once"))
        current = self.tabs.currentWidget()
        self.tabs.blockSignals(True)
        while self.tabs.count():
            self.tabs.removeTab(0)
        for editor, title in wanted:
            self.tabs.addTab(editor, title)
        for editor in (self.properties, self.set_editor, self.set_once_editor, self.group_set):
            if not any(editor is w for w, _ in wanted):
                editor.setVisible(False)  # out of the tabs: must not linger over the form
        if kind in (PayloadKind.SET, PayloadKind.SET_ONCE):
            self.tabs.setCurrentWidget(
                self.set_editor if kind is PayloadKind.SET else self.set_once_editor
            )
        elif self.tabs.indexOf(current) >= 0:
            self.tabs.setCurrentWidget(current)
        self.tabs.blockSignals(False)
        self.update_tab_titles()

    def update_tab_titles(self) -> None:
        for i in range(self.tabs.count()):
            editor = self.tabs.widget(i)
            assert isinstance(editor, PropertiesEditor)
            base = {
                self.properties: "Properties",
                self.set_editor: "$set",
                self.set_once_editor: "$set_once",
                self.group_set: "Group properties",
            }[editor]
            count = sum(1 for r in editor.model.rows() if not r.blank)
            problems = len(editor.model.problems())
            title = f"{base} ({count})" if count else base
            self.tabs.setTabText(i, title + (" ⚠" if problems else ""))

    # -- reading and writing -------------------------------------------------------------------

    def _changed(self) -> None:
        if not self._showing_fixed_name and self.current_kind().event_name is None:
            self._event_text = self.event_name.text()
        if not self._setting:
            self.edited.emit()

    def _uuid_auto_toggled(self, on: bool) -> None:
        self.uuid.setReadOnly(on)
        if on and not self.uuid.text().strip():
            self.uuid.setText(str(uuidlib.uuid4()))
        self._changed()

    def _show_uuid(self, uuid: str | None, keep_mode: bool) -> None:
        """A body without a uuid of its own, or with the one made for it, leaves Automatic on:
        turning it off would send later events without a uuid, which PostHog cannot
        deduplicate. A uuid of the body's own is shown, and kept for every send."""
        if keep_mode:
            self.uuid.setText(uuid or "")
            return
        current = self.uuid.text().strip()
        if self.uuid_auto.isChecked() and uuid in (None, current):
            if not current:
                self.uuid.setText(str(uuidlib.uuid4()))
            return
        self.uuid_auto.setChecked(False)
        self.uuid.setText(uuid or "")

    def renew_uuid(self) -> None:
        """After a send: an automatic uuid makes the next send a new event."""
        if self.uuid_auto.isChecked():
            self.uuid.setText(str(uuidlib.uuid4()))

    def endpoint_path(self) -> str:
        return endpoints.normalize(self.endpoint.currentText())

    def composition(self) -> Composition:
        kind = self.current_kind()
        typed_id = self.distinct_id.text()
        distinct: Any = typed_id if typed_id != self._distinct_text else self._distinct_value
        props, _ = self.properties.to_object()
        set_values, _ = self.set_editor.to_object()
        set_once_values, _ = self.set_once_editor.to_object()
        group_values, _ = self.group_set.to_object()
        uses_set = kind in (PayloadKind.EVENT, PayloadKind.IDENTIFY, PayloadKind.SET)
        uses_set_once = kind in (PayloadKind.EVENT, PayloadKind.IDENTIFY, PayloadKind.SET_ONCE)
        return Composition(
            kind=kind,
            event=self._event_text if kind.event_name is None else "",
            distinct_id=distinct,
            distinct_id_placement=DistinctIdPlacement(self.placement.currentData()),
            properties=props,
            set=set_values if uses_set and (set_values or kind is PayloadKind.SET) else None,
            set_once=set_once_values
            if uses_set_once and (set_once_values or kind is PayloadKind.SET_ONCE)
            else None,
            anon_distinct_id=self.anon_id.text() or None,
            alias=self.alias.text() or None,
            group_type=self.group_type.text() or None,
            group_key=self.group_key.text() or None,
            group_set=group_values if kind is PayloadKind.GROUP_IDENTIFY else None,
            groups=None,
            process_person_profile=None,
            timestamp=self.timestamp.text() or None,
            uuid=self.uuid.text().strip() or None,
            extra=dict(self._extra),
        )

    def set_composition(self, c: Composition, *, keep_uuid_mode: bool = False) -> None:
        """Show a composition (from raw JSON, or a new payload) without emitting per field."""
        self._setting = True
        try:
            if c.kind is PayloadKind.EVENT:
                self._event_text = c.event or ""
            self.set_kind(c.kind)
            self._refresh_event_name_display()
            self._distinct_value = c.distinct_id
            self._distinct_text = (
                c.distinct_id if isinstance(c.distinct_id, str) else _compact(c.distinct_id)
            )
            self.distinct_id.setText(self._distinct_text)
            self.placement.setCurrentIndex(self.placement.findData(c.distinct_id_placement.value))
            self.anon_id.setText(c.anon_distinct_id or "")
            self.alias.setText(c.alias or "")
            self.group_type.setText(c.group_type or "")
            self.group_key.setText(c.group_key or "")
            props = dict(c.properties)
            if c.groups is not None:
                props["$groups"] = c.groups
            if c.process_person_profile is not None:
                props["$process_person_profile"] = c.process_person_profile
            self.properties.set_object(props)
            self.set_editor.set_object(c.set)
            self.set_once_editor.set_object(c.set_once)
            self.group_set.set_object(c.group_set)
            self.timestamp.set_text(c.timestamp or "")
            self._show_uuid(c.uuid, keep_uuid_mode)
            self._extra = dict(c.extra)
        finally:
            self._setting = False
        self.update_tab_titles()
        self.edited.emit()

    # -- the tracking plan ----------------------------------------------------------------

    def set_plan(self, plan: Plan | None) -> None:
        """Complete event names from the plan and offer its allowed values."""
        self.plan_assist.set_plan(plan)

    # -- drafts and templates -------------------------------------------------------------

    def editors(self) -> dict[str, PropertiesEditor]:
        return {
            "properties": self.properties,
            "$set": self.set_editor,
            "$set_once": self.set_once_editor,
            "$group_set": self.group_set,
        }

    def load_event(self, event: dict[str, Any], endpoint: str) -> None:
        """Show a template's event: an event without a uuid gets an automatic one."""
        self.set_composition(composition_from_event(event), keep_uuid_mode=True)
        automatic = "uuid" not in event
        self.uuid_auto.setChecked(automatic)
        if automatic:
            self.uuid.setText(str(uuidlib.uuid4()))
        self.endpoint.setCurrentText(endpoint)

    def template_event(self) -> dict[str, Any]:
        """The event a template stores: an automatic uuid is left out (a fresh one each send)."""
        event = build_event(self.composition())
        if self.uuid_auto.isChecked():
            event.pop("uuid", None)
        return event

    def new_payload(self) -> None:
        """Clear every field for a fresh payload of the current kind, with a new uuid."""
        kind = self.current_kind()
        self.uuid_auto.setChecked(True)
        self._event_text = ""
        self.set_composition(Composition.new(kind), keep_uuid_mode=True)
        self.event_name.setFocus()

    def set_read_only(self, read_only: bool) -> None:
        """While the JSON is edited directly, the form only follows it."""
        for widget in (
            self.kind,
            self.merge,
            self.placement,
            self.endpoint,
            self.timestamp,
            self.uuid_auto,
            self.tabs,
        ):
            widget.setEnabled(not read_only)
        for line in (self.distinct_id, self.anon_id, self.alias, self.group_type, self.group_key):
            line.setReadOnly(read_only)
        self.event_name.setReadOnly(read_only or self.current_kind().event_name is not None)
        self.uuid.setReadOnly(read_only or self.uuid_auto.isChecked())

    # -- problems and navigation -----------------------------------------------------------

    def problems(self) -> list[Finding]:
        """Values the form could not turn into JSON; they are left out of the body."""
        found: list[Finding] = []
        kind = self.current_kind()
        editors: list[tuple[PropertiesEditor, str]] = [(self.properties, "properties")]
        if kind is PayloadKind.GROUP_IDENTIFY:
            editors.append((self.group_set, "properties.$group_set"))
        if kind in (PayloadKind.EVENT, PayloadKind.IDENTIFY, PayloadKind.SET):
            editors.append((self.set_editor, "$set"))
        if kind in (PayloadKind.EVENT, PayloadKind.IDENTIFY, PayloadKind.SET_ONCE):
            editors.append((self.set_once_editor, "$set_once"))
        for editor, base in editors:
            _values, problems = editor.to_object()
            for p in problems:
                path = jsonpath.key(base, p.key) if p.key else f"{base} row {p.row + 1}"
                found.append(
                    Finding(
                        Severity.ERROR,
                        "form.invalid_value",
                        path,
                        f"{editor.name}, row {p.row + 1}: {p.message} This row is left out of"
                        " the body until it is fixed.",
                        "Fix the value in the marked row.",
                        stage=Stage.LOCAL,
                    )
                )
        return found

    def focus_order(self) -> list[QWidget]:
        """The fields top to bottom, then the editors' tab bar and each editor."""
        return [
            self.kind,
            self.merge,
            self.endpoint,
            self.event_name,
            self.distinct_id,
            self.placement,
            self.anon_id,
            self.alias,
            self.group_type,
            self.group_key,
            *self.timestamp.focus_order(),
            self.uuid,
            self.uuid_auto,
            self.tabs.tabBar(),
            *(w for e in self.editors().values() for w in e.focus_order()),
        ]

    def widget_for_path(self, path: str) -> QWidget | None:
        name = FIELD_PATHS.get(path)
        if name == "timestamp":
            return self.timestamp.line
        return getattr(self, name) if name else None

    def focus_path(self, path: str) -> bool:
        """Focus the field a finding's JSON path names; False when no field holds it."""
        widget = self.widget_for_path(path)
        if widget is not None and widget.isVisible():
            widget.setFocus(Qt.FocusReason.OtherFocusReason)
            return True
        parts = jsonpath.split(path)
        routes: list[tuple[list[str | int], PropertiesEditor]] = [
            (["properties", "$group_set"], self.group_set),
            (["properties"], self.properties),
            (["$set"], self.set_editor),
            (["$set_once"], self.set_once_editor),
        ]
        for prefix, editor in routes:
            if parts[: len(prefix)] == prefix and self.tabs.indexOf(editor) >= 0:
                self.tabs.setCurrentWidget(editor)
                key = parts[len(prefix)] if len(parts) > len(prefix) else None
                return editor.focus_key(str(key) if key is not None else None)
        return False

    def mark(self, findings: list[Finding]) -> None:
        """Outline the fields that findings point at (red for errors, amber for warnings)."""
        marks: dict[QWidget, Finding] = {}
        for f in findings:
            if f.event_index not in (None, 0) or f.severity is Severity.INFO:
                continue
            widget = self.widget_for_path(f.path)
            if widget is None:
                continue
            held = marks.get(widget)
            if held is None or f.severity.rank < held.severity.rank:
                marks[widget] = f
        for widget in (
            self.event_name,
            self.distinct_id,
            self.anon_id,
            self.alias,
            self.group_type,
            self.group_key,
            self.uuid,
            self.timestamp.line,
            self.endpoint,
        ):
            tint_field(widget, marks.get(widget))


def _compact(value: Any) -> str:
    from composer.core.jsonio import dumps_compact

    return dumps_compact(value).decode()
