"""A private D-Bus session with gnome-keyring's Secret Service, for tests of the real thing.

Nothing here touches the developer's own keyring: the bus is a new `dbus-daemon`, HOME and
XDG_RUNTIME_DIR are throw-away folders, and no display is passed on (so gnome-keyring cannot
show an unlock dialog; a locked keyring fails at once instead of waiting for a click).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED = ("dbus-daemon", "dbus-send", "gnome-keyring-daemon")

STUCK_SERVICE = r"""
import sys
from jeepney import DBusAddress, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

conn = open_dbus_connection(bus=sys.argv[1])
conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.secrets", 4))
print("ready", flush=True)
while True:
    conn.receive()  # take every call, answer none: a Secret Service that hangs
"""


def missing_tools() -> list[str]:
    return [tool for tool in REQUIRED if shutil.which(tool) is None]


@dataclass
class SecretServiceSession:
    root: Path
    password: str = "composer-test-password"
    address: str = ""
    _bus: subprocess.Popen[str] | None = None
    _daemon: subprocess.Popen[bytes] | None = None
    _others: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.root / "home"

    def env(self) -> dict[str, str]:
        """What a process needs to use this keyring (and nothing of the caller's session)."""
        base = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
        }
        base.update(
            DBUS_SESSION_BUS_ADDRESS=self.address,
            HOME=str(self.home),
            XDG_RUNTIME_DIR=str(self.root / "run"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            XDG_CONFIG_HOME=str(self.home / ".config"),
        )
        return base

    def start_bus(self) -> None:
        (self.root / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._bus.stdout is not None
        self.address = self._bus.stdout.readline().strip()
        if not self.address:
            raise RuntimeError("dbus-daemon did not print its address")

    def start_keyring(self, password: str | None) -> None:
        """Start gnome-keyring; `password` unlocks (or creates) the login keyring, None not."""
        args = ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
        if password is not None:
            args.append("--unlock")
        self._daemon = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env(),
        )
        assert self._daemon.stdin is not None
        if password is not None:
            self._daemon.stdin.write(password.encode())  # no newline: it would be part of it
        self._daemon.stdin.close()
        self._wait_for_name("org.freedesktop.secrets")

    def start_stuck_service(self) -> None:
        """Own org.freedesktop.secrets with a service that never answers."""
        proc = subprocess.Popen(
            [sys.executable, "-c", STUCK_SERVICE, self.address],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the stuck secret service did not start")
        self._others.append(proc)

    def stop_keyring(self) -> None:
        if self._daemon is not None:
            self._daemon.terminate()
            self._daemon.wait(timeout=10)
            self._daemon = None
        for proc in self._others:
            proc.kill()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
        self._others.clear()
        deadline = time.monotonic() + 5
        while self._has_owner("org.freedesktop.secrets") and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self.stop_keyring()
        if self._bus is not None:
            self._bus.terminate()
            self._bus.wait(timeout=10)
            if self._bus.stdout is not None:
                self._bus.stdout.close()
            self._bus = None

    def _has_owner(self, name: str) -> bool:
        result = subprocess.run(
            [
                "dbus-send",
                f"--bus={self.address}",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                f"string:{name}",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        return "boolean true" in result.stdout

    def _wait_for_name(self, name: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._has_owner(name):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not appear on the private bus")

    def items(self) -> list[tuple[str, str]]:
        """(username, secret) of every item the composer stored, read with secret-tool."""
        result = subprocess.run(
            ["secret-tool", "search", "--all", "--unlock", "service", "posthog-event-composer"],
            capture_output=True,
            text=True,
            env=self.env(),
            check=False,
            timeout=20,
        )
        found: list[tuple[str, str]] = []
        user = ""
        for line in result.stdout.splitlines():  # secret-tool puts attributes on stderr
            label = re.match(r"^label = Password for '(.*)' on ", line)
            if label:
                user = label.group(1)
            elif line.startswith("secret = "):
                found.append((user, line.split("= ", 1)[1]))
        return found
