"""PostHog Event Composer: compose, check and send events to PostHog's capture API."""

from importlib import metadata

try:
    __version__ = metadata.version("posthog-event-composer")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
