"""Cyclic garbage collection paused while a large batch of acyclic objects is built.

Evaluating 100k resources or writing their reports allocates millions of small objects (results,
evidence dicts, encoded rows) and almost no reference cycles; the collector, triggered by the
allocation count, walks every live object again and again and takes about half the CPU time.
Reference counting still frees everything as usual; only the cycle collector waits until the end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cycle collector for the block; restore its previous state after (nested safe)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
