"""The templates tab: the templates folder as a tree, with search and the file operations.

Reading and writing the folder happens on a worker thread; the tree follows the folder on disk
(a git pull, another window) through a file-system watcher.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QModelIndex, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from composer import settings as app_settings
from composer.core.jsonio import JsonObject
from composer.core.templates.document import (
    Template,
    TemplateError,
    TemplateType,
    matches,
    suggest_name,
    without_fixed_uuid,
)
from composer.services.templates import (
    EXAMPLES,
    ConflictError,
    TemplateEntry,
    TemplateStore,
)
from composer.ui import dialogs
from composer.ui.tasks import TaskRunner
from composer.ui.templates import dialogs as template_dialogs
from composer.ui.theme import status_colors
from composer.ui.widgets.buttons import tool_button

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1


class TemplatesPanel(QWidget):
    """Signals:
    open_requested(Template, TemplateEntry): to show in the form or the batch.
    saved(TemplateEntry): the template just written (the form now edits that file).
    folder_changed(Path): the templates folder now in use.
    variables_changed(dict): the workspace variables as they are now.
    message(str, int): a status-bar text.
    """

    open_requested = Signal(Template, TemplateEntry)
    saved = Signal(TemplateEntry)
    folder_changed = Signal(Path)  # the templates folder now in use
    variables_changed = Signal(dict)
    message = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = app_settings.Settings()
        self.store = TemplateStore(app_settings.default_templates_dir())
        self.entries: list[TemplateEntry] = []
        self.folders: list[str] = []  # sub-folders, from the last scan (never walked here)
        self.variables: dict[str, Any] = {}
        self.secrets: Callable[[], tuple[str, ...]] = tuple
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one writer at a time keeps the folder's order simple
        self._tasks = TaskRunner(self._pool, self)
        self._loaded = False
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._schedule_refresh)
        self._watcher.fileChanged.connect(self._schedule_refresh)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(300)
        self._refresh_timer.timeout.connect(self.refresh)
        self._refresh_timer.timeout.connect(self.reload_variables)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search templates by name, folder or description")
        self.search.setAccessibleName("Search templates")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._populate)

        button = partial(tool_button, self)

        self.open_button = button("Open", "Open template", self.open_selected, "Open (Enter)")
        self.rename_button = button("Rename…", "Rename template", self.rename_selected)
        self.duplicate_button = button("Duplicate", "Duplicate template", self.duplicate_selected)
        self.delete_button = button("Delete", "Delete template", self.delete_selected)
        self.folder_button = button("New folder…", "New template folder", self.new_folder)
        self.variables_button = button(
            "Variables…", "Edit workspace variables", self.edit_variables
        )
        self.location_button = button(
            "Change folder…",
            "Change templates folder",
            self.choose_location,
            "Keep templates somewhere else, such as a git checkout",
        )
        self.location = QLabel(self)
        self.location.setAccessibleName("Templates folder")
        self.location.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.model = QStandardItemModel(self)
        self.model.setHorizontalHeaderLabels(["Name", "Type", "Description"])
        self.tree = QTreeView(self)
        self.tree.setModel(self.model)
        self.tree.setAccessibleName("Templates")
        self.tree.setObjectName("templates_tree")
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.tree.header().setStretchLastSection(True)
        self.tree.header().resizeSection(0, 260)
        self.tree.header().resizeSection(1, 110)
        self.tree.activated.connect(self._on_activated)
        self.tree.selectionModel().selectionChanged.connect(self._sync_buttons)

        tools = QHBoxLayout()
        tools.addWidget(self.search, 1)
        for b in (
            self.open_button,
            self.rename_button,
            self.duplicate_button,
            self.delete_button,
            self.folder_button,
            self.variables_button,
        ):
            tools.addWidget(b)
        where = QHBoxLayout()
        where.addWidget(self.location, 1)
        where.addWidget(self.location_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 0)
        layout.addLayout(tools)
        layout.addWidget(self.tree, 1)
        layout.addLayout(where)
        self._sync_buttons()

    # -- loading -------------------------------------------------------------------------------

    def start(self) -> None:
        """Read the settings and the folder (off the GUI thread)."""
        self._tasks.run(app_settings.load, self._on_settings, self._on_failed)

    def _on_settings(self, loaded: Any) -> None:
        self._settings = loaded.settings
        if loaded.note:
            self.message.emit(loaded.note, 10000)
        self._use_folder(app_settings.templates_dir(self._settings))

    def _use_folder(self, root: Path) -> None:
        self.store = TemplateStore(root)
        self.location.setText(f"Folder: {root}")
        self.folder_changed.emit(root)
        self.refresh()
        self.reload_variables()

    def refresh(self) -> None:
        self._tasks.run(self._scan, self._on_scanned, self._on_failed)

    def _scan(self) -> tuple[list[TemplateEntry], list[str]]:  # a worker thread
        self.store.root.mkdir(parents=True, exist_ok=True)
        return self.store.entries(), self.store.folders()

    def _on_scanned(self, result: tuple[list[TemplateEntry], list[str]]) -> None:
        self.entries, self.folders = result
        watched = [str(self.store.root), *(str(self.store.root / f) for f in self.folders)]
        self._loaded = True
        old = self._watcher.directories()
        if old:
            self._watcher.removePaths(old)
        self._watcher.addPaths(watched)
        variables = str(self.store.variables_path)
        if self.store.variables_path.exists() and variables not in self._watcher.files():
            self._watcher.addPath(variables)
        self._populate()

    @property
    def loaded(self) -> bool:
        return self._loaded

    def _schedule_refresh(self, _path: str) -> None:
        # An atomic replace (ours, another window's, git's) ends the watch on the old file and
        # shows as a change of the folder: read the templates and the variables again.
        self._refresh_timer.start()

    def reload_variables(self) -> None:
        self._tasks.run(self.store.variables, self._on_variables, self._on_variables_failed)

    def _on_variables(self, variables: Any) -> None:
        self.variables = dict(variables)
        self.variables_changed.emit(self.variables)

    def _on_variables_failed(self, exc: Exception) -> None:
        self.message.emit(f"Workspace variables: {exc}", 15000)

    def _on_failed(self, exc: Exception) -> None:
        text = str(exc) if isinstance(exc, TemplateError) else f"Templates: {exc}"
        self.message.emit(text, 15000)

    # -- the tree ------------------------------------------------------------------------------

    def _populate(self) -> None:
        words = self.search.text().split()
        selected = self.selected()
        self.model.removeRows(0, self.model.rowCount())
        folders: dict[str, QStandardItem] = {}
        root = self.model.invisibleRootItem()
        bold = QFont(self.font())
        bold.setBold(True)
        colors = status_colors(self.palette())
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        warn = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        for entry in self.entries:
            if words and not matches(entry.name, entry.folder, entry.description, words):
                continue
            parent = root
            if entry.folder:
                parent = folders.get(entry.folder) or self._folder_item(
                    root, folders, entry.folder, icon, bold
                )
            name = QStandardItem(entry.name)
            name.setData(entry, ENTRY_ROLE)
            name.setToolTip(str(entry.path))
            kind = QStandardItem(_type_label(entry))
            detail = QStandardItem(entry.error or entry.description)
            if entry.error:
                name.setIcon(warn)
                detail.setForeground(colors.client_error)
                detail.setToolTip(entry.error)
            parent.appendRow([name, kind, detail])
        self.tree.expandAll()
        if selected is not None:
            self.select_path(selected.path)
        self._sync_buttons()

    def _folder_item(
        self,
        root: QStandardItem,
        folders: dict[str, QStandardItem],
        folder: str,
        icon: Any,
        bold: QFont,
    ) -> QStandardItem:
        parent = root
        walked = ""
        for part in folder.split("/"):
            walked = f"{walked}/{part}" if walked else part
            item = folders.get(walked)
            if item is None:
                item = QStandardItem(icon, part)
                item.setFont(bold)
                if walked == EXAMPLES:
                    item.setToolTip("Shipped with the app: the PostHog tutorial's examples")
                parent.appendRow([item, QStandardItem(""), QStandardItem("")])
                folders[walked] = item
            parent = item
        return parent

    def _entry_at(self, index: QModelIndex) -> TemplateEntry | None:
        if not index.isValid():
            return None
        item = self.model.itemFromIndex(index.siblingAtColumn(0))
        value = item.data(ENTRY_ROLE)
        return value if isinstance(value, TemplateEntry) else None

    def selected(self) -> TemplateEntry | None:
        return self._entry_at(self.tree.currentIndex())

    def select_path(self, path: Path) -> bool:
        def walk(parent: QModelIndex) -> QModelIndex | None:
            for row in range(self.model.rowCount(parent)):
                index = self.model.index(row, 0, parent)
                entry = self._entry_at(index)
                if entry is not None and entry.path == path:
                    return index
                found = walk(index)
                if found is not None:
                    return found
            return None

        index = walk(QModelIndex())
        if index is None:
            return False
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    def entry_named(self, name: str) -> TemplateEntry | None:
        return next((e for e in self.entries if e.name == name), None)

    def _sync_buttons(self, *_args: object) -> None:
        entry = self.selected()
        usable = entry is not None and not entry.error
        own = usable and entry is not None and not entry.builtin
        self.open_button.setEnabled(usable)
        self.duplicate_button.setEnabled(usable)
        self.rename_button.setEnabled(own)
        self.delete_button.setEnabled(entry is not None and not entry.builtin)

    # -- operations ----------------------------------------------------------------------------

    def _on_activated(self, index: QModelIndex) -> None:
        if self._entry_at(index) is not None:
            self.open_selected()

    def open_selected(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        if entry.error:
            self.message.emit(f"{entry.path.name}: {entry.error}", 15000)
            return
        self.open_entry(entry)

    def open_entry(self, entry: TemplateEntry) -> None:
        self._tasks.run(partial(self.store.load, entry), self._on_loaded, self._on_failed)

    def _on_loaded(self, result: tuple[Template, TemplateEntry]) -> None:
        template, entry = result
        self.open_requested.emit(template, entry)
        self.message.emit(f"Opened template {template.name!r} ({entry.path}).", 6000)

    def save_as(self, template: Template, title: str, folder: str = "") -> None:
        """Ask for a name and folder, then write a new file."""
        choice = template_dialogs.ask_save_template(
            self, title, template.name, self.folders, folder, template.description
        )
        if choice is None:
            return
        template.name = choice.name
        template.description = choice.description
        work = partial(self.store.save_new, template, choice.folder, self.secrets())
        self._tasks.run(work, self._on_saved, self._on_failed)

    def save_payload(self, template: Template, origin: TemplateEntry | None) -> None:
        """Save over the template the payload came from, or ask for a name."""
        if origin is not None and template.type is TemplateType.PAYLOAD:
            self.save_over(template, origin)
        else:
            self.save_as(template, "Save template")

    def save_batch(self, events: Sequence[JsonObject]) -> None:
        """Every row as one batch template, without their uuids: a replayed template must be
        new events, not duplicates that PostHog drops ({{$uuid}} placeholders stay)."""
        kept = [without_fixed_uuid(event) for event in events]
        if not kept:
            self.message.emit("The batch is empty; add events first.", 8000)
            return
        template = Template(suggest_name(kept) + " batch", TemplateType.BATCH, kept, "/batch/")
        self.save_as(template, "Save the batch as a template")

    def save_over(self, template: Template, entry: TemplateEntry) -> None:
        """Overwrite the file a template was opened from, asking if it changed meanwhile."""
        if entry.builtin:
            self.save_as(template, "Save as a new template")
            return
        work = partial(self.store.save_over, entry, template, self.secrets())
        self._tasks.run(work, self._on_saved, partial(self._on_save_over_failed, template, entry))

    def _on_save_over_failed(
        self, template: Template, entry: TemplateEntry, exc: Exception
    ) -> None:
        if not isinstance(exc, ConflictError):
            self._on_failed(exc)
            return
        answer = dialogs.choose(
            self,
            "The template changed on disk",
            f"{exc} Keep both by saving yours as a new template, or replace the file with yours?",
            ["Save as a new template", "Replace the file"],
        )
        if answer == "Save as a new template":
            template.name = f"{template.name} (mine)"
            self.save_as(template, "Save as a new template", entry.folder)
        elif answer == "Replace the file":
            work = partial(self._replace, entry, template, self.secrets())
            self._tasks.run(work, self._on_saved, self._on_failed)

    def _replace(
        self, entry: TemplateEntry, template: Template, secrets: tuple[str, ...]
    ) -> TemplateEntry:  # a worker thread: no widgets here
        from composer.services.templates import fingerprint

        try:
            current = fingerprint(entry.path.read_bytes())
        except FileNotFoundError:
            return self.store.save_new(template, entry.folder, secrets)
        fresh = TemplateEntry(entry.path, entry.folder, entry.name, entry.type, fingerprint=current)
        return self.store.save_over(fresh, template, secrets)

    def _on_saved(self, entry: TemplateEntry) -> None:
        self.saved.emit(entry)
        self.message.emit(f"Saved template {entry.name!r} to {entry.path}.", 8000)
        self._after_write(entry.path)

    def _after_write(self, select: Path | None = None) -> None:
        self._tasks.run(self._scan, partial(self._on_rescanned, select), self._on_failed)

    def _on_rescanned(self, select: Path | None, result: Any) -> None:
        self._on_scanned(result)
        if select is not None:
            self.select_path(select)

    def rename_selected(self) -> None:
        entry = self.selected()
        if entry is None or entry.builtin or entry.error:
            return
        name = dialogs.ask_text(self, "Rename template", "New name:", entry.name)
        if name is None or name == entry.name:
            return
        work = partial(self.store.rename, entry, name)
        self._tasks.run(work, lambda e: self._after_write(e.path), self._on_failed)

    def duplicate_selected(self) -> None:
        entry = self.selected()
        if entry is None or entry.error:
            return
        work = partial(self.store.duplicate, entry)
        self._tasks.run(work, lambda e: self._after_write(e.path), self._on_failed)

    def delete_selected(self) -> None:
        entry = self.selected()
        if entry is None or entry.builtin:
            return
        if not dialogs.confirm(
            self,
            "Delete template",
            f"Delete {entry.name!r}? The file {entry.path} is removed (git keeps its history"
            " if the folder is a checkout).",
            "Delete",
        ):
            return
        self._tasks.run(
            partial(self.store.delete, entry), lambda _r: self._after_write(), self._on_failed
        )

    def new_folder(self) -> None:
        name = dialogs.ask_text(self, "New folder", "Folder name (a/b makes nested folders):")
        if name:
            work = partial(self.store.make_folder, name)
            self._tasks.run(work, lambda _r: self._after_write(), self._on_failed)

    def choose_location(self) -> None:
        chosen = dialogs.ask_folder(self, "Templates folder", str(self.store.root))
        if chosen is None:
            return
        self.set_location(Path(chosen))

    def set_location(self, root: Path) -> None:
        self._settings.templates_dir = str(root)
        self._tasks.run(
            partial(app_settings.update, templates_dir=str(root)),
            lambda _r: self._use_folder(root),
            self._on_failed,
        )

    def edit_variables(self) -> None:
        answer = template_dialogs.ask_variables(
            self, self.variables, str(self.store.variables_path)
        )
        if answer is None:
            return
        changed, removed = answer
        if not changed and not removed:
            return
        work = partial(self.store.update_variables, changed, removed, self.secrets())
        self._tasks.run(work, self._on_variables, self._on_failed)

    @property
    def busy(self) -> bool:
        return not self._tasks.idle

    def shutdown(self) -> None:
        self._pool.waitForDone(5000)


def _type_label(entry: TemplateEntry) -> str:
    return entry.summary or "unreadable"
