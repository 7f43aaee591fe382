"""The `posthog_sandbox` pytest plugin: the README's example runs as a test, and the fixture's
helpers work with the real posthog-python SDK."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from composer.testing.sandbox import PostHogSandbox, SandboxFindings

pytest_plugins = ["pytester"]
README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example() -> str:
    text = README.read_text()
    marker = text.index("<!-- pytest-fixture-example:")
    match = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert match, "the README lost its pytest fixture example"
    return match.group(1)


def test_the_readme_example_runs_as_a_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_readme_example=readme_example())
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_fixture_catches_what_posthog_would_not_keep(posthog_sandbox: PostHogSandbox) -> None:
    import httpx
    from posthog import Posthog

    client = Posthog(posthog_sandbox.key, host=posthog_sandbox.url, sync_mode=True, max_retries=0)
    client.capture("$identify", distinct_id="a@x", properties={"$anon_distinct_id": "anon-a"})
    client.capture("$identify", distinct_id="b@x", properties={"$anon_distinct_id": "anon-b"})
    client.alias(previous_id="a@x", distinct_id="b@x")
    client.shutdown()
    assert [sorted(p["distinct_ids"]) for p in posthog_sandbox.persons()] == [
        ["a@x", "anon-a"],
        ["anon-b", "b@x"],
    ]
    with pytest.raises(SandboxFindings, match="cannot_merge_already_identified"):
        posthog_sandbox.assert_no_findings()
    posthog_sandbox.assert_no_findings(allow=("cannot_merge_already_identified",))
    httpx.post(
        posthog_sandbox.url + "/batch/", json={"api_key": posthog_sandbox.key, "batch": [{}]}
    )
    with pytest.raises(SandboxFindings, match="refused: POST /batch/"):
        posthog_sandbox.assert_no_findings(allow=("cannot_merge_already_identified",))
    posthog_sandbox.clear()
    assert posthog_sandbox.events() == []
    assert posthog_sandbox.persons() == []
    posthog_sandbox.assert_no_findings()


def test_flags_set_by_a_test_reach_the_sdk(posthog_sandbox: PostHogSandbox) -> None:
    from posthog import Posthog

    posthog_sandbox.set_flags({"new-checkout": True, "pricing": {"variant": "b"}})
    client = Posthog(posthog_sandbox.key, host=posthog_sandbox.url, sync_mode=True, max_retries=0)
    flags = client.evaluate_flags("user-1")
    assert flags.is_enabled("new-checkout")
    assert flags.get_flag("pricing") == "b"
    client.shutdown()
    assert posthog_sandbox.env["POSTHOG_HOST"] == posthog_sandbox.url
