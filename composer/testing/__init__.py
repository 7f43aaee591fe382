"""Helpers for other projects' tests: the `posthog_sandbox` pytest fixture."""
