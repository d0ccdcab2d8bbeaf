"""Helpers for tests and benchmarks that run the real Databricks collector against the fake
(:mod:`mlguard.demo.databricks_fake`)."""

from __future__ import annotations

import time
from typing import Any

from databricks.sdk.clock import Clock

from mlguard.collect.base import InventorySink, NullProgress
from mlguard.config import ScopeConfig
from mlguard.demo.databricks_fake.state import WorkspaceState
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


def expected_counts(s: WorkspaceState) -> dict[str, int]:
    """What the collector must find, computed from the seed alone."""
    table_names = {t["full_name"] for t in s.tables if t["schema_name"] != "information_schema"}
    counts = {
        "databricks.workspace": 1,
        "databricks.cluster": len(s.clusters),
        "databricks.cluster_policy": len(s.cluster_policies),
        "databricks.instance_pool": len(s.instance_pools),
        "databricks.sql_warehouse": len(s.warehouses),
        "databricks.job": len(s.jobs),
        "databricks.pipeline": len(s.pipelines),
        "databricks.serving_endpoint": len(s.serving_endpoints),
        "databricks.token": len(s.tokens),
        "databricks.ip_access_list": len(s.ip_access_lists),
        "databricks.secret_scope": len(s.secret_scopes),
        "databricks.service_principal": len(s.service_principals),
        "databricks.mlflow_experiment": len(s.experiments),
        "databricks.registered_model": len(s.registered_models),
        "databricks.uc.metastore": 1 if s.metastore else 0,
        "databricks.uc.catalog": len(s.catalogs),
        "databricks.uc.schema": len(s.schemas),
        "databricks.uc.table": len(table_names),
        "databricks.uc.quality_monitor": len(set(s.monitors) & table_names),
        "databricks.uc.external_location": len(s.external_locations),
        "databricks.uc.storage_credential": len(s.storage_credentials),
        "databricks.uc.registered_model": len(s.uc_models),
        "databricks.uc.recipient": len(s.recipients),
        "databricks.instance_profile": len(s.instance_profiles),
    }
    return {k: v for k, v in counts.items() if v}
