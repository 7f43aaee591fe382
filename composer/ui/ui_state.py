"""Window geometry, splitter sizes and small UI choices, kept between starts.

Only layout and UI preferences live here (an INI file in the config dir), never payload data
and never secrets.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from composer.paths import config_dir


class UiState:
    def __init__(self) -> None:
        self._settings = QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)

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
