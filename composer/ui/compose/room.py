"""The compose room: the form, the body preview (or the JSON being edited) and the findings.

It owns no payload logic: it reads the form into a Composition, asks the core for the body, the
rendered bytes and the findings, and says what Send should send. It keeps what composing needs
besides the form: JSON editing (its state and rules in `json_editing.py`), the {{variables}}
and the values drawn for them, the tracking plan, the template the form came from, and the
batch row the form is editing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from composer.core import jsonlocate
from composer.core.capture import bodies, endpoints
from composer.core.capture.parse import classify
from composer.core.capture.persons import prediction_findings
from composer.core.capture.preflight import CheckOptions, CheckResult, check_body, check_text
from composer.core.compose.payloads import PayloadKind, build_event, composition_from_event
from composer.core.findings import Finding
from composer.core.jsonio import JsonObject
from composer.core.persons import PersonGraph
from composer.core.plans.check import check_body_against_plan
from composer.core.plans.model import Plan
from composer.core.templates.document import (
    Template,
    TemplateType,
    suggest_name,
    without_fixed_uuid,
    without_keys,
)
from composer.core.templates.variables import (
    Dynamic,
    Resolution,
    Resolver,
    has_placeholders,
    unresolved_findings,
)
from composer.services.templates import TemplateEntry
from composer.ui.compose.findings_view import FindingsPane
from composer.ui.compose.first_steps import FirstSteps
from composer.ui.compose.form import ComposeForm
from composer.ui.compose.form_state import form_state, restore_form_state
from composer.ui.compose.json_editing import JsonEditing
from composer.ui.compose.preview import PreviewPane
from composer.ui.widgets.fit_scroll import FitWidthScrollArea

PREVIEW_INTERVAL_MS = 60  # at most ~16 preview updates a second while typing


@dataclass(frozen=True)
class ComposeShell:
    """What the room uses of the window around it: the target fields and three actions."""

    host: QLineEdit
    key: QLineEdit
    edit_json: QAction  # checkable; its state mirrors JSON editing
    show_key: QAction  # checkable: the preview shows the key unmasked
    copy: QAction


@dataclass(frozen=True)
class PreparedSend:
    """A finished body for Send: variables filled in, the key in place."""

    body: object  # JSON
    endpoint: str
    kind: str  # the payload kind's value, or "raw" for edited JSON


class ComposeRoom(QObject):
    """Signals:
    message(str, int): a status-bar text and how long to show it.
    edited(): the composition changed (the form, or the JSON being edited).
    row_edited(str, dict): the form, editing a batch row, changed it (uuid, the new event).
    """

    message = Signal(str, int)
    edited = Signal()
    row_edited = Signal(str, dict)

    def __init__(self, shell: ComposeShell, parent: QWidget) -> None:
        super().__init__(parent)
        self.shell = shell
        self._updating = False
        self.last_check: CheckResult | None = None
        self.last_findings: list[Finding] = []
        self.shown_findings: list[Finding] = []  # less what waits for a new form's first steps
        # {{variables}}: built-in values are remembered per place in the body (the memo) so the
        # preview shows what Send sends; a send clears it, so the next one gets fresh values.
        self.variables: dict[str, Any] = {}
        self.dynamic = Dynamic()
        self._memo: dict[tuple[str, str], Any] = {}
        self.current_template: TemplateEntry | None = None  # the template the form came from
        self._template_description = ""
        self.plan: Plan | None = None
        # The persons a send meets: the sandbox's, or None for an empty project (another
        # target's persons are not known here).
        self.persons: PersonGraph | None = None
        self.editing: str | None = None  # the uuid of the batch row the form edits

        self._build(parent)
        self.json_editing = JsonEditing(self.preview_pane, self.form, self)
        self.json_editing.message.connect(self.message)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_INTERVAL_MS)
        self._timer.timeout.connect(self.update_preview)
        self.form.edited.connect(self.schedule_update)
        self.form.edited.connect(self.edited)
        self.form.message.connect(self.show_message)
        self.preview.edited.connect(self.schedule_update)
        self.preview.edited.connect(self.edited)
        shell.host.textChanged.connect(self.schedule_update)
        shell.key.textChanged.connect(self.schedule_update)
        self.findings.activated.connect(self.go_to_finding)
        self.editing_done.clicked.connect(self.stop_editing_row)

    def _build(self, parent: QWidget) -> None:
        self.form = ComposeForm(parent)
        self.first_steps = FirstSteps(self.form)
        self.form_scroll = FitWidthScrollArea(parent)
        self.form_scroll.setWidget(self.form)
        self.form_scroll.setObjectName("form_scroll")
        self.form_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.preview_pane = PreviewPane(self.shell.edit_json, self.shell.copy, parent)
        self.preview = self.preview_pane.view
        self.preview_error = self.preview_pane.error
        self.findings = FindingsPane(parent)
        findings_box = QWidget(parent)
        findings_layout = QVBoxLayout(findings_box)
        findings_layout.setContentsMargins(4, 0, 4, 0)
        findings_layout.addWidget(QLabel("<b>Pre-flight check</b>", parent))
        findings_layout.addWidget(self.findings, 1)

        self.middle = QSplitter(Qt.Orientation.Vertical, parent)
        self.middle.setObjectName("middle_splitter")
        self.middle.addWidget(self.preview_pane)
        self.middle.addWidget(findings_box)
        self.middle.setStretchFactor(0, 3)
        self.middle.setStretchFactor(1, 2)

        self.editing_label = QLabel(parent)
        self.editing_label.setObjectName("editing_row_label")
        self.editing_label.setAccessibleName("Editing batch row")
        self.editing_label.setWordWrap(True)
        self.editing_done = QPushButton("Done editing the row", parent)
        self.editing_done.setAccessibleName("Done editing the row")
        editing = QHBoxLayout()
        editing.addWidget(self.editing_label, 1)
        editing.addWidget(self.editing_done)
        self.editing_box = QWidget(parent)
        self.editing_box.setLayout(editing)
        self.editing_box.setVisible(False)

    def show_message(self, text: str, ms: int = 6000) -> None:
        self.message.emit(text, ms)

    # -- preview and check -------------------------------------------------------------------

    def schedule_update(self) -> None:
        if not self._updating and not self._timer.isActive():
            self._timer.start()

    def _display_key(self) -> str:
        key = self.shell.key.text()
        return key if self.shell.show_key.isChecked() else bodies.mask_key(key)

    def _options(self, endpoint: str | None) -> CheckOptions:
        return CheckOptions(endpoint=endpoint, host=self.shell.host.text() or None)

    def template_body(self, api_key: str | None) -> Any:
        """The body the form describes, {{variables}} still in place."""
        event = build_event(self.form.composition())
        return bodies.body_for_endpoint([event], api_key or None, self.form.endpoint_path())

    def resolve(self, body: Any) -> Resolution:
        if not has_placeholders(body):
            return Resolution(body, [], set())
        return Resolver(self.variables, self.dynamic, self._memo).resolve(body)

    def batch_resolver(self) -> Resolver:
        """For a batch send: no memo, so every row gets its own $uuid, $now and $counter."""
        return Resolver(dict(self.variables), Dynamic())

    def set_plan(self, plan: Plan | None) -> None:
        self.plan = plan
        self.form.set_plan(plan)
        self.schedule_update()

    def set_persons(self, graph: PersonGraph | None) -> None:
        """The persons to predict merges against (None: an empty project)."""
        self.persons = graph
        self.schedule_update()

    def set_variables(self, variables: dict[str, object]) -> None:
        self.variables = dict(variables)
        self.schedule_update()

    def secrets(self) -> tuple[str, ...]:
        """Keys never to write to a file: the key field's, and any key in JSON being edited."""
        found = [self.shell.key.text(), *self.json_editing.keys()]
        return tuple(dict.fromkeys(k for k in found if k))

    def update_preview(self) -> None:
        """Re-render the preview and re-run the check (called through the throttle)."""
        self._timer.stop()
        self._updating = True
        try:
            if self.json_editing.on:
                self._update_from_raw()
            else:
                self._update_from_form()
        finally:
            self._updating = False

    def _update_from_form(self) -> None:
        if self.editing is not None:
            # Editing a batch row: what the form holds is written back to it (undoable).
            self.row_edited.emit(self.editing, build_event(self.form.composition()))
        key = self.shell.key.text()
        # One composition and one resolution per update: a 1 MB form is read once, and the
        # preview and the check see the same {{$...}} values.
        shown = self.resolve(self.template_body(key))
        display = bodies.with_api_key(shown.value, self._display_key()) if key else shown.value
        self.preview.set_text(bodies.render(display).decode())
        result = check_body(shown.value, self._options(self.form.endpoint_path()))
        unresolved = unresolved_findings(shown.unresolved)
        planned = check_body_against_plan(shown.value, self.plan)
        # What it does to persons, only for a request PostHog would accept.
        accepted = result.predicted.status < 300
        persons = prediction_findings(self.persons, shown.value) if accepted else []
        self._show_findings(
            [*self.form.problems(), *unresolved, *result.findings, *persons, *planned],
            result,
            form=True,
        )

    def _update_from_raw(self) -> None:
        text = self.preview.text()
        parsed = self.json_editing.read(text)
        if parsed is None:
            result = check_text(text, self._options(self.form.endpoint_path()))
            self._show_findings(result.findings, None)
            return
        resolution = self.resolve(self.json_editing.body(self.shell.key.text()))
        result = check_body(resolution.value, self._options(None))
        self.json_editing.follow(parsed, result.endpoint)
        self._show_findings(
            [
                *unresolved_findings(resolution.unresolved),
                *result.findings,
                *(
                    prediction_findings(self.persons, resolution.value)
                    if result.predicted.status < 300
                    else []
                ),
                *check_body_against_plan(resolution.value, self.plan),
            ],
            result,
        )

    def _show_findings(
        self, findings: list[Finding], result: CheckResult | None, *, form: bool = False
    ) -> None:
        self.last_check = result
        self.last_findings = findings
        shown, waiting = self.first_steps.split(findings) if form else (findings, [])
        self.shown_findings = shown
        predicted = result.predicted if result is not None else None
        self.findings.show_result(shown, predicted, waiting)
        self.form.mark(shown)

    @Slot(object)
    def go_to_finding(self, finding: Finding) -> None:
        error = self.json_editing.error
        if finding.code == "body.invalid_json" and error is not None:
            self.preview.go_to(error.line, error.column)
            return
        if finding.path == "host":
            self.shell.host.setFocus()
            return
        if finding.path == "api_key" and not self.json_editing.on:
            self.shell.key.setFocus()
            return
        if (
            not self.json_editing.on
            and finding.event_index in (None, 0)
            and self.form.focus_path(finding.path)
        ):
            return
        where = jsonlocate.locate(self.preview.text(), finding.path)
        if where is not None:
            self.preview.go_to(*where)

    def focus_order(self) -> list[QWidget]:
        """The form, the body and its findings, as they stand left to right."""
        return [*self.form.focus_order(), *self.preview_pane.focus_order(), self.findings.view]

    # -- JSON editing --------------------------------------------------------------------------

    @property
    def raw_mode(self) -> bool:
        return self.json_editing.on

    def set_raw_mode(self, on: bool) -> bool:
        """Switch JSON editing on or off; False when the user chose to stay where they were."""
        if on == self.json_editing.on:
            return True
        if not self.json_editing.switch(on):
            return False
        self.update_preview()
        return True

    def _edit_json_quietly(self, text: str) -> bool:
        """Turn JSON editing on with `text`, the Edit JSON action following without a signal."""
        if not self.set_raw_mode(True):
            return False
        self.shell.edit_json.blockSignals(True)
        self.shell.edit_json.setChecked(True)
        self.shell.edit_json.blockSignals(False)
        self.preview.set_text(text)
        return True

    # -- actions on the composition ------------------------------------------------------------

    def new_payload(self) -> None:
        self.stop_editing_row()
        self.current_template = None
        self._template_description = ""
        if self.json_editing.on:
            self.json_editing.forget()
            self.set_raw_mode(False)
        self.form.new_payload()
        self.first_steps.restart()
        self.update_preview()

    def focus_event_name(self) -> None:
        self.form.event_name.setFocus()
        self.form.event_name.selectAll()

    def copy_body(self) -> None:
        self.update_preview()
        QGuiApplication.clipboard().setText(self.preview.text())
        masked = "" if self.shell.show_key.isChecked() else " (key masked)"
        self.show_message(f"Body copied{masked}.")

    def key_visibility_changed(self, shown: bool) -> None:
        self.json_editing.show_key(self.shell.key.text(), shown)
        self.update_preview()

    def restore_kind(self, kind: str) -> None:
        if kind in {k.value for k in PayloadKind}:
            self.form.set_kind(PayloadKind(kind))
        self.update_preview()

    # -- sending -------------------------------------------------------------------------------

    def reveal_findings(self) -> None:
        """Every finding shows from now on, the empty fields of a new form's included."""
        if self.first_steps.fresh:
            self.first_steps.reveal()
            self.update_preview()

    def prepare_send(self) -> PreparedSend | None:
        """The body Send sends, with fresh {{$...}} values; None (and a message saying what to
        fix) when there is nothing sendable."""
        self._memo.clear()  # {{$now}}, {{$uuid}} ... are taken at send time
        self.first_steps.reveal()
        self.update_preview()
        key = self.shell.key.text()
        editing = self.json_editing
        if editing.on:
            if editing.value is None:
                self.show_message("Fix the JSON first; the error is marked in the body.", 10000)
                self.preview.setFocus()
                return None
            resolution = self.resolve(editing.body(key))
            if self._refuse_unresolved(resolution):
                return None
            if not has_placeholders(editing.value):
                # What is shown is what is sent: the edited text becomes the exact rendering.
                # (Text with {{variables}} stays as written; the response keeps what was sent.)
                display = editing.body(self._display_key()) if key else editing.value
                self.preview.set_text(bodies.render(display).decode())
            endpoint = self.last_check.endpoint if self.last_check else endpoints.DEFAULT
            return PreparedSend(resolution.value, endpoint, "raw")
        problems = self.form.problems()
        if problems:
            self.show_message(f"Fix the marked values first: {problems[0].message}", 10000)
            self.form.focus_path(problems[0].path)
            return None
        resolution = self.resolve(self.template_body(key))
        if self._refuse_unresolved(resolution):
            return None
        return PreparedSend(
            resolution.value, self.form.endpoint_path(), self.form.current_kind().value
        )

    def _refuse_unresolved(self, resolution: Resolution) -> bool:
        if not resolution.unresolved:
            return False
        first = unresolved_findings(resolution.unresolved)[0]
        self.show_message(f"Not sent: {first.message} {first.fix}", 15000)
        self.go_to_finding(first)
        return True

    def after_send(self, accepted: bool) -> None:
        """A send ended: the next one draws new {{$...}} values, and a new uuid if accepted."""
        self._memo.clear()
        self.schedule_update()
        if accepted:
            self.form.renew_uuid()

    def reopen(self, body: object, endpoint: str) -> bool:
        """A past send's body as a new composition: a fresh uuid, the current key."""
        events = [e for e in classify(body)[1] if isinstance(e, dict)]
        if self.json_editing.on and not self.set_raw_mode(False):
            return False
        self.stop_editing_row()
        self.current_template = None
        self.first_steps.reveal()
        if len(events) == 1:
            event = {k: v for k, v in without_keys(events[0]).items() if k != "uuid"}
            self.form.load_event(event, endpoint)
        else:
            self.shell.edit_json.setChecked(True)  # JSON editing, for a whole batch
            key = self.shell.key.text()
            stripped = bodies.with_api_key(body, self._display_key()) if key else body
            self.preview.set_text(bodies.render(stripped).decode())
        self.update_preview()
        return True

    # -- the batch ---------------------------------------------------------------------------

    def events_for_batch(self) -> list[JsonObject] | None:
        """The form's payload (or every event of the edited JSON), to add to the batch."""
        self.update_preview()
        value = self.json_editing.value
        if self.json_editing.on:
            if value is None:
                self.show_message("Fix the JSON first; then it can be added.", 8000)
                return None
            return [without_keys(e) for e in classify(value)[1] if isinstance(e, dict)]
        return [build_event(self.form.composition())]

    def added_to_batch(self, count: int) -> None:
        self.stop_editing_row()
        self.form.renew_uuid()  # the next payload is a new event
        self.show_message(f"Added {count} event{'s' * (count != 1)} to the batch.")

    def edit_row(self, uuid: str, event: JsonObject, position: int) -> None:
        """Load a batch row into the form; every later change goes back to the row."""
        if self.json_editing.on:
            return
        self.editing = None  # loading the row must not write it back
        self.current_template = None  # Save template must not put the row over the template
        self.first_steps.reveal()
        self.form.set_composition(composition_from_event(event))
        self.editing = uuid
        name = event.get("event")
        self.editing_label.setText(
            f"Editing batch row {position + 1} ({name or 'no name'}): changes are"
            " saved to the row; Edit → Undo in the batch takes them back."
        )
        self.editing_box.setVisible(True)
        self.update_preview()

    def stop_editing_row(self) -> None:
        self.editing = None
        self.editing_box.setVisible(False)

    # -- templates ----------------------------------------------------------------------------

    def load_template(self, template: Template, entry: TemplateEntry) -> None:
        if self.json_editing.on and not self.set_raw_mode(False):
            return
        self.stop_editing_row()
        self.first_steps.reveal()
        self.form.load_event(template.event, template.endpoint)
        self.current_template = None if entry.builtin else entry
        self._template_description = template.description
        self._memo.clear()
        self.update_preview()
        self.form.event_name.setFocus()

    def template_saved(self, entry: TemplateEntry) -> None:
        if entry.type is TemplateType.PAYLOAD and not self.json_editing.on:
            self.current_template = entry
            self._template_description = entry.description

    def payload_template(self) -> Template | None:
        """What Save template writes: the form's payload, or the events of the edited JSON."""
        entry = self.current_template
        name = entry.name if entry is not None else ""
        value = self.json_editing.value
        if self.json_editing.on:
            if value is None:
                self.show_message("Fix the JSON first; then it can be saved.", 8000)
                return None
            events = [without_fixed_uuid(e) for e in classify(value)[1] if isinstance(e, dict)]
            endpoint = self.last_check.endpoint if self.last_check else endpoints.DEFAULT
            kind = TemplateType.PAYLOAD if len(events) == 1 else TemplateType.BATCH
            return Template(
                name or suggest_name(events), kind, events, endpoint, self._template_description
            )
        event = self.form.template_event()
        return Template(
            name or suggest_name([event]),
            TemplateType.PAYLOAD,
            [event],
            self.form.endpoint_path(),
            self._template_description,
        )

    # -- drafts --------------------------------------------------------------------------------

    def draft_state(self) -> dict[str, Any]:
        """What a draft keeps: the form (invalid rows included), JSON being edited, and the
        template the form was opened from."""
        entry = self.current_template
        return {
            "form": form_state(self.form),
            "raw_text": self.preview.text() if self.json_editing.on else None,
            "template": entry.to_draft(self._template_description) if entry else None,
        }

    def restore_draft(self, doc: dict[str, Any]) -> None:
        form = doc.get("form")
        if isinstance(form, dict):
            restore_form_state(self.form, form)
        origin = TemplateEntry.from_draft(doc.get("template"))
        if origin is not None:
            self.current_template, self._template_description = origin
        raw = doc.get("raw_text")
        if isinstance(raw, str):
            self._edit_json_quietly(raw)
        self.update_preview()
        self.show_message("Restored the composition and batch from your last session.", 6000)
