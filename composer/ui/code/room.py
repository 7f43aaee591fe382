"""The code room: the Code tab beside the body preview, Copy as …, and Paste from code….

It owns no payload: the workspace gives it `source`, which returns the payload as the preview
shows it (a `CodeSource`), and `target`, the host and key of the toolbar. The code is written by
the core (`composer.core.snippets`) and never holds the key unless "Include the key" is ticked,
and that tick lasts for one copy. Paste from code reads the text in the core too and hands the
result to `apply_pasted`, which the workspace points at the compose room.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from composer.core.snippets import LANGUAGES, Snippet, SnippetRequest, generate, language
from composer.core.snippets.paste import Pasted, PasteError, paste
from composer.ui.code.paste_dialog import PasteCodeDialog
from composer.ui.code.view import CodeView
from composer.ui.tasks import TaskRunner
from composer.ui.ui_state import UiState

REFRESH_MS = 120
LANGUAGE_STATE = "code/language"


@dataclass(frozen=True)
class CodeSource:
    """A body to write as code: what the preview shows (key in place, variables filled in)."""

    body: Any
    endpoint: str
    what: str = "the payload"  # for messages: "the payload", "2 batch rows" ...
    secrets: tuple[str, ...] = ()  # keys found besides the toolbar's, never to be written
    problem: str = ""  # why the code may not send what is meant (variables without a value)


@dataclass(frozen=True)
class Target:
    host: str
    key: str


@dataclass
class _Sources:
    """Where Copy as … finds the other bodies; each returns a source or a message why none."""

    batch: Callable[[], CodeSource | str] | None = None
    history: Callable[[], CodeSource | str] | None = None
    # Reads what it needs on the GUI thread and returns a function for a worker thread (which
    # reads the template's file), or a message why there is nothing to copy.
    template: Callable[[], Callable[[], CodeSource | str] | str] | None = None


class CodeRoom(QObject):
    """Signals: message(str, int): a status-bar text and how long to show it."""

    message = Signal(str, int)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.view = CodeView(parent)
        self.source: Callable[[], CodeSource | str] = lambda: "Nothing composed yet."
        self.target: Callable[[], Target] = lambda: Target("", "")
        self.apply_pasted: Callable[[Pasted], bool] = lambda pasted: False
        self.sources = _Sources()
        self.last: Snippet | None = None
        self.paste_dialog: PasteCodeDialog | None = None
        self._state = UiState()
        self._tasks = TaskRunner(QThreadPool.globalInstance(), self)
        self._dirty = True
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.view.set_language(self._state.text(LANGUAGE_STATE, "curl"))
        self.view.language.currentIndexChanged.connect(self._language_changed)
        self.view.include_key.toggled.connect(self._include_key_toggled)
        self.view.copy_button.clicked.connect(self.copy_code)
        self.view.shown.connect(self._on_shown)

    # -- the Code tab -----------------------------------------------------------------------

    def schedule_refresh(self, *_args: object) -> None:
        """The payload (or the target) changed: rewrite the code soon, if it is on screen."""
        self._dirty = True
        if self.view.isVisible() and not self._timer.isActive():
            self._timer.start()

    def target_changed(self, *_args: object) -> None:
        """Another host or key: a key ticked in for the old target is not carried over."""
        self.view.include_key.setChecked(False)
        self.schedule_refresh()

    def _on_shown(self) -> None:
        if self._dirty:
            self.refresh()

    def _language_changed(self, _index: int) -> None:
        self._state.set(LANGUAGE_STATE, self.view.language_id())
        self.view.jump_to_code()
        self.refresh()

    def _include_key_toggled(self, on: bool) -> None:
        self.view.show_key_warning(on)
        self.refresh()

    def refresh(self) -> None:
        self._timer.stop()
        self._dirty = False
        chosen = self.view.language_id()
        source = self.source()
        if isinstance(source, str):
            self.last = None
            self.view.show_code("", language(chosen).syntax, (), source)
            return
        snippet = self._write(chosen, source, include_key=self.view.include_key.isChecked())
        self.last = snippet
        self.view.show_code(snippet.code, snippet.syntax, snippet.notes, source.problem)

    def _write(self, language_id: str, source: CodeSource, *, include_key: bool) -> Snippet:
        target = self.target()
        request = SnippetRequest(
            source.body,
            source.endpoint,
            target.host,
            include_key=include_key,
            key=target.key,
            secrets=source.secrets,
        )
        return generate(language_id, request)

    def copy_code(self) -> None:
        self.refresh()
        if self.last is None:
            self.message.emit("There is no code to copy: " + self.view.notes.text(), 8000)
            return
        QGuiApplication.clipboard().setText(self.last.code)
        label = language(self.last.language).label
        if self.view.include_key.isChecked():
            self.view.include_key.setChecked(False)  # asked for this copy only
            self.message.emit(f"Copied the payload as {label}, with the project key in it.", 8000)
        else:
            self.message.emit(f"Copied the payload as {label}{_notes(self.last)}.", 6000)

    # -- Copy as … --------------------------------------------------------------------------

    def fill_copy_menu(self, menu: QMenu) -> None:
        """Copy as ▸ one action per language for the payload, then submenus for the selected
        batch rows, the chosen history send and the chosen template. Never with the key."""
        menu.clear()
        for lang in LANGUAGES:
            action = QAction(lang.label, menu)
            action.setObjectName(f"copy_as_{lang.id}")
            action.setStatusTip(f"Copy the payload as {lang.label} code (the key is not in it)")
            action.triggered.connect(partial(self.copy_as, lang.id, "payload"))
            menu.addAction(action)
        menu.addSeparator()
        for kind, title in (
            ("batch", "Selected batch rows as"),
            ("history", "Chosen history send as"),
            ("template", "Chosen template as"),
        ):
            sub = menu.addMenu(title)
            sub.setObjectName(f"copy_{kind}_as_menu")
            for lang in LANGUAGES:
                action = QAction(lang.label, sub)
                action.setObjectName(f"copy_{kind}_as_{lang.id}")
                action.triggered.connect(partial(self.copy_as, lang.id, kind))
                sub.addAction(action)

    def copy_as(self, language_id: str, kind: str = "payload", *_checked: object) -> None:
        if kind == "template":
            if self.sources.template is None:
                self.message.emit("There are no templates here.", 6000)
                return
            job = self.sources.template()
            if isinstance(job, str):
                self.message.emit(job, 8000)
                return
            # It reads the template's file: off the GUI thread.
            self._tasks.run(job, partial(self._copy_source, language_id), self._copy_failed)
            return
        finders: dict[str, Callable[[], CodeSource | str] | None] = {
            "payload": self.source,
            "batch": self.sources.batch,
            "history": self.sources.history,
        }
        finder = finders.get(kind)
        if finder is None:
            self.message.emit("That is not available here.", 6000)
            return
        self._copy_source(language_id, finder())

    def _copy_source(self, language_id: str, source: CodeSource | str) -> None:
        if isinstance(source, str):
            self.message.emit(source, 8000)
            return
        snippet = self._write(language_id, source, include_key=False)
        QGuiApplication.clipboard().setText(snippet.code)
        label = language(language_id).label
        problem = f" {source.problem}" if source.problem else ""
        self.message.emit(f"Copied {source.what} as {label}{_notes(snippet)}.{problem}", 8000)

    def _copy_failed(self, exc: Exception) -> None:
        self.message.emit(f"Could not copy: {exc}", 10000)

    # -- Paste from code … -------------------------------------------------------------------

    def paste_from_code(self) -> PasteCodeDialog:
        """Open the paste dialog (again with what was typed last, if it was not used)."""
        if self.paste_dialog is None:
            self.paste_dialog = PasteCodeDialog(self._apply_text, self.view.window())
        dialog = self.paste_dialog
        dialog.open()
        dialog.text.setFocus()
        return dialog

    def _apply_text(self, text: str) -> tuple[str, int | None] | None:
        try:
            pasted = paste(text)
        except PasteError as exc:
            return str(exc), exc.line
        if not self.apply_pasted(pasted):
            return "The form did not take it (JSON editing was not left); nothing changed.", None
        events = len(pasted.events)
        where = f" for {pasted.host}" if pasted.host else ""
        notes = f" {' '.join(pasted.notes)}" if pasted.notes else ""
        self.message.emit(
            f"Filled the form from {pasted.source}{where}: {events} event"
            f"{'s' * (events != 1)}, {pasted.endpoint}.{notes}",
            12000,
        )
        if self.paste_dialog is not None:
            self.paste_dialog.text.clear()  # used: the next paste starts empty
        self.schedule_refresh()
        return None


def _notes(snippet: Snippet) -> str:
    count = len(snippet.notes)
    return f" ({count} note{'s' * (count != 1)} in its comments)" if count else ""
