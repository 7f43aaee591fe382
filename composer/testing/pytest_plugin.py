"""A pytest plugin (entry point `pytest11`): the `posthog_sandbox` fixture.

Installed with the app, it does nothing until a test asks for the fixture. Each test that does
gets its own sandbox on a free port of 127.0.0.1 with an empty inbox, so an app's tests can
send to it with any real PostHog SDK and assert on what PostHog would have stored:

    def test_signup_is_tracked(posthog_sandbox):
        from posthog import Posthog

        client = Posthog(posthog_sandbox.key, host=posthog_sandbox.url, sync_mode=True)
        client.capture("signed_up", distinct_id="user-1", properties={"plan": "team"})
        client.shutdown()
        (event,) = posthog_sandbox.events(event="signed_up")
        assert event["properties"]["plan"] == "team"
        posthog_sandbox.assert_no_findings()

Nothing is imported before the fixture is used, so the plugin costs a test run nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from composer.testing.sandbox import PostHogSandbox


@pytest.fixture
def posthog_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostHogSandbox]:
    """A sandbox for this test: `url`, `key`, `events()`, `persons()`, `assert_no_findings()`,
    `clear()`, `set_flags()`, and `env` (POSTHOG_HOST and friends, to hand to a subprocess)."""
    from composer.testing.sandbox import PostHogSandbox

    sandbox = PostHogSandbox(tmp_path_factory.mktemp("posthog-sandbox"))
    try:
        yield sandbox
    finally:
        sandbox.stop()
