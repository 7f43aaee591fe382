"""PostHog Event Composer: compose, check and send events to PostHog's capture API."""

# The one place the version is written; pyproject.toml reads it from here (hatch's version
# source), so the app needs no importlib.metadata lookup at start-up.
__version__ = "0.1.0"

__all__ = ["__version__"]
