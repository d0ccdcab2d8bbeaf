"""The partition of a scan's units over shards (``--shard K/N``), and reading K/N."""

from __future__ import annotations

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


@pytest.mark.usefixtures("aws")
def test_with_claims_a_unit_is_claimed_as_its_work_starts_and_only_claimed_units_are_read() -> None:
    """``--jobs``: every unit stays on the work list; each is claimed by a collector thread as its
    first type is about to be read (not when the account is listed), and is read only if granted."""
    import boto3

    for region in ("us-east-1", "eu-west-1"):
        boto3.client("kms", region_name=region).create_key()
    boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    types = frozenset({"aws.kms.key", "aws.iam.role"})
    scope = ScopeConfig(aws=AwsScope(regions=["us-east-1", "eu-west-1"]))
    east, west, glob = (aws_unit(ACCOUNT, r) for r in ("us-east-1", "eu-west-1", None))
    claims = _Recorded({east, glob})
    sink = InventorySink(shard=Shard(0, 2, claims=claims))
    AwsCollector(scope).collect(types, sink, NullProgress())
    read = {(r.type, r.region) for r in sink.resources}
    assert read == {("aws.kms.key", "us-east-1"), ("aws.iam.role", None)}
    assert {key for key, _ in claims.asked} == {east, west, glob}
    assert all(thread.startswith("mlguard-aws_") for _, thread in claims.asked), claims.asked
    info = sink.to_inventory("t").provenance.shard
    assert info is not None
    assert info.units == sorted([east, glob])
    assert info.all_units == sorted([east, west, glob])


@pytest.mark.usefixtures("aws")
def test_a_unit_with_nothing_to_read_is_claimed_at_once() -> None:
    types = frozenset({"aws.iam.role"})  # global only: the regional units have no work
    scope = ScopeConfig(aws=AwsScope(regions=["us-east-1"]))
    east, glob = aws_unit(ACCOUNT, "us-east-1"), aws_unit(ACCOUNT, None)
    claims = _Recorded({east, glob})
    sink = InventorySink(shard=Shard(0, 2, claims=claims))
    AwsCollector(scope).collect(types, sink, NullProgress())
    asked = dict(claims.asked)
    assert not asked[east].startswith("mlguard-aws_")  # no type to read there: claimed with the account
    assert asked[glob].startswith("mlguard-aws_")
    info = sink.to_inventory("t").provenance.shard
    assert info is not None
    assert info.units == sorted([east, glob])


def test_with_claims_each_process_works_on_its_share_of_more_accounts_at_once() -> None:
    """--jobs N: each process reads about 1/N of every account, so it takes N times the accounts at
    once (the same work, and memory, in flight); placed shards and single processes: as before."""
    from mlguard.collect.aws.collector import _sharers

    assert _sharers(InventorySink()) == 1
    assert _sharers(InventorySink(shard=Shard(1, 3))) == 1  # --shard: its own units, placed
    assert _sharers(InventorySink(shard=Shard(1, 3, claims=_Recorded(set())))) == 3
