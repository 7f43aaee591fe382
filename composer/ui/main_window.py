"""The main window: toolbar (host, key, Send, Cancel), menus, status bar, and the workspace.

Start-up cost matters here: this module is imported before the window is shown, so it avoids
the Qt namespace (16 ms to initialise) and anything from the payload core.

The window can show itself before its workspace exists (`defer_workspace=True`): the frame,
toolbar and menus cost little, while the workspace's forms, tables and the payload core are
imported and built on the first turn of the event loop, right after the window is on screen.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QProgressBar,
    QToolBar,
    QToolButton,
)

from composer.sandbox.keys import generate_sandbox_key
from composer.ui import names
from composer.ui.menus import add_menu, appearance_menu
from composer.ui.palettes import Appearance, apply_appearance
from composer.ui.target_row import TargetRow
from composer.ui.ui_state import UiState
from composer.ui.widgets.focus import tab_chain

if TYPE_CHECKING:
    from composer.ui.send.controller import SendController
    from composer.ui.workspace import Workspace

OTHER_TARGET = "__other__"  # the ad-hoc "Other host" choice (see profiles_controller)

SEND_STYLE = """
QToolButton#send_button {
    font-weight: 600; padding: 3px 16px; border-radius: 4px;
    background: palette(highlight); color: palette(highlighted-text);
}
QToolButton#send_button:disabled { background: palette(mid); color: palette(window); }
"""


_OPENED: set[MainWindow] = set()  # windows opened with File → New window, until they close


class MainWindow(QMainWindow):
    """Signals: workspace_ready(MainWindow): the forms and panes exist (after a deferred build)."""

    workspace_ready = Signal(object)

    def __init__(
        self,
        *,
        defer_workspace: bool = False,
        controller: SendController | None = None,
        state: UiState | None = None,
    ) -> None:
        self._deferred = False  # read by paintEvent()
        super().__init__()
        self.setWindowTitle("PostHog Event Composer")
        self.setObjectName("main_window")
        self.state = state or UiState()
        self._controller = controller
        self._workspace: Workspace | None = None
        self._restored: set[str] = set()  # the splitters given their saved sizes
        self._build_toolbar()
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._restore_window()
        self._deferred = defer_workspace
        if defer_workspace:
            self.setCentralWidget(QLabel("  Loading…", self))
        else:
            self.build_workspace()

    # -- the workspace -------------------------------------------------------------------------

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            self.build_workspace()
        assert self._workspace is not None
        return self._workspace

    @property
    def ready(self) -> bool:
        return self._workspace is not None

    def build_workspace(self) -> None:
        if self._workspace is not None:
            return
        from composer.ui.workspace import Workspace

        workspace = Workspace(self, self._controller)
        self._workspace = workspace
        workspace.message.connect(self.show_message)
        self.setCentralWidget(workspace)
        self._restore_splitters()
        workspace.room_built.connect(self._restore_splitters)  # a room opened later
        workspace.compose.restore_kind(self.state.text("compose/kind", "event"))
        workspace.drafts.start()
        workspace.code.fill_copy_menu(self.copy_as_menu)
        self.copy_as_menu.setEnabled(True)
        for action in self._workspace_actions:
            action.setEnabled(True)
        self.cancel_action.setEnabled(False)
        tab_chain([*self.target_bar_row.focus_order(), *workspace.focus_order()])
        # A new user starts with the event name: the first thing the form asks for.
        workspace.compose.form.event_name.setFocus()
        self.workspace_ready.emit(self)

    def _restore_splitters(self, *_room: object) -> None:
        """Give the splitters built since the last call the sizes saved last time."""
        assert self._workspace is not None
        for key, splitter in self._workspace.splitters().items():
            if key in self._restored:
                continue
            self._restored.add(key)
            saved = self.state.bytes(f"window/{key}")
            if saved is not None:
                splitter.restoreState(saved)

    # -- construction ------------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        bar = QToolBar("Target", self)
        bar.setObjectName("target_toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        # Until the profiles are read (after the window is shown), show the last one's name.
        self.target_bar_row = TargetRow(self.state.text("profile/name", "Local sandbox"), bar)
        bar.addWidget(self.target_bar_row)
        self.target = self.target_bar_row.target
        self.host = self.target_bar_row.host
        self.key: QLineEdit = self.target_bar_row.key
        self.profile_badge = self.target_bar_row.badge
        self.target_row = self.target_bar_row.row
        self.sandbox_key = generate_sandbox_key()
        self.target_bar = bar

    def _action(
        self,
        text: str,
        slot: Any,
        shortcuts: list[QKeySequence] | None = None,
        tip: str = "",
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if shortcuts:
            action.setShortcuts(shortcuts)
        action.setToolTip(tip or text.replace("&", ""))
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.send_action = self._action(
            "&Send",
            partial(self._workspace_call, "send"),
            [QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")],
            "Check the body, then send it (Ctrl+Enter)",
        )
        self.cancel_action = self._action(
            "&Cancel",
            partial(self._workspace_call, "cancel_send"),
            [QKeySequence("Esc")],
            "Stop waiting for the answer (Esc)",
        )
        self.new_action = self._action(
            "&New payload",
            partial(self._compose_call, "new_payload"),
            [QKeySequence("Ctrl+N")],
            "Start a new payload of the same kind (Ctrl+N)",
        )
        self.new_window_action = self._action(
            "New &window",
            self.open_new_window,
            tip="Open another window; it brings back the drafts a closed window left, if any",
        )
        self.focus_event_action = self._action(
            "Go to &event name",
            partial(self._compose_call, "focus_event_name"),
            [QKeySequence("Ctrl+L")],
        )
        self.copy_action = self._action(
            "&Copy body",
            partial(self._compose_call, "copy_body"),
            [QKeySequence("Ctrl+Shift+C")],
            "Copy the body (the key stays masked unless Show key is on)",
        )
        self.paste_code_action = self._action(
            "&Paste from code…",
            partial(self._workspace_call, "paste_from_code"),
            [QKeySequence("Ctrl+Alt+V")],
            "Fill the form from a curl command, Python code or a JSON body (Ctrl+Alt+V)",
        )
        self.edit_json_action = self._action(
            "&Edit JSON",
            self._on_edit_json,
            [QKeySequence("Ctrl+E")],
            "Edit the body as JSON; the form follows",
            checkable=True,
        )
        self.show_key_action = self._action(
            "Show &key",
            self._on_show_key,
            [QKeySequence("Ctrl+Shift+K")],
            "Show the project key in the key field and the preview",
            checkable=True,
        )
        self.new_profile_action = self._action(
            "&New profile…",
            partial(self._profiles_call, "new_profile"),
            [QKeySequence("Ctrl+Shift+N")],
            "Create a profile: a host and project key in the OS keyring",
        )
        self.edit_profile_action = self._action(
            "&Edit profile…",
            partial(self._profiles_call, "edit_profile"),
            None,
            "Rename the active profile, or change its host, key, colour or production flag",
        )
        self.delete_profile_action = self._action(
            "&Delete profile…",
            partial(self._profiles_call, "delete_profile"),
            None,
            "Delete the active profile and its key",
        )
        self.plaintext_action = self._action(
            "Keep keys in a &plain-text file…",
            self._on_plaintext,
            None,
            "Only for systems without a working keyring: keys are written unencrypted",
            checkable=True,
        )
        self.add_batch_action = self._action(
            "&Add current payload",
            partial(self._batch_call, "add_current_requested"),
            [QKeySequence("Ctrl+B")],
            "Add the form's payload to the batch (Ctrl+B)",
        )
        self.import_batch_action = self._action(
            "&Import events…",
            partial(self._batch_call, "choose_import"),
            [QKeySequence("Ctrl+I")],
            "Import events from JSON, JSON Lines or CSV",
        )
        self.export_batch_action = self._action(
            "&Export events…",
            partial(self._batch_call, "choose_export"),
            None,
            "Export the batch to JSON, JSON Lines or CSV",
        )
        self.send_batch_action = self._action(
            "&Send batch",
            partial(self._batch_call, "send_all"),
            [QKeySequence("Ctrl+Shift+Return")],
            "Check and send every row (Ctrl+Shift+Enter)",
        )
        self.resend_failed_action = self._action(
            "&Resend failed",
            partial(self._batch_call, "resend_failed"),
            None,
            "Send again only the rows that failed",
        )
        self.undo_batch_action = self._action(
            "&Undo batch change",
            partial(self._batch_undo, True),
            [QKeySequence("Ctrl+Alt+Z")],
            "Undo the last change to the batch table",
        )
        self.redo_batch_action = self._action(
            "&Redo batch change",
            partial(self._batch_undo, False),
            [QKeySequence("Ctrl+Alt+Y")],
            "Redo the last undone change to the batch table",
        )
        self.save_template_action = self._action(
            "&Save template",
            partial(self._workspace_call, "save_template"),
            [QKeySequence(QKeySequence.StandardKey.Save)],
            "Save the payload to its template, or as a new one (Ctrl+S)",
        )
        self.save_template_as_action = self._action(
            "Save template &as…",
            partial(self._workspace_call, "save_template_as"),
            [QKeySequence("Ctrl+Shift+S")],
            "Save the payload as a new template (Ctrl+Shift+S)",
        )
        self.save_batch_template_action = self._action(
            "Save &batch as template…",
            partial(self._workspace_call, "save_batch_template"),
            None,
            "Save every row of the batch as one batch template",
        )
        self.variables_action = self._action(
            "&Variables…",
            partial(self._templates_call, "edit_variables"),
            None,
            "Edit the workspace variables used by {{name}} in templates",
        )
        self.show_templates_action = self._action(
            "&Templates",
            partial(self._show_bottom, "templates"),
            [QKeySequence("Ctrl+T")],
            "Show the templates (Ctrl+T)",
        )
        self.show_history_action = self._action(
            "&History",
            partial(self._show_bottom, "history"),
            [QKeySequence("Ctrl+H")],
            "Show every send, kept across restarts (Ctrl+H)",
        )
        self.show_plan_action = self._action(
            "Tracking &plan",
            partial(self._show_bottom, "plan"),
            [QKeySequence("Ctrl+Shift+P")],
            "Show the tracking plan and what breaks it (Ctrl+Shift+P)",
        )
        self.show_batch_action = self._action(
            "B&atch",
            partial(self._show_bottom, "batch"),
            [QKeySequence("Ctrl+Shift+B")],
            "Show the batch table (Ctrl+Shift+B)",
        )
        # The three rooms of the window, as Ctrl+1..3 like tabs in a browser.
        self.room_actions = [
            self._action(
                text,
                partial(self._show_room, room),
                [QKeySequence(f"Ctrl+{number}")],
                f"{tip} (Ctrl+{number})",
            )
            for number, (room, text, tip) in enumerate(
                (
                    ("compose", "&Compose", "Show the form, the body and the response"),
                    ("inbox", "Sandbox &inbox", "Show what the local sandbox received"),
                    ("persons", "Pe&rsons", "Show the sandbox's persons and groups"),
                ),
                start=1,
            )
        ]
        self.quit_action = self._action(
            "&Quit", self.close, [QKeySequence(QKeySequence.StandardKey.Quit)]
        )
        self._workspace_actions = (
            self.save_template_action,
            self.save_template_as_action,
            self.save_batch_template_action,
            self.variables_action,
            self.show_templates_action,
            self.show_history_action,
            self.show_plan_action,
            self.show_batch_action,
            *self.room_actions,
            self.add_batch_action,
            self.import_batch_action,
            self.export_batch_action,
            self.send_batch_action,
            self.resend_failed_action,
            self.undo_batch_action,
            self.redo_batch_action,
            self.new_profile_action,
            self.edit_profile_action,
            self.delete_profile_action,
            self.plaintext_action,
            self.send_action,
            self.cancel_action,
            self.new_action,
            self.focus_event_action,
            self.copy_action,
            self.paste_code_action,
            self.edit_json_action,
        )
        for action in self._workspace_actions:
            action.setEnabled(False)

        self.send_button = QToolButton(self)
        self.send_button.setDefaultAction(self.send_action)
        self.send_button.setAccessibleName(names.SEND)
        self.send_button.setObjectName("send_button")
        self.send_button.setStyleSheet(SEND_STYLE)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setDefaultAction(self.cancel_action)
        self.cancel_button.setAccessibleName(names.CANCEL)
        self.cancel_button.setObjectName("cancel_button")
        self.show_key_button = QToolButton(self)
        self.show_key_button.setDefaultAction(self.show_key_action)
        self.show_key_button.setAccessibleName(names.SHOW_KEY)
        self.target_row.addWidget(self.show_key_button)
        self.target_row.addSpacing(8)
        self.target_row.addWidget(self.send_button)
        self.target_row.addWidget(self.cancel_button)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        add_menu(
            bar,
            "&File",
            self.new_action,
            self.new_window_action,
            None,
            self.save_template_action,
            self.save_template_as_action,
            self.save_batch_template_action,
            self.variables_action,
            None,
            self.quit_action,
        )
        # Filled by the code room once the workspace exists (the languages live in the core).
        self.copy_as_menu = QMenu("Copy &as", self)
        self.copy_as_menu.setObjectName("copy_as_menu")
        self.copy_as_menu.setEnabled(False)
        edit_items = (self.copy_action, self.copy_as_menu, self.paste_code_action, None)
        add_menu(bar, "&Edit", *edit_items, self.edit_json_action, self.focus_event_action)
        appearance, self.appearance_group, self.appearance_actions = appearance_menu(self)
        self.appearance_group.triggered.connect(self._on_appearance)
        self.view_menu = add_menu(
            bar,
            "&View",
            self.show_key_action,
            None,
            *self.room_actions,
            None,
            self.show_batch_action,
            self.show_templates_action,
            self.show_history_action,
            self.show_plan_action,
            appearance,
        )
        profiles = (self.new_profile_action, self.edit_profile_action, self.delete_profile_action)
        add_menu(bar, "&Profile", *profiles, None, self.plaintext_action)
        batch_files = (self.add_batch_action, self.import_batch_action, self.export_batch_action)
        batch_undo = (self.undo_batch_action, self.redo_batch_action)
        batch_send = (self.send_batch_action, self.resend_failed_action)
        add_menu(bar, "&Batch", *batch_files, None, *batch_undo, None, *batch_send)
        add_menu(bar, "&Request", self.send_action, self.cancel_action)

    def _build_status_bar(self) -> None:
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setVisible(False)
        self.busy.setAccessibleName("Sending")
        self.statusBar().addPermanentWidget(self.busy)

    # -- target ------------------------------------------------------------------------------

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
        """Show where Send goes; the profile's colour and name stay in view at all times."""
        self.target_bar_row.show_target(
            host,
            key,
            editable=editable,
            name=name,
            color=color,
            production=production,
            host_hint=host_hint,
        )
        self.setWindowTitle(f"{name} — PostHog Event Composer")
        self.state.set("profile/name", name)
        self.state.set("profile/color", color)

    def _restore_window(self) -> None:
        geometry = self.state.bytes("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            screen = self.screen().availableGeometry()
            self.resize(min(1400, int(screen.width() * 0.92)), min(860, int(screen.height() * 0.9)))
        self.show_target(
            "",
            "",
            editable=False,
            name=self.state.text("profile/name", "Local sandbox"),
            color=self.state.text("profile/color", "#4b5563"),
            production=False,
            host_hint="starting…",
        )
        appearance = Appearance.from_text(self.state.text("view/appearance", "system"))
        self.appearance_actions[appearance].setChecked(True)
        apply_appearance(appearance)

    def save_state(self) -> None:
        self.state.set("window/geometry", self.saveGeometry())
        if self._workspace is not None:
            profiles = self._workspace.profiles
            other = self.host.text() if profiles.mode == OTHER_TARGET else profiles.other_host
            self.state.set("target/host", other)
        if self._workspace is not None:
            for key, splitter in self._workspace.splitters().items():
                self.state.set(f"window/{key}", splitter.saveState())
            self.state.set("compose/kind", self._workspace.form.current_kind().value)
        self.state.sync()

    def open_new_window(self) -> MainWindow:
        """Another window in this process, with drafts of its own (see ui/drafts.py)."""
        other = MainWindow(defer_workspace=True)
        _OPENED.add(other)  # top-level windows need a Python owner to stay alive
        other.show()
        return other

    def closeEvent(self, event: QCloseEvent) -> None:
        # Let go of it after this event, not inside its own handler.
        QTimer.singleShot(0, partial(_OPENED.discard, self))
        self.save_state()
        if self._workspace is not None:
            self._workspace.shutdown()
        super().closeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._deferred:
            # Build once the window is on screen: its first paint has just happened.
            self._deferred = False
            QTimer.singleShot(0, self.build_workspace)

    # -- slots ---------------------------------------------------------------------------------

    def _batch_call(self, method: str, *_checked: object) -> None:
        getattr(self.workspace.batch, method)()

    def _batch_undo(self, undo: bool, *_checked: object) -> None:
        stack = self.workspace.batch.undo
        stack.undo() if undo else stack.redo()

    def _templates_call(self, method: str, *_checked: object) -> None:
        getattr(self.workspace.templates, method)()

    def _show_bottom(self, name: str, *_checked: object) -> None:
        self.workspace.show_bottom(name)

    def _show_room(self, name: str, *_checked: object) -> None:
        self.workspace.show_room(name)

    def _profiles_call(self, method: str, *_checked: object) -> None:
        getattr(self.workspace.profiles, method)()

    def _on_plaintext(self, on: bool) -> None:
        self.workspace.profiles.set_plaintext(on)

    def _workspace_call(self, method: str, *_checked: object) -> None:
        # Actions reach the workspace by name, so that none of them builds it before it is due.
        getattr(self.workspace, method)()

    def _compose_call(self, method: str, *_checked: object) -> None:
        getattr(self.workspace.compose, method)()

    def show_message(self, text: str, ms: int = 6000) -> None:
        self.statusBar().showMessage(text, ms)

    def set_sending(self, sending: bool) -> None:
        self.send_action.setEnabled(not sending)
        self.cancel_action.setEnabled(sending)
        self.busy.setVisible(sending)

    def _on_edit_json(self, on: bool) -> None:
        if not self.workspace.compose.set_raw_mode(on):
            self.edit_json_action.blockSignals(True)
            self.edit_json_action.setChecked(not on)
            self.edit_json_action.blockSignals(False)

    def _on_show_key(self, shown: bool) -> None:
        self.key.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        if self._workspace is not None:
            self._workspace.compose.key_visibility_changed(shown)

    def _on_appearance(self, action: QAction) -> None:
        choice = Appearance(action.data())
        self.state.set("view/appearance", choice.value)
        apply_appearance(choice)
        if self._workspace is not None:
            self._workspace.compose.update_preview()
