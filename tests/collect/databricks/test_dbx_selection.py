"""Only the APIs the requested resource types need are called (checked on the fake's request log)."""

from __future__ import annotations

import pytest
from tests.support.databricks_harness import RecordingClock, collect_inventory

from mlguard.demo.databricks_fake.seeds import demo_state

ALWAYS = {"/.well-known/databricks-config", "/api/2.0/preview/scim/v2/Me"}
_DEMO = demo_state()


def _acls(kind: str, items: list[dict[str, object]], key: str) -> set[str]:
    """The object-permission reads of every seeded object of one kind."""
    return {f"/api/2.0/permissions/{kind}/{item[key]}" for item in items}


@pytest.mark.parametrize(
    ("types", "paths"),
    [
        (
            {"databricks.cluster"},
            {
                "/api/2.1/clusters/list",
                "/api/2.1/clusters/list-node-types",
                "/api/2.1/clusters/spark-versions",
            }
            | _acls("clusters", _DEMO.clusters, "cluster_id"),
        ),
        (
            {"databricks.sql_warehouse"},
            {"/api/2.0/sql/warehouses"} | _acls("warehouses", _DEMO.warehouses, "id"),
        ),
        ({"databricks.token"}, {"/api/2.0/token-management/tokens"}),
        (
            {"databricks.uc.catalog"},
            {
                "/api/2.1/unity-catalog/catalogs",
                "/api/2.1/unity-catalog/permissions/catalog/main",
                "/api/2.1/unity-catalog/permissions/catalog/ml",
                "/api/2.1/unity-catalog/permissions/catalog/raw",
            }
            | {f"/api/2.1/unity-catalog/effective-permissions/catalog/{c['name']}" for c in _DEMO.catalogs},
        ),
        (
            {"databricks.mlflow_experiment"},
            {"/api/2.0/mlflow/experiments/search"} | _acls("experiments", _DEMO.experiments, "experiment_id"),
        ),
    ],
    ids=["cluster", "warehouse", "token", "uc-catalog", "experiment"],
)
def test_only_needed_routes(start_fake, types: set[str], paths: set[str]) -> None:
    fake = start_fake()
    collect_inventory(frozenset(types), clock=RecordingClock())
    assert set(fake.fake.paths_seen()) == ALWAYS | paths


def test_tables_are_not_listed_for_schemas_only(start_fake) -> None:
    fake = start_fake()
    collect_inventory(frozenset({"databricks.uc.schema"}), clock=RecordingClock())
    seen = fake.fake.paths_seen()
    assert "/api/2.1/unity-catalog/schemas" in seen
    assert not [p for p in seen if p.endswith("/tables") or p.endswith("/monitor")]


def test_no_databricks_type_means_no_request(start_fake) -> None:
    fake = start_fake()
    inventory = collect_inventory(frozenset({"aws.s3.bucket"}), clock=RecordingClock())
    assert fake.fake.requests == []
    assert inventory.resources == []
    assert inventory.coverage == []
