"""Run the real JavaScript SDKs (posthog-node, posthog-js in Chromium) against a PostHog host.

The Node scripts live in tests/js (`node_client.mjs`, `browser_client.mjs`); each takes a JSON
scenario on stdin and prints one JSON result on stdout (see the comment at the top of each
script for both formats). `scripts/js-deps.sh` installs their npm packages into
tests/js/node_modules. Without Node, the packages or Chromium the tests that need them are
skipped, with the reason and the command that fixes it; with COMPOSER_REQUIRE_JS=1 in the
environment they fail instead (for a CI that must run them).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = ROOT / "tests" / "js"
NODE_CLIENT = JS_DIR / "node_client.mjs"
BROWSER_CLIENT = JS_DIR / "browser_client.mjs"
LOCKFILE = JS_DIR / "package-lock.json"
STAMP = JS_DIR / "node_modules" / ".js-deps-stamp"
PACKAGES = ("posthog-node", "posthog-js", "playwright-core")

NODE_MIN = (20, 20)  # posthog-node 5.x: "node": "^20.20.0 || >=22.22.0"
CHROMIUM_ENV = "COMPOSER_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
REQUIRE_ENV = "COMPOSER_REQUIRE_JS"

INSTALL_HINT = "run `sh scripts/js-deps.sh`"


class JsClientError(RuntimeError):
    """A harness script did not produce its JSON result (crashed, timed out, bad output)."""


# -- what is installed ---------------------------------------------------------------------------


def node_path() -> str | None:
    return shutil.which("node")


@cache
def node_version() -> tuple[int, int, int] | None:
    node = node_path()
    if node is None:
        return None
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)", out.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def node_available() -> bool:
    version = node_version()
    return version is not None and version[:2] >= NODE_MIN


def lock_digest() -> str:
    return hashlib.sha256(LOCKFILE.read_bytes()).hexdigest()


def node_modules_ready() -> bool:
    """The pinned packages are installed, by `scripts/js-deps.sh`, from the current lockfile."""
    modules = JS_DIR / "node_modules"
    if not all((modules / name / "package.json").is_file() for name in PACKAGES):
        return False
    try:
        return STAMP.read_text().split()[0] == lock_digest()
    except (OSError, IndexError):
        return False


def chromium_path() -> str | None:
    wanted = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    path = Path(wanted)
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    return None


def chromium_available() -> bool:
    return chromium_path() is not None


def missing_node_reason() -> str | None:
    """Why the posthog-node tests cannot run here, or None when they can."""
    version = node_version()
    if version is None:
        return (
            "node is not on PATH: the posthog-node tests need Node "
            f"{NODE_MIN[0]}.{NODE_MIN[1]} or later, then {INSTALL_HINT}"
        )
    if version[:2] < NODE_MIN:
        found = ".".join(map(str, version))
        return (
            f"node {found} is too old: posthog-node 5.x needs Node {NODE_MIN[0]}.{NODE_MIN[1]}"
            " or later (Debian 12's own nodejs is 18)"
        )
    if not node_modules_ready():
        return f"tests/js/node_modules is missing or older than package-lock.json: {INSTALL_HINT}"
    return None


def missing_browser_reason() -> str | None:
    """Why the posthog-js (Chromium) tests cannot run here, or None when they can."""
    reason = missing_node_reason()
    if reason is not None:
        return reason
    if not chromium_available():
        where = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
        return (
            f"no Chromium at {where}: `apt-get install --no-install-recommends chromium`"
            f" (or set {CHROMIUM_ENV} to a Chromium binary); the harness never downloads one"
        )
    return None


def _required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def require_node() -> None:
    """Skip (or, with COMPOSER_REQUIRE_JS=1, fail) the calling test without posthog-node."""
    reason = missing_node_reason()
    if reason is not None:
        if _required():
            pytest.fail(reason)
        pytest.skip(reason)


def require_browser() -> None:
    """Skip (or, with COMPOSER_REQUIRE_JS=1, fail) the calling test without Chromium."""
    reason = missing_browser_reason()
    if reason is not None:
        if _required():
            pytest.fail(reason)
        pytest.skip(reason)


_node_reason = missing_node_reason()
_browser_reason = missing_browser_reason()
needs_node = pytest.mark.skipif(
    _node_reason is not None and not _required(), reason=_node_reason or ""
)
needs_browser = pytest.mark.skipif(
    _browser_reason is not None and not _required(), reason=_browser_reason or ""
)


# -- running the scripts -------------------------------------------------------------------------


def _run(script: Path, scenario: dict[str, Any], timeout: float) -> dict[str, Any]:
    node = node_path()
    if node is None:
        raise JsClientError("node is not on PATH")
    proc = subprocess.Popen(
        [node, str(script)],
        cwd=JS_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: a timeout ends Chromium too
    )
    try:
        stdout, stderr = proc.communicate(json.dumps(scenario).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        stdout, stderr = proc.communicate()
        raise JsClientError(
            f"{script.name} did not finish within {timeout:.0f} s; its stderr ended with:\n"
            + _tail(stderr)
        ) from None
    finally:
        if proc.poll() is None:
            _kill_group(proc)
    lines = [line for line in stdout.decode("utf-8", "replace").splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise JsClientError(
            f"{script.name} exited {proc.returncode} without a JSON result; stderr:\n"
            + _tail(stderr)
        ) from None
    if not isinstance(result, dict):
        raise JsClientError(f"{script.name} printed {type(result).__name__}, not an object")
    if proc.returncode != 0 or result.get("harnessError"):
        raise JsClientError(
            f"{script.name} exited {proc.returncode}: {result.get('harnessError')}; stderr:\n"
            + _tail(stderr)
        )
    result["stderr"] = stderr.decode("utf-8", "replace")
    return result


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _tail(data: bytes, lines: int = 30) -> str:
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def run_node_client(scenario: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    """Run posthog-node through tests/js/node_client.mjs; its JSON result, or JsClientError."""
    return _run(NODE_CLIENT, scenario, timeout)


def run_browser_client(scenario: dict[str, Any], timeout: float = 90) -> dict[str, Any]:
    """Run posthog-js in Chromium through tests/js/browser_client.mjs; its JSON result."""
    scenario = dict(scenario)
    if "chromium" not in scenario and chromium_path() is not None:
        scenario["chromium"] = chromium_path()
    return _run(BROWSER_CLIENT, scenario, timeout)
