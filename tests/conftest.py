"""Shared fixtures: offscreen Qt, a misbehaving local HTTP server, the installed CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Before any QApplication exists: no display is needed, and none of the user's settings leak in.
# The offscreen screen is 800x600 unless told otherwise; a laptop-sized one (as the screenshots
# use) lets the window be as big as people have it, and restore its size as they left it.
_SCREEN = Path(__file__).resolve().parent / "data" / "offscreen-screen.json"
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_SCREEN}"

from tests.support.fault_server import FaultServer  # noqa: E402 - after the platform is set

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
    # No test may reach the developer's own keyring: without a session bus, keyring finds no
    # backend. Tests of the real thing start their own (the secret_service fixture).
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    _reset_keyring()
    return root


def _reset_keyring() -> None:
    """Make keyring choose its backend again (it caches the first choice per process)."""
    if "keyring.core" in sys.modules:
        from composer.profiles.secrets import reset_backend

        reset_backend()


@pytest.fixture
def secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A private D-Bus session with an unlocked gnome-keyring and a throw-away HOME."""
    from tests.support.secret_service import SecretServiceSession, missing_tools

    missing = missing_tools()
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: run `make test`, which installs dbus,"
            " dbus-x11 and gnome-keyring"
        )
    session = SecretServiceSession(tmp_path / "keyring")
    session.start_bus()
    session.start_keyring(session.password)
    import keyring.core  # noqa: F401 - so that _reset_keyring re-detects with the new bus

    for name, value in session.env().items():
        if name in (
            "DBUS_SESSION_BUS_ADDRESS",
            "HOME",
            "XDG_RUNTIME_DIR",
            "XDG_DATA_HOME",
            "XDG_CONFIG_HOME",
        ):
            monkeypatch.setenv(name, value)
    _reset_keyring()
    try:
        yield session
    finally:
        session.stop()
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
        _reset_keyring()


def files_containing(needle: str, *roots: Path) -> list[Path]:
    """Every file under `roots` whose bytes contain `needle`."""
    found = []
    data = needle.encode()
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    if data in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


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


def cli_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with this checkout first on PYTHONPATH: the console script may belong to another
    checkout's editable install (a git worktree sharing its virtualenv), and the code under
    test is this one."""
    rest = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": os.pathsep.join([str(ROOT), *([rest] if rest else [])])}


@pytest.fixture
def run_cli(tmp_path: Path):
    """Run the installed `event-composer` console script in a subprocess."""

    def run(
        *args: str,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> CliResult:
        full_env = cli_env({k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")})
        full_env["HOME"] = str(tmp_path / "home")
        full_env.update(env or {})
        # The console script is installed from the main checkout; this checkout's composer
        # goes first on the path, so the tests run the code they sit beside.
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), full_env.get("PYTHONPATH", "")) if p
        )
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
