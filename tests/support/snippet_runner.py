"""Run a generated snippet in its own runtime against a PostHog host (the sandbox).

Each language runs as a user would run it: the code saved under the snippet's file name and
started with the runtime's own command (`sh`, this venv's `python`, `node`, `go run`, `ruby`),
with the project key in $POSTHOG_PROJECT_API_KEY. posthog-node's snippet gets the harness's
node_modules beside it; posthog-js runs in Chromium through tests/js/browser_client.mjs, which
only removes its `import` line (the page has loaded the bundle) and turns posthog-js's bot
filter off (headless Chromium calls itself HeadlessChrome, and posthog-js drops bots' events).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from composer.core.snippets import KEY_ENV, Snippet
from tests.support.js_clients import (
    JS_DIR,
    missing_browser_reason,
    missing_node_reason,
    run_browser_client,
)


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def missing_runtime(language: str) -> str | None:
    """Why `language`'s snippets cannot run on this machine, or None when they can."""
    if language == "curl" and shutil.which("curl") is None:
        return "curl is not installed (apt-get install curl; scripts/system-deps.sh test)"
    if language == "node-fetch" and shutil.which("node") is None:
        return "node is not on PATH"
    if language == "posthog-node":
        return missing_node_reason()
    if language == "posthog-js":
        return missing_browser_reason()
    if language == "go" and shutil.which("go") is None:
        return "go is not installed: the Go snippet is checked only where Go is"
    if language == "ruby" and shutil.which("ruby") is None:
        return "ruby is not installed: the Ruby snippet is checked only where Ruby is"
    return None


def run_snippet(snippet: Snippet, folder: Path, host: str, key: str, timeout: float = 60) -> Ran:
    folder.mkdir(parents=True, exist_ok=True)
    if snippet.language == "posthog-js":
        return _run_in_browser(snippet, host, key, timeout)
    path = folder / snippet.filename
    path.write_text(snippet.code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")}
    env[KEY_ENV] = key
    env["PYTHONPATH"] = ""  # the snippet imports only what a user's project would have
    if snippet.language == "posthog-node":
        link = folder / "node_modules"
        if not link.exists():
            link.symlink_to(JS_DIR / "node_modules", target_is_directory=True)
    command = {
        "shell": ["sh", str(path)],
        "python": [sys.executable, str(path)],
        "javascript": ["node", str(path)],
        "go": ["go", "run", str(path)],
        "ruby": ["ruby", str(path)],
    }[snippet.syntax]
    proc = subprocess.run(
        command,
        cwd=folder,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return Ran(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def browser_code(code: str, key: str) -> str:
    """The snippet as the page runs it: without its import line (the page has loaded posthog-js),
    with process.env defined, and with the bot filter off for headless Chromium."""
    # split("\n"), not splitlines(): a string may hold U+2028, which splitlines() splits at.
    lines = [line for line in code.split("\n") if not line.startswith("import posthog from")]
    text = "\n".join(lines)
    marker = "  api_host:"
    assert marker in text, "the posthog-js snippet no longer sets api_host on its own line"
    text = text.replace(marker, "  opt_out_useragent_filter: true,\n" + marker, 1)
    setup = f"var process = {{ env: {{ {KEY_ENV}: {key!r} }} }};\n"
    return setup + text + "\n'ran'"


def _run_in_browser(snippet: Snippet, host: str, key: str, timeout: float) -> Ran:
    result = run_browser_client(
        {
            "host": host,
            "key": key,
            "init": False,
            "actions": [{"type": "eval", "js": browser_code(snippet.code, key)}],
        },
        timeout=timeout,
    )
    action = result["results"][0]
    errors = [*result.get("pageErrors", []), *result.get("errors", [])]
    if action.get("error"):
        errors.insert(0, action["error"])
    failed = action.get("error") or errors
    return Ran(1 if failed else 0, str(action.get("value")), "\n".join(map(str, errors)))
