"""The window's bulk work keeps the cyclic collector off the rows it makes (ui/heap.py)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from composer.ui import heap


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


def test_bulk_work_pauses_the_collector_and_freezes_what_it_made() -> None:
    seen: list[bool] = []

    def make(n: int) -> list[dict[str, list[int]]]:
        seen.append(gc.isenabled())
        return [{"i": [i]} for i in range(n)]  # a list inside: the collector tracks the dict

    before = gc.get_freeze_count()
    rows = heap.bulk_work(make)(5_000)
    assert seen == [False]  # no collection pass while the rows were made
    assert gc.isenabled()  # and the collector runs again after
    assert gc.get_freeze_count() >= before + len(rows)
    tracked = {id(o) for o in gc.get_objects()}
    assert id(rows[0]) not in tracked  # later passes do not walk them


def test_overlapping_bulk_works_resume_the_collector_only_when_the_last_ends() -> None:
    inside = threading.Event()
    leave = threading.Event()

    def slow() -> None:
        inside.set()
        leave.wait(10)

    worker = threading.Thread(target=heap.bulk_work(slow))
    worker.start()
    assert inside.wait(10)
    with heap.bulk():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other one still runs
    leave.set()
    worker.join(10)
    assert gc.isenabled()


def test_a_collector_the_app_turned_off_stays_off() -> None:
    gc.disable()
    with heap.bulk():
        pass
    assert not gc.isenabled()


def test_frozen_rows_are_still_freed_when_dropped() -> None:
    import weakref

    class Row:
        pass

    def make() -> list[Row]:
        return [Row() for _ in range(10)]

    rows = heap.bulk_work(make)()
    ref = weakref.ref(rows[0])
    del rows
    assert ref() is None  # reference counting frees them: only cycles would stay


def test_an_inbox_poll_that_reads_nothing_freezes_nothing(tmp_path) -> None:
    """The inbox polls twice a second: only a helping of events is kept out of the collector."""
    from composer.sandbox.store import SandboxStore
    from composer.ui.sandbox.inbox import _read_new

    db = tmp_path / "inbox.sqlite3"
    SandboxStore(db).close()
    before = gc.get_freeze_count()
    rows, last, _plan, more = _read_new(str(db), 0, None)
    assert (rows, last, more) == ([], 0, False)
    assert gc.get_freeze_count() == before


def test_an_inbox_helping_is_kept_off_the_collector(tmp_path) -> None:
    from composer.ui.sandbox.inbox import _read_new
    from tests.support.inbox import fill_inbox

    db = tmp_path / "inbox.sqlite3"
    fill_inbox(db, 1_500)
    before = gc.get_freeze_count()
    rows, _last, _plan, _more = _read_new(str(db), 0, None)
    assert len(rows) == 1_500
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(rows)


def test_quiet_work_pauses_the_collector_and_freezes_nothing() -> None:
    seen: list[bool] = []

    def make(n: int) -> list[dict[str, list[int]]]:
        seen.append(gc.isenabled())
        return [{"i": [i]} for i in range(n)]  # a list inside: the collector tracks the dict

    before = gc.get_freeze_count()
    rows = heap.quiet_work(make)(5_000)
    assert seen == [False]
    assert gc.isenabled()
    assert gc.get_freeze_count() == before  # what it leaves behind is collected as usual
    assert id(rows[0]) in {id(o) for o in gc.get_objects()}


def test_a_bulk_work_inside_a_quiet_one_still_freezes_its_rows() -> None:
    with heap.quiet():
        with heap.bulk():
            rows = [{"i": [i]} for i in range(1_000)]
        assert not gc.isenabled()  # the quiet work goes on
    assert gc.isenabled()
    assert id(rows[0]) not in {id(o) for o in gc.get_objects()}


def test_the_persons_prediction_makes_no_cycles_for_the_collector_to_find() -> None:
    """It runs quiet (ui/batch/persons.py): what it makes is freed by reference counting
    alone, so pausing the collector through it leaks nothing."""
    from composer.core.batch.rows import predict_persons
    from composer.core.batch.stream import read_rows
    from composer.core.persons import PersonGraph

    events: list[dict[str, object]] = []
    for i in range(2_000):
        who = f"user-{i % 300}"
        events.append({"event": "checkout", "distinct_id": who, "properties": {"$set": {"n": i}}})
        if i % 40 == 0:
            anon = {"$anon_distinct_id": f"anon-{i}", "$set_once": {"first": i}}
            events.append({"event": "$identify", "distinct_id": who, "properties": anon})
        if i % 70 == 0:
            alias = {"alias": f"alias-{i}"}
            events.append({"event": "$create_alias", "distinct_id": who, "properties": alias})
    import orjson

    rows = read_rows([orjson.dumps(e) for e in events], 1, 0, [])
    gc.collect()
    with heap.quiet():
        predict_persons(rows, None)
        predict_persons(rows, PersonGraph())
    assert any(row.persons for row in rows)  # it predicted something: merges among them
    assert gc.collect() == 0
