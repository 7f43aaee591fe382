"""Where the app keeps its files: platformdirs locations, overridable for tests and portable use.

COMPOSER_CONFIG_DIR, COMPOSER_DATA_DIR and COMPOSER_CACHE_DIR win over the platform defaults,
the way HTTPIE_CONFIG_DIR does for httpie.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "posthog-event-composer"


def _dir(env: str, default: str) -> Path:
    override = os.environ.get(env)
    path = Path(override) if override else Path(default)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def config_dir() -> Path:
    return _dir("COMPOSER_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    return _dir("COMPOSER_DATA_DIR", platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    return _dir("COMPOSER_CACHE_DIR", platformdirs.user_cache_dir(APP_NAME, appauthor=False))
