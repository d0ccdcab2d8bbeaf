"""Cyclic garbage collection paused while a large batch of acyclic objects is built.

Evaluating 100k resources or writing their reports allocates millions of small objects (results,
evidence dicts, encoded rows) and almost no reference cycles; the collector, triggered by the
allocation count, walks every live object again and again and takes about half the CPU time.
Reference counting still frees everything as usual; only the cycle collector waits until the end.

What a large evaluation built (the results, the summary, the estate) then lives until the process
ends: :func:`keep` freezes it (``gc.freeze``), so that no later collection walks those millions of
objects again (at 100k resources the first ones after the evaluation cost about 1.5 s of CPU) and
the forked report writer's collections do not touch their pages. Frozen objects are still freed by
reference counting as usual; only a reference cycle among them would be kept.

A collection, which also allocates fast but keeps much alive and releases some cycles (botocore
clients), runs the collector less often instead (:func:`scan_gc`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Pause:
    """A pause of the collector: ``keep()`` freezes what was built in it when it ends."""

    def __init__(self) -> None:
        self.freeze = False

    def keep(self) -> None:
        """What this pause built is kept for the rest of the process: freeze every object tracked
        now when the pause ends, so later collections skip them."""
        self.freeze = True


@contextmanager
def gc_paused() -> Iterator[Pause]:
    """Disable the cycle collector for the block; restore its previous state after (nested safe)."""
    was_enabled = gc.isenabled()
    gc.disable()
    pause = Pause()
    try:
        yield pause
    finally:
        if pause.freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()


# CPython collects its youngest generation every 700 net allocations and the whole heap every 100
# of those (when it grew by a quarter). A scan allocates fast and keeps much (service models,
# clients, resources read): full collections cost a fifth of its CPU (10 accounts: 1.8 of 9 s)
# and found little. During a scan, young collections run every 10,000 allocations and full ones
# every 1,000 of those; cyclic garbage (released clients) is still collected, later (peak RSS of
# 30 accounts: 236 -> 272 MiB).
SCAN_GC_THRESHOLDS = (10_000, 10, 100)


class _ScanGc:
    """How many scans run now, and the thresholds to restore when the last one ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved: tuple[int, int, int] = gc.get_threshold()


_SCAN_GC = _ScanGc()


@contextmanager
def scan_gc() -> Iterator[None]:
    """:data:`SCAN_GC_THRESHOLDS` while a scan runs (scans may overlap); then the previous ones."""
    state = _SCAN_GC
    with state.lock:
        if state.depth == 0:
            state.saved = gc.get_threshold()
            gc.set_threshold(*SCAN_GC_THRESHOLDS)
        state.depth += 1
    try:
        yield
    finally:
        with state.lock:
            state.depth -= 1
            if state.depth == 0:
                gc.set_threshold(*state.saved)
