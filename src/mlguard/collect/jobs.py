"""``--jobs N``: one machine's collection in N local processes, merged as one scan's.

Against real APIs a scan waits on the network, and threads overlap that wait; what they cannot
overlap is the SDK's own work. Every AWS call costs about 2 ms of botocore CPU (signing, event
dispatch, HTTP and response parsing), and one Python process runs it under one interpreter lock,
so a process scanning many accounts is bound by one core however many it has. ``--jobs N``
collects in N processes: this one and N-1 forked children. Process ``i`` reads the units of shard
``i/N`` (:mod:`mlguard.collect.shard`: AWS (account, region) pairs and account-global types,
Databricks workspaces), exactly as ``collect --shard i/N`` on N machines would, and this process
merges the parts with :func:`mlguard.merge.merge_inventories`, the merge of ``mlguard merge``. The
merged inventory is the one a single process would have read: every unit read once by one process.

Forked, not spawned: a child starts at once with the configuration, policies and imported SDKs of
this process, whose memory it shares until it writes to it, and this process collects shard 0
rather than wait idle (one process's memory fewer). The fork happens before any thread starts (the
progress display, the thread relaying the children's progress and the collectors' pools start
after), and the objects made so far are frozen out of the cycle collector (:func:`gc.freeze`) so
that a child's collections do not touch, and copy, them. A child reports its units' progress and,
at the end, its partial inventory (or the error that stopped it) through a pipe.

What can go wrong stays visible and bounded:
- ``--timeout``: every child stops collecting at the scan's limit and returns what it read (as one
  process does); a child that has not answered within :data:`GRACE` seconds after that is stopped.
- A child that dies (killed, out of memory) or stops on an unexpected error leaves a shard missing:
  the merge marks every unit the other processes saw it own as not read (ERROR), a ``JobFailed``
  collection error says which process and why, and the run is incomplete (exit 3).
- When every process stops on an mlguard error (no credentials, a bad config), the first is
  raised, with its exit code, as a single process would raise it.
"""

from __future__ import annotations

import gc
import multiprocessing
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


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def check_jobs(jobs: int, *, shard: str | None = None, demo: bool = False) -> None:
    """``--jobs N``'s conflicts, before anything is read (bad input: exit 2)."""
    if jobs <= 1:
        return
    if shard:
        raise InputError("--jobs cannot be combined with --shard: run more shards instead")
    if demo:
        raise InputError("--jobs cannot be combined with --demo: the demo estate is read in one process")
    if not can_fork():
        raise InputError("--jobs needs a platform that can fork processes (Linux or macOS)")


@dataclass(frozen=True)
class Part:
    """What one child collected: its partial inventory, and whether ``--timeout`` cut it."""

    inventory: Inventory
    timed_out: bool


#: What a child runs: collect shard ``shard`` (reporting to ``progress``).
Collect = Callable[[Shard, Progress], Part]


class _PipeProgress:
    """The child's progress: each unit's start and finish, sent to the parent's display."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn.send(message)

    def start(self, key: str, description: str) -> None:
        self._send(("start", key, description))

    def finish(self, key: str, resources: int, errors: int, calls: Calls | None = None) -> None:
        self._send(("finish", key, resources, errors, calls))


def _child(conn: Connection, shard: Shard, collect: Collect) -> None:
    """A child's whole life: collect its shard, send the part (or the error), exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the children on Ctrl-C
    try:
        part = collect(shard, _PipeProgress(conn))
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
    """The processes' parts and the failures (``job i/N``, why) of those that sent none."""

    parts: list[tuple[str, Inventory]]
    failed: list[CollectionError]
    timed_out: bool


def label(index: int, count: int) -> str:
    return f"--jobs {count}: process {index}"


def _shard(index: int, count: int, plan: Shard) -> Shard:
    return Shard(index, count, plan=dict(plan.plan), balanced_by=plan.balanced_by)


@contextmanager
def forked(count: int, plan: Shard, collect: Collect) -> Iterator[list[_Job]]:
    """Fork children 1 .. ``count``-1, child ``i`` collecting shard ``i/count`` placed by ``plan``
    (a balanced plan, or none: the hash); shard 0 is this process's. Stopped (and reaped) on the
    way out, whatever happens."""
    context = multiprocessing.get_context("fork")
    jobs: list[_Job] = []
    gc.collect()
    gc.freeze()  # what exists now is shared with the children: keep their collections off it
    try:
        for index in range(1, count):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(
                target=_child,
                args=(send, _shard(index, count, plan), collect),
                name=f"mlguard-job-{index}",
                daemon=True,
            )
            process.start()
            send.close()
            jobs.append(_Job(index, process, receive))
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


def relay(jobs: list[_Job], progress: Progress, timeout: float | None) -> bool:
    """Relay the children's progress until each has sent its part or ended; ``timeout``: the
    scan's limit, after which a child gets :data:`GRACE` seconds. True when that ran out."""
    deadline = None if timeout is None else time.monotonic() + timeout + GRACE
    by_conn = {job.conn: job for job in jobs}
    while any(job.open for job in jobs):
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return True
        for conn in wait([job.conn for job in jobs if job.open and job.conn is not None], left):
            assert isinstance(conn, Connection)
            _receive(by_conn[conn], progress)
    return False


def _outcome(jobs: list[_Job], timeout: float | None, overtime: bool) -> JobsResult:
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
    return JobsResult(parts, failed, timed_out)


def _error(text: str, code: int | None) -> MlguardError:
    exc = MlguardError(text)
    if code is not None:
        exc.exit_code = code
    return exc


def _receive(job: _Job, progress: Progress) -> None:
    assert job.conn is not None
    try:
        message = job.conn.recv()
    except (EOFError, OSError):
        job.open = False
        return
    kind = message[0]
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
    plan: Shard,
    collect: Collect,
    display: Callable[[], AbstractContextManager[Progress]],
    timeout: float | None,
) -> JobsResult:
    """Fork the other ``count``-1 collectors, then (no thread ran at the fork) start the progress
    display and a thread that relays the children's progress, collect shard 0 here, and wait for
    the children's parts."""
    own = _Job(0, None, None)
    with forked(count, plan, collect) as children, display() as progress:
        overtime: list[bool] = []

        def relaying() -> None:
            overtime.append(relay(children, progress, timeout))

        thread = threading.Thread(target=relaying, name="mlguard-jobs", daemon=True)
        thread.start()
        try:
            own.part = collect(_shard(0, count, plan), progress)
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
        return _outcome([own, *children], timeout, bool(overtime and overtime[0]))


def merged_jobs(done: JobsResult, command: str | None) -> tuple[Inventory, bool]:
    """The parts as one inventory (:func:`mlguard.merge.merge_inventories`), with the failed
    processes' errors, and whether it is incomplete (a process failed or hit ``--timeout``)."""
    from mlguard.merge import merge_inventories

    if not done.parts:  # every process failed: nothing was read
        provenance = Provenance(version=__version__, started_at=iso(utcnow()), command=command)
        return Inventory(provenance=provenance, errors=done.failed), True
    merged = merge_inventories(done.parts, command)
    inventory = merged.inventory.model_copy(
        update={
            "provenance": merged.inventory.provenance.model_copy(update={"sources": []}),
            "errors": [*merged.inventory.errors, *done.failed],
        }
    )
    return inventory, merged.incomplete or done.timed_out or bool(done.failed)
