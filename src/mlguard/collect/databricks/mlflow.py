"""MLflow in the workspace: experiments (the read-only search POST) and the legacy workspace
model registry."""

from __future__ import annotations

from typing import Any

from mlguard.collect.databricks import object_acls
from mlguard.collect.databricks._common import WorkspaceContext, ms_to_iso
from mlguard.collect.databricks.engine import run_family
from mlguard.collect.databricks.spec import FamilySpec, Item, ResourceSpec

EXPERIMENT = "databricks.mlflow_experiment"
LEGACY_MODEL = "databricks.registered_model"
TYPES = (EXPERIMENT, LEGACY_MODEL)


def _experiment(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    e = item.raw
    tags = {t.get("key"): t.get("value") for t in e.get("tags") or []}
    location = str(e.get("artifact_location") or "")
    item.data = {
        "experiment_name": e.get("name"),
        "lifecycle_stage": e.get("lifecycle_stage"),
        "artifact_location": location or None,
        "artifacts_on_dbfs_root": location.startswith("dbfs:/databricks/mlflow-tracking"),
        "created_at": ms_to_iso(e.get("creation_time")),
        "last_update_at": ms_to_iso(e.get("last_update_time")),
        "owner": tags.get("mlflow.ownerEmail"),
        "experiment_tags": {k: v for k, v in tags.items() if not str(k).startswith("mlflow.note")},
    }


def _model(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    m = item.raw
    versions = [
        {
            "version": v.get("version"),
            "current_stage": v.get("current_stage"),
            "run_id": v.get("run_id"),
            "status": v.get("status"),
            "source": v.get("source"),
        }
        for v in m.get("latest_versions") or []
    ]
    item.data = {
        "model_name": m.get("name"),
        "user_id": m.get("user_id"),
        "created_at": ms_to_iso(m.get("creation_timestamp")),
        "last_updated_at": ms_to_iso(m.get("last_updated_timestamp")),
        "latest_versions": versions,
        "stages": sorted({str(v["current_stage"]) for v in versions if v["current_stage"]}),
        "has_production_version": any(v["current_stage"] == "Production" for v in versions),
        "model_tags": {t.get("key"): t.get("value") for t in m.get("tags") or []},
    }


FAMILY = FamilySpec(
    name="mlflow",
    specs=(
        ResourceSpec(
            type=EXPERIMENT,
            family="mlflow",
            list_route="POST /api/2.0/mlflow/experiments/search",
            list_sdk_call="experiments.search_experiments (read-only POST)",
            items="experiments",
            paging="sdk",
            sdk_list=lambda client: client.experiments.search_experiments(max_results=1000),
            id=lambda e: str(e.get("experiment_id")),
            name=lambda e: e.get("name"),
            normalize=_experiment,
            after=(object_acls.acl_detail("experiments"),),
            requires="workspace-access; CAN_MANAGE to read an experiment's permissions",
            without_admin="non-admins only see experiments with CAN_READ or higher; unreadable permissions "
            "are an attribute error (acl...)",
        ),
        ResourceSpec(
            type=LEGACY_MODEL,
            family="mlflow",
            list_route="GET /api/2.0/mlflow/registered-models/list",
            list_sdk_call="model_registry.list_models",
            items="registered_models",
            paging="sdk",
            sdk_list=lambda client: client.model_registry.list_models(max_results=1000),
            id=lambda m: str(m.get("name")),
            name=lambda m: m.get("name"),
            normalize=_model,
            requires="workspace-access",
            without_admin="non-admins only see models with CAN_READ or higher",
        ),
    ),
)


def collect(ctx: WorkspaceContext) -> None:
    run_family(ctx, FAMILY)
