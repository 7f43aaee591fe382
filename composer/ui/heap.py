"""Keeps the cyclic garbage collector away from the big data the window holds.

A full (generation 2) collection walks every object the collector tracks with the interpreter
lock held, so it freezes the GUI thread whichever thread set it off. With 100,000 batch rows or
inbox events in memory each pass took 60-1,070 ms (measured with `gc.callbacks` during a
100,000-row import and send): they were the longest stalls of both. Rows are kept for as long
as the user keeps them, so the work that makes them in bulk runs with the collector paused and
then moves what it made to the collector's permanent generation (`gc.freeze()`, O(1)); later
passes skip it. Frozen objects are still freed by reference counting when the user drops them:
only a reference cycle among them would outlive its use, and rows, events and their findings
are plain trees.

Work that makes many short-lived objects (the persons prediction over the whole batch, the
draft write) runs `quiet()`: the collector is paused but nothing is frozen, since what such
work leaves behind is small and what it made meanwhile is freed by reference counting (its
gen2 passes, 30-170 ms each with nothing to collect, were the import's last stalls).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class _Pause:
    """How many bulk works run, on any thread, and whether the collector ran before them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.resume = False
        self.freeze = False  # a bulk work ran in this pause: freeze when it ends


_pause = _Pause()


@contextmanager
def bulk() -> Iterator[None]:
    """Long-lived objects are made in here: no collections meanwhile, and what exists when the
    last pause (this or a quiet one) ends is frozen."""
    with _paused(freeze=True):
        yield


@contextmanager
def quiet() -> Iterator[None]:
    """Short-lived objects are made in here: no collections meanwhile, nothing frozen (unless
    a bulk work ran in the same pause)."""
    with _paused(freeze=False):
        yield


@contextmanager
def _paused(freeze: bool) -> Iterator[None]:
    with _pause.lock:
        if _pause.depth == 0:
            _pause.resume = gc.isenabled()
            _pause.freeze = False
            gc.disable()
        _pause.depth += 1
        _pause.freeze = _pause.freeze or freeze
    try:
        yield
    finally:
        with _pause.lock:
            _pause.depth -= 1
            if _pause.depth == 0:
                if _pause.freeze:
                    gc.freeze()
                if _pause.resume:
                    gc.enable()


def bulk_work(work: Callable[P, T]) -> Callable[P, T]:
    """`work` (run on a worker) makes long-lived objects in bulk: see bulk()."""
    return _within(bulk, work)


def quiet_work(work: Callable[P, T]) -> Callable[P, T]:
    """`work` (run on a worker) makes many short-lived objects: see quiet()."""
    return _within(quiet, work)


def _within(
    pause: Callable[[], AbstractContextManager[None]], work: Callable[P, T]
) -> Callable[P, T]:
    @wraps(work)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with pause():
            return work(*args, **kwargs)

    return run
