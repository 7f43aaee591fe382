"""Streaming commands pace the cyclic collector (cli/collector.py)."""

from __future__ import annotations

import gc
import weakref

from composer.cli.collector import PacedCollector, paced


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_no_automatic_passes_inside_and_the_collector_back_after() -> None:
    assert gc.isenabled()
    with paced():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off() -> None:
    gc.disable()
    try:
        with paced():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cycles_are_freed_every_so_many_requests() -> None:
    collector = PacedCollector(every=10)
    with paced():
        node = _Node()
        ref = weakref.ref(node)
        del node
        for done in range(1, 10):
            collector.tick(done)
        assert ref() is not None  # no pass yet: nine requests
        collector.tick(10)
        assert ref() is None
        collector.tick(10)  # the same count again (the last report) makes no second pass
    assert collector.passes == 1


def test_streaming_send_and_validate_run_paced_and_leave_the_collector_on(
    fault_server, tmp_path, monkeypatch
) -> None:
    import orjson

    from composer.cli import collector
    from composer.cli.main import main

    seen: list[bool] = []
    ticked = collector.PacedCollector.tick

    def tick(self: PacedCollector, done: int) -> None:
        seen.append(gc.isenabled())
        ticked(self, done)

    monkeypatch.setattr(collector.PacedCollector, "tick", tick)
    monkeypatch.setenv("POSTHOG_PROJECT_API_KEY", "phc_paced_collector_test_key_0001")
    source = tmp_path / "e.jsonl"
    lines = (orjson.dumps({"event": "e", "distinct_id": f"u{i}"}) + b"\n" for i in range(30))
    source.write_bytes(b"".join(lines))
    assert main(["send", str(source), "--host", fault_server.url, "--yes"]) == 0
    assert main(["validate", str(source)]) == 0
    assert seen
    assert not any(seen)  # every tick inside the paced block
    assert gc.isenabled()
