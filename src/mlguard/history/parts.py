"""Sharded runs and the results store. ``mlguard collect --shard K/N --record-part RUN`` keeps each
shard's partial inventory under one run name, ``mlguard history finalize RUN`` merges them (see
:mod:`mlguard.merge`) and records the result as one run. With a store, ``collect --shard`` also
balances the shards by the unit sizes of the latest recorded run (:func:`balanced`)."""

from __future__ import annotations

from collections import Counter

from mlguard.collect.shard import Shard, aws_unit, balance
from mlguard.history.store import Store, open_store
from mlguard.model import Inventory


def record_part(target: str, run: str, inventory: Inventory) -> str:
    """Keep ``inventory`` (a shard's part) under ``run``; returns the line to print. The store's
    lock is held only for the insert, so the shards of a run record one after another but collect
    at the same time."""
    shard = inventory.provenance.shard
    assert shard is not None  # collect checks --shard before collecting
    with open_store(target) as store, store.lock():
        store.add_part(run, inventory)
        return f"recorded shard {shard.index}/{shard.count} of run {run} in {store.display}"


def unit_weights(store: Store) -> tuple[str, dict[str, int]] | None:
    """The latest recorded run's id and the weight of each AWS unit it held (1 + its resources:
    an empty unit still costs its listing calls); None for a store without runs."""
    from mlguard.merge import account_scope_types

    runs = store.runs(limit=1)
    if not runs:
        return None
    run = runs[-1]
    global_types = set(account_scope_types()["aws"])
    counts: Counter[str] = Counter()
    for row in store.inventory_rows(run.id):
        if row.provider != "aws" or not row.account:
            continue
        region = None if row.region is None or row.type in global_types else row.region
        counts[aws_unit(row.account, region)] += 1
    return run.id, {unit: 1 + n for unit, n in counts.items()}


def balanced(shard: Shard, target: str) -> str | None:
    """Give ``shard`` the plan of the store's latest run (see :mod:`mlguard.collect.shard`);
    returns the line to print, None when the store holds no run yet (the hash places every unit)."""
    with open_store(target) as store:
        found = unit_weights(store)
    if found is None:
        return None
    run_id, weights = found
    shard.plan = balance(weights, shard.count)
    shard.balanced_by = run_id
    return f"shards balanced by the unit sizes of run {run_id} ({len(weights)} known units)"
