"""Profiles in the window: the Profile switcher, the dialogs, and every keyring call off-thread.

The controller owns the secret store and a view of the profile book. Keyring calls and file
writes (the functions of `book_tasks.py`) run one at a time on a private pool; their results
come back as queued signals, so a keyring that hangs on an unlock prompt leaves the window
working and ends in a plain-words message.

Every change to profiles.json (add, update, remove, the active profile, the plain-text flag) is
one `change_book` on the pool: the file is read as it is now under its lock, that one change is
applied, and the book as written comes back to become the window's view. So a profile another
window or `event-composer profile add` wrote meanwhile is kept, and shows up here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol, TypeVar

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPixmap
from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget

from composer.paths import config_dir
from composer.profiles.book import (
    SANDBOX,
    SANDBOX_ID,
    Profile,
    ProfileBook,
    ProfileError,
    change_book,
    new_id,
    profiles_path,
)
from composer.profiles.secrets import (
    ProfileSecret,
    SecretError,
    SecretStore,
    Storage,
    configured_timeouts,
    plaintext_default_path,
)
from composer.ui import dialogs
from composer.ui.profiles.book_tasks import (
    Loaded,
    ProfileWrite,
    Saved,
    keep_then_change,
    load_with_key,
    move_keys,
    remove_with_key,
    set_active,
    store_for,
    store_then_change,
)
from composer.ui.profiles.dialog import ProfileDialog, ProfileDraft
from composer.ui.tasks import TaskRunner
from composer.ui.ui_state import UiState

OTHER = "__other__"  # the ad-hoc target: typed host and key, kept in memory only
T = TypeVar("T")


class TargetBar(Protocol):
    """The window's target row as the controller drives it (the main window is one)."""

    target: QComboBox
    host: QLineEdit
    key: QLineEdit
    sandbox_key: str
    plaintext_action: QAction
    state: UiState

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
    ) -> None: ...

    def window(self) -> QWidget: ...


def _swatch(color: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


class ProfilesController(QObject):
    """Signals: message(str, int) for the status bar; banner(str): a keyring problem, or "";
    target_changed(bool): the target changed (True: the local sandbox)."""

    message = Signal(str, int)
    banner = Signal(str)
    target_changed = Signal(bool)  # True when Send now goes to the local sandbox

    def __init__(self, shell: TargetBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.shell = shell
        self.path = profiles_path(config_dir())
        self.book = ProfileBook()
        read, write = configured_timeouts()
        self._timeouts = (read, write)
        self.store = SecretStore(read_timeout=read, write_timeout=write)
        self.active: Profile = SANDBOX
        self.mode = SANDBOX_ID
        self.secret: ProfileSecret | None = None
        self.sandbox_url = ""
        self.other_host = shell.state.text("target/host")
        self.other_key = ""
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # keyring calls one at a time, in order
        self._tasks = TaskRunner(self._pool, self)
        self._switching = False
        self.loaded = False  # the profile list has been read (the switcher is filled)
        shell.target.currentIndexChanged.connect(self._on_choice)
        self._show_target()

    # -- running keyring and file work off the GUI thread -------------------------------------

    def _run(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None],
        on_failed: Callable[[Exception], None] | None = None,
    ) -> None:
        """Run `fn` on the pool; the callbacks run on the GUI thread."""
        self._tasks.run(fn, on_done, on_failed or self._report)

    def _report(self, exc: Exception) -> None:
        self.message.emit(f"Profiles: {exc}", 15000)

    # -- loading -------------------------------------------------------------------------------

    def load(self) -> None:
        self._run(partial(load_with_key, self.path, self._timeouts), self._on_loaded)

    def _on_loaded(self, loaded: Loaded) -> None:
        self.book = loaded.book
        self.store = store_for(self.book, self._timeouts)
        if self.book.problem:
            self.message.emit(self.book.problem, 20000)
        self.active = self.book.active_profile()
        self.secret = loaded.secret
        self.mode = self.active.id
        self._populate()
        self._show_target()
        self.loaded = True
        if loaded.error is not None:
            self._secret_unavailable(self.active, loaded.error)

    # -- the switcher --------------------------------------------------------------------------

    def _populate(self) -> None:
        combo = self.shell.target
        self._switching = True
        try:
            combo.clear()
            for profile in self.book.all():
                label = f"{profile.name} (production)" if profile.production else profile.name
                combo.addItem(_swatch(profile.color), label, profile.id)
            combo.addItem("Other host (not saved)", OTHER)
            combo.setCurrentIndex(max(0, combo.findData(self.mode)))
        finally:
            self._switching = False

    def _on_choice(self, index: int) -> None:
        if self._switching or index < 0:
            return
        self.switch(str(self.shell.target.itemData(index)))

    def switch(self, choice: str) -> None:
        """Make a profile (or the sandbox, or the ad-hoc host) the target."""
        if self.mode == OTHER:
            self.other_host, self.other_key = self.shell.host.text(), self.shell.key.text()
        self.banner.emit("")
        self.mode = choice
        if choice == OTHER:
            self.active = SANDBOX  # no profile: nothing to guard, nothing to store
            self.secret = None
            self._show_target()
            return
        profile = self.book.get(choice) or SANDBOX
        self.active = profile
        self.secret = None
        self.book.active = profile.id
        self._show_target()
        self._change(partial(set_active, profile.id), quiet=True)
        if not profile.builtin:
            self._run(
                partial(self.store.get, profile.id),
                partial(self._on_secret, profile.id),
                partial(self._on_secret_failed, profile.id),
            )

    def _on_secret(self, profile_id: str, secret: ProfileSecret | None) -> None:
        if self.active.id != profile_id:
            return  # the user has moved on
        if secret is None:
            self._secret_unavailable(self.active, None)
            return
        self.secret = secret
        self._show_target()

    def _on_secret_failed(self, profile_id: str, exc: Exception) -> None:
        if not isinstance(exc, SecretError):
            self._report(exc)
        elif profile_id == self.active.id:
            self._secret_unavailable(self.active, exc)

    def _secret_unavailable(self, profile: Profile, error: SecretError | None) -> None:
        if error is None:
            text = (
                f"No host and key are stored for “{profile.name}”. Edit the profile to"
                " enter them, or enter them for this session."
            )
        else:
            text = (
                f"The host and key of “{profile.name}” could not be read: {error.message}"
                " You can enter them for this session only; they will not be written"
                " anywhere."
            )
        self.banner.emit(text)
        self.message.emit(text, 15000)

    def _show_target(self) -> None:
        self.target_changed.emit(self.mode != OTHER and self.active.builtin)
        shell = self.shell
        if self.mode == OTHER:
            shell.show_target(
                self.other_host,
                self.other_key,
                editable=True,
                name="Other host",
                color="#4b5563",
                production=False,
            )
            return
        if self.active.builtin:
            shell.show_target(
                self.sandbox_url,
                shell.sandbox_key,
                editable=False,
                name=SANDBOX.name,
                color=SANDBOX.color,
                production=False,
                host_hint="the sandbox is starting…",
            )
            return
        secret = self.secret
        shell.show_target(
            secret.host if secret else "",
            secret.key if secret else "",
            editable=False,
            name=self.active.name,
            color=self.active.color,
            production=self.active.production,
            host_hint="reading the keyring…",
        )

    def set_sandbox_url(self, url: str) -> None:
        self.sandbox_url = url
        if self.mode == SANDBOX_ID:
            self._show_target()

    # -- creating, editing, deleting ---------------------------------------------------------

    def taken_names(self, but: str | None = None) -> frozenset[str]:
        return frozenset(p.name for p in self.book.all() if p.id != but)

    def new_profile(self) -> None:
        draft = ProfileDialog.ask(
            self.shell.window(), title="New profile", taken=self.taken_names()
        )
        if draft is not None:
            self.create(draft)

    def create(self, draft: ProfileDraft) -> None:
        try:  # a quick check on a copy; the file as it is when written decides
            ProfileBook(list(self.book.profiles)).add(draft.name, draft.color, draft.production)
        except ProfileError as exc:
            self.message.emit(str(exc), 10000)
            return
        secret = ProfileSecret(draft.host, draft.key)
        change = ProfileWrite(new_id(), draft, new=True)
        self._run(
            partial(store_then_change, self.path, self.store, change, secret),
            partial(self._on_saved, secret),
            partial(self._on_save_failed, change, secret),
        )

    def edit_profile(self) -> None:
        profile = self.active
        if profile.builtin or self.mode == OTHER:
            self.message.emit(
                "Choose one of your profiles to edit it (the sandbox has no settings).", 8000
            )
            return
        secret = self.secret
        draft = ProfileDialog.ask(
            self.shell.window(),
            title=f"Edit “{profile.name}”",
            taken=self.taken_names(profile.id),
            draft=ProfileDraft(
                profile.name,
                secret.host if secret else "",
                secret.key if secret else "",
                profile.color,
                profile.production,
            ),
        )
        if draft is not None:
            self.update(profile, draft)

    def update(self, profile: Profile, draft: ProfileDraft) -> None:
        change = ProfileWrite(profile.id, draft, new=False)
        try:  # a quick check on a copy; the file as it is when written decides
            change(ProfileBook(list(self.book.profiles)))
        except ProfileError as exc:
            self.message.emit(str(exc), 10000)
            return
        secret = ProfileSecret(draft.host, draft.key)
        self._run(
            partial(store_then_change, self.path, self.store, change, secret),
            partial(self._on_saved, secret),
            partial(self._on_save_failed, change, secret),
        )

    def enter_for_session(self) -> None:
        """The keyring could not give the active profile's secret: type it for this session."""
        profile = self.active
        if profile.builtin:
            return
        draft = ProfileDialog.ask(
            self.shell.window(),
            title=f"Host and key of “{profile.name}” for this session",
            draft=ProfileDraft(profile.name, "", "", profile.color, profile.production),
            session_only=True,
        )
        if draft is None:
            return
        secret = ProfileSecret(draft.host, draft.key)
        self.store.keep_for_session(profile.id, secret)
        self.secret = secret
        self.banner.emit("")
        self._show_target()
        self.message.emit(f"The key of “{profile.name}” is kept for this session only.", 8000)

    def retry(self) -> None:
        """Choose the keyring again (after it was unlocked or started) and re-read."""
        from composer.profiles.secrets import reset_backend

        self._run(reset_backend, self._on_retried)

    def _on_retried(self, _result: object) -> None:
        self.switch(self.active.id)

    def _on_saved(self, secret: ProfileSecret, saved: Saved) -> None:
        where = {
            Storage.KEYRING: "the system keyring",
            Storage.PLAINTEXT: f"{saved.book.plaintext_keys} (plain text)",
            Storage.SESSION: "memory, for this session only",
        }[saved.storage]
        self._adopt(saved.book, saved.profile, secret)
        self.message.emit(f"Saved “{saved.profile.name}”; its host and key are in {where}.", 8000)

    def _on_save_failed(
        self,
        change: ProfileWrite,
        secret: ProfileSecret,
        exc: Exception,
    ) -> None:
        if not isinstance(exc, SecretError):
            self._report(exc)  # the profile could not be written (a name taken meanwhile ...)
            return
        keep = dialogs.confirm(
            self.shell.window(),
            "The key could not be stored",
            f"{exc.message}\n\nKeep the host and key of “{change.draft.name}” for this session"
            " only? They will be held in memory and forgotten when the app closes; nothing is"
            " written to disk.",
            "Keep for this session",
        )
        if not keep:
            self.message.emit("Not saved.", 6000)  # the book was not changed: nothing to undo
            return
        self._run(
            partial(keep_then_change, self.path, self.store, change, secret),
            partial(self._on_kept_for_session, secret, exc.message),
        )

    def _on_kept_for_session(self, secret: ProfileSecret, why: str, saved: Saved) -> None:
        self._adopt(saved.book, saved.profile, secret)
        self.message.emit(
            f"“{saved.profile.name}” is saved; its key is kept for this session only ({why})",
            15000,
        )

    def _adopt(self, book: ProfileBook, profile: Profile, secret: ProfileSecret) -> None:
        """Make a profile just written (and active in `book`) the window's target."""
        self.mode = profile.id
        self.active = profile
        self.secret = secret
        self.banner.emit("")
        self._refresh(book)

    def delete_profile(self) -> None:
        profile = self.active
        if profile.builtin or self.mode == OTHER:
            self.message.emit("Choose one of your profiles to delete it.", 8000)
            return
        if not dialogs.confirm(
            self.shell.window(),
            "Delete profile?",
            f"Delete “{profile.name}” and remove its key from the keyring?",
            "Delete profile",
        ):
            return
        self._run(
            partial(remove_with_key, self.path, self.store, profile.id),
            partial(self._on_deleted, profile),
        )

    def _on_deleted(self, profile: Profile, book: ProfileBook) -> None:
        self.mode = SANDBOX_ID
        self.active = SANDBOX
        self.secret = None
        self.banner.emit("")
        self._refresh(book)
        self.message.emit(f"Deleted “{profile.name}”.", 6000)

    # -- where keys are kept -------------------------------------------------------------------

    def set_plaintext(self, on: bool) -> None:
        path = plaintext_default_path(config_dir())
        if on == (self.book.plaintext_keys is not None):
            return
        if on and not dialogs.confirm(
            self.shell.window(),
            "Store keys in a plain-text file?",
            f"Project keys and hosts will be written, unencrypted, to\n{path}\n\nAnyone who can"
            " read your files can read them. Use this only where no system keyring works.",
            "Store in plain text",
        ):
            self.shell.plaintext_action.setChecked(False)
            return
        target = SecretStore(
            plaintext_file=path if on else None,
            read_timeout=self._timeouts[0],
            write_timeout=self._timeouts[1],
        )
        ids = [p.id for p in self.book.profiles]
        self._run(
            partial(move_keys, self.path, ids, self.store, target, str(path) if on else None),
            partial(self._on_moved, target, str(path) if on else None),
        )

    def _on_moved(
        self,
        target: SecretStore,
        path: str | None,
        result: tuple[ProfileBook, tuple[int, list[tuple[str, str]]]],
    ) -> None:
        book, (moved, failed) = result
        self.store = target
        self._refresh(book)
        where = f"in {path} (plain text)" if path else "in the system keyring"
        text = f"Keys are now stored {where}; {moved} moved."
        if failed:
            text += f" {len(failed)} could not be moved: {failed[0][1]}"
        self.message.emit(text, 15000)

    # -- guardrails --------------------------------------------------------------------------

    def confirm_send(self, events: int) -> bool:
        """Sending to a production profile needs an explicit yes, naming where it goes."""
        if self.mode == OTHER or not self.active.production:
            return True
        host = self.secret.host if self.secret else "its host"
        return dialogs.confirm(
            self.shell.window(),
            "Send to production?",
            f"Send {events} event{'s' * (events != 1)} to the production project"
            f" “{self.active.name}” ({host})?\n\nEvents sent to PostHog cannot be taken back.",
            "Send to production",
        )

    # -- plumbing ------------------------------------------------------------------------------

    def _change(self, change: Callable[[ProfileBook], object], *, quiet: bool = False) -> None:
        """Apply one change to profiles.json as it is now, on the pool; the book as written
        becomes the window's view. A book from a newer version is never written (quietly, for
        a mere switch of the active profile)."""
        if self.book.read_only:
            if not quiet:
                self.message.emit(self.book.problem, 15000)
            return
        self._run(partial(change_book, self.path, change), self._on_changed)

    def _on_changed(self, result: tuple[ProfileBook, object]) -> None:
        self._refresh(result[0])

    def _refresh(self, book: ProfileBook) -> None:
        """Show the book as it is in the file now (with other windows' and commands' changes)."""
        if book.problem:
            self.message.emit(book.problem, 20000)
        self.book = book
        if self.mode not in (OTHER, SANDBOX_ID):
            current = book.get(self.mode)
            if current is None:
                # Deleted by another window or command: this window's target goes with it.
                gone = self.active.name
                self.mode, self.active, self.secret = SANDBOX_ID, SANDBOX, None
                self.banner.emit("")
                self.message.emit(
                    f"“{gone}” was deleted by another window or command; the target is the"
                    " local sandbox.",
                    10000,
                )
            else:
                self.active = current
        self._populate()
        self._show_target()

    def shutdown(self) -> None:
        self._pool.waitForDone(3000)
