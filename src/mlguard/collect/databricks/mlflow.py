"""MLflow in the workspace: experiments (the read-only search POST) and the legacy workspace
model registry."""

from __future__ import annotations

from typing import Any

from mlguard.collect.databricks import object_acls
from mlguard.collect.databricks._common import WorkspaceContext, as_dict, ms_to_iso

EXPERIMENT = "databricks.mlflow_experiment"
LEGACY_MODEL = "databricks.registered_model"
TYPES = (EXPERIMENT, LEGACY_MODEL)


def collect(ctx: WorkspaceContext) -> None:
    if ctx.wants(EXPERIMENT):
        _experiments(ctx)
    if ctx.wants(LEGACY_MODEL):
        _models(ctx)


def _experiments(ctx: WorkspaceContext) -> None:
    with ctx.section(EXPERIMENT) as counts:
        rows: list[tuple[str, str | None, dict[str, Any], dict[str, Any] | None]] = []
        for exp in ctx.client.experiments.search_experiments(max_results=1000):
            e = as_dict(exp)
            tags = {t.get("key"): t.get("value") for t in e.get("tags") or []}
            location = str(e.get("artifact_location") or "")
            data = {
                "experiment_name": e.get("name"),
                "lifecycle_stage": e.get("lifecycle_stage"),
                "artifact_location": location or None,
                "artifacts_on_dbfs_root": location.startswith("dbfs:/databricks/mlflow-tracking"),
                "created_at": ms_to_iso(e.get("creation_time")),
                "last_update_at": ms_to_iso(e.get("last_update_time")),
                "owner": tags.get("mlflow.ownerEmail"),
                "experiment_tags": {k: v for k, v in tags.items() if not str(k).startswith("mlflow.note")},
            }
            rows.append((str(e.get("experiment_id")), e.get("name"), data, None))
        counts[0] += object_acls.add_all(ctx, EXPERIMENT, "experiments", rows)


def _models(ctx: WorkspaceContext) -> None:
    with ctx.section(LEGACY_MODEL) as counts:
        for model in ctx.client.model_registry.list_models(max_results=1000):
            m = as_dict(model)
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
            data = {
                "model_name": m.get("name"),
                "user_id": m.get("user_id"),
                "created_at": ms_to_iso(m.get("creation_timestamp")),
                "last_updated_at": ms_to_iso(m.get("last_updated_timestamp")),
                "latest_versions": versions,
                "stages": sorted({str(v["current_stage"]) for v in versions if v["current_stage"]}),
                "has_production_version": any(v["current_stage"] == "Production" for v in versions),
                "model_tags": {t.get("key"): t.get("value") for t in m.get("tags") or []},
            }
            ctx.add(LEGACY_MODEL, str(m.get("name")), m.get("name"), data)
            counts[0] += 1
