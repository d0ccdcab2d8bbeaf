"""The partition of a scan's units over shards (``--shard K/N``), and reading K/N."""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlguard.collect.aws import AwsCollector
from mlguard.collect.base import InventorySink
from mlguard.collect.shard import Shard, aws_unit, missing_unit_errors, parse_shard, shard_of
from mlguard.config import AwsScope, ScopeConfig
from mlguard.errors import InputError
from tests.collect.aws.conftest import ACCOUNT, NullProgress

ACCOUNTS = [f"{i:012d}" for i in range(1, 41)]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", None]


def units() -> list[str]:
    return [aws_unit(a, r) for a in ACCOUNTS for r in REGIONS]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_unit_is_read_by_exactly_one_shard(count: int) -> None:
    shards = [Shard(i, count) for i in range(count)]
    for key in units():
        owners = [s.index for s in shards if s.owns(key)]
        assert len(owners) == 1, key
    read = [u for s in shards for u in s.info().units]
    assert sorted(read) == sorted(units())  # each once, none lost
    assert all(s.info().all_units == sorted(units()) for s in shards)  # each saw the whole scan


def test_an_accounts_global_types_are_one_unit_read_once() -> None:
    for count in (2, 3, 5):
        for account in ACCOUNTS:
            owners = [i for i in range(count) if Shard(i, count).owns(aws_unit(account, None))]
            assert len(owners) == 1


def test_the_partition_is_stable_and_spreads_the_units() -> None:
    # sha256, not Python's per-process salted hash(): the same answer in every process and run
    assert shard_of("aws/123456789012/us-east-1", 4) == shard_of("aws/123456789012/us-east-1", 4)
    assert [shard_of(u, 3) for u in units()[:6]] == [
        int.from_bytes(__import__("hashlib").sha256(u.encode()).digest()[:8], "big") % 3 for u in units()[:6]
    ]
    sizes = [sum(shard_of(u, 4) == i for u in units()) for i in range(4)]
    assert min(sizes) > 0.15 * len(units())  # 200 units: no shard is left near-empty


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=64))
def test_shard_of_is_a_valid_index(key: str, count: int) -> None:
    assert 0 <= shard_of(key, count) < count


def test_parse_k_of_n_and_auto() -> None:
    assert (parse_shard("1/3", {}).index, parse_shard("1/3", {}).count) == (1, 3)
    for var in ("JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "MLGUARD_SHARD_INDEX"):
        assert parse_shard("auto/4", {var: "2"}).index == 2


@pytest.mark.parametrize(
    ("spec", "env", "message"),
    [
        ("3/3", {}, "not below the shard count 3"),
        ("0/0", {}, "at least 1"),
        ("1", {}, "expected K/N"),
        ("-1/2", {}, "expected K/N"),
        ("auto/2", {}, "no shard index in the environment"),
        ("auto/2", {"JOB_COMPLETION_INDEX": "2"}, "JOB_COMPLETION_INDEX=2 is not below"),
        ("auto/2", {"MLGUARD_SHARD_INDEX": "x"}, "is not a shard index"),
    ],
)
def test_bad_shard_specs_are_bad_input(spec: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        parse_shard(spec, env)
    assert err.value.exit_code == 2


def test_a_missing_global_unit_marks_only_the_account_types() -> None:
    errors = missing_unit_errors(aws_unit(ACCOUNT, None), 1, 2, {"aws": ["aws.iam.role", "aws.s3.bucket"]})
    assert [(e.account, e.region, e.resource_type) for e in errors] == [
        (ACCOUNT, None, "aws.iam.role"),
        (ACCOUNT, None, "aws.s3.bucket"),
    ]
    (regional,) = missing_unit_errors(aws_unit(ACCOUNT, "eu-west-1"), 1, 2, {})
    assert (regional.account, regional.region, regional.resource_type) == (ACCOUNT, "eu-west-1", None)
    assert regional.code == "ShardMissing"
    assert "shard 1/2" in regional.message


@pytest.mark.usefixtures("aws")
def test_the_aws_collector_reads_only_its_shards_units() -> None:
    """Two regions, one regional and one global type: the shards read disjoint parts, together all."""
    import boto3

    for region in ("us-east-1", "eu-west-1"):
        boto3.client("kms", region_name=region).create_key()
    boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    types = frozenset({"aws.kms.key", "aws.iam.role"})
    scope = ScopeConfig(aws=AwsScope(regions=["us-east-1", "eu-west-1"]))
    whole = InventorySink()
    AwsCollector(scope).collect(types, whole, NullProgress())
    parts = []
    for i in range(3):
        sink = InventorySink(shard=Shard(i, 3))
        AwsCollector(scope).collect(types, sink, NullProgress())
        parts.append(sink)
        info = sink.to_inventory("t").provenance.shard
        assert info is not None
        assert info.index == i
        for r in sink.resources:  # every resource read lies in one of this shard's units
            assert aws_unit(r.account or "", None if r.type == "aws.iam.role" else r.region) in info.units
    uids = [r.uid for s in parts for r in s.resources]
    assert sorted(uids) == sorted(r.uid for r in whole.resources)  # each once, none lost
    got = [c.model_dump_json() for s in parts for c in s.coverage]
    assert sorted(got) == sorted(c.model_dump_json() for c in whole.coverage)
    assert len(whole.resources) == 3  # two keys, one role: the test reads something


class _Recorded:
    """Claims of a ``--jobs`` process that grants ``granted`` and records who asked, from where."""

    def __init__(self, granted: set[str]) -> None:
        self.granted = granted
        self.asked: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def claim(self, key: str) -> bool:
        with self.lock:
            self.asked.append((key, threading.current_thread().name))
        return key in self.granted


class _Log:
    """One ordered record of claims (with the thread that asked) and of progress units started."""

    def __init__(self, granted: set[str]) -> None:
        self.granted = granted
        self.events: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    def claim(self, key: str) -> bool:
        with self.lock:
            self.events.append(("claim", key, threading.current_thread().name))
        return key in self.granted

    def start(self, key: str, description: str) -> None:
        with self.lock:
            self.events.append(("start", key, threading.current_thread().name))

    def finish(self, key: str, resources: int, errors: int, calls: object = None) -> None:
        return None

    @property
    def asked(self) -> list[str]:
        return [key for kind, key, _ in self.events if kind == "claim"]


def _unit_of(progress_key: str) -> str:
    """The shard unit of a progress unit (``aws/<account>/<region|global>/<family>``)."""
    return progress_key.rsplit("/", 1)[0]


@pytest.mark.usefixtures("aws")
def test_with_claims_a_process_claims_its_next_unit_only_when_no_work_waits() -> None:
    """``--jobs``: every unit stays on the work list, and is read only if granted. A process claims
    one unit at a time, and the next only once every type of the units it took has started: a
    busy process (its threads taken, its queue not empty) claims nothing more, so it cannot take
    most units at the start and leave the other processes idle at the end."""
    import boto3

    for region in ("us-east-1", "eu-west-1"):
        boto3.client("kms", region_name=region).create_key()
    boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    types = frozenset({"aws.kms.key", "aws.iam.role", "aws.iam.policy", "aws.sagemaker.model"})
    scope = ScopeConfig(aws=AwsScope(regions=["us-east-1", "eu-west-1"], max_in_flight=1))  # one thread
    east, west, glob = (aws_unit(ACCOUNT, r) for r in ("us-east-1", "eu-west-1", None))
    log = _Log({east, glob})
    sink = InventorySink(shard=Shard(0, 2, claims=log))
    AwsCollector(scope).collect(types, sink, log)  # type: ignore[arg-type]
    read = {(r.type, r.region) for r in sink.resources}
    assert read == {("aws.kms.key", "us-east-1"), ("aws.iam.role", None)}
    assert sorted(log.asked) == sorted([east, west, glob])
    assert all(thread.startswith("mlguard-aws-account") for kind, _, thread in log.events if kind == "claim")
    started = [_unit_of(key) for kind, key, _ in log.events if kind == "start"]
    assert {*started} == {east, glob}  # only granted units' work started
    claims = [i for i, (kind, _, _) in enumerate(log.events) if kind == "claim"] + [len(log.events)]
    for at, nxt in itertools.pairwise(claims):
        key = log.events[at][1]
        starts = [i for i, (kind, k, _) in enumerate(log.events) if kind == "start" and _unit_of(k) == key]
        if key in log.granted:  # every type of a granted unit started before the next claim
            assert starts
            assert all(at < i < nxt for i in starts), log.events
    info = sink.to_inventory("t").provenance.shard
    assert info is not None
    assert info.units == sorted([east, glob])
    assert info.all_units == sorted([east, west, glob])


@pytest.mark.usefixtures("aws")
def test_a_unit_with_nothing_to_read_is_claimed_at_once() -> None:
    types = frozenset({"aws.iam.role"})  # global only: the regional units have no work
    scope = ScopeConfig(aws=AwsScope(regions=["us-east-1"]))
    east, glob = aws_unit(ACCOUNT, "us-east-1"), aws_unit(ACCOUNT, None)
    log = _Log({east, glob})
    sink = InventorySink(shard=Shard(0, 2, claims=log))
    AwsCollector(scope).collect(types, sink, log)  # type: ignore[arg-type]
    assert log.asked == [east, glob]  # no type to read there: claimed with the account, before any turn
    info = sink.to_inventory("t").provenance.shard
    assert info is not None
    assert info.units == sorted([east, glob])


class _BrokenDisplay(_Log):
    def start(self, key: str, description: str) -> None:
        raise RuntimeError("the display broke")


@pytest.mark.usefixtures("aws")
def test_a_type_that_fails_as_it_starts_still_frees_the_next_claim() -> None:
    """A failure as a type starts (here, the progress display's) leaves no claim waiting forever on
    it: the scan ends with that error instead of hanging."""
    scope = ScopeConfig(aws=AwsScope(regions=["us-east-1", "eu-west-1"], max_in_flight=1))
    log = _BrokenDisplay({aws_unit(ACCOUNT, r) for r in ("us-east-1", "eu-west-1", None)})
    sink = InventorySink(shard=Shard(0, 2, claims=log))
    failed: list[BaseException] = []

    def run() -> None:
        try:
            AwsCollector(scope).collect(frozenset({"aws.kms.key", "aws.iam.role"}), sink, log)  # type: ignore[arg-type]
        except RuntimeError as exc:
            failed.append(exc)

    scan = threading.Thread(target=run, daemon=True)
    scan.start()
    scan.join(60)
    assert not scan.is_alive(), "the scan hung on a claim"
    assert [str(e) for e in failed] == ["the display broke"]


@pytest.mark.usefixtures("aws")
def test_types_that_could_not_be_queued_leave_no_claim_waiting_on_them() -> None:
    """When the scan is stopping (its pool shut down after another account's error), a type that
    could not be queued is not counted as waiting: the other accounts' claims are not held on it."""
    from concurrent.futures import ThreadPoolExecutor

    from mlguard.collect.aws import families  # noqa: F401  (registers the specs)
    from mlguard.collect.aws.collector import _Scan
    from mlguard.collect.aws.engine import Engine
    from mlguard.collect.aws.spec import SPECS

    collector = AwsCollector(ScopeConfig(aws=AwsScope(regions=["us-east-1"])))
    log = _Log({aws_unit(ACCOUNT, "us-east-1"), aws_unit(ACCOUNT, None)})
    sink = InventorySink(shard=Shard(0, 2, claims=log))
    root = collector.root(sink)
    stopped = ThreadPoolExecutor(1)
    stopped.shutdown()
    with ThreadPoolExecutor(1) as details:
        engine = Engine(sink, collector.stats, details, 30, 14)
        scan = _Scan(collector, engine, stopped, [SPECS["aws.kms.key"]], sink, log)  # type: ignore[arg-type]
        with pytest.raises(RuntimeError, match="shutdown"):
            scan.account(root, None)
    assert log.asked == [aws_unit(ACCOUNT, None), aws_unit(ACCOUNT, "us-east-1")]
    took: list[bool] = []
    claim = threading.Thread(target=lambda: took.append(_take(scan.backlog, sink)), daemon=True)
    claim.start()
    claim.join(10)
    assert took == [True]  # the next claim is not held on the unqueued type


def test_a_claiming_turn_waits_for_queued_work_and_ends_with_the_scans_time() -> None:
    """The backlog of one process: a turn waits while queued types have not started and while
    another thread is claiming; when the scan's time is up, no turn is given (nothing claimed)."""
    from mlguard.collect.aws.collector import _Backlog

    backlog = _Backlog()
    sink = InventorySink()
    order: list[str] = []
    with backlog.turn(sink) as ready:
        assert ready
        backlog.queued(2)
        second = threading.Thread(target=lambda: order.append(f"turn {next(iter([_take(backlog, sink)]))}"))
        second.start()
    second.join(0.2)
    assert second.is_alive()  # two types wait: no turn yet
    backlog.started()
    second.join(0.2)
    assert second.is_alive()  # one still waits
    order.append("started")
    backlog.started()
    second.join(5)
    assert order == ["started", "turn True"]
    sink.cancelled.set()
    backlog.queued(1)
    assert _take(backlog, sink) is False  # the time is up: no wait, no claim


def _take(backlog: object, sink: InventorySink) -> bool:
    with backlog.turn(sink) as ready:  # type: ignore[attr-defined]
        return bool(ready)


def test_with_claims_each_process_works_on_its_share_of_more_accounts_at_once() -> None:
    """--jobs N: each process reads about 1/N of every account, so it takes N times the accounts at
    once (the same work, and memory, in flight); placed shards and single processes: as before."""
    from mlguard.collect.aws.collector import _sharers

    assert _sharers(InventorySink()) == 1
    assert _sharers(InventorySink(shard=Shard(1, 3))) == 1  # --shard: its own units, placed
    assert _sharers(InventorySink(shard=Shard(1, 3, claims=_Recorded(set())))) == 3
