"""``--jobs N``: one machine's collection in N local processes, merged as one scan's.

Against real APIs a scan waits on the network, and threads overlap that wait; what they cannot
overlap is the SDK's own work. Every AWS call costs about 2 ms of botocore CPU (signing, event
dispatch, HTTP and response parsing), and one Python process runs it under one interpreter lock,
so a process scanning many accounts is bound by one core however many it has. ``--jobs N``
collects in N processes: this one and N-1 forked children. Every process walks the same units
(:mod:`mlguard.collect.shard`: AWS (account, region) pairs and account-global types, Databricks
workspaces), and a unit is read by the first process to claim it when it is free to start the
unit's work: an AWS process when none of the types it queued still waits, one unit at a time; a
Databricks process when one of its workspace threads is free (:class:`~mlguard.collect.shard.Claims`;
this process keeps the claims in a :class:`Registry`, which the children ask through their pipes):
a process that is busier, or has drawn larger units, claims fewer, so the processes finish together
whatever the sizes, where a placement fixed in advance (``--shard``'s hash, or a previous run's
sizes) leaves one process working after the others. This process merges the parts with
:func:`mlguard.merge.merge_inventories`, the merge of ``mlguard merge``. The merged inventory is the
one a single process would have read: every unit read once by one process.

Forked, not spawned: a child starts at once with the configuration, policies and imported SDKs of
this process, whose memory it shares until it writes to it, and this process collects too rather
than wait idle (one process's memory fewer). The fork happens before any thread starts (the
progress display, the thread relaying the children's progress and claims, and the collectors'
pools start after), and the objects made so far are frozen out of the cycle collector
(:func:`gc.freeze`) so that a child's collections do not touch, and copy, them. A child reports its
units' progress, asks for its claims and, at the end, sends its partial inventory (or the error
that stopped it) through its pipe.

What can go wrong stays visible and bounded:
- ``--timeout``: every child stops collecting at the scan's limit and returns what it read (as one
  process does); a child that has not answered within :data:`GRACE` seconds after that is stopped.
- A child that dies (killed, out of memory) or stops on an unexpected error: every unit it claimed
  is marked not read (ERROR) by the merge, a ``JobFailed`` collection error says which process and
  why, and the run is incomplete (exit 3). A unit no process claimed (the scan's time ran out
  first) is marked not read as well.
- When every process stops on an mlguard error (no credentials, a bad config), the first is
  raised, with its exit code, as a single process would raise it.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from mlguard import __version__
from mlguard.collect.base import Calls, Progress
from mlguard.collect.secrets import mask_text
from mlguard.collect.shard import Shard
from mlguard.errors import EXIT_SETUP, CollectionSetupError, InputError, MlguardError
from mlguard.model import CollectionError, Inventory, Provenance, iso, utcnow

#: Seconds a child may take, after the scan's ``--timeout``, to hand over what it read.
GRACE = 30.0
#: The most processes ``--jobs`` starts.
MAX_JOBS = 64
#: ``--jobs auto``: one process per usable core (:func:`check_jobs` decides).
AUTO = 0


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def usable_cores() -> int:
    """The cores this process may run on (its affinity, e.g. a container's cpuset), else all."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def check_jobs(jobs: int, *, shard: str | None = None, demo: bool = False) -> int:
    """The number of processes to collect in: ``--jobs N``'s conflicts checked before anything is
    read (bad input: exit 2); ``auto`` (:data:`AUTO`): one per usable core, up to
    :data:`MAX_JOBS`, or one where several cannot run (``--shard``, ``--demo``, no fork)."""
    if jobs == AUTO:
        return 1 if shard or demo or not can_fork() else max(1, min(usable_cores(), MAX_JOBS))
    if jobs <= 1:
        return 1
    if shard:
        raise InputError("--jobs cannot be combined with --shard: run more shards instead")
    if demo:
        raise InputError("--jobs cannot be combined with --demo: the demo estate is read in one process")
    if not can_fork():
        raise InputError("--jobs needs a platform that can fork processes (Linux or macOS)")
    return jobs


@dataclass(frozen=True)
class Part:
    """What one child collected: its partial inventory, and whether ``--timeout`` cut it."""

    inventory: Inventory
    timed_out: bool


#: What a child runs: collect shard ``shard`` (reporting to ``progress``).
Collect = Callable[[Shard, Progress], Part]


class Registry:
    """The claims of one ``--jobs`` run, kept by the scanning process: unit -> the process that
    claimed it first (thread-safe: this process's collector threads and the relay thread ask)."""

    def __init__(self) -> None:
        self._owners: dict[str, int] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, index: int) -> bool:
        with self._lock:
            return self._owners.setdefault(key, index) == index

    def claims(self) -> dict[str, int]:
        with self._lock:
            return dict(self._owners)


@dataclass(frozen=True)
class _LocalClaims:
    """This process's claims (process 0): straight to the registry."""

    registry: Registry
    index: int

    def claim(self, key: str) -> bool:
        return self.registry.claim(key, self.index)


class _Pipe:
    """A child's end of its pipe to the scanning process: each unit's start and finish, sent to
    the parent's display, and its claims, answered by the parent's registry (one message at a
    time: a claim waits for its answer before anything else is sent). A claim's answer is final,
    so each unit is asked about once."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._answers: dict[str, bool] = {}

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn.send(message)

    def start(self, key: str, description: str) -> None:
        self._send(("start", key, description))

    def finish(self, key: str, resources: int, errors: int, calls: Calls | None = None) -> None:
        self._send(("finish", key, resources, errors, calls))

    def claim(self, key: str) -> bool:
        with self._lock:
            answer = self._answers.get(key)
            if answer is None:
                try:
                    self._conn.send(("claim", key))
                    answer = bool(self._conn.recv())
                except (EOFError, OSError):  # the scanning process is gone: read nothing more
                    return False
                self._answers[key] = answer
        return answer


def _child(conn: Connection, shard: Shard, collect: Collect) -> None:
    """A child's whole life: collect its shard, send the part (or the error), exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the children on Ctrl-C
    pipe = _Pipe(conn)
    shard.claims = pipe
    try:
        part = collect(shard, pipe)
        message: tuple[Any, ...] = ("done", part.inventory, part.timed_out)
    except MlguardError as exc:
        message = ("error", exc.exit_code, exc.render())
    except BaseException as exc:  # reported by the parent as this process's failure (exit 3)
        message = ("crash", f"{type(exc).__name__}: {exc}")  # scrubbed with the JobFailed error
    conn.send(message)
    conn.close()


@dataclass
class _Job:
    index: int
    process: BaseProcess | None  # None: this process (job 0)
    conn: Connection | None
    part: Part | None = None
    failure: tuple[int | None, str] | None = None  # (exit code of an mlguard error, why)
    open: bool = True


@dataclass(frozen=True)
class JobsResult:
    """The processes' parts, the failures (``job i/N``, why) of those that sent none, and the
    claims (unit -> process)."""

    parts: list[tuple[str, Inventory]]
    failed: list[CollectionError]
    timed_out: bool
    claimed: dict[str, int]


def label(index: int, count: int) -> str:
    return f"--jobs {count}: process {index}"


@contextmanager
def forked(count: int, collect: Collect) -> Iterator[list[_Job]]:
    """Fork children 1 .. ``count``-1, child ``i`` collecting as process ``i/count``, claiming its
    units through its pipe; process 0 is this one. Stopped (and reaped) on the way out, whatever
    happens."""
    context = multiprocessing.get_context("fork")
    jobs: list[_Job] = []
    # What exists now is shared with the children: keep their collections off it. No collection
    # first (as Python's gc.freeze documents): its full pass over the parsed models costs ~0.1 s,
    # before any process can start, to free what little garbage there is.
    gc.freeze()
    try:
        for index in range(1, count):
            mine, theirs = context.Pipe(duplex=True)
            process = context.Process(
                target=_child,
                args=(theirs, Shard(index, count), collect),
                name=f"mlguard-job-{index}",
                daemon=True,
            )
            process.start()
            theirs.close()
            jobs.append(_Job(index, process, mine))
    finally:
        gc.unfreeze()
    try:
        yield jobs
    finally:
        for job in jobs:
            if job.process is not None and job.process.is_alive():
                job.process.terminate()
        for job in jobs:
            if job.process is not None:
                job.process.join(5)
                if job.process.is_alive():
                    job.process.kill()
                    job.process.join()
            if job.conn is not None:
                job.conn.close()


def relay(jobs: list[_Job], progress: Progress, registry: Registry, timeout: float | None) -> bool:
    """Relay the children's progress, and answer their claims, until each has sent its part or
    ended; ``timeout``: the scan's limit, after which a child gets :data:`GRACE` seconds. True when
    that ran out."""
    deadline = None if timeout is None else time.monotonic() + timeout + GRACE
    by_conn = {job.conn: job for job in jobs}
    while any(job.open for job in jobs):
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return True
        for conn in wait([job.conn for job in jobs if job.open and job.conn is not None], left):
            assert isinstance(conn, Connection)
            _receive(by_conn[conn], progress, registry)
    return False


def _outcome(jobs: list[_Job], registry: Registry, timeout: float | None, overtime: bool) -> JobsResult:
    count = len(jobs)
    failed: list[CollectionError] = []
    for job in jobs:
        if job.part is not None:
            continue
        if job.failure is None:
            assert job.process is not None  # this process's own job ends with a part or a failure
            job.process.join(1)
            code = job.process.exitcode
            why = (
                f"did not finish within {GRACE:g} s of the scan's {timeout:g} s time limit"
                if overtime and job.open and timeout is not None
                else f"ended without sending its part (exit status {code})"
                if code is not None and code >= 0
                else f"was killed by signal {-code}"
                if code is not None
                else "ended without sending its part"
            )
            job.failure = (None, why)
        failed.append(
            CollectionError(
                provider="mlguard",
                operation="jobs",
                code="JobFailed",
                message=mask_text(
                    f"collector process {job.index}/{count} {job.failure[1]}; "
                    "what it would have read was not read"
                ),
            )
        )
    errors = [job.failure for job in jobs if job.failure is not None and job.failure[0] is not None]
    if len(errors) == count:  # every process stopped on an mlguard error: the scan's own error
        code, text = errors[0]
        raise CollectionSetupError(text) if code == EXIT_SETUP else _error(text, code)
    parts = [(label(job.index, count), job.part.inventory) for job in jobs if job.part is not None]
    timed_out = overtime or any(job.part.timed_out for job in jobs if job.part is not None)
    return JobsResult(parts, failed, timed_out, registry.claims())


def _error(text: str, code: int | None) -> MlguardError:
    exc = MlguardError(text)
    if code is not None:
        exc.exit_code = code
    return exc


def _receive(job: _Job, progress: Progress, registry: Registry) -> None:
    assert job.conn is not None
    try:
        message = job.conn.recv()
        kind = message[0]
        if kind == "claim":
            job.conn.send(registry.claim(message[1], job.index))
            return
    except (EOFError, OSError):
        job.open = False
        return
    if kind == "start":
        progress.start(message[1], message[2])
    elif kind == "finish":
        progress.finish(message[1], message[2], message[3], message[4])
    elif kind == "done":
        job.part = Part(message[1], message[2])
        job.open = False
    elif kind == "error":
        job.failure = (message[1], message[2])
        job.open = False
    else:  # "crash"
        job.failure = (None, f"stopped on an unexpected error: {message[1]}")
        job.open = False


def run_jobs(
    count: int,
    collect: Collect,
    display: Callable[[], AbstractContextManager[Progress]],
    timeout: float | None,
) -> JobsResult:
    """Fork the other ``count``-1 collectors, then (no thread ran at the fork) start the progress
    display and a thread that relays the children's progress and answers their claims, collect
    as process 0 here, and wait for the children's parts."""
    own = _Job(0, None, None)
    registry = Registry()
    with forked(count, collect) as children, display() as progress:
        overtime: list[bool] = []

        def relaying() -> None:
            overtime.append(relay(children, progress, registry, timeout))

        thread = threading.Thread(target=relaying, name="mlguard-jobs", daemon=True)
        thread.start()
        try:
            own.part = collect(Shard(0, count, claims=_LocalClaims(registry, 0)), progress)
        except MlguardError as exc:
            own.failure = (exc.exit_code, exc.render())
        except BaseException:  # Ctrl-C, or a fault of our own: stop the children, then raise
            for job in children:
                if job.process is not None:
                    job.process.terminate()
            thread.join()
            raise
        own.open = False
        thread.join()
        return _outcome([own, *children], registry, timeout, bool(overtime and overtime[0]))


def merged_jobs(done: JobsResult, command: str | None) -> tuple[Inventory, bool]:
    """The parts as one inventory (:func:`mlguard.merge.merge_inventories`), with the failed
    processes' errors, and whether it is incomplete (a process failed or hit ``--timeout``)."""
    from mlguard.merge import merge_inventories

    if not done.parts:  # every process failed: nothing was read
        provenance = Provenance(version=__version__, started_at=iso(utcnow()), command=command)
        return Inventory(provenance=provenance, errors=done.failed), True
    merged = merge_inventories(done.parts, command, done.claimed)
    inventory = merged.inventory.model_copy(
        update={
            "provenance": merged.inventory.provenance.model_copy(update={"sources": []}),
            "errors": [*merged.inventory.errors, *done.failed],
        }
    )
    return inventory, merged.incomplete or done.timed_out or bool(done.failed)
