"""The plan tab: the active tracking plan as a tree, its problems, how many events break each
planned event, and learning a plan from the batch, the inbox or a file.

The plan is read on a worker thread and followed on disk; a plan with problems is shown with
them and its sound parts are used, so it never blocks composing or sending.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from composer import settings as app_settings
from composer.core.findings import Severity
from composer.core.plans.check import check_against_plan
from composer.core.plans.infer import infer_plan, render_plan
from composer.core.plans.model import Plan, PropertySpec
from composer.ui import dialogs
from composer.ui.tasks import TaskRunner
from composer.ui.theme import status_colors
from composer.ui.widgets.buttons import tool_button

LEARNED_NAME = "tracking-plan.yaml"


class PlanPanel(QWidget):
    """Signals:
    plan_changed(object): the Plan now in force (None: no plan).
    message(str, int): a status-bar text.
    """

    plan_changed = Signal(object)  # Plan | None (a typed signal would refuse None)
    message = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan: Plan | None = None
        self.path: Path | None = None
        self.folder: Path | None = None
        self._settings = app_settings.Settings()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._tasks = TaskRunner(self._pool, self)
        self.loaded = False
        self._content = b""  # the plan file's bytes when last read
        self.breaks: dict[str, Counter[str]] = {}
        self.batch_busy: Callable[[], bool] = lambda: False
        # Where the counts come from: callables returning event objects (batch rows, inbox).
        self.batch_events: Callable[[], list[Any]] = list
        self.inbox_events: Callable[[], list[Any]] = list
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._schedule_reload)
        self._watcher.directoryChanged.connect(self._schedule_reload)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(300)
        self._reload_timer.timeout.connect(self.reload)
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(500)
        self._count_timer.timeout.connect(self.count_breaks)

        self.where = QLabel("No tracking plan.", self)
        self.where.setAccessibleName("Tracking plan file")
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems = QLabel(self)
        self.problems.setAccessibleName("Tracking plan problems")
        self.problems.setWordWrap(True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems.setVisible(False)

        button = partial(tool_button, self)

        self.example_button = button(
            "Use the example plan",
            "Use the example plan",
            self.use_example,
            "Copy the example plan beside your templates as tracking-plan.yaml",
        )
        self.choose_button = button("Choose plan…", "Choose tracking plan file", self.choose_file)
        self.learn_batch_button = button(
            "Learn from batch",
            "Learn plan from batch",
            partial(self.learn, "batch"),
            "Draft a plan from the events in the batch table",
        )
        self.learn_inbox_button = button(
            "Learn from inbox",
            "Learn plan from inbox",
            partial(self.learn, "inbox"),
            "Draft a plan from the events the sandbox received",
        )
        self.learn_file_button = button(
            "Learn from file…",
            "Learn plan from file",
            self.learn_from_file,
            "Draft a plan from a JSON, JSON Lines or CSV file of events",
        )
        self.codegen_button = button(
            "Generate code…",
            "Generate code from plan",
            self.generate_code,
            "Typed Python or TypeScript functions for every planned event, previewed",
        )
        self.codegen_button.setVisible(False)  # until there is a plan

        self.model = QStandardItemModel(self)
        self.model.setHorizontalHeaderLabels(["Event / property", "Type", "Rules", "Breaks"])
        self.tree = QTreeView(self)
        self.tree.setModel(self.model)
        self.tree.setAccessibleName("Tracking plan")
        self.tree.setObjectName("plan_tree")
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 240)
        header.resizeSection(1, 130)
        header.resizeSection(2, 420)
        header.setStretchLastSection(True)

        tools = QHBoxLayout()
        tools.addWidget(self.where, 1)
        for b in (
            self.example_button,
            self.choose_button,
            self.learn_batch_button,
            self.learn_inbox_button,
            self.learn_file_button,
            self.codegen_button,
        ):
            tools.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 0)
        layout.addLayout(tools)
        layout.addWidget(self.problems)
        layout.addWidget(self.tree, 1)

    # -- finding and reading the plan ---------------------------------------------------------

    def set_folder(self, folder: Path) -> None:
        """The templates folder changed: the plan beside it may be another one."""
        self.folder = folder
        self.reload()

    def reload(self) -> None:
        self._tasks.run(self._read, self._on_read, self._on_failed)

    def _read(self) -> tuple[Path | None, Plan | None, app_settings.Settings, bytes]:
        # A worker thread.
        from composer.services.plans import find_plan_file, load_plan

        loaded = app_settings.load().settings
        path: Path | None
        if loaded.plan_file:
            path = Path(loaded.plan_file).expanduser()
        elif self.folder is not None:
            path = find_plan_file(self.folder)
        else:
            path = None
        try:
            content = path.read_bytes() if path is not None else b""
        except OSError:
            content = b""
        if self.loaded and path == self.path and content == self._content and content:
            return path, self.plan, loaded, content  # unchanged: no re-check of everything
        return path, (load_plan(path) if path is not None else None), loaded, content

    def _on_read(
        self, result: tuple[Path | None, Plan | None, app_settings.Settings, bytes]
    ) -> None:
        path, plan, loaded, content = result
        self._settings = loaded
        unchanged = self.loaded and path == self.path and plan is self.plan
        self.path, self.plan, self._content = path, plan, content
        self.loaded = True
        watched = self._watcher.files() + self._watcher.directories()
        if watched:
            self._watcher.removePaths(watched)
        if path is not None:
            if path.exists():
                self._watcher.addPath(str(path))
            if path.parent.exists():
                self._watcher.addPath(str(path.parent))  # an editor that saves by renaming
        elif self.folder is not None and self.folder.exists():
            self._watcher.addPath(str(self.folder))  # a plan may appear there
        if unchanged:
            return  # the folder changed around the plan (a template saved), not the plan
        self._show()
        self.plan_changed.emit(plan if plan is not None and plan.usable else None)
        self.schedule_count()

    def _schedule_reload(self, _path: str) -> None:
        self._reload_timer.start()

    def _on_failed(self, exc: Exception) -> None:
        self.message.emit(f"Tracking plan: {exc}", 15000)

    # -- showing it --------------------------------------------------------------------------

    def _show(self) -> None:
        plan, path = self.plan, self.path
        colors = status_colors(self.palette())
        self.example_button.setVisible(plan is None)
        # In the example's place once there is a plan: the row keeps its width.
        self.codegen_button.setVisible(plan is not None)
        self.codegen_button.setEnabled(plan is not None and plan.usable)
        if plan is None:
            folder = self.folder or "the templates folder"
            self.where.setText(
                f"No tracking plan. Put a tracking-plan.yaml in {folder}, choose one, use the"
                " example, or learn one from your events."
            )
        else:
            title = f" “{plan.name}”" if plan.name else ""
            self.where.setText(
                f"Tracking plan{title}: {path} — {len(plan.events)} events. Checked live against"
                " the form, every batch row and the sandbox inbox."
            )
        problems = plan.problems if plan is not None else []
        self.problems.setVisible(bool(problems))
        if problems:
            shown = "\n".join(str(p) for p in problems[:8])
            more = f"\n… and {len(problems) - 8} more" if len(problems) > 8 else ""
            usable = (
                "The rest of the plan is used."
                if plan is not None and plan.usable
                else "The plan is not used until this is fixed."
            )
            self.problems.setText(f"The plan has problems ({usable})\n{shown}{more}")
            self.problems.setStyleSheet(f"color: {colors.client_error.name()};")
        self.model.removeRows(0, self.model.rowCount())
        if plan is None:
            return
        bold = QFont(self.font())
        bold.setBold(True)
        root = self.model.invisibleRootItem()
        for event in sorted(plan.events.values(), key=lambda e: e.name):
            item = QStandardItem(event.name)
            item.setFont(bold)
            item.setData(event.name, Qt.ItemDataRole.UserRole)
            about = " · ".join(x for x in (event.description, event.owner) if x)
            item.setToolTip(about)
            row = [item, QStandardItem("event"), QStandardItem(about), QStandardItem("")]
            root.appendRow(row)
            for group, specs in (
                ("", event.properties),
                ("$set.", event.set),
                ("$set_once.", event.set_once),
            ):
                for spec in specs.values():
                    item.appendRow(
                        [
                            QStandardItem(group + spec.name),
                            QStandardItem(" | ".join(t.value for t in spec.types) or "any"),
                            QStandardItem(describe_rules(spec)),
                            QStandardItem(""),
                        ]
                    )
        self.tree.expandToDepth(0)

    def schedule_count(self) -> None:
        if self.plan is not None and not self._count_timer.isActive():
            self._count_timer.start()

    def count_breaks(self) -> None:
        """How many batch and inbox events break each planned event (on a worker thread)."""
        plan = self.plan
        if plan is None:
            return
        if self.batch_busy():
            self._count_timer.start()  # mid-send the rows change every moment: count after
            return
        batch, inbox = self.batch_events(), self.inbox_events()
        work = partial(_count, plan, batch, inbox)
        self._tasks.run(work, partial(self._on_counted, plan), self._on_failed)

    def _on_counted(self, plan: Plan, counts: tuple[Counter[str], Counter[str]]) -> None:
        if plan is not self.plan:
            return
        batch, inbox = counts
        self.breaks = {"batch": batch, "inbox": inbox}
        self._show_unplanned(plan, batch, inbox)
        for row in range(self.model.rowCount()):
            name = self.model.item(row, 0).data(Qt.ItemDataRole.UserRole)
            if name is None:
                continue  # the "not in the plan" row, filled in by _show_unplanned
            b, i = batch.get(name, 0), inbox.get(name, 0)
            cell = self.model.item(row, 3)
            cell.setText(f"batch {b} · inbox {i}" if b or i else "")
            cell.setToolTip(f"{b} batch rows and {i} sandbox events named {name} break the plan")

    def _show_unplanned(self, plan: Plan, batch: Counter[str], inbox: Counter[str]) -> None:
        """One row for events the plan does not list, with their names and counts."""
        names = sorted({n for n in (*batch, *inbox) if n not in plan.events})
        for row in range(self.model.rowCount()):
            item = self.model.item(row, 0)
            if item.data(Qt.ItemDataRole.UserRole + 1):
                self.model.removeRow(row)
                break
        if not names:
            return
        b = sum(batch[n] for n in names)
        i = sum(inbox[n] for n in names)
        item = QStandardItem("(not in the plan)")
        item.setData(True, Qt.ItemDataRole.UserRole + 1)
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        self.model.appendRow(
            [
                item,
                QStandardItem("events"),
                QStandardItem(shown),
                QStandardItem(f"batch {b} · inbox {i}"),
            ]
        )

    # -- actions -----------------------------------------------------------------------------

    def use_example(self) -> None:
        if self.folder is None:
            return
        from composer.services.plans import example_plan_path, write_new_plan

        folder = self.folder

        def copy() -> Path:
            text = example_plan_path().read_text(encoding="utf-8")
            return write_new_plan(folder / LEARNED_NAME, text)

        self._tasks.run(copy, self._on_written_active, self._on_failed)

    def _on_written_active(self, path: Path) -> None:
        self.message.emit(f"The tracking plan is {path}; edit it in any editor.", 10000)
        if path.name != LEARNED_NAME:
            self.use_file(path)
        else:
            self.reload()

    def choose_file(self) -> None:
        start = str(self.path or self.folder or "")
        path, _ = QFileDialog.getOpenFileName(
            self, "Tracking plan", start, "Tracking plans (*.yaml *.yml *.json)"
        )
        if path:
            self.use_file(Path(path))

    def use_file(self, path: Path | None) -> None:
        """Make `path` the plan (None: the tracking-plan.yaml beside the templates)."""
        self._settings.plan_file = str(path) if path is not None else ""
        work = partial(app_settings.update, plan_file=self._settings.plan_file)
        self._tasks.run(work, lambda _r: self.reload(), self._on_failed)

    def generate_code(self) -> None:
        if self.plan is None:
            return
        from composer.ui.plan.codegen_dialog import CodegenDialog

        CodegenDialog(self.plan, self.path, self).exec()

    def learn(self, source: str) -> None:
        events = self.batch_events() if source == "batch" else self.inbox_events()
        if not events:
            where = "batch table" if source == "batch" else "sandbox inbox"
            self.message.emit(f"The {where} has no events to learn from.", 8000)
            return
        self._learn(events, f"the {source}")

    def learn_from_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Learn a plan from events", "", "Events (*.jsonl *.ndjson *.json *.csv)"
        )
        if not path:
            return
        from composer.services.batch_files import read_batch_file

        def read() -> list[Any]:
            return [row.event for row in read_batch_file(path).rows]

        self._tasks.run(read, lambda events: self._learn(events, Path(path).name), self._on_failed)

    def _learn(self, events: list[Any], source: str) -> None:
        folder = self.folder
        if folder is None:
            return
        chosen = self._settings.plan_file
        from composer.services.plans import find_plan_file, write_new_plan

        def write() -> tuple[Path, bool]:
            text = render_plan(infer_plan(events, f"Learned from {source}"))
            # With no plan yet, the draft becomes the plan; beside any existing plan (.yaml,
            # .yml, .json, or one chosen elsewhere) it is a separate file, and that plan is
            # never replaced.
            existing = chosen or find_plan_file(folder)
            target = folder / ("tracking-plan.learned.yaml" if existing else LEARNED_NAME)
            return write_new_plan(target, text), not existing

        self._tasks.run(write, partial(self._on_learned, len(events)), self._on_failed)

    def _on_learned(self, count: int, result: tuple[Path, bool]) -> None:
        path, active = result
        if active:
            self.message.emit(
                f"Learned a plan from {count} events: {path}. It is the active plan; edit it.",
                12000,
            )
            self.reload()
            return
        if dialogs.confirm(
            self,
            "A draft plan was written",
            f"Learned from {count} events and written to {path}, beside your current plan"
            " (which is unchanged). Use the draft now?",
            "Use the draft",
        ):
            self.use_file(path)
        else:
            self.message.emit(f"Draft plan written to {path}.", 12000)

    @property
    def idle(self) -> bool:
        return self._tasks.idle

    def shutdown(self) -> None:
        self._pool.waitForDone(5000)


def describe_rules(spec: PropertySpec) -> str:
    parts: list[str] = []
    if spec.required:
        parts.append("required")
    if spec.enum is not None:
        parts.append("one of " + ", ".join(str(v) for v in spec.enum))
    if spec.pattern is not None:
        parts.append(f"matches {spec.pattern.pattern}")
    if spec.minimum is not None:
        parts.append(f"≥ {spec.minimum}")
    if spec.maximum is not None:
        parts.append(f"≤ {spec.maximum}")
    if spec.min_length is not None:
        parts.append(f"length ≥ {spec.min_length}")
    if spec.max_length is not None:
        parts.append(f"length ≤ {spec.max_length}")
    if spec.schema_source is not None:
        parts.append("JSON Schema")
    if spec.description:
        parts.append(spec.description)
    return "; ".join(parts)


def _count(
    plan: Plan, batch: Iterable[Any], inbox: Iterable[Any]
) -> tuple[Counter[str], Counter[str]]:
    def tally(events: Iterable[Any]) -> Counter[str]:
        counts: Counter[str] = Counter()
        for event in events:
            if isinstance(event, dict) and any(
                f.severity is Severity.ERROR for f in check_against_plan(event, plan)
            ):
                counts[str(event.get("event"))] += 1
        return counts

    return tally(batch), tally(inbox)
