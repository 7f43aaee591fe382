"""App settings the window and the command line share: where templates live, how long history
is kept. A small JSON file in the config folder; window layout stays in Qt's own INI file.

COMPOSER_TEMPLATES_DIR overrides the templates folder, for CI and for a repository checkout.

Every change is a read-modify-write under the file's lock (`settings.json.lock`), so two
windows changing two settings at once keep both.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from composer import paths
from composer.core.jsonio import JsonSyntaxError, dumps_pretty, loads
from composer.files import LockTimeout, keep_aside, locked, write_atomic

FILE_NAME = "settings.json"
DEFAULT_HISTORY_DAYS = 90


@dataclass
class Settings:
    templates_dir: str = ""  # empty: the default folder in the data dir
    history_days: int | None = DEFAULT_HISTORY_DAYS  # None: keep forever
    plan_file: str = ""  # empty: tracking-plan.yaml (.yml, .json) in the templates folder


@dataclass
class Loaded:
    settings: Settings
    note: str = ""  # what went wrong reading the file, for the status bar


def settings_path() -> Path:
    return paths.config_dir() / FILE_NAME


def load() -> Loaded:
    return _load(settings_path(), under_lock=False)


def _load(path: Path, *, under_lock: bool) -> Loaded:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Loaded(Settings())
    except OSError as exc:
        return Loaded(Settings(), f"Settings could not be read ({exc.strerror}); using defaults.")
    try:
        return Loaded(_parse(data))
    except (JsonSyntaxError, TypeError):
        if not under_lock:
            # Look again under the lock before moving the file: a writer may be replacing it,
            # and a good file must never be moved aside as damaged.
            try:
                with locked(path):
                    return _load(path, under_lock=True)
            except LockTimeout as exc:
                return Loaded(
                    Settings(), f"The settings file looks damaged ({exc}); defaults are used."
                )
        aside = keep_aside(path)
        return Loaded(
            Settings(),
            f"The settings file was damaged; it is kept as {aside.name} and defaults are used.",
        )


def _parse(data: bytes) -> Settings:
    doc = loads(data)
    if not isinstance(doc, dict):
        raise TypeError
    folder = doc.get("templates_dir", "")
    days = doc.get("history_days", DEFAULT_HISTORY_DAYS)
    plan_file = doc.get("plan_file", "")
    if not isinstance(folder, str) or not (days is None or type(days) is int):
        raise TypeError
    if not isinstance(plan_file, str):
        raise TypeError
    return Settings(folder, days, plan_file)


def _render(settings: Settings) -> bytes:
    return dumps_pretty(asdict(settings)) + b"\n"


def save(settings: Settings) -> None:
    """Replace every setting (under the lock). The app changes settings with `update`, which
    keeps what other windows changed meanwhile."""
    path = settings_path()
    with locked(path):
        write_atomic(path, _render(settings))


def update(**changes: Any) -> Settings:
    """Change some settings in the file as it is now: another window's changes to the others
    are kept (read, change, write under a lock shared by every composer process). A damaged
    file is kept aside first (see `load`), never written over."""
    for name in changes:
        if name not in Settings.__dataclass_fields__:
            raise AttributeError(f"no setting named {name}")
    path = settings_path()
    with locked(path):
        current = _load(path, under_lock=True).settings
        for name, value in changes.items():
            setattr(current, name, value)
        write_atomic(path, _render(current))
    return current


def default_templates_dir() -> Path:
    return paths.data_dir() / "templates"


def templates_dir(settings: Settings | None = None) -> Path:
    """The templates folder: the environment override, the chosen folder, or the default."""
    override = os.environ.get("COMPOSER_TEMPLATES_DIR")
    if override:
        return Path(override).expanduser()
    chosen = (settings or load().settings).templates_dir
    return Path(chosen).expanduser() if chosen else default_templates_dir()
