"""The composing workspace: form | JSON preview and findings | response.

It owns no payload logic: it reads the form into a Composition, asks the core for the body, the
rendered bytes and the findings, and hands sends to the SendController. The main window around
it holds the toolbar (host, key, Send, Cancel), the menus and the status bar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from composer.core import jsonlocate
from composer.core.capture import bodies, endpoints
from composer.core.capture.hosts import HostError, resolve_host
from composer.core.capture.parse import BodyEncodingError, classify, parse_text
from composer.core.capture.preflight import CheckOptions, CheckResult, check_body, check_text
from composer.core.compose.payloads import PayloadKind, build_event, composition_from_event
from composer.core.findings import Finding
from composer.core.jsonio import JsonSyntaxError, dumps_compact, loads
from composer.core.plans.check import check_body_against_plan
from composer.core.plans.model import Plan
from composer.core.templates.document import Template, TemplateType, without_keys
from composer.core.templates.variables import (
    Dynamic,
    Resolution,
    Resolver,
    has_placeholders,
    unresolved_findings,
)
from composer.sandbox.local import LocalSandbox, start_local_sandbox
from composer.ui import dialogs, names
from composer.ui.batch.panel import BatchPanel
from composer.ui.compose.findings_view import FindingsPane
from composer.ui.compose.form import ComposeForm
from composer.ui.drafts import DraftKeeper
from composer.ui.history.panel import HistoryPanel
from composer.ui.plan.panel import PlanPanel
from composer.ui.profiles.controller import ProfilesController
from composer.ui.sandbox.inbox import InboxPane
from composer.ui.send.controller import SendController, SendRequest
from composer.ui.send.response_pane import ResponsePane, SendEntry
from composer.ui.tasks import submit
from composer.ui.templates.panel import TemplatesPanel
from composer.ui.theme import status_colors
from composer.ui.widgets.json_view import JsonView

if TYPE_CHECKING:
    from composer.ui.main_window import MainWindow

PREVIEW_INTERVAL_MS = 60  # at most ~16 preview updates a second while typing


class Workspace(QWidget):
    """Signals: message(str, int): a status-bar text and how long to show it (0: until next)."""

    message = Signal(str, int)

    def __init__(self, shell: MainWindow, controller: SendController | None = None) -> None:
        super().__init__(shell)
        self.shell = shell
        self.host: QLineEdit = shell.host
        self.key: QLineEdit = shell.key
        self.controller = controller or SendController(parent=self)
        self.controller.setParent(self)
        self._raw_mode = False
        self._raw_value: Any = None
        self._raw_error: JsonSyntaxError | None = None
        self._updating = False
        self.last_check: CheckResult | None = None
        self.last_findings: list[Finding] = []
        self.sandbox: LocalSandbox | None = None
        self._sandbox_pool = QThreadPool(self)
        # {{variables}}: built-in values are remembered per place in the body (the memo) so the
        # preview shows what Send sends; a send clears it, so the next one gets fresh values.
        self.variables: dict[str, Any] = {}
        self.dynamic = Dynamic()
        self._memo: dict[tuple[str, str], Any] = {}
        self.current_template: Any = None  # the TemplateEntry the form was opened from
        self.plan: Plan | None = None  # the active tracking plan
        self._template_description = ""

        self._build()
        self.profiles = ProfilesController(shell, self)
        self.profiles.message.connect(self.show_message)
        self.profiles.banner.connect(self._show_banner)
        self.banner_session.clicked.connect(self.profiles.enter_for_session)
        self.banner_retry.clicked.connect(self.profiles.retry)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_INTERVAL_MS)
        self._timer.timeout.connect(self.update_preview)

        self.form.edited.connect(self.schedule_update)
        self.form.message.connect(self.show_message)
        self.host.textChanged.connect(self.schedule_update)
        self.key.textChanged.connect(self.schedule_update)
        self.preview.edited.connect(self.schedule_update)
        self.findings.activated.connect(self.go_to_finding)
        self.controller.started.connect(self._on_send_started)
        self.controller.finished.connect(self._on_send_finished)
        self.controller.failed.connect(self._on_send_failed)
        self.controller.cancelled.connect(self._on_send_cancelled)
        self.batch.add_requested.connect(self.add_to_batch)
        self.batch.row_selected.connect(self.edit_row)
        self.batch.message.connect(self.show_message)
        self.batch.context = self._batch_target
        self.batch.transport_factory = self.controller.transport
        self.batch.resolver_factory = self.batch_resolver
        self.templates.open_requested.connect(self.open_template)
        self.templates.saved.connect(self._on_template_saved)
        self.templates.variables_changed.connect(self._on_variables_changed)
        self.templates.message.connect(self.show_message)
        self.templates.secrets = self.secrets
        self.templates.folder_changed.connect(self.plan_panel.set_folder)
        self.plan_panel.plan_changed.connect(self._on_plan_changed)
        self.plan_panel.message.connect(self.show_message)
        self.plan_panel.batch_events = self._batch_events
        self.plan_panel.inbox_events = self.inbox.events
        self.batch.plan_provider = lambda: self.plan
        self.plan_panel.batch_busy = lambda: bool(self.batch.busy)
        for change in (
            self.batch.model.rowsInserted,
            self.batch.model.rowsRemoved,
            self.batch.model.modelReset,
            self.batch.model.dataChanged,  # an edited row may break the plan, or stop to
        ):
            change.connect(self.plan_panel.schedule_count)
        self.inbox.count_changed.connect(self.plan_panel.schedule_count)
        self.history.show_requested.connect(self.show_history_entry)
        self.history.reopen_requested.connect(self.reopen_history)
        self.history.resend_requested.connect(self.resend_history)
        self.history.message.connect(self.show_message)
        self.editing_done.clicked.connect(self.stop_editing_row)
        self.editing: str | None = None
        self.drafts = DraftKeeper(self)  # started by the window once its state is restored
        self.profiles.load()
        self.start_sandbox()
        self.templates.start()
        self.history.start()

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        self.form = ComposeForm(self)
        form_scroll = QScrollArea(self)
        form_scroll.setWidget(self.form)
        form_scroll.setWidgetResizable(True)
        form_scroll.setObjectName("form_scroll")
        form_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.preview = JsonView(self)
        self.preview.setAccessibleName(names.JSON_PREVIEW)
        self.preview.setObjectName("json_preview_view")
        self.preview_error = QLabel(self)
        self.preview_error.setObjectName("json_error_label")
        self.preview_error.setWordWrap(True)
        self.preview_error.setVisible(False)
        self.edit_json_button = QToolButton(self)
        self.edit_json_button.setDefaultAction(self.shell.edit_json_action)
        self.edit_json_button.setAccessibleName(names.EDIT_JSON)
        self.copy_button = QToolButton(self)
        self.copy_button.setDefaultAction(self.shell.copy_action)
        self.copy_button.setAccessibleName(names.COPY_BODY)
        preview_bar = QHBoxLayout()
        preview_bar.addWidget(QLabel("<b>Body</b> — exactly what Send sends", self), 1)
        preview_bar.addWidget(self.edit_json_button)
        preview_bar.addWidget(self.copy_button)
        preview_box = QWidget(self)
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.setContentsMargins(4, 0, 4, 0)
        preview_layout.addLayout(preview_bar)
        preview_layout.addWidget(self.preview, 1)
        preview_layout.addWidget(self.preview_error)

        self.findings = FindingsPane(self)
        findings_box = QWidget(self)
        findings_layout = QVBoxLayout(findings_box)
        findings_layout.setContentsMargins(4, 0, 4, 0)
        findings_layout.addWidget(QLabel("<b>Pre-flight check</b>", self))
        findings_layout.addWidget(self.findings, 1)

        self.middle = QSplitter(Qt.Orientation.Vertical, self)
        self.middle.setObjectName("middle_splitter")
        self.middle.addWidget(preview_box)
        self.middle.addWidget(findings_box)
        self.middle.setStretchFactor(0, 3)
        self.middle.setStretchFactor(1, 2)

        self.response = ResponsePane(self)
        self.inbox = InboxPane(self)
        self.inbox.count_changed.connect(self._on_inbox_count)
        self.right_tabs = QTabWidget(self)
        self.right_tabs.setObjectName("right_tabs")
        self.right_tabs.setAccessibleName("Response and inbox")
        self.right_tabs.addTab(self.response, "Response")
        self.right_tabs.addTab(self.inbox, "Sandbox inbox")
        response_box = QWidget(self)
        response_layout = QVBoxLayout(response_box)
        response_layout.setContentsMargins(4, 0, 4, 0)
        response_layout.addWidget(self.right_tabs, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("main_splitter")
        self.splitter.addWidget(form_scroll)
        self.splitter.addWidget(self.middle)
        self.splitter.addWidget(response_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.setChildrenCollapsible(False)
        self.banner = QFrame(self)
        self.banner.setObjectName("keyring_banner")
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner_text = QLabel(self.banner)
        self.banner_text.setWordWrap(True)
        self.banner_text.setAccessibleName("Keyring problem")
        self.banner_session = QPushButton("Enter host and key for this session…", self.banner)
        self.banner_session.setAccessibleName("Enter host and key for this session")
        self.banner_retry = QPushButton("Try the keyring again", self.banner)
        self.banner_retry.setAccessibleName("Try the keyring again")
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.addWidget(self.banner_text, 1)
        banner_layout.addWidget(self.banner_session)
        banner_layout.addWidget(self.banner_retry)
        self.banner.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.batch = BatchPanel(self)
        self.editing_label = QLabel(self)
        self.editing_label.setObjectName("editing_row_label")
        self.editing_label.setAccessibleName("Editing batch row")
        self.editing_label.setWordWrap(True)
        self.editing_done = QPushButton("Done editing the row", self)
        self.editing_done.setAccessibleName("Done editing the row")
        editing = QHBoxLayout()
        editing.addWidget(self.editing_label, 1)
        editing.addWidget(self.editing_done)
        self.editing_box = QWidget(self)
        self.editing_box.setLayout(editing)
        self.editing_box.setVisible(False)
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.editing_box)
        top_layout.addWidget(self.splitter, 1)
        self.templates = TemplatesPanel(self)
        self.bottom_tabs = QTabWidget(self)
        self.bottom_tabs.setObjectName("bottom_tabs")
        self.bottom_tabs.setAccessibleName("Batch, templates and history")
        self.bottom_tabs.setDocumentMode(True)
        self.bottom_tabs.addTab(self.batch, "Batch")
        self.bottom_tabs.addTab(self.templates, "Templates")
        self.history = HistoryPanel(self)
        self.bottom_tabs.addTab(self.history, "History")
        self.plan_panel = PlanPanel(self)
        self.bottom_tabs.addTab(self.plan_panel, "Plan")
        self.outer = QSplitter(Qt.Orientation.Vertical, self)
        self.outer.setObjectName("batch_splitter")
        self.outer.addWidget(top)
        self.outer.addWidget(self.bottom_tabs)
        self.outer.setStretchFactor(0, 3)
        self.outer.setStretchFactor(1, 1)
        self.outer.setChildrenCollapsible(True)
        # About six rows of batch visible on first start; saved sizes replace this later.
        self.outer.setSizes([620, 270])
        layout.addWidget(self.banner)
        layout.addWidget(self.outer, 1)

    def splitters(self) -> dict[str, QSplitter]:
        return {
            "main_splitter": self.splitter,
            "middle_splitter": self.middle,
            "response_splitter": self.response.splitter,
            "inbox_splitter": self.inbox.splitter,
            "batch_splitter": self.outer,
        }

    # -- the local sandbox -------------------------------------------------------------------

    def start_sandbox(self) -> None:
        """Start (or find) the local sandbox on a worker thread; the inbox follows it."""
        submit(
            self._sandbox_pool,
            self,
            start_local_sandbox,
            self._on_sandbox_started,
            self._on_sandbox_failed,
        )

    def _show_banner(self, text: str) -> None:
        self.banner_text.setText(text)
        self.banner.setVisible(bool(text))
        if text:
            colors = status_colors(self.palette())
            self.banner.setStyleSheet(
                f"QFrame#keyring_banner {{ background: {colors.warning_background.name()}; }}"
            )

    @Slot(int, object)
    def _on_sandbox_started(self, _tag: int, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.profiles.set_sandbox_url(sandbox.url)
        self.inbox.watch(sandbox.db, sandbox.url, sandbox.note)
        if sandbox.note:
            self.show_message(sandbox.note, 10000)

    @Slot(int, object)
    def _on_sandbox_failed(self, _tag: int, exc: Any) -> None:
        text = f"The local sandbox could not start: {exc}"
        self.inbox.where.setText(text)
        self.show_message(text, 15000)

    def _on_inbox_count(self, count: int) -> None:
        index = self.right_tabs.indexOf(self.inbox)
        self.right_tabs.setTabText(index, f"Sandbox inbox ({count})" if count else "Sandbox inbox")

    def shutdown(self) -> None:
        """Stop the inbox, the sandbox this window started, and running sends."""
        self.drafts.flush()
        self.batch.shutdown()
        self.templates.shutdown()
        self.history.shutdown()
        self.plan_panel.shutdown()
        self.profiles.shutdown()
        self.inbox.stop()
        self.controller.shutdown()
        self._sandbox_pool.waitForDone(5000)
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None

    def show_message(self, text: str, ms: int = 6000) -> None:
        self.message.emit(text, ms)

    # -- preview and check -------------------------------------------------------------------

    def schedule_update(self) -> None:
        if not self._updating and not self._timer.isActive():
            self._timer.start()

    def _display_key(self) -> str:
        key = self.key.text()
        return key if self.shell.show_key_action.isChecked() else bodies.mask_key(key)

    def _options(self, endpoint: str | None) -> CheckOptions:
        return CheckOptions(endpoint=endpoint, host=self.host.text() or None)

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

    def _batch_events(self) -> list[Any]:
        return [row.wire_event for row in self.batch.model.rows]

    def _on_plan_changed(self, plan: Any) -> None:
        self.plan = plan
        self.form.set_plan(plan)
        self.inbox.set_plan(plan)
        self.batch.recheck()
        self.schedule_update()

    def _on_variables_changed(self, variables: Any) -> None:
        self.variables = dict(variables)
        self.batch.recheck()
        self.schedule_update()

    def secrets(self) -> tuple[str, ...]:
        """Keys never to write to a file: the key field's, and any key in JSON being edited."""
        found = [self.key.text()]
        if self._raw_mode and self._raw_value is not None:
            found.extend(bodies.keys_in(self._raw_value))
        return tuple(dict.fromkeys(k for k in found if k))

    def update_preview(self) -> None:
        """Re-render the preview and re-run the check (called through the throttle)."""
        self._timer.stop()
        self._updating = True
        try:
            if self._raw_mode:
                self._update_from_raw()
            else:
                self._update_from_form()
        finally:
            self._updating = False

    def _update_from_form(self) -> None:
        if self.editing is not None:
            # Editing a batch row: what the form holds is written back to it (undoable).
            self.batch.edit_row(self.editing, build_event(self.form.composition()))
        key = self.key.text()
        # One composition and one resolution per update: a 1 MB form is read once, and the
        # preview and the check see the same {{$...}} values.
        shown = self.resolve(self.template_body(key))
        display = bodies.with_api_key(shown.value, self._display_key()) if key else shown.value
        self.preview.set_text(bodies.render(display).decode())
        result = check_body(shown.value, self._options(self.form.endpoint_path()))
        unresolved = unresolved_findings(shown.unresolved)
        planned = check_body_against_plan(shown.value, self.plan)
        self._show_findings(
            [*self.form.problems(), *unresolved, *result.findings, *planned], result
        )

    def _update_from_raw(self) -> None:
        text = self.preview.text()
        try:
            parsed = parse_text(text)
        except (JsonSyntaxError, BodyEncodingError) as exc:
            self._raw_value = None
            self._raw_error = exc if isinstance(exc, JsonSyntaxError) else None
            if isinstance(exc, JsonSyntaxError):
                where = f"line {exc.line}, column {exc.column}: {exc.message}"
                self.preview.mark_line(exc.line)
            else:
                where = str(exc)
            self.preview_error.setText(f"Not valid JSON at {where}. Your text is kept as it is.")
            self.preview_error.setVisible(True)
            result = check_text(text, self._options(self.form.endpoint_path()))
            self._show_findings(result.findings, None)
            return
        self._raw_error = None
        self.preview_error.setVisible(False)
        self.preview.mark_line(None)
        self._raw_value = parsed.value
        resolution = self.resolve(self.raw_body(self.key.text()))
        result = check_body(resolution.value, self._options(None))
        events = [e for e in parsed.events if isinstance(e, dict)]
        if events:
            self.form.blockSignals(True)
            try:
                self.form.set_composition(composition_from_event(events[0]))
                if endpoints.is_batch(result.endpoint) != endpoints.is_batch(
                    self.form.endpoint_path()
                ):
                    self.form.endpoint.setCurrentText(result.endpoint)
            finally:
                self.form.blockSignals(False)
        if len(events) > 1:
            self.preview_error.setText(
                f"The body holds {len(events)} events; the form shows the first."
            )
            self.preview_error.setVisible(True)
        self._show_findings(
            [
                *unresolved_findings(resolution.unresolved),
                *result.findings,
                *check_body_against_plan(resolution.value, self.plan),
            ],
            result,
        )

    def raw_body(self, api_key: str) -> Any:
        """The edited JSON with the toolbar key in it (the key field always wins)."""
        value = self._raw_value
        return bodies.with_api_key(value, api_key) if api_key else value

    def _show_findings(self, findings: list[Finding], result: CheckResult | None) -> None:
        self.last_check = result
        self.last_findings = findings
        self.findings.show_result(findings, result.predicted if result is not None else None)
        self.form.mark(findings)

    @Slot(object)
    def go_to_finding(self, finding: Finding) -> None:
        if finding.code == "body.invalid_json" and self._raw_error is not None:
            self.preview.go_to(self._raw_error.line, self._raw_error.column)
            return
        if finding.path == "host":
            self.host.setFocus()
            return
        if finding.path == "api_key" and not self._raw_mode:
            self.key.setFocus()
            return
        if (
            not self._raw_mode
            and finding.event_index in (None, 0)
            and self.form.focus_path(finding.path)
        ):
            return
        where = jsonlocate.locate(self.preview.text(), finding.path)
        if where is not None:
            self.preview.go_to(*where)

    # -- raw JSON mode -------------------------------------------------------------------------

    @property
    def raw_mode(self) -> bool:
        return self._raw_mode

    def set_raw_mode(self, on: bool) -> bool:
        """Switch JSON editing on or off; False when the user chose to stay where they were."""
        if on == self._raw_mode:
            return True
        if (
            not on
            and self._raw_error is not None
            and not dialogs.confirm(
                self,
                "The JSON is not valid",
                "The JSON has an error, so the form cannot take it over. Leave JSON editing and go"
                " back to the form as it was before?",
                "Discard JSON edits",
            )
        ):
            return False
        if not on and self._raw_value is not None:
            events = classify(self._raw_value)[1]
            if len(events) > 1 and not dialogs.confirm(
                self,
                "Keep only the first event?",
                f"The JSON holds {len(events)} events; the form edits one. The others will be"
                " dropped.",
                "Keep the first event",
            ):
                return False
        self._raw_mode = on
        self.preview.set_editable(on)
        self.form.set_read_only(on)
        if on:
            self._raw_value = None
            self.preview.setFocus()
            self.show_message("Editing JSON: the form follows while the JSON is valid.")
        else:
            self.preview_error.setVisible(False)
            self.preview.mark_line(None)
            self._raw_error = None
        self.update_preview()
        return True

    # -- actions -------------------------------------------------------------------------------

    # -- the batch ---------------------------------------------------------------------------

    def add_to_batch(self) -> None:
        """Add the form's payload (or every event of the edited JSON) to the batch."""
        self.update_preview()
        if self._raw_mode:
            if self._raw_value is None:
                self.show_message("Fix the JSON first; then it can be added.", 8000)
                return
            events = [without_keys(e) for e in classify(self._raw_value)[1] if isinstance(e, dict)]
        else:
            events = [build_event(self.form.composition())]
        for event in events:
            self.batch.add_event(event)
        self.stop_editing_row()
        self.form.renew_uuid()  # the next payload is a new event
        self.show_message(f"Added {len(events)} event{'s' * (len(events) != 1)} to the batch.")

    # -- templates ----------------------------------------------------------------------------

    def draft_state(self) -> dict[str, Any]:
        """What a draft keeps: the form (invalid rows included), JSON being edited, and the
        template the form was opened from."""
        entry = self.current_template
        return {
            "form": self.form.state(),
            "raw_text": self.preview.text() if self._raw_mode else None,
            "template": None
            if entry is None
            else {
                "path": str(entry.path),
                "folder": entry.folder,
                "name": entry.name,
                "fingerprint": entry.fingerprint,
                "description": self._template_description,
            },
        }

    def restore_draft(self, doc: dict[str, Any]) -> None:
        from pathlib import Path

        from composer.services.templates import TemplateEntry

        form = doc.get("form")
        if isinstance(form, dict):
            self.form.restore_state(form)
        template = doc.get("template")
        if isinstance(template, dict) and isinstance(template.get("path"), str):
            self.current_template = TemplateEntry(
                Path(template["path"]),
                str(template.get("folder", "")),
                str(template.get("name", "")),
                TemplateType.PAYLOAD,
                fingerprint=str(template.get("fingerprint", "")),
            )
            self._template_description = str(template.get("description", ""))
        raw = doc.get("raw_text")
        if isinstance(raw, str) and self.set_raw_mode(True):
            self.shell.edit_json_action.blockSignals(True)
            self.shell.edit_json_action.setChecked(True)
            self.shell.edit_json_action.blockSignals(False)
            self.preview.set_text(raw)
        self.update_preview()
        self.show_message("Restored the composition and batch from your last session.", 6000)

    def show_bottom(self, name: str) -> None:
        """Bring the batch, templates or history tab forward and focus its main control."""
        widget, focus = {
            "batch": (self.batch, self.batch.table),
            "templates": (self.templates, self.templates.search),
            "history": (self.history, self.history.search),
            "plan": (self.plan_panel, self.plan_panel.tree),
        }[name]
        self.bottom_tabs.setCurrentWidget(widget)
        sizes = self.outer.sizes()
        if sizes[1] < 120:  # collapsed: open it to a usable height
            self.outer.setSizes([max(sizes[0] - 260, 200), 260])
        focus.setFocus()

    def open_template(self, template: Template, entry: Any) -> None:
        if template.type is TemplateType.BATCH:
            self.batch.add_events(template.events, f"template {template.name!r}")
            self.bottom_tabs.setCurrentWidget(self.batch)
            return
        if self._raw_mode and not self.set_raw_mode(False):
            return
        self.stop_editing_row()
        self.form.load_event(template.event, template.endpoint)
        self.current_template = None if entry.builtin else entry
        self._template_description = template.description
        self._memo.clear()
        self.update_preview()
        self.form.event_name.setFocus()

    def payload_template(self) -> Template | None:
        """What Save template writes: the form's payload, or the events of the edited JSON."""
        entry = self.current_template
        name = entry.name if entry is not None else ""
        if self._raw_mode:
            if self._raw_value is None:
                self.show_message("Fix the JSON first; then it can be saved.", 8000)
                return None
            events = [
                _without_fixed_uuid(e) for e in classify(self._raw_value)[1] if isinstance(e, dict)
            ]
            endpoint = self.last_check.endpoint if self.last_check else endpoints.DEFAULT
            kind = TemplateType.PAYLOAD if len(events) == 1 else TemplateType.BATCH
            return Template(
                name or _suggest_name(events), kind, events, endpoint, self._template_description
            )
        event = self.form.template_event()
        return Template(
            name or _suggest_name([event]),
            TemplateType.PAYLOAD,
            [event],
            self.form.endpoint_path(),
            self._template_description,
        )

    def save_template(self) -> None:
        """Save over the template the form came from, or ask for a name."""
        template = self.payload_template()
        if template is None:
            return
        if self.current_template is not None and template.type is TemplateType.PAYLOAD:
            self.templates.save_over(template, self.current_template)
        else:
            self.templates.save_as(template, "Save template")

    def save_template_as(self) -> None:
        template = self.payload_template()
        if template is not None:
            folder = self.current_template.folder if self.current_template is not None else ""
            self.templates.save_as(template, "Save as a new template", folder)

    def save_batch_template(self) -> None:
        # Without their uuids: a replayed template must be new events, not duplicates that
        # PostHog drops. A {{$uuid}} placeholder stays, as it gives fresh ones.
        events = [_without_fixed_uuid(row.event) for row in self.batch.model.rows]
        if not events:
            self.show_message("The batch is empty; add events first.", 8000)
            return
        template = Template(_suggest_name(events) + " batch", TemplateType.BATCH, events, "/batch/")
        self.templates.save_as(template, "Save the batch as a template")

    def _on_template_saved(self, entry: Any) -> None:
        if entry.type is TemplateType.PAYLOAD and not self._raw_mode:
            self.current_template = entry
            self._template_description = entry.description

    def edit_row(self, uuid: str) -> None:
        row = self.batch.model.row(uuid)
        if row is None or self._raw_mode:
            return
        self.editing = None  # loading the row must not write it back
        self.current_template = None  # Save template must not put the row over the template
        self.form.set_composition(composition_from_event(row.event))
        self.editing = uuid
        position = self.batch.model.position(uuid)
        self.editing_label.setText(
            f"Editing batch row {(position or 0) + 1} ({row.name or 'no name'}): changes are"
            " saved to the row; Edit → Undo in the batch takes them back."
        )
        self.editing_box.setVisible(True)
        self.update_preview()

    def stop_editing_row(self) -> None:
        self.editing = None
        self.editing_box.setVisible(False)

    def _batch_target(self) -> tuple[str, str, Callable[[int], bool]] | None:
        try:
            host = resolve_host(self.host.text())
        except HostError as exc:
            self.show_message(f"Host: {exc}.", 10000)
            self.host.setFocus()
            return None
        return host.endpoint_url("/batch/"), self.key.text(), self.profiles.confirm_send

    def new_payload(self) -> None:
        self.stop_editing_row()
        self.current_template = None
        self._template_description = ""
        if self._raw_mode:
            self._raw_error = None
            self._raw_value = None
            self.set_raw_mode(False)
        self.form.new_payload()
        self.update_preview()

    def focus_event_name(self) -> None:
        self.form.event_name.setFocus()
        self.form.event_name.selectAll()

    def copy_body(self) -> None:
        self.update_preview()
        QGuiApplication.clipboard().setText(self.preview.text())
        masked = "" if self.shell.show_key_action.isChecked() else " (key masked)"
        self.show_message(f"Body copied{masked}.")

    def key_visibility_changed(self, shown: bool) -> None:
        key = self.key.text()
        if self._raw_mode and key:
            old, new = (bodies.mask_key(key), key) if shown else (key, bodies.mask_key(key))
            self.preview.set_text(_swap(self.preview.text(), old, new))
        self.update_preview()

    def restore(self, kind: str) -> None:
        if kind in {k.value for k in PayloadKind}:
            self.form.set_kind(PayloadKind(kind))
        self.update_preview()

    # -- sending -------------------------------------------------------------------------------

    def send(self) -> None:
        if self.controller.busy:
            return
        self._memo.clear()  # {{$now}}, {{$uuid}} ... are taken at send time
        self.update_preview()
        try:
            host = resolve_host(self.host.text())
        except HostError as exc:
            self.show_message(f"Host: {exc}.", 10000)
            self.host.setFocus()
            return
        key = self.key.text()
        if self._raw_mode:
            if self._raw_value is None:
                self.show_message("Fix the JSON first; the error is marked in the body.", 10000)
                self.preview.setFocus()
                return
            resolution = self.resolve(self.raw_body(key))
            if self._refuse_unresolved(resolution):
                return
            body = resolution.value
            if not has_placeholders(self._raw_value):
                # What is shown is what is sent: the edited text becomes the exact rendering.
                # (Text with {{variables}} stays as written; the response keeps what was sent.)
                display = self.raw_body(self._display_key()) if key else self._raw_value
                self.preview.set_text(bodies.render(display).decode())
            endpoint = self.last_check.endpoint if self.last_check else endpoints.DEFAULT
        else:
            problems = self.form.problems()
            if problems:
                self.show_message(f"Fix the marked values first: {problems[0].message}", 10000)
                self.form.focus_path(problems[0].path)
                return
            resolution = self.resolve(self.template_body(key))
            if self._refuse_unresolved(resolution):
                return
            body = resolution.value
            endpoint = self.form.endpoint_path()
        kind = "raw" if self._raw_mode else self.form.current_kind().value
        self._send_body(body, endpoint, host, key, kind)

    def _send_body(self, body: Any, endpoint: str, host: Any, key: str, kind: str) -> None:
        """Check, confirm and send a finished body (variables filled in, key in place)."""
        result = check_body(body, self._options(endpoint))
        if not self.profiles.confirm_send(result.events):
            self.show_message("Not sent.")
            return
        if not result.ok:
            predicted = result.predicted
            if not dialogs.confirm(
                self,
                "PostHog will refuse this",
                f"The pre-flight check expects PostHog to answer {predicted.status}"
                f" ({predicted.body}).\n\n{result.errors[0].message}\n\nSend it anyway to see"
                " the answer?",
                "Send anyway",
            ):
                return
        # Every key the body carries is a secret: a key pasted into the JSON, not only the field.
        secrets = tuple(dict.fromkeys(k for k in (key, *bodies.keys_in(body)) if k))
        self.controller.send(
            SendRequest(
                host.endpoint_url(endpoint),
                bodies.render(body),
                secrets,
                events=result.events,
                profile=self.shell.target.currentText(),
                kind=kind,
                event_names=_event_names(body),
                endpoint=endpoint,
            )
        )

    # -- history -------------------------------------------------------------------------------

    def _record(self, request: SendRequest, record: Any, note: str = "") -> None:
        from composer.services.history import HistoryEntry

        if record is not None:
            entry = HistoryEntry.from_record(
                record,
                profile=request.profile,
                host=self.host.text(),
                endpoint=request.endpoint,
                kind=request.kind,
                event_names=request.event_names,
                events=request.events,
            )
        else:
            entry = HistoryEntry(
                None,
                datetime.now(UTC),
                request.profile,
                self.host.text(),
                request.url,
                request.endpoint,
                request.kind,
                request.event_names,
                request.events,
                bodies.mask_in_render(request.body, request.secrets),
                None,
                None,
                [],
                b"",
                note,
            )
        entry = replace(
            entry,
            body=bodies.redact_bytes(entry.body),
            response_body=bodies.redact_bytes(entry.response_body),
        )
        self.history.record(entry, request.secrets)

    def show_history_entry(self, entry: Any) -> None:
        from composer.services.transport import ResponseRecord

        record = None
        if entry.status is not None or entry.response_body:
            record = ResponseRecord(
                "POST",
                entry.url,
                [],
                entry.body,
                len(entry.body),
                False,
                status=entry.status,
                response_headers=list(entry.response_headers),
                body=entry.response_body,
                elapsed=(entry.elapsed_ms or 0) / 1000,
            )
        when = entry.sent_at.astimezone().replace(tzinfo=None)
        note = entry.error or "No answer was received."
        self.response.show_entry(SendEntry(when, entry.url, entry.events, record, note))
        self.right_tabs.setCurrentWidget(self.response)

    def _history_body(self, entry: Any) -> Any:
        if entry.truncated:
            self.show_message(
                "This send's body was too large to keep whole in the history; it cannot be"
                " reopened or resent.",
                10000,
            )
            return None
        try:
            return loads(entry.body)
        except JsonSyntaxError:
            self.show_message("This send's body is not JSON; it cannot be reopened.", 10000)
            return None

    def reopen_history(self, entry: Any) -> None:
        """A past send's body as a new composition: a fresh uuid, the current key."""
        body = self._history_body(entry)
        if body is None:
            return
        events = [e for e in classify(body)[1] if isinstance(e, dict)]
        if self._raw_mode and not self.set_raw_mode(False):
            return
        self.stop_editing_row()
        self.current_template = None
        if len(events) == 1:
            event = {k: v for k, v in without_keys(events[0]).items() if k != "uuid"}
            self.form.load_event(event, entry.endpoint or endpoints.DEFAULT)
        else:
            self.shell.edit_json_action.setChecked(True)  # JSON editing, for a whole batch
            stripped = bodies.with_api_key(body, self._display_key()) if self.key.text() else body
            self.preview.set_text(bodies.render(stripped).decode())
        self.update_preview()
        self.show_message(
            f"Opened the send of {entry.sent_at.astimezone():%Y-%m-%d %H:%M} as a new payload."
        )

    def resend_history(self, entry: Any) -> None:
        """Send a past body again, as it was, to the current target with its key."""
        if self.controller.busy:
            return
        body = self._history_body(entry)
        if body is None:
            return
        try:
            host = resolve_host(self.host.text())
        except HostError as exc:
            self.show_message(f"Host: {exc}.", 10000)
            return
        key = self.key.text()
        if key and bodies.read_api_key(body) is not None:
            body = bodies.with_api_key(body, key)
        self._send_body(body, entry.endpoint or endpoints.DEFAULT, host, key, entry.kind)

    def _refuse_unresolved(self, resolution: Resolution) -> bool:
        if not resolution.unresolved:
            return False
        first = unresolved_findings(resolution.unresolved)[0]
        self.show_message(f"Not sent: {first.message} {first.fix}", 15000)
        self.go_to_finding(first)
        return True

    def cancel_send(self) -> None:
        self.controller.cancel()

    def _set_sending(self, sending: bool) -> None:
        self.shell.set_sending(sending)

    @Slot(object)
    def _on_send_started(self, request: SendRequest) -> None:
        self._set_sending(True)
        self.response.show_sending(request.url)
        self.show_message(f"Sending {len(request.body):,} bytes to {request.url} …", 0)

    @Slot(object, object)
    def _on_send_finished(self, request: SendRequest, record: Any) -> None:
        self._set_sending(False)
        self.response.add(SendEntry(datetime.now(), request.url, request.events, record))
        self._record(request, record)
        self._memo.clear()
        self.schedule_update()  # the next send's {{$...}} values
        if record.ok:
            self.form.renew_uuid()
        status = record.status if record.status is not None else "no answer"
        self.show_message(f"{status} from {request.url}")

    @Slot(object, str)
    def _on_send_failed(self, request: SendRequest, text: str) -> None:
        self._set_sending(False)
        self.response.add(
            SendEntry(
                datetime.now(),
                request.url,
                request.events,
                None,
                f"The send failed inside the composer: {text}",
            )
        )
        self.show_message(f"The send failed: {text}", 10000)

    @Slot(object)
    def _on_send_cancelled(self, request: SendRequest) -> None:
        self._set_sending(False)
        self.response.add(
            SendEntry(
                datetime.now(),
                request.url,
                request.events,
                None,
                "Cancelled. If the request reached the server, PostHog may still have stored it.",
            )
        )
        self._record(request, None, "Cancelled before an answer arrived.")
        self.show_message("Cancelled.")


def _without_fixed_uuid(event: dict[str, Any]) -> dict[str, Any]:
    """A template's event: a fixed uuid would make every replay a duplicate PostHog drops;
    a {{$uuid}} placeholder stays, as it gives a fresh one each time."""
    return {k: v for k, v in event.items() if k != "uuid" or has_placeholders(v)}


def _event_names(body: Any) -> str:
    names = [e.get("event") for e in classify(body)[1] if isinstance(e, dict)]
    shown = [n if isinstance(n, str) else "?" for n in names[:2]]
    more = f" (+{len(names) - 2})" if len(names) > 2 else ""
    return ", ".join(shown) + more


def _suggest_name(events: list[Any]) -> str:
    name = events[0].get("event") if events and isinstance(events[0], dict) else None
    return name.lstrip("$") if isinstance(name, str) and name.strip("$") else "Untitled"


def _swap(text: str, old: str, new: str) -> str:
    """Replace one JSON string value with another, in their escaped forms."""
    return text.replace(dumps_compact(old).decode(), dumps_compact(new).decode())
