"""A resource read twice (two lists, two regions, two units, two processes) is kept once, and the
same copy whatever order the reads came in: the one read where its ARN says it lives. A single
process's sink and the merge of shards (or of `--jobs` processes) keep the same one."""

from __future__ import annotations

import itertools

import pytest

from mlguard.collect.base import InventorySink, kept_of
from mlguard.collect.shard import aws_unit
from mlguard.merge import merge_inventories
from mlguard.model import Inventory, Provenance, Resource, ShardInfo

ARN = "arn:aws:elasticmapreduce:us-east-1:111111111111:cluster/j-1"


def copy(region: str, state: str) -> Resource:
    return Resource(
        uid=ARN,
        type="aws.emr.cluster",
        provider="aws",
        id="j-1",
        account="111111111111",
        region=region,
        data={"state": state},
    )


HOME, AWAY = copy("us-east-1", "home"), copy("eu-west-1", "away")


@pytest.mark.parametrize("order", list(itertools.permutations([HOME, AWAY])))
def test_the_sink_keeps_the_copy_read_in_its_region_whatever_came_first(
    order: tuple[Resource, ...],
) -> None:
    sink = InventorySink()
    for r in order:
        sink.add(r)
    assert [r.data["state"] for r in sink.resources] == ["home"]


def test_ties_keep_the_first_and_non_arns_go_by_region() -> None:
    assert kept_of(HOME, copy("us-east-1", "later")) is HOME
    a = Resource(uid="databricks://h/x/1", type="t", provider="databricks", id="1", workspace="b")
    b = Resource(uid="databricks://h/x/1", type="t", provider="databricks", id="1", workspace="a")
    assert kept_of(a, b) is b
    assert kept_of(b, a) is b


def _part(index: int, unit: str, resource: Resource) -> tuple[str, Inventory]:
    info = ShardInfo(index=index, count=2, units=[unit], all_units=[unit])
    prov = Provenance(version="t", started_at="2026-01-01T00:00:00Z", shard=info)
    return f"part-{index}", Inventory(provenance=prov, resources=[resource])


@pytest.mark.parametrize(("first", "second"), [(HOME, AWAY), (AWAY, HOME)])
def test_the_merge_keeps_the_copy_one_process_keeps(first: Resource, second: Resource) -> None:
    """Before, two parts holding one resource were bad input (exit 2): a sharded or `--jobs` scan
    of an API that lists another region's resource stopped where one process went on."""
    parts = [
        _part(0, aws_unit("111111111111", first.region), first),
        _part(1, aws_unit("111111111111", second.region), second),
    ]
    for labelled in (parts, parts[::-1]):
        merged = merge_inventories(labelled)
        assert [r.data["state"] for r in merged.inventory.resources] == ["home"]
        assert not merged.incomplete
