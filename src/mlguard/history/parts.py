"""Sharded runs and the results store. ``mlguard collect --shard K/N --record-part RUN`` keeps each
shard's partial inventory under one run name, ``mlguard history finalize RUN`` merges them (see
:mod:`mlguard.merge`) and records the result as one run. With a store, ``collect --shard`` also
balances the shards (AWS, Databricks and IaC units) by the unit sizes of the latest recorded run
(:func:`balanced`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mlguard.collect.shard import (
    Shard,
    aws_unit,
    balance,
    databricks_account_unit,
    databricks_workspace_unit,
)
from mlguard.history.store import Store, open_store
from mlguard.model import Inventory, Provider


def record_part(target: str, run: str, inventory: Inventory) -> str:
    """Keep ``inventory`` (a shard's part) under ``run``; returns the line to print. The store's
    lock is held only for the insert, so the shards of a run record one after another but collect
    at the same time."""
    shard = inventory.provenance.shard
    assert shard is not None  # collect checks --shard before collecting
    with open_store(target) as store, store.lock():
        store.add_part(run, inventory)
        return f"recorded shard {shard.index}/{shard.count} of run {run} in {store.display}"


def unit_weights(store: Store, iac_path: str | Path | None = None) -> tuple[str, dict[str, int]] | None:
    """The latest recorded run's id and the weight of each unit it held (1 + its size; an empty
    unit still costs its listing calls): an AWS (account, region) or account's global types, its
    resources; a Databricks workspace or account, its resources; with ``iac_path`` (this run's
    ``--iac``), each IaC unit under it, the run's IaC results in the files it reads
    (:func:`mlguard.iac.scan.unit_weights`). None for a store without runs."""
    from mlguard.merge import account_scope_types

    runs = store.runs(limit=1)
    if not runs:
        return None
    run = runs[-1]
    global_types = set(account_scope_types()["aws"])
    counts: Counter[str] = Counter()
    for row in store.inventory_rows(run.id):
        if row.provider == "aws" and row.account:
            region = None if row.region is None or row.type in global_types else row.region
            counts[aws_unit(row.account, region)] += 1
        elif row.provider == "databricks" and row.workspace:
            counts[databricks_workspace_unit(row.workspace)] += 1
        elif row.provider == "databricks" and row.account:
            counts[databricks_account_unit(row.account)] += 1
    weights = {unit: 1 + n for unit, n in counts.items()}
    if iac_path is not None:
        from mlguard.iac.scan import unit_weights as iac_weights

        weights.update(iac_weights(iac_path, store.result_counts(run.id, Provider.IAC.value)))
    return run.id, weights


def balanced(shard: Shard, target: str, iac_path: str | Path | None = None) -> str | None:
    """Give ``shard`` the plan of the store's latest run (see :mod:`mlguard.collect.shard`);
    returns the line to print, None when the store holds no run yet (the hash places every unit).
    ``iac_path``: the run's ``--iac PATH``, whose units are weighed too."""
    with open_store(target) as store:
        found = unit_weights(store, iac_path)
    if found is None:
        return None
    run_id, weights = found
    shard.plan = balance(weights, shard.count)
    shard.balanced_by = run_id
    return f"shards balanced by the unit sizes of run {run_id} ({len(weights)} known units)"
