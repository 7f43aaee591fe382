"""Smoke test of a frozen bundle: does what PyInstaller collected actually run?

usage: python packaging/smoke_test.py dist/event-composer     (make dist runs it)

Standard library only, so it runs from the bare build virtualenv. Each step runs the bundle's
own executable in a subprocess with a throw-away HOME, and stops at the first failure:
  1. every shared library in the bundle resolves (a trimmed Qt part missing a dependency)
  2. --version
  3. `plan check` and `validate` on the examples shipped inside the bundle
  4. `sandbox --port 0` answers a capture on 127.0.0.1, and stores it
  5. the window starts offscreen (--selftest: platform plugin, resources, workspace)
  6. keyring reaches a private Secret Service (its own dbus-daemon + gnome-keyring): a profile
     key is written and read back through the frozen keyring backends
tests/test_bundle_smoke.py runs the same steps under pytest when a bundle exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/support/secret_service.py: the tests' private keyring

KEY = "phc_bundle_smoke_key_00000000000000000000000"
VERSION = re.search(r'__version__ = "([^"]+)"', (ROOT / "composer/__init__.py").read_text())


class SmokeFailure(Exception):
    pass


def executable(bundle: Path) -> Path:
    name = "event-composer-cli.exe" if sys.platform == "win32" else "event-composer"
    found = bundle / name
    if not found.is_file():
        raise SmokeFailure(f"{found} does not exist; build the bundle first (make dist)")
    return found


def base_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "PYTHONPATH")
        and not k.startswith(("POSTHOG_", "QT_", "XDG_"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def run(
    bundle: Path,
    *args: str,
    env: dict[str, str],
    stdin: str | None = None,
    expect: int = 0,
    timeout: float = 60,
) -> str:
    proc = subprocess.run(
        [str(executable(bundle)), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != expect:
        raise SmokeFailure(
            f"`event-composer {' '.join(args)}` exited {proc.returncode}, not {expect}:\n"
            f"{proc.stdout}{proc.stderr}"
        )
    return proc.stdout + proc.stderr


def check_libraries(bundle: Path, _env: dict[str, str]) -> str:
    """ldd every ELF file with the bundle's own folder on the library path: only what a target
    system provides (glibc, X11/xcb, GL, wayland, fontconfig...) may come from outside, and
    nothing may be missing."""
    if not sys.platform.startswith("linux"):
        return "skipped (not Linux)"
    if shutil.which("ldd") is None:
        raise SmokeFailure("ldd is not installed")
    internal = bundle / "_internal"
    env = {**os.environ, "LD_LIBRARY_PATH": str(internal)}
    checked = 0
    missing: list[str] = []
    for path in sorted(bundle.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        with path.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                continue
        result = subprocess.run(
            ["ldd", str(path)], capture_output=True, text=True, env=env, check=False, timeout=30
        )
        checked += 1
        missing += [
            f"{path.relative_to(bundle)}: {line.strip()}"
            for line in result.stdout.splitlines()
            if "not found" in line
        ]
    if missing:
        raise SmokeFailure("libraries that do not resolve:\n  " + "\n  ".join(missing))
    return f"{checked} ELF files, all libraries resolve"


def check_version(bundle: Path, env: dict[str, str]) -> str:
    out = run(bundle, "--version", env=env).strip()
    if VERSION is None or out != f"event-composer {VERSION.group(1)}":
        raise SmokeFailure(f"--version printed {out!r}")
    return out


def shipped(bundle: Path, *parts: str) -> Path:
    path = bundle / "_internal" / "composer" / "_resources" / Path(*parts)
    if not path.is_file():
        raise SmokeFailure(f"{path} is not in the bundle (resources not collected)")
    return path


def check_examples(bundle: Path, env: dict[str, str]) -> str:
    plan = shipped(bundle, "plans", "example-tracking-plan.yaml")
    out = run(bundle, "plan", "check", str(plan), env=env)
    if "no problems" not in out:
        raise SmokeFailure(f"plan check said: {out}")
    template = shipped(bundle, "templates", "event-with-properties.json")
    out = run(bundle, "validate", "--format", "json", str(template), env=env, expect=1)
    document = json.loads(out[: out.rindex("}") + 1])
    [checked] = document["files"]
    errors = [f for f in checked["findings"] if f["severity"] == "error"]
    # The template has no key in it (the composer adds it; the keyring step validates with
    # one); every other rule must pass.
    if [f["code"] for f in errors] != ["token.missing"]:
        raise SmokeFailure(f"validate found {errors}")
    return f"plan check and validate ran on {plan.name} and {template.name}"


def check_sandbox(bundle: Path, env: dict[str, str]) -> str:
    proc = subprocess.Popen(
        [str(executable(bundle)), "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = ""
        deadline = time.monotonic() + 60
        while not url and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            found = re.match(r"Listening on (http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else ""
        if not url:
            raise SmokeFailure("the sandbox did not say where it listens")
        body = json.dumps(
            {"api_key": KEY, "event": "bundle_smoke", "distinct_id": "smoke-1"}
        ).encode()
        request = urllib.request.Request(
            f"{url}/i/v0/e/", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=20) as answer:
            status, text = answer.status, answer.read().decode()
        if status != 200:
            raise SmokeFailure(f"the sandbox answered {status}: {text}")
        return f"{url}/i/v0/e/ answered {status} {text.strip()}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()


def check_window(bundle: Path, env: dict[str, str]) -> str:
    out = run(bundle, "--selftest", env=env, timeout=90)
    for expected in ("qt platform: offscreen", "window shown: True, workspace ready: True"):
        if expected not in out:
            raise SmokeFailure(f"--selftest did not print {expected!r}:\n{out}")
    return out.strip().replace("\n", "; ")


def check_keyring(bundle: Path, env: dict[str, str]) -> str:
    from tests.support.secret_service import SecretServiceSession, missing_tools

    if missing_tools():
        raise SmokeFailure(f"cannot start a private Secret Service: {missing_tools()} missing")
    with tempfile.TemporaryDirectory(prefix="composer-smoke-keyring-") as folder:
        session = SecretServiceSession(Path(folder))
        try:
            session.start_bus()
            session.start_keyring(session.password)
            keyring_env = {**session.env(), "QT_QPA_PLATFORM": "offscreen"}
            keyring_env.pop("PYTHONPATH", None)
            out = run(
                bundle,
                "profile",
                "add",
                "Smoke",
                "--host",
                "http://127.0.0.1:9",
                env=keyring_env,
                stdin=KEY + "\n",
            )
            if "system keyring" not in out:
                raise SmokeFailure(f"profile add did not use the keyring:\n{out}")
            listing = json.loads(
                run(bundle, "profile", "list", "--format", "json", env=keyring_env)
            )
            [smoke] = [p for p in listing["profiles"] if p["name"] == "Smoke"]
            if smoke["host"] != "http://127.0.0.1:9" or smoke["keys_problem"]:
                raise SmokeFailure(f"the key did not read back from the keyring: {smoke}")
            stored = session.items()
            if not any(KEY in secret for _user, secret in stored) and shutil.which("secret-tool"):
                raise SmokeFailure(f"gnome-keyring does not hold the key: {stored}")
            template = shipped(bundle, "templates", "basic-event.json")
            run(bundle, "validate", "--profile", "Smoke", str(template), env=keyring_env)
        finally:
            session.stop()
    return "profile key written to gnome-keyring, read back, used by validate --profile"


STEPS: list[tuple[str, Callable[[Path, dict[str, str]], str]]] = [
    ("libraries", check_libraries),
    ("version", check_version),
    ("examples", check_examples),
    ("sandbox", check_sandbox),
    ("window", check_window),
    ("keyring", check_keyring),
]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    bundle = Path(argv[1]).resolve()
    with tempfile.TemporaryDirectory(prefix="composer-smoke-") as home:
        env = base_env(Path(home))
        for name, step in STEPS:
            started = time.monotonic()
            try:
                said = step(bundle, env)
            except (SmokeFailure, subprocess.TimeoutExpired, OSError) as exc:
                print(f"smoke: {name}: FAILED: {exc}", file=sys.stderr)
                return 1
            print(f"smoke: {name}: ok ({time.monotonic() - started:.1f} s) {said}", flush=True)
    print("smoke: the bundle works", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
