"""The workspace: the rooms laid out in the window, and the wiring between them.

Each room owns its widgets, its state and its slots (compose/, send/, batch/, templates/,
history/, plan/, sandbox/, persons/, profiles/). This module only builds them, puts them on
screen and connects one room's typed signals to another's methods; the few actions that need
two rooms (Send, Save template, Add to batch) are a handful of lines each here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLineEdit, QSplitter, QVBoxLayout, QWidget

from composer.core.batch.rows import BatchRow
from composer.core.batch.runs import BatchRun
from composer.core.capture import bodies, endpoints
from composer.core.capture.hosts import HostError, resolve_host
from composer.core.persons import PersonGraph
from composer.core.plans.model import Plan
from composer.core.snippets.paste import Pasted
from composer.core.templates.document import Template, TemplateType, without_keys
from composer.services.history import HistoryEntry
from composer.services.templates import TemplateEntry
from composer.ui import names
from composer.ui.batch.panel import BatchPanel
from composer.ui.batch.sending import BatchTarget
from composer.ui.code.room import CodeRoom, CodeSource
from composer.ui.code.room import Target as CodeTarget
from composer.ui.compose.room import ComposeRoom, ComposeShell
from composer.ui.drafts import DraftKeeper
from composer.ui.history.log import HistoryLog
from composer.ui.plan.panel import PlanPanel
from composer.ui.profiles.banner import KeyringBanner
from composer.ui.profiles.controller import ProfilesController, TargetBar
from composer.ui.sandbox.room import SandboxRoom
from composer.ui.send.controller import SendController
from composer.ui.send.room import SendRoom
from composer.ui.templates.panel import TemplatesPanel
from composer.ui.widgets.lazy import LazyPage
from composer.ui.widgets.tabs import NamedTabs

if TYPE_CHECKING:  # built on first use (see LazyPage): not imported at start-up
    from composer.ui.history.panel import HistoryPanel
    from composer.ui.persons.panel import PersonsPanel


class Shell(TargetBar, Protocol):
    """What the workspace needs of the main window (structural: MainWindow is one)."""

    target: QComboBox
    host: QLineEdit
    key: QLineEdit
    edit_json_action: QAction
    show_key_action: QAction
    copy_action: QAction

    def set_sending(self, sending: bool) -> None: ...


class _Target:
    """The send target as the toolbar shows it and the active profile guards it."""

    def __init__(self, shell: Shell, profiles: ProfilesController) -> None:
        self._shell = shell
        self._profiles = profiles

    def host_text(self) -> str:
        return self._shell.host.text()

    def key_text(self) -> str:
        return self._shell.key.text()

    def profile_name(self) -> str:
        return self._shell.target.currentText()

    def focus_host(self) -> None:
        self._shell.host.setFocus()

    def confirm_send(self, events: int) -> bool:
        return self._profiles.confirm_send(events)


class Workspace(QWidget):
    """Signals: message(str, int): a status-bar text and how long to show it (0: until next).
    room_built(str): a room built on first use ("persons", "history"); its splitters are new.

    The rooms on screen at start-up are built with the workspace; the persons and the history
    are built (and their modules imported) when their tab is first shown or when `persons` or
    `history` is first read, and wired then.
    """

    message = Signal(str, int)
    room_built = Signal(str)

    def __init__(self, shell: Shell, controller: SendController | None = None) -> None:
        super().__init__(shell.window())
        self.shell = shell
        self.compose = ComposeRoom(
            ComposeShell(
                shell.host,
                shell.key,
                shell.edit_json_action,
                shell.show_key_action,
                shell.copy_action,
            ),
            self,
        )
        self.code = CodeRoom(self)
        self.profiles = ProfilesController(shell, self)
        self.sending = SendRoom(_Target(shell, self.profiles), self, controller)
        self.sandbox = SandboxRoom(self)
        self.persons_page: LazyPage[PersonsPanel] = LazyPage(self._build_persons, self)
        self.batch = BatchPanel(self)
        self.templates = TemplatesPanel(self)
        self.history_log = HistoryLog(self)
        self.history_page: LazyPage[HistoryPanel] = LazyPage(self._build_history, self)
        self.persons_page.room_made.connect(partial(self.room_built.emit, "persons"))
        self.history_page.room_made.connect(partial(self.room_built.emit, "history"))
        self.plan_panel = PlanPanel(self)
        self.banner = KeyringBanner(self)
        # The widgets tests and the shell reach most often, by their old names.
        self.form = self.compose.form
        self.preview = self.compose.preview
        self.findings = self.compose.findings
        self.response = self.sending.response
        self.inbox = self.sandbox.inbox
        self.controller = self.sending.controller
        self._lay_out()
        self._wire()
        self.drafts = DraftKeeper(self.compose, self.batch)  # started once the state is back
        self.drafts.message.connect(self.show_message)
        self.profiles.load()
        self.sandbox.start()
        self.templates.start()

    # -- the rooms built on first use ----------------------------------------------------------

    @property
    def persons(self) -> PersonsPanel:
        return self.persons_page.room()

    @property
    def history(self) -> HistoryPanel:
        return self.history_page.room()

    def _build_persons(self, page: QWidget) -> PersonsPanel:
        from composer.ui.persons.panel import PersonsPanel

        persons = PersonsPanel(page)
        # The persons live in the inbox's file: follow it, and read again as events arrive.
        self.inbox.count_changed.connect(persons.schedule_refresh)
        persons.count_changed.connect(self._on_persons_count)
        if self.inbox.db is not None:
            persons.watch(self.inbox.db)
        return persons

    def _build_history(self, page: QWidget) -> HistoryPanel:
        from composer.ui.history.panel import HistoryPanel

        history = HistoryPanel(self.history_log, page)
        history.message.connect(self.show_message)
        history.show_requested.connect(self.show_history_entry)
        history.show_requested.connect(self._remember_send)
        history.reopen_requested.connect(self.reopen_history)
        history.resend_requested.connect(self.sending.resend)
        history.rows_requested.connect(self.show_run_rows)
        history.start()
        return history

    # -- layout --------------------------------------------------------------------------------

    def _lay_out(self) -> None:
        # The Code tab sits beside the body preview, in the preview's place in the splitter.
        self.preview_tabs = NamedTabs("Body and code", self, document_mode=True)
        self.preview_tabs.setObjectName("preview_tabs")
        self.compose.middle.replaceWidget(0, self.preview_tabs)
        self.preview_tabs.addTab(self.compose.preview_pane, "Body")
        self.preview_tabs.addTab(self.code.view, "Code")
        response_box = QWidget(self)
        response_layout = QVBoxLayout(response_box)
        response_layout.setContentsMargins(4, 0, 4, 0)
        response_layout.addWidget(self.response, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("main_splitter")
        self.splitter.addWidget(self.compose.form_scroll)
        self.splitter.addWidget(self.compose.middle)
        self.splitter.addWidget(response_box)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.setChildrenCollapsible(False)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.compose.editing_box)
        top_layout.addWidget(self.splitter, 1)
        self.bottom_tabs = NamedTabs("Batch, templates and history", self, document_mode=True)
        self.bottom_tabs.setObjectName("bottom_tabs")
        self.bottom_tabs.addTab(self.batch, "Batch")
        self.bottom_tabs.addTab(self.templates, "Templates")
        self.bottom_tabs.addTab(self.history_page, "History")
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

        # The sandbox inbox and the persons have the window's width to themselves: event
        # names, findings and person properties are read there, not squeezed beside the form.
        self.rooms = NamedTabs(names.ROOMS, self, document_mode=True)
        self.rooms.setObjectName("rooms")
        self.rooms.addTab(self.outer, "Compose")
        self.rooms.addTab(self.inbox, "Sandbox inbox")
        self.rooms.addTab(self.persons_page, "Persons")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.rooms, 1)

    def splitters(self) -> dict[str, QSplitter]:
        """The splitters whose sizes the window keeps (those of rooms built so far)."""
        splitters = {
            "main_splitter": self.splitter,
            "middle_splitter": self.compose.middle,
            "response_splitter": self.response.splitter,
            "inbox_splitter": self.inbox.splitter,
            "batch_splitter": self.outer,
        }
        if self.persons_page.built:
            splitters["persons_splitter"] = self.persons.splitter
        return splitters

    # -- wiring --------------------------------------------------------------------------------

    def _wire(self) -> None:
        for room in (
            self.compose,
            self.sending,
            self.sandbox,
            self.profiles,
            self.batch,
            self.templates,
            self.plan_panel,
            self.code,
        ):
            room.message.connect(self.show_message)
        self.profiles.banner.connect(self.banner.show_text)
        self.banner.session.clicked.connect(self.profiles.enter_for_session)
        self.banner.retry.clicked.connect(self.profiles.retry)
        self.sandbox.started.connect(self.profiles.set_sandbox_url)
        # Merges are predicted against the sandbox's persons when it is the target, and
        # against an empty project otherwise (another target's persons are not known here).
        self._to_sandbox = True
        self.profiles.target_changed.connect(self._on_target_changed)
        self.sandbox.persons_changed.connect(self._on_persons_changed)
        self.batch.persons.provider = lambda: self.sandbox.persons if self._to_sandbox else None
        self.inbox.count_changed.connect(self._on_inbox_count)
        self.inbox.busy = lambda: self.batch.busy in ("send", "stream")
        self.sandbox.started.connect(self._on_sandbox_started)
        self.sending.sending.connect(self.shell.set_sending)
        self.sending.finished.connect(self.compose.after_send)
        self.sending.recorded.connect(self._record_send)

        self.compose.row_edited.connect(self.batch.edit_row)
        self.batch.add_requested.connect(self.add_to_batch)
        self.batch.row_selected.connect(self._edit_row)
        self.batch.sending.context = self._batch_target
        self.batch.sending.transport_factory = self.controller.transport
        self.batch.resolver_factory = self.compose.batch_resolver
        self.batch.plan_provider = lambda: self.compose.plan

        self.templates.open_requested.connect(self.open_template)
        self.templates.saved.connect(self.compose.template_saved)
        self.templates.variables_changed.connect(self._on_variables_changed)
        self.templates.secrets = self.compose.secrets
        self.templates.folder_changed.connect(self.plan_panel.set_folder)

        self.plan_panel.plan_changed.connect(self._on_plan_changed)
        self.plan_panel.batch_events = lambda: [row.wire_event for row in self.batch.model.rows]
        self.plan_panel.inbox_events = self.inbox.events
        self.plan_panel.batch_busy = lambda: bool(self.batch.busy)
        for change in (
            self.batch.model.rowsInserted,
            self.batch.model.rowsRemoved,
            self.batch.model.modelReset,
            self.batch.model.dataChanged,  # an edited row may break the plan, or stop to
        ):
            change.connect(self.plan_panel.schedule_count)
        self.inbox.count_changed.connect(self.plan_panel.schedule_count)

        self.batch.sending.ran.connect(self._record_batch_run)
        self.history_log.message.connect(self.show_message)
        self._wire_code()

    def _wire_code(self) -> None:
        """The Code tab follows the preview; Copy as … reads the batch, history and templates."""
        code = self.code
        code.source = self._code_source
        code.target = lambda: CodeTarget(self.shell.host.text(), self.shell.key.text())
        code.apply_pasted = self.apply_pasted
        code.sources.batch = self._batch_code_source
        code.sources.history = self._history_code_source
        code.sources.template = self._template_code_source
        self.compose.edited.connect(code.schedule_refresh)
        self.compose.preview.textChanged.connect(code.schedule_refresh)
        self.shell.host.textChanged.connect(code.target_changed)
        self.shell.key.textChanged.connect(code.target_changed)
        self._shown_send: HistoryEntry | None = None

    def show_message(self, text: str, ms: int = 6000) -> None:
        self.message.emit(text, ms)

    def _on_inbox_count(self, count: int) -> None:
        index = self.rooms.indexOf(self.inbox)
        self.rooms.setTabText(index, f"Sandbox inbox ({count:,})" if count else "Sandbox inbox")

    def _on_target_changed(self, to_sandbox: bool) -> None:
        self._to_sandbox = to_sandbox
        self._on_persons_changed(self.sandbox.persons)

    def _on_persons_changed(self, graph: PersonGraph) -> None:
        self.compose.set_persons(graph if self._to_sandbox else None)
        self.batch.persons.schedule()
        if not self.persons_page.built:
            # The room counts them itself once built; until then the sandbox's graph does.
            self._on_persons_count(len(graph.persons))

    def _on_sandbox_started(self, _url: str) -> None:
        if self.inbox.db is not None and self.persons_page.built:
            self.persons.watch(self.inbox.db)

    def _on_persons_count(self, count: int) -> None:
        index = self.rooms.indexOf(self.persons_page)
        self.rooms.setTabText(index, f"Persons ({count:,})" if count else "Persons")

    def _on_plan_changed(self, plan: Plan | None) -> None:
        self.compose.set_plan(plan)
        self.inbox.set_plan(plan)
        self.batch.recheck()

    def _on_variables_changed(self, variables: dict[str, object]) -> None:
        self.compose.set_variables(variables)
        self.batch.recheck()

    # -- what takes two rooms ------------------------------------------------------------------

    def send(self) -> None:
        if self.sending.busy:
            return
        self.compose.reveal_findings()  # pressing Send shows what is wrong, typed in or not
        host = self.sending.resolve_host()
        if host is None:
            return
        prepared = self.compose.prepare_send()
        if prepared is not None:
            key = self.shell.key.text()
            self.sending.send_body(prepared.body, prepared.endpoint, host, key, prepared.kind)

    def cancel_send(self) -> None:
        self.sending.cancel()

    def add_to_batch(self) -> None:
        events = self.compose.events_for_batch()
        if events is None:
            return
        for event in events:
            self.batch.add_event(event)
        self.compose.added_to_batch(len(events))

    def _edit_row(self, uuid: str) -> None:
        row: BatchRow | None = self.batch.model.row(uuid)
        if row is not None:
            self.compose.edit_row(uuid, row.event, self.batch.model.position(uuid) or 0)

    def _batch_target(self) -> BatchTarget | None:
        try:
            host = resolve_host(self.shell.host.text())
        except HostError as exc:
            self.show_message(f"Host: {exc}.", 10000)
            self.shell.host.setFocus()
            return None
        return host.endpoint_url("/batch/"), self.shell.key.text(), self.profiles.confirm_send

    def open_template(self, template: Template, entry: TemplateEntry) -> None:
        if template.type is TemplateType.BATCH:
            self.batch.add_events(template.events, f"template {template.name!r}")
            self.rooms.setCurrentWidget(self.outer)
            self.bottom_tabs.setCurrentWidget(self.batch)
        else:
            self.compose.load_template(template, entry)

    def save_template(self) -> None:
        """Save over the template the form came from, or ask for a name."""
        template = self.compose.payload_template()
        if template is not None:
            self.templates.save_payload(template, self.compose.current_template)

    def save_template_as(self) -> None:
        template = self.compose.payload_template()
        if template is not None:
            origin = self.compose.current_template
            self.templates.save_as(
                template, "Save as a new template", origin.folder if origin else ""
            )

    def save_batch_template(self) -> None:
        self.templates.save_batch([row.event for row in self.batch.model.rows])

    def show_history_entry(self, entry: HistoryEntry) -> None:
        self.sending.show_history_entry(entry)
        self.rooms.setCurrentWidget(self.outer)

    def _record_send(self, entry: HistoryEntry, secrets: tuple[str, ...]) -> None:
        self.history_log.record(entry, secrets)

    def _record_batch_run(self, run: BatchRun) -> None:
        entry = HistoryEntry.from_batch_run(
            run, profile=self.shell.target.currentText(), host=self.shell.host.text()
        )
        self.history_log.record(entry, (self.shell.key.text(),))

    def show_run_rows(self, entry: HistoryEntry) -> None:
        run = entry.batch_run()
        if run is None:
            return
        self.show_bottom("batch")
        found = self.batch.select_run(run.uuids, run.first, run.last)
        if found == run.rows:
            self.show_message(f"Selected the {found:,} rows of that run.")
        elif found:
            self.show_message(f"{found:,} of the run's {run.rows:,} rows are still in the batch.")
        else:
            self.show_message("None of that run's rows are in the batch any more.", 8000)

    def reopen_history(self, entry: HistoryEntry) -> None:
        body, why = entry.reopenable_body()
        if body is None:
            self.show_message(why, 10000)
        elif self.compose.reopen(body, entry.endpoint or endpoints.DEFAULT):
            when = entry.sent_at.astimezone()
            self.show_message(f"Opened the send of {when:%Y-%m-%d %H:%M} as a new payload.")

    # -- code --------------------------------------------------------------------------------

    def _code_source(self) -> CodeSource | str:
        """The payload as the preview shows it, variables filled in as the preview fills them."""
        compose, key = self.compose, self.shell.key.text()
        if compose.raw_mode:
            if compose.json_editing.value is None:
                return "Fix the JSON first; the error is marked in the body."
            body = compose.json_editing.body(key)
            check = compose.last_check
            endpoint = check.endpoint if check is not None else endpoints.DEFAULT
        else:
            body, endpoint = compose.template_body(key), compose.form.endpoint_path()
        resolution = compose.resolve(body)
        problem = ""
        if resolution.unresolved:
            problem = "Variables without a value are left as {{name}} in the code."
        return CodeSource(resolution.value, endpoint, secrets=compose.secrets(), problem=problem)

    def _batch_code_source(self) -> CodeSource | str:
        rows = [self.batch.model.row(uuid) for uuid in self.batch.selected_uuids()]
        events = [row.wire_event for row in rows if row is not None]
        if not events:
            return "Choose the batch rows to copy first (Ctrl+Shift+B shows the batch)."
        resolved = self.compose.batch_resolver().resolve(events).value
        body = bodies.batch_body(resolved, self.shell.key.text() or None)
        what = f"{len(events)} batch row{'s' * (len(events) != 1)}"
        return CodeSource(body, endpoints.BATCH, what, self.compose.secrets())

    def _remember_send(self, entry: HistoryEntry) -> None:
        self._shown_send = entry

    def _history_code_source(self) -> CodeSource | str:
        if not self.history_page.built:
            return "Choose one send in the History tab first (Ctrl+H)."
        chosen = self.history.selected()
        entry = self._shown_send
        if len(chosen) != 1 or entry is None or entry.id != chosen[0].id:
            return "Choose one send in the History tab first (Ctrl+H)."
        body, why = entry.reopenable_body()
        if body is None:
            return why
        endpoint = entry.endpoint or endpoints.DEFAULT
        return CodeSource(body, endpoint, "the history send", self.compose.secrets())

    def _template_code_source(self) -> Callable[[], CodeSource | str] | str:
        """What the chosen template needs from the window, read here; the returned function
        reads its file, off the GUI thread."""
        entry = self.templates.selected()
        if entry is None or entry.error:
            return "Choose a template in the Templates tab first (Ctrl+T)."
        store, key = self.templates.store, self.shell.key.text() or None
        resolver, secrets = self.compose.batch_resolver(), self.compose.secrets()

        def load() -> CodeSource | str:
            template = store.load(entry)[0]
            if template.type is TemplateType.BATCH:
                body: object = bodies.batch_body(template.events, key)
                endpoint = endpoints.BATCH
            else:
                endpoint = template.endpoint
                body = bodies.body_for_endpoint([template.event], key, endpoint)
            resolution = resolver.resolve(body)
            problem = (
                "Variables without a value are left as {{name}}." if resolution.unresolved else ""
            )
            what = f"template {template.name!r}"
            return CodeSource(resolution.value, endpoint, what, secrets, problem)

        return load

    def paste_from_code(self) -> None:
        self.code.paste_from_code()

    def apply_pasted(self, pasted: Pasted) -> bool:
        """Put a body read from code in the form (one event) or in JSON editing (several)."""
        compose = self.compose
        if pasted.fits_the_form:
            if compose.raw_mode:
                self.shell.edit_json_action.setChecked(False)  # may ask; may stay
                if compose.raw_mode:
                    return False
            compose.stop_editing_row()
            compose.current_template = None
            compose.form.load_event(without_keys(pasted.events[0]), pasted.endpoint)
            compose.update_preview()
            compose.form.event_name.setFocus()
            return True
        if compose.raw_mode:  # reopen() turns JSON editing on through the action: off first
            self.shell.edit_json_action.setChecked(False)
            if compose.raw_mode:
                return False
        return compose.reopen(pasted.body, pasted.endpoint)

    # -- the shell's calls -------------------------------------------------------------------

    def show_bottom(self, name: str) -> None:
        """Bring the batch, templates, history or plan tab forward and focus its main control."""
        rooms: dict[str, tuple[QWidget, Callable[[], QWidget]]] = {
            "batch": (self.batch, lambda: self.batch.table),
            "templates": (self.templates, lambda: self.templates.search),
            "history": (self.history_page, lambda: self.history.search),
            "plan": (self.plan_panel, lambda: self.plan_panel.tree),
        }
        widget, focus = rooms[name]
        self.rooms.setCurrentWidget(self.outer)
        self.bottom_tabs.setCurrentWidget(widget)
        sizes = self.outer.sizes()
        if sizes[1] < 120:  # collapsed: open it to a usable height
            self.outer.setSizes([max(sizes[0] - 260, 200), 260])
        focus().setFocus()

    def focus_order(self) -> list[QWidget]:
        """Tab's way through the compose room, after the toolbar: the rooms' tab bar, the
        form, the body, the findings, the response, then the batch below them."""
        return [
            self.rooms.tabBar(),
            *self.compose.focus_order(),
            *self.response.focus_order,
            self.bottom_tabs.tabBar(),
            *self.batch.focus_order,
        ]

    def show_room(self, name: str) -> None:
        """Bring the compose room, the sandbox inbox or the persons forward, focused."""
        rooms: dict[str, tuple[QWidget, Callable[[], QWidget]]] = {
            "compose": (self.outer, lambda: self.compose.form.event_name),
            "inbox": (self.inbox, lambda: self.inbox.table),
            "persons": (self.persons_page, lambda: self.persons.search),
        }
        widget, focus = rooms[name]
        self.rooms.setCurrentWidget(widget)
        focus().setFocus()

    def shutdown(self) -> None:
        """Stop the rooms' workers, the sandbox this window started, and running sends."""
        self.drafts.flush()
        self.batch.shutdown()
        self.templates.shutdown()
        self.history_log.shutdown()
        self.plan_panel.shutdown()
        self.profiles.shutdown()
        self.sending.shutdown()
        if self.persons_page.built:
            self.persons.shutdown()
        self.sandbox.shutdown()
