"""An inbox file with events in it, sent through a real sandbox server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import httpx

from composer.sandbox.server import SandboxServer
from composer.sandbox.store import SandboxStore


def fill_inbox(db: Path, events: int) -> None:
    """One /batch/ request of `events` plain events, stored in the inbox file `db`."""
    store = SandboxStore(db)
    server = SandboxServer(store, port=0).start()
    try:
        batch = [{"event": "e", "distinct_id": f"u{i}"} for i in range(events)]
        body = {"api_key": "phc_inbox_fill_test_key_00", "batch": batch}
        httpx.post(server.url + "/batch/", json=body, timeout=30).raise_for_status()
    finally:
        server.stop()
        store.close()
