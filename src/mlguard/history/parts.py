"""Shard parts in the results store: ``mlguard collect --shard K/N --record-part RUN`` keeps each
shard's partial inventory under one run name, ``mlguard history finalize RUN`` merges them (see
:mod:`mlguard.merge`) and records the result as one run."""

from __future__ import annotations

from mlguard.history.store import open_store
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
