"""Window geometry, splitter sizes and small UI choices, kept between starts.

Only layout and UI preferences live here (an INI file), never payload data and never secrets.
QSettings finds the file itself (~/.config/posthog-event-composer/window.ini on Linux, the
platform's usual place elsewhere) so that start-up does not wait for platformdirs; the
COMPOSER_CONFIG_DIR override applies here as everywhere.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "posthog-event-composer"


class UiState:
    def __init__(self) -> None:
        override = os.environ.get("COMPOSER_CONFIG_DIR")
        if override:
            os.makedirs(override, mode=0o700, exist_ok=True)
            path = os.path.join(override, "window.ini")
            self._settings = QSettings(path, QSettings.Format.IniFormat)
        else:
            self._settings = QSettings(
                QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, "window"
            )

    @property
    def path(self) -> str:
        return str(self._settings.fileName())

    def bytes(self, key: str) -> QByteArray | None:
        value = self._settings.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def text(self, key: str, default: str = "") -> str:
        value = self._settings.value(key, default)
        return value if isinstance(value, str) else default

    def set(self, key: str, value: QByteArray | str) -> None:
        self._settings.setValue(key, value)

    def sync(self) -> None:
        self._settings.sync()
