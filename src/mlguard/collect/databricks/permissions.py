"""What the Databricks scan needs, per resource type: the SDK calls (and REST routes) it makes,
the minimal entitlement, and what is lost without admin. ``mlguard permissions databricks``
prints this and the read-only guard allows exactly these routes; a meta-test checks every
collectable type is described.

Every type is described as a spec (``spec.py``) and gets its row from the spec: its level, list
route, preludes and detail routes with their SDK calls, its entitlement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mlguard.collect.databricks import (
    account,
    compute,
    identity,
    instance_profiles,
    jobs,
    mlflow,
    serving,
    unity_catalog,
    workspace,
)
from mlguard.collect.databricks.spec import FamilySpec


@dataclass(frozen=True)
class TypePermission:
    resource_type: str
    level: Literal["workspace", "account"]
    # The databricks-sdk method behind each route. Lists and gets whose items carry enums are sent
    # through the SDK's ApiClient.do and read as raw JSON (typed classes drop enum values they do
    # not know); workspace_conf, SCIM, MLflow and metastores.current use the typed methods.
    sdk_calls: tuple[str, ...]
    routes: tuple[str, ...]
    requires: str
    without_admin: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "resource_type": self.resource_type,
            "level": self.level,
            "sdk_calls": list(self.sdk_calls),
            "routes": list(self.routes),
            "requires": self.requires,
            "without_admin": self.without_admin,
        }


def from_specs(family: FamilySpec) -> tuple[TypePermission, ...]:
    """The rows of a family described as specs."""
    return tuple(
        TypePermission(
            resource_type=s.type,
            level=s.level,
            sdk_calls=s.sdk_calls(),
            routes=s.routes(),
            requires=s.requires,
            without_admin=s.without_admin,
        )
        for s in family.specs
    )


PERMISSIONS: tuple[TypePermission, ...] = (
    *from_specs(workspace.FAMILY),
    *from_specs(compute.FAMILY),
    *from_specs(jobs.FAMILY),
    *from_specs(serving.FAMILY),
    *from_specs(identity.FAMILY),
    *from_specs(mlflow.FAMILY),
    *from_specs(unity_catalog.METASTORE_FAMILY),
    *from_specs(unity_catalog.TREE),
    *from_specs(unity_catalog.FAMILY),
    *from_specs(account.FAMILY),
    *from_specs(instance_profiles.FAMILY),
)

# The families described as specs: every family.
SPEC_FAMILIES: tuple[FamilySpec, ...] = (
    workspace.FAMILY,
    compute.FAMILY,
    jobs.FAMILY,
    serving.FAMILY,
    identity.FAMILY,
    mlflow.FAMILY,
    unity_catalog.METASTORE_FAMILY,
    unity_catalog.TREE,
    unity_catalog.FAMILY,
    account.FAMILY,
    instance_profiles.FAMILY,
)

ME_ROUTE = "GET /api/2.0/preview/scim/v2/Me"

COMMON = (
    f"Every workspace scan first calls current_user.me ({ME_ROUTE}) to record the caller. "
    "Only the routes listed here leave the process (the read-only POST "
    "/api/2.0/mlflow/experiments/search included): the SDK's HTTP transport refuses any other "
    "method, path or host before it is sent."
)


def declared_routes() -> tuple[str, ...]:
    """Every ``METHOD /path/{placeholder}`` a Databricks scan may send: the routes declared per
    resource type above, plus the caller lookup. The read-only guard allows these and nothing else."""
    return tuple(sorted({ME_ROUTE, *(r for p in PERMISSIONS for r in p.routes)}))


def permissions(types: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Rows for ``mlguard permissions databricks`` (optionally limited to some types)."""
    return [p.as_dict() for p in PERMISSIONS if types is None or p.resource_type in types]
