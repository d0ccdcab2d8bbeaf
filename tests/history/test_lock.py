"""Two runs on one store never interleave; a run's time budget is enforced."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from mlguard.errors import EXIT_INCOMPLETE
from mlguard.history.errors import DeadlineExceeded, StoreLockTimeout
from mlguard.history.lock import Deadline
from mlguard.history.store import Store
from tests.history import estates as e

HOLDER = """
import sys
from mlguard.history.store import Store
with Store.open(sys.argv[1]) as store, store.lock(timeout=30):
    print("locked", flush=True)
    sys.stdin.read()  # hold the lock until the parent closes our stdin
"""


def test_a_second_process_waits_for_the_lock_then_gets_it(store_target: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_target],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with Store.open(store_target) as store:
            with pytest.raises(StoreLockTimeout) as info, store.lock(timeout=0.3):
                pytest.fail("acquired a lock held by another process")
            assert info.value.exit_code == EXIT_INCOMPLETE
            assert "locked by another mlguard run" in info.value.render()
            assert holder.stdin is not None
            holder.stdin.close()  # the other run finishes
            with store.lock(timeout=20):
                store.record(e.week1().scan())
            assert len(store.runs()) == 1
    finally:
        holder.kill()
        holder.wait()


def test_a_dead_holder_releases_the_lock(store_target: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_target], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()  # a crashed run must not block every later run
    holder.wait()
    with Store.open(store_target) as store, store.lock(timeout=20):
        pass


def test_concurrent_runs_are_serialised(store_target: str) -> None:
    events: list[str] = []
    estates = [e.week1(), e.week2()]

    def run(i: int) -> None:
        with Store.open(store_target) as store, store.lock(timeout=30):
            events.append(f"start{i}")
            time.sleep(0.2)
            store.record(estates[i].scan(), estates[i].inventory())
            events.append(f"end{i}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert events in (["start0", "end0", "start1", "end1"], ["start1", "end1", "start0", "end0"])
    with Store.open(store_target) as store:
        assert len(store.runs()) == 2


def test_in_memory_store_lock() -> None:
    with Store.open("sqlite://") as store:
        with store.lock(timeout=1):
            blocked: list[bool] = []

            def other() -> None:
                try:
                    with store.lock(timeout=0.1):
                        blocked.append(False)
                except StoreLockTimeout:
                    blocked.append(True)

            th = threading.Thread(target=other)
            th.start()
            th.join()
            assert blocked == [True]
        with store.lock(timeout=1):
            pass


def test_deadline() -> None:
    unlimited = Deadline(None)
    assert unlimited.remaining is None
    assert not unlimited.expired
    assert unlimited.budget(5.0) == 5.0
    unlimited.check("collection")

    short = Deadline(0.05)
    assert 0 < short.budget(10.0) <= 0.05
    time.sleep(0.06)
    assert short.expired
    assert short.remaining == 0.0
    with pytest.raises(DeadlineExceeded) as info:
        short.check("collection")
    assert info.value.exit_code == EXIT_INCOMPLETE
    assert "during collection" in info.value.render()
    with pytest.raises(ValueError, match="positive"):
        Deadline(0)


def test_open_for_run_holds_the_lock_for_the_whole_run(store_target: str) -> None:
    from mlguard.history.store import open_for_run

    with open_for_run(store_target, lock_timeout=5) as store:
        with Store.open(store_target) as other, pytest.raises(StoreLockTimeout), other.lock(timeout=0.2):
            pytest.fail("a second run got the lock")
        store.record(e.week1().scan(), e.week1().inventory())
    with open_for_run(store_target, lock_timeout=5) as store:
        assert len(store.runs()) == 1
