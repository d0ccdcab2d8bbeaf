"""`--jobs N` (mlguard.collect.jobs): forked collector processes, their progress relayed to the
parent's display, their parts merged; a process that fails, dies or overruns the time limit leaves
its units unread (ERROR) and the run incomplete, never a quiet gap."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mlguard import __version__
from mlguard.collect import jobs
from mlguard.collect.base import Calls, Progress
from mlguard.collect.jobs import Part, merged_jobs, run_jobs
from mlguard.collect.shard import Shard, aws_unit
from mlguard.errors import EXIT_SETUP, CollectionSetupError, MlguardError
from mlguard.merge import merge_inventories
from mlguard.model import Inventory, Provenance, Resource, ShardInfo

pytestmark = pytest.mark.skipif(not jobs.can_fork(), reason="--jobs forks")

ACCOUNTS = ["111111111111", "222222222222", "333333333333", "444444444444"]
UNITS = [aws_unit(a, r) for a in ACCOUNTS for r in (None, "us-east-1")]


class Recorded:
    """The parent's progress display: what reached it."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def start(self, key: str, description: str) -> None:
        self.events.append(("start", key, description))

    def finish(self, key: str, resources: int, errors: int, calls: Calls | None = None) -> None:
        self.events.append(("finish", key, resources, errors, calls))


def display(recorded: Recorded) -> Callable[[], Any]:
    @contextmanager
    def shown() -> Iterator[Progress]:
        yield recorded

    return shown


def fake_collect(
    fail: Callable[[int], None] = lambda index: None,
    barrier: Any = None,
    after: Callable[[int], None] = lambda index: None,
) -> jobs.Collect:
    """A collector of one resource per unit it reads (``fail(index)`` runs first, in the child).
    Process i first takes its own units (``UNITS[i::N]``), then, past ``barrier`` (all processes
    there: each has claimed its own) and ``after(index)``, every other unit, as a process that is
    free takes the next unit: so who reads what is known whatever the processes' speeds."""

    def collect(shard: Shard, progress: Progress) -> Part:
        fail(shard.index)
        kept = [unit for unit in UNITS if shard.keeps(unit)]
        own = kept[shard.index :: shard.count]
        resources = []
        for i, unit in enumerate(own + [u for u in kept if u not in own]):
            if i == len(own):
                if barrier is not None:
                    barrier.wait(30)
                after(shard.index)
            if shard.takes(unit):
                progress.start(unit, f"unit {unit}")
                _, account, region = unit.split("/")
                resources.append(
                    Resource(
                        uid=f"arn:aws:kms:{region}:{account}:key/{shard.index}",
                        type="aws.kms.key",
                        provider="aws",
                        id=f"{account}-{region}",
                        account=account,
                        region=None if region == "global" else region,
                        data={"pid": os.getpid()},
                    )
                )
                progress.finish(unit, 1, 0, Calls(calls=2, attempts=3))
        provenance = Provenance(version=__version__, started_at="2026-12-06T00:00:00Z", shard=shard.info())
        return Part(Inventory(provenance=provenance, resources=resources), timed_out=False)

    return collect


def test_every_unit_is_read_once_by_the_process_that_claimed_it_and_the_progress_reaches_the_parent() -> None:
    recorded = Recorded()
    barrier = multiprocessing.get_context("fork").Barrier(3)
    done = run_jobs(3, fake_collect(barrier=barrier), display(recorded), timeout=None)
    assert not done.failed
    assert not done.timed_out
    assert [label for label, _ in done.parts] == [f"--jobs 3: process {i}" for i in range(3)]
    assert done.claimed == {u: i for i in range(3) for u in UNITS[i::3]}
    inventory, incomplete = merged_jobs(done, "mlguard scan --jobs 3")
    assert not incomplete
    assert not inventory.errors
    assert sorted(r.id for r in inventory.resources) == sorted(
        u.split("/")[1] + "-" + u.split("/")[2] for u in UNITS
    )
    pids = {r.data["pid"] for r in inventory.resources}
    assert os.getpid() in pids  # this process reads too
    assert len(pids) == 3  # and each other its own units, in its own process
    by_index = {s.index: s for s in inventory.provenance.shards}
    assert {i: sorted(s.units) for i, s in by_index.items()} == {i: sorted(UNITS[i::3]) for i in range(3)}
    assert all(sorted(s.all_units) == sorted(UNITS) for s in by_index.values())
    assert sorted(e[1] for e in recorded.events if e[0] == "start") == sorted(UNITS)
    finished = [e for e in recorded.events if e[0] == "finish"]
    assert len(finished) == len(UNITS)
    assert all(e[2:] == (1, 0, Calls(2, 3)) for e in finished)


def test_a_unit_is_read_by_the_first_process_to_claim_it() -> None:
    # no barrier: whichever process comes first takes a unit, and only that one reads it
    done = run_jobs(3, fake_collect(), display(Recorded()), timeout=None)
    inventory, incomplete = merged_jobs(done, None)
    assert not incomplete
    assert sorted(r.id for r in inventory.resources) == sorted(
        u.split("/")[1] + "-" + u.split("/")[2] for u in UNITS
    )
    readers = {u: s.index for s in inventory.provenance.shards for u in s.units}
    assert readers == done.claimed
    assert sorted(readers) == sorted(UNITS)


def _crash(index: int) -> None:
    if index == 1:
        raise RuntimeError("boom with key AKIAIOSFODNN7EXAMPLE")


def _killed(index: int) -> None:
    if index == 1:
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize(
    ("fail", "why"),
    [
        (_crash, "stopped on an unexpected error: RuntimeError: boom with key"),
        (_killed, "was killed by signal 9"),
    ],
)
def test_a_failed_process_leaves_the_units_it_claimed_unread_and_the_run_incomplete(
    fail: Callable[[int], None], why: str
) -> None:
    barrier = multiprocessing.get_context("fork").Barrier(2)
    done = run_jobs(2, fake_collect(barrier=barrier, after=fail), display(Recorded()), timeout=None)
    assert [label for label, _ in done.parts] == ["--jobs 2: process 0"]
    [failure] = done.failed
    assert failure.code == "JobFailed"
    assert failure.provider == "mlguard"
    assert f"collector process 1/2 {why}" in failure.message
    assert "AKIAIOSFODNN7EXAMPLE" not in failure.message  # the scrub masks the error text
    inventory, incomplete = merged_jobs(done, None)
    assert incomplete
    missing = [e for e in inventory.errors if e.code == "ShardMissing"]
    unread = {f"aws/{e.account}/{e.region or 'global'}" for e in missing}
    read = {f"aws/{r.account}/{r.region or 'global'}" for r in inventory.resources}
    assert unread == set(UNITS[1::2])  # what the failed process had claimed
    assert read == set(UNITS[0::2])
    assert all("was claimed by process 1/2 and is in no part" in e.message for e in missing)
    assert failure in inventory.errors


def test_a_unit_no_process_claimed_is_not_read() -> None:
    part = Inventory(
        provenance=Provenance(
            version=__version__,
            started_at="2026-12-06T00:00:00Z",
            shard=ShardInfo(index=0, count=2, units=UNITS[:1], all_units=UNITS[:2]),
        )
    )
    merged = merge_inventories([("p0", part)], None, claimed={UNITS[0]: 0})
    [error] = merged.inventory.errors
    assert error.code == "ShardMissing"
    assert (error.account, error.region) == (ACCOUNTS[0], "us-east-1")
    assert f"no process of 2 claimed unit {UNITS[1]} before the collection stopped" in error.message


def _setup(index: int) -> None:
    raise CollectionSetupError("no AWS credentials were found")


def _bad(index: int) -> None:
    raise MlguardError("the config's scope is invalid")


def test_the_same_error_in_every_process_is_the_scans_own() -> None:
    with pytest.raises(CollectionSetupError, match="no AWS credentials") as raised:
        run_jobs(2, fake_collect(_setup), display(Recorded()), timeout=None)
    assert raised.value.exit_code == EXIT_SETUP
    with pytest.raises(MlguardError, match="scope is invalid") as bad:
        run_jobs(2, fake_collect(_bad), display(Recorded()), timeout=None)
    assert bad.value.exit_code == 2


def _hang(index: int) -> None:
    if index == 1:
        time.sleep(600)


def test_a_process_past_the_time_limit_and_its_grace_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "GRACE", 0.5)
    done = run_jobs(2, fake_collect(_hang), display(Recorded()), timeout=1)
    assert done.timed_out
    [failure] = done.failed
    assert "collector process 1/2 did not finish within 0.5 s of the scan's 1 s time limit" in failure.message
    assert merged_jobs(done, None)[1]


def _all_fail(index: int) -> None:
    if index == 0:  # this process: an mlguard error; the other: killed
        raise MlguardError("the scope is invalid here")
    os.kill(os.getpid(), signal.SIGKILL)


def test_when_every_process_fails_nothing_is_read_and_the_run_is_incomplete() -> None:
    done = run_jobs(2, fake_collect(_all_fail), display(Recorded()), timeout=None)
    assert not done.parts
    assert len(done.failed) == 2
    inventory, incomplete = merged_jobs(done, "scan")
    assert incomplete
    assert not inventory.resources
    assert inventory.errors == done.failed


def test_auto_is_one_process_per_usable_core_where_several_can_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "usable_cores", lambda: 6)
    assert jobs.check_jobs(jobs.AUTO) == 6
    assert jobs.check_jobs(jobs.AUTO, shard="0/2") == 1  # a shard is one process (run more shards)
    assert jobs.check_jobs(jobs.AUTO, demo=True) == 1  # the demo estate is read in one process
    monkeypatch.setattr(jobs, "usable_cores", lambda: 200)
    assert jobs.check_jobs(jobs.AUTO) == jobs.MAX_JOBS
    monkeypatch.setattr(jobs, "can_fork", lambda: False)
    assert jobs.check_jobs(jobs.AUTO) == 1
    with pytest.raises(MlguardError, match="needs a platform that can fork"):
        jobs.check_jobs(3)  # an explicit N where it cannot fork: bad input (exit 2)
    monkeypatch.undo()
    assert 1 <= jobs.usable_cores() <= (os.cpu_count() or 1)
