"""The window's own sandbox: started on the usual port, or an already running one reused.

Only one program can listen on a port. When `event-composer sandbox` (or another window) is
already serving there, the window uses that sandbox and reads the inbox file it reports;
when something else holds the port, the window starts its sandbox on a free port instead.
"""

from __future__ import annotations

import itertools
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from composer.core.capture.service import SANDBOX_HEADER
from composer.sandbox.defaults import DEFAULT_PORT, default_db_path, port_in_use

if TYPE_CHECKING:  # the window runs the sandbox as a process: it never loads the server
    from composer.sandbox.sdk_calls import SdkConfig
    from composer.sandbox.server import SandboxServer
    from composer.sandbox.store import SandboxStore

log = logging.getLogger(__name__)

PORT_ENV = "COMPOSER_SANDBOX_PORT"
SPAWN_TIMEOUT_S = 20.0
_SPAWNS = itertools.count()


@dataclass
class LocalSandbox:
    url: str
    db: str
    server: SandboxServer | None  # None when another process serves it
    note: str = ""
    process: subprocess.Popen[bytes] | None = None  # the sandbox process this one started

    @property
    def owned(self) -> bool:
        return self.server is not None or self.process is not None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server.store.close()
            self.server = None
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None


def preferred_port() -> int:
    raw = os.environ.get(PORT_ENV)
    return int(raw) if raw and raw.isdigit() else DEFAULT_PORT


def probe(port: int, timeout: float = 1.0) -> dict[str, object] | None:
    """What a sandbox on 127.0.0.1:port says about itself, or None if it is not one of ours."""
    import http.client  # here: it brings the email package, 60 ms of the window's start

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/_sandbox")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200 or response.getheader(SANDBOX_HEADER) is None:
            return None
        info = orjson.loads(body)
        return info if isinstance(info, dict) else None
    except (OSError, http.client.HTTPException, orjson.JSONDecodeError):
        return None
    finally:
        conn.close()


def start_sandbox_process(port: int | None = None, db: Path | None = None) -> LocalSandbox:
    """The window's sandbox, as a process of its own: ingesting a big batch there never
    takes the window's interpreter lock, so the window never stalls. A sandbox already
    listening on the port (`event-composer sandbox`, another window) is used instead; a port
    another program holds gives a free port. The process ends with the window, a kill of the
    window included. Runs off the GUI thread."""
    port = preferred_port() if port is None else port
    db_path = str(db or default_db_path())
    note = ""
    for attempt in (port, 0) if port else (0,):
        started = _spawn(attempt, db_path)
        if started is not None:
            started.note = " ".join(n for n in (note, started.note) if n)
            return started
        info = probe(attempt) if attempt else None
        if info is not None and isinstance(info.get("db"), str):
            return LocalSandbox(
                f"http://127.0.0.1:{attempt}",
                str(info["db"]),
                None,
                f"Using the sandbox already running on port {attempt}.",
            )
        note = f"Port {attempt} is taken by another program; the sandbox uses a free port."
    raise OSError("the sandbox process could not start; see sandbox.log in the data folder")


def _spawn(port: int, db: str) -> LocalSandbox | None:
    """Start `event-composer sandbox` and wait for it to listen; None when the port is taken."""
    folder = Path(db).parent
    folder.mkdir(parents=True, exist_ok=True)
    # One name per spawn: two windows of one process spawning on the same port at once must
    # not read each other's ready file (the loser would keep the winner's process unowned).
    ready = folder / f".sandbox-ready-{os.getpid()}-{next(_SPAWNS)}.json"
    ready.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "composer", "sandbox", "--port", str(port), "--db", db,
        "--quiet", "--ready-file", str(ready), "--parent-pid", str(os.getpid()),
    ]  # fmt: skip
    with open(folder / "sandbox.log", "ab") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=log_file)
    deadline = time.monotonic() + SPAWN_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready.exists():
            info = orjson.loads(ready.read_bytes())
            ready.unlink(missing_ok=True)
            return LocalSandbox(str(info["url"]), str(info["db"]), None, str(info["note"]), process)
        code = process.poll()
        if code is not None:
            if code == 2:  # the port is in use: the caller looks at who holds it
                return None
            raise OSError(f"the sandbox process ended with {code}; see {folder / 'sandbox.log'}")
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=5)  # reaped: no zombie, and no "still running" when it is collected
    raise OSError(f"the sandbox process did not start in {SPAWN_TIMEOUT_S:.0f} s")


def start_local_sandbox(
    port: int | None = None, db: Path | None = None, sdk: SdkConfig | None = None
) -> LocalSandbox:
    """Start (or find) a sandbox in this process (tests, embedding). Runs off the GUI thread."""
    port = preferred_port() if port is None else port
    from composer.sandbox.sdk_calls import SdkConfig
    from composer.sandbox.server import SandboxServer
    from composer.sandbox.store import SandboxStore

    sdk = sdk or SdkConfig.from_environment()
    db_path = str(db or default_db_path())
    note = ""
    if port:
        store = SandboxStore(db_path)
        try:
            server = SandboxServer(store, port=port, sdk=sdk).start()
        except OSError as exc:
            store.close()
            if not port_in_use(exc):
                raise
        else:
            return _made(server, store)
        info = probe(port)
        if info is not None and isinstance(info.get("db"), str):
            return LocalSandbox(
                f"http://127.0.0.1:{port}",
                str(info["db"]),
                None,
                f"Using the sandbox already running on port {port}.",
            )
        note = f"Port {port} is taken by another program; the sandbox uses a free port."
    store = SandboxStore(db_path)
    server = SandboxServer(store, port=0, sdk=sdk).start()
    sandbox = _made(server, store)
    sandbox.note = note
    return sandbox


def _made(server: SandboxServer, store: SandboxStore) -> LocalSandbox:
    note = ""
    if store.moved_aside is not None:
        note = (
            f"The inbox file was damaged ({store.damage}); it was kept as {store.moved_aside}"
            " and a new one was started."
        )
    log.info("sandbox listening on %s", server.url)
    return LocalSandbox(server.url, store.path, server, note)
