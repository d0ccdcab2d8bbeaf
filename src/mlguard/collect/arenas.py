"""Fewer glibc malloc arenas while a scan collects.

glibc gives threads that contend for the allocator their own arena, up to eight per core. A
collection runs dozens of threads (the collectors' pools), each allocating response buffers and
parsed answers; memory freed in one arena is not reused by another, so a scan's resident memory
grows with its thread count rather than with what it holds. The threads run Python under one
interpreter lock, so they rarely allocate at the same moment and gain nothing from more arenas.
:func:`limit` caps them at :data:`ARENAS` (``mallopt(M_ARENA_MAX)``), as ``MALLOC_ARENA_MAX``
would, before the collectors' threads start; ``--jobs`` children inherit it. A value the user set
in ``MALLOC_ARENA_MAX`` is left alone, and where the C library is not glibc nothing changes.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


@functools.cache
def limit() -> bool:
    """Cap glibc's malloc arenas at :data:`ARENAS` for the rest of the process (once); whether
    the cap is in place."""
    if os.environ.get("MALLOC_ARENA_MAX") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, ARENAS))
    except (OSError, AttributeError):
        return False
