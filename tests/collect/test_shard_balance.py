"""Balancing shards by the previous run's unit sizes: the plan is deterministic, evens out the
shards' weight better than the hash does, places only the units it knows, and `mlguard merge`
refuses parts planned from different runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlguard.collect.shard import Shard, aws_unit, balance, shard_of
from mlguard.errors import InputError
from mlguard.merge import merge_inventories
from mlguard.model import Inventory, Provenance, Resource, ShardInfo

# a skewed organisation: two large accounts' regions and many small units
WEIGHTS = {
    **{aws_unit(f"{a:012d}", r): w for a, w in ((1, 400), (2, 350)) for r in ("us-east-1", "eu-west-1")},
    **{aws_unit(f"{a:012d}", None): 3 for a in range(3, 40)},
    **{aws_unit(f"{a:012d}", "us-east-1"): 1 + a % 7 for a in range(3, 40)},
}


def _loads(plan: dict[str, int], count: int) -> list[int]:
    loads = [0] * count
    for unit, k in plan.items():
        loads[k] += WEIGHTS[unit]
    return loads


@pytest.mark.parametrize("count", [2, 3, 4, 8])
def test_the_plan_is_deterministic_complete_and_evens_out_the_weight(count: int) -> None:
    plan = balance(WEIGHTS, count)
    assert plan == balance(dict(reversed(list(WEIGHTS.items()))), count)  # order of the input: no matter
    assert set(plan) == set(WEIGHTS)
    assert set(plan.values()) <= set(range(count))
    loads = _loads(plan, count)
    # largest-first onto the least loaded: no shard exceeds the mean by more than the largest unit
    assert max(loads) <= sum(WEIGHTS.values()) / count + max(WEIGHTS.values())
    hashed = _loads({u: shard_of(u, count) for u in WEIGHTS}, count)
    assert max(loads) <= max(hashed)


def test_the_hash_is_uneven_where_the_plan_is_not() -> None:
    plan = _loads(balance(WEIGHTS, 4), 4)
    hashed = _loads({u: shard_of(u, 4) for u in WEIGHTS}, 4)
    assert max(plan) - min(plan) < max(hashed) - min(hashed)


def test_a_shard_follows_the_plan_and_hashes_the_units_it_does_not_know() -> None:
    plan = balance(WEIGHTS, 3)
    shards = [Shard(k, 3, plan=plan, balanced_by="20261205-000000-abcdef") for k in range(3)]
    new = aws_unit("999999999999", "ap-south-1")  # not in the previous run
    for unit in [*WEIGHTS, new]:
        owners = [s.index for s in shards if s.owns(unit)]
        assert owners == [plan.get(unit, shard_of(unit, 3))]
    info = shards[0].info()
    assert info.balanced_by == "20261205-000000-abcdef"
    assert set(info.all_units) == {*WEIGHTS, new}


def _part(index: int, count: int, balanced_by: str | None) -> tuple[str, Inventory]:
    shard = Shard(index, count, balanced_by=balanced_by)
    unit = aws_unit("000000000001", "us-east-1")
    shard.owns(unit)
    resources = [
        Resource(
            uid=f"arn:aws:kms:us-east-1:000000000001:key/{index}",
            type="aws.kms.key",
            provider="aws",
            id=str(index),
            account="000000000001",
            region="us-east-1",
        )
    ]
    prov = Provenance(version="t", started_at="2026-01-01T00:00:00Z", shard=shard.info())
    return f"part-{index}", Inventory(provenance=prov, resources=resources)


def test_merge_refuses_parts_planned_from_different_runs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"different plans \(run r1, run r2\)"):
        merge_inventories([_part(0, 2, "r1"), _part(1, 2, "r2")])
    with pytest.raises(InputError, match=r"different plans \(the hash, run r1\)"):
        merge_inventories([_part(0, 2, None), _part(1, 2, "r1")])
    merged = merge_inventories([_part(0, 2, "r1"), _part(1, 2, "r1")])
    assert not merged.incomplete


def _planned(index: int, count: int, read: list[str], seen: list[str]) -> tuple[str, Inventory]:
    info = ShardInfo(index=index, count=count, units=read, all_units=seen, balanced_by="r1")
    return f"part-{index}", Inventory(
        provenance=Provenance(version="t", started_at="2026-01-01T00:00:00Z", shard=info)
    )


def test_a_missing_shard_of_a_balanced_run_is_named_when_it_is_the_only_one() -> None:
    """The plan is not in the parts, so the merge cannot say which missing shard held a unit; it
    can when only one shard is missing."""
    a, b = aws_unit("000000000001", "us-east-1"), aws_unit("000000000002", "eu-west-1")
    merged = merge_inventories([_planned(0, 3, [a], [a, b]), _planned(1, 3, [], [a, b])])
    (error,) = [e for e in merged.inventory.errors if e.code == "ShardMissing"]
    assert error.message == f"shard 2/3 is missing from the merge: unit {b} was not read"
    merged = merge_inventories([_planned(0, 3, [a], [a, b])])
    (error,) = [e for e in merged.inventory.errors if e.code == "ShardMissing"]
    assert error.message == f"a shard of 3 is missing from the merge: unit {b} was not read"
    assert merged.missing == ["1/3", "2/3"]
