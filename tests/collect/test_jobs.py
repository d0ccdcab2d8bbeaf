"""`--jobs N` (mlguard.collect.jobs): forked collector processes, their progress relayed to the
parent's display, their parts merged; a process that fails, dies or overruns the time limit leaves
its units unread (ERROR) and the run incomplete, never a quiet gap."""

from __future__ import annotations

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
from mlguard.model import Inventory, Provenance, Resource

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


def fake_collect(fail: Callable[[int], None] = lambda index: None) -> jobs.Collect:
    """A collector of one resource per unit it owns (``fail(index)`` runs first, in the child)."""

    def collect(shard: Shard, progress: Progress) -> Part:
        fail(shard.index)
        resources = []
        for unit in UNITS:
            if shard.owns(unit):
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


def test_every_unit_is_read_once_by_another_process_and_the_progress_reaches_the_parent() -> None:
    recorded = Recorded()
    done = run_jobs(3, Shard(0, 3), fake_collect(), display(recorded), timeout=None)
    assert not done.failed
    assert not done.timed_out
    assert [label for label, _ in done.parts] == [f"--jobs 3: process {i}" for i in range(3)]
    inventory, incomplete = merged_jobs(done, "mlguard scan --jobs 3")
    assert not incomplete
    assert not inventory.errors
    assert sorted(r.id for r in inventory.resources) == sorted(
        u.split("/")[1] + "-" + u.split("/")[2] for u in UNITS
    )
    pids = {r.data["pid"] for r in inventory.resources}
    assert os.getpid() in pids  # this process reads shard 0
    assert len(pids) == 3  # and each other shard its own process
    assert sorted(u for s in inventory.provenance.shards for u in s.units) == sorted(UNITS)
    assert sorted(e[1] for e in recorded.events if e[0] == "start") == sorted(UNITS)
    finished = [e for e in recorded.events if e[0] == "finish"]
    assert len(finished) == len(UNITS)
    assert all(e[2:] == (1, 0, Calls(2, 3)) for e in finished)


def test_a_balanced_plan_reaches_every_process() -> None:
    plan = Shard(0, 2, plan=dict.fromkeys(UNITS, 0), balanced_by="run-7")
    done = run_jobs(2, plan, fake_collect(), display(Recorded()), timeout=None)
    inventory, incomplete = merged_jobs(done, None)
    assert not incomplete
    by_index = {s.index: s for s in inventory.provenance.shards}
    assert sorted(by_index[0].units) == sorted(UNITS)
    assert by_index[1].units == []
    assert {s.balanced_by for s in inventory.provenance.shards} == {"run-7"}


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
def test_a_failed_process_leaves_its_units_unread_and_the_run_incomplete(
    fail: Callable[[int], None], why: str
) -> None:
    done = run_jobs(2, Shard(0, 2), fake_collect(fail), display(Recorded()), timeout=None)
    assert [label for label, _ in done.parts] == ["--jobs 2: process 0"]
    [failure] = done.failed
    assert failure.code == "JobFailed"
    assert failure.provider == "mlguard"
    assert f"collector process 1/2 {why}" in failure.message
    assert "AKIAIOSFODNN7EXAMPLE" not in failure.message  # the scrub masks the error text
    inventory, incomplete = merged_jobs(done, None)
    assert incomplete
    unread = {f"aws/{e.account}/{e.region or 'global'}" for e in inventory.errors if e.code == "ShardMissing"}
    read = {f"aws/{r.account}/{r.region or 'global'}" for r in inventory.resources}
    assert unread
    assert unread.isdisjoint(read)
    assert unread | read == set(UNITS)
    assert failure in inventory.errors


def _setup(index: int) -> None:
    raise CollectionSetupError("no AWS credentials were found")


def _bad(index: int) -> None:
    raise MlguardError("the config's scope is invalid")


def test_the_same_error_in_every_process_is_the_scans_own() -> None:
    with pytest.raises(CollectionSetupError, match="no AWS credentials") as raised:
        run_jobs(2, Shard(0, 2), fake_collect(_setup), display(Recorded()), timeout=None)
    assert raised.value.exit_code == EXIT_SETUP
    with pytest.raises(MlguardError, match="scope is invalid") as bad:
        run_jobs(2, Shard(0, 2), fake_collect(_bad), display(Recorded()), timeout=None)
    assert bad.value.exit_code == 2


def _hang(index: int) -> None:
    if index == 1:
        time.sleep(600)


def test_a_process_past_the_time_limit_and_its_grace_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "GRACE", 0.5)
    done = run_jobs(2, Shard(0, 2), fake_collect(_hang), display(Recorded()), timeout=1)
    assert done.timed_out
    [failure] = done.failed
    assert "collector process 1/2 did not finish within 0.5 s of the scan's 1 s time limit" in failure.message
    assert merged_jobs(done, None)[1]


def _all_fail(index: int) -> None:
    if index == 0:  # this process: an mlguard error; the other: killed
        raise MlguardError("the scope is invalid here")
    os.kill(os.getpid(), signal.SIGKILL)


def test_when_every_process_fails_nothing_is_read_and_the_run_is_incomplete() -> None:
    done = run_jobs(2, Shard(0, 2), fake_collect(_all_fail), display(Recorded()), timeout=None)
    assert not done.parts
    assert len(done.failed) == 2
    inventory, incomplete = merged_jobs(done, "scan")
    assert incomplete
    assert not inventory.resources
    assert inventory.errors == done.failed
