"""Keep unattended runs apart, and bound them in time.

A scheduled audit holds :meth:`~mlguard.history.store.Store.lock` from the start of collection to
the end of recording, so two runs on one store never interleave: a file lock (``filelock``) next to
a SQLite store, a session-level advisory lock on PostgreSQL (released by the server if the process
dies). :class:`Deadline` is the ``--timeout`` budget shared by the stages of a run.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock
from sqlalchemy import Engine, text

from mlguard.history.errors import DeadlineExceeded, StoreLockTimeout

_POLL_SECONDS = 0.1
_MEMORY_LOCKS: dict[int, threading.Lock] = {}


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` derived from a lock name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def file_lock(path: Path, timeout: float, what: str) -> Iterator[None]:
    lock = filelock.FileLock(str(path), timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout as exc:
        raise StoreLockTimeout(
            f"{what} is locked by another mlguard run (waited {timeout:g}s for {path})"
        ) from exc
    try:
        yield
    finally:
        lock.release()


@contextmanager
def advisory_lock(engine: Engine, name: str, timeout: float, what: str) -> Iterator[None]:
    """Hold a PostgreSQL session advisory lock on a dedicated connection.

    Advisory locks are per database; the key also names the schema, so stores in two schemas of
    one database do not block each other.
    """
    deadline = time.monotonic() + timeout
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        key = advisory_key(f"{name}:{conn.execute(text('SELECT current_schema()')).scalar_one()}")
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one():
            if time.monotonic() >= deadline:
                raise StoreLockTimeout(f"{what} is locked by another mlguard run (waited {timeout:g}s)")
            time.sleep(_POLL_SECONDS)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


@contextmanager
def memory_lock(engine: Engine, timeout: float, what: str) -> Iterator[None]:
    """An in-memory SQLite store lives in one process: a thread lock keeps its runs apart."""
    lock = _MEMORY_LOCKS.setdefault(id(engine), threading.Lock())
    if not lock.acquire(timeout=timeout):
        raise StoreLockTimeout(f"{what} is locked by another run in this process (waited {timeout:g}s)")
    try:
        yield
    finally:
        lock.release()


class Deadline:
    """A time budget for one run (``--timeout``); ``None`` seconds means no limit."""

    def __init__(self, seconds: float | None) -> None:
        if seconds is not None and seconds <= 0:
            raise ValueError("a timeout must be positive")
        self.seconds = seconds
        self._start = time.monotonic()

    @property
    def remaining(self) -> float | None:
        """Seconds left (never negative), or ``None`` without a limit."""
        if self.seconds is None:
            return None
        return max(0.0, self.seconds - (time.monotonic() - self._start))

    @property
    def expired(self) -> bool:
        return self.remaining == 0.0

    def budget(self, cap: float) -> float:
        """How long a step may wait: ``cap``, or less if the deadline is nearer."""
        left = self.remaining
        return cap if left is None else min(cap, left)

    def check(self, stage: str) -> None:
        """Raise :class:`DeadlineExceeded` (exit 3) if the budget is spent."""
        if self.expired:
            raise DeadlineExceeded(f"--timeout of {self.seconds:g}s elapsed during {stage}")
