"""Helpers for tests that run the real Databricks collector against the fake."""

from __future__ import annotations

import time
from typing import Any

from databricks.sdk.clock import Clock

from mlguard.collect.base import InventorySink, NullProgress
from mlguard.config import ScopeConfig
from mlguard.model import Inventory


class RecordingClock(Clock):
    """The SDK's retry clock: records every back-off it asks for, without really sleeping."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def collect_inventory(
    types: frozenset[str], *, clock: Clock | None = None, scope: ScopeConfig | None = None, **kwargs: Any
) -> Inventory:
    """Run the Databricks collector (configured from DATABRICKS_* / the scope) into an inventory."""
    from mlguard.collect.databricks import DatabricksCollector

    sink = InventorySink()
    DatabricksCollector(scope or ScopeConfig(), clock=clock, **kwargs).collect(types, sink, NullProgress())
    return sink.to_inventory(started_at="2026-01-01T00:00:00Z")


def counts_by_type(inventory: Inventory) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in inventory.resources:
        counts[r.type] = counts.get(r.type, 0) + 1
    return counts
