"""Shared fixtures: offscreen Qt, a misbehaving local HTTP server, the installed CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Before any QApplication exists: no display is needed, and none of the user's settings leak in.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.support.fault_server import FaultServer

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
TUTORIAL = DATA / "tutorial"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config, data and cache folders; the user's are never touched."""
    root = tmp_path / "composer-dirs"
    for name in ("CONFIG", "DATA", "CACHE"):
        monkeypatch.setenv(f"COMPOSER_{name}_DIR", str(root / name.lower()))
    # A window's own sandbox takes any free port, so tests never fight over 8787.
    monkeypatch.setenv("COMPOSER_SANDBOX_PORT", "0")
    return root


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def cli_path() -> Path:
    script = Path(sys.executable).parent / "event-composer"
    if not script.exists():
        pytest.fail(f"the console script is not installed at {script}; run `make test`")
    return script


@pytest.fixture
def run_cli(tmp_path: Path):
    """Run the installed `event-composer` console script in a subprocess."""

    def run(
        *args: str,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> CliResult:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")}
        full_env["HOME"] = str(tmp_path / "home")
        full_env.update(env or {})
        proc = subprocess.run(
            [str(cli_path()), *args],
            input=stdin,
            capture_output=True,
            env=full_env,
            timeout=timeout,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    return run
