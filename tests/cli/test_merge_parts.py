"""mlguard merge on hand-made parts: parts of different N, a file that is no shard's part."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlguard.collect.shard import aws_unit, shard_of
from mlguard.errors import InventoryError
from mlguard.merge import merge_parts
from mlguard.model import CollectionError, Inventory, Provenance, Resource, ShardInfo

UNITS = [aws_unit(f"{a:012d}", r) for a in range(1, 6) for r in ("us-east-1", "eu-west-1", None)]


def part(tmp: Path, index: int, count: int, error: CollectionError | None = None) -> Path:
    mine = [u for u in UNITS if shard_of(u, count) == index]
    resources = [
        Resource(
            uid=f"{u}/{count}",
            type="aws.iam.role" if u.endswith("global") else "aws.kms.key",
            provider="aws",
            id=u,
            account=u.split("/")[1],
            region=None if u.endswith("global") else u.split("/")[2],
        )
        for u in mine
    ]
    inv = Inventory(
        provenance=Provenance(
            version="t",
            started_at=f"2026-01-0{index + 1}T00:00:00Z",
            shard=ShardInfo(index=index, count=count, units=mine, all_units=UNITS),
        ),
        resources=resources,
        errors=[error] if error else [],
    )
    path = tmp / f"p{index}of{count}.json"
    path.write_text(inv.model_dump_json())
    return path


def test_complete_parts_merge_without_errors_and_repeated_errors_once(tmp_path: Path) -> None:
    denied = CollectionError(provider="aws", operation="organizations:ListAccounts", code="X", message="m")
    merged = merge_parts([part(tmp_path, i, 3, denied) for i in range(3)])
    assert not merged.incomplete
    assert merged.inventory.errors == [denied]  # every shard repeats a setup error: kept once
    assert len(merged.inventory.resources) == len(UNITS)
    assert merged.inventory.provenance.started_at == "2026-01-01T00:00:00Z"
    assert [s.index for s in merged.inventory.provenance.shards] == [0, 1, 2]


def test_parts_that_disagree_on_n_leave_the_unread_units_in_error(tmp_path: Path) -> None:
    merged = merge_parts([part(tmp_path, 0, 2), part(tmp_path, 0, 3)])
    assert merged.incomplete
    assert merged.disagree == [2, 3]
    assert merged.missing == ["1/2", "1/3", "2/3"]
    read = {u for u in UNITS if shard_of(u, 2) == 0 or shard_of(u, 3) == 0}
    unread = {u for u in UNITS if u not in read}
    assert unread  # the case tests something
    regional = {(e.account, e.region) for e in merged.inventory.errors if e.region}
    assert regional == {(u.split("/")[1], u.split("/")[2]) for u in unread if not u.endswith("global")}
    assert all(e.code == "ShardMissing" for e in merged.inventory.errors)


def test_a_file_that_is_no_shards_part_is_bad_input(tmp_path: Path) -> None:
    plain = tmp_path / "inventory.json"
    plain.write_text(Inventory(provenance=Provenance(version="t", started_at="x")).model_dump_json())
    with pytest.raises(InventoryError, match="not a shard's partial inventory") as err:
        merge_parts([plain])
    assert err.value.exit_code == 2
