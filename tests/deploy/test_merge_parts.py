"""`mlguard merge` over hand-made parts, in-process and fast: what a missing shard leaves in the
merged inventory, whether or not the other parts placed units on it.

The container test (test_kubernetes.py) removes a shard's part from a moto organisation whose
member account ids are random, so the shard it removes may have owned no unit: the merge must
still say, in its results and not only in its exit code, that the run is incomplete."""

from __future__ import annotations

import pytest

from mlguard.collect.shard import shard_of
from mlguard.errors import InputError
from mlguard.merge import merge_inventories
from mlguard.model import Inventory, Provenance, ShardInfo, incomplete_note

N = 4
UNITS = [f"aws/{a}/{r}" for a in ("111111111111", "222222222222") for r in ("us-east-1", "global")]


def part(index: int, units: list[str] = UNITS, count: int = N) -> tuple[str, Inventory]:
    mine = [u for u in units if shard_of(u, count) == index]
    info = ShardInfo(index=index, count=count, units=mine, all_units=sorted(units))
    prov = Provenance(version="test", started_at="2026-12-06T00:00:00Z", shard=info)
    return f"part-{index}", Inventory(provenance=prov)


def owners() -> dict[int, list[str]]:
    placed: dict[int, list[str]] = {k: [] for k in range(N)}
    for u in UNITS:
        placed[shard_of(u, N)].append(u)
    return placed


def test_a_missing_shard_that_owned_units_leaves_exactly_them_unread() -> None:
    placed = owners()
    gone = next(k for k, units in placed.items() if units)
    merged = merge_inventories([part(k) for k in range(N) if k != gone])
    assert merged.missing == [f"{gone}/{N}"]
    assert merged.incomplete
    unread = {e.message.split("unit ")[1].split(" ")[0] for e in merged.inventory.errors}
    assert unread == set(placed[gone])
    assert {e.code for e in merged.inventory.errors} == {"ShardMissing"}


def test_a_missing_shard_that_owned_no_unit_still_makes_the_results_incomplete() -> None:
    """Exit 3 (incomplete) must not come with reports that look whole: the merged inventory names
    the missing shard, and touches no resource's scope (nothing it owned was seen)."""
    placed = owners()
    gone = next(k for k, units in placed.items() if not units)
    merged = merge_inventories([part(k) for k in range(N) if k != gone])
    assert merged.incomplete
    (error,) = merged.inventory.errors
    assert (error.code, error.operation, error.provider) == ("ShardMissing", "shard", "mlguard")
    assert f"shard {gone}/{N} is missing" in error.message
    assert error.account is None
    assert error.resource_type is None
    note = incomplete_note(merged.inventory.errors)
    assert note is not None
    assert note.startswith("incomplete")


def test_a_unit_read_by_two_parts_is_refused() -> None:
    label, inv = part(0)
    assert inv.provenance.shard is not None
    other = inv.provenance.shard.units[0] if inv.provenance.shard.units else UNITS[0]
    shard1 = ShardInfo(index=1, count=N, units=[other], all_units=sorted(UNITS))
    twice = Inventory(provenance=Provenance(version="test", started_at="2026-12-06T00:00:00Z", shard=shard1))
    zero = ShardInfo(index=0, count=N, units=[other], all_units=sorted(UNITS))
    first = Inventory(provenance=Provenance(version="test", started_at="2026-12-06T00:00:00Z", shard=zero))
    with pytest.raises(InputError, match="read by two parts"):
        merge_inventories([(label, first), ("part-1", twice)])
