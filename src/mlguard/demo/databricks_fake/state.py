"""The in-memory state of a fake Databricks workspace (and its account).

Every collection holds objects shaped exactly as the public REST API returns them (the field
names of ``databricks.sdk.service.*``), so the server only has to page and route them. A state
can be loaded from a plain dict or JSON file, so a test can seed a workspace of its own.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

JSON = dict[str, Any]


class WorkspaceState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workspace_id: int = 1234567890123456
    current_user: JSON = Field(
        default_factory=lambda: {"id": "1001", "userName": "scanner@example.com", "active": True}
    )
    # GET /api/2.0/workspace-conf?keys=... : key -> string value
    workspace_conf: dict[str, str] = Field(default_factory=dict)
    # GET /api/2.0/settings/types/<name>/names/default : name -> setting body
    settings: dict[str, JSON] = Field(default_factory=dict)

    node_types: list[JSON] = Field(default_factory=list)
    spark_versions: list[JSON] = Field(default_factory=list)
    clusters: list[JSON] = Field(default_factory=list)
    cluster_policies: list[JSON] = Field(default_factory=list)
    instance_pools: list[JSON] = Field(default_factory=list)
    warehouses: list[JSON] = Field(default_factory=list)

    jobs: list[JSON] = Field(default_factory=list)
    # GET /api/2.0/pipelines/{id} bodies; the list route is derived from them
    pipelines: list[JSON] = Field(default_factory=list)

    # GET /api/2.0/serving-endpoints/{name} bodies; the list route is derived from them
    serving_endpoints: list[JSON] = Field(default_factory=list)
    # endpoint id -> GET /api/2.0/permissions/serving-endpoints/{id} body
    serving_permissions: dict[str, JSON] = Field(default_factory=dict)

    # "<object_type>/<id>" (jobs/12, clusters/0101-..., warehouses/..., pipelines/..., experiments/...,
    # authorization/tokens) -> GET /api/2.0/permissions/<object_type>/<id> body. An object with no
    # entry gets the ACL Databricks gives a new one: its creator, and the admins group inherited.
    object_permissions: dict[str, JSON] = Field(default_factory=dict)
    # "<securable_type>/<full_name>" -> GET /api/2.1/unity-catalog/effective-permissions/... items
    # (principal, privileges: [{privilege, inherited_from_type, inherited_from_name}]). A securable
    # with no entry gets its direct grants and those of its parents, marked inherited.
    effective_grants: dict[str, list[JSON]] = Field(default_factory=dict)

    tokens: list[JSON] = Field(default_factory=list)
    ip_access_lists: list[JSON] = Field(default_factory=list)
    secret_scopes: list[JSON] = Field(default_factory=list)
    secret_acls: dict[str, list[JSON]] = Field(default_factory=dict)
    service_principals: list[JSON] = Field(default_factory=list)
    groups: list[JSON] = Field(default_factory=list)

    experiments: list[JSON] = Field(default_factory=list)
    registered_models: list[JSON] = Field(default_factory=list)

    metastore: JSON | None = None
    system_schemas: list[JSON] = Field(default_factory=list)
    catalogs: list[JSON] = Field(default_factory=list)
    schemas: list[JSON] = Field(default_factory=list)
    tables: list[JSON] = Field(default_factory=list)
    external_locations: list[JSON] = Field(default_factory=list)
    storage_credentials: list[JSON] = Field(default_factory=list)
    uc_models: list[JSON] = Field(default_factory=list)
    # GET /api/2.1/unity-catalog/recipients/{name} bodies; the list route serves them as they are
    recipients: list[JSON] = Field(default_factory=list)
    # model full name -> versions
    uc_model_versions: dict[str, list[JSON]] = Field(default_factory=dict)
    # table full name -> monitor body
    monitors: dict[str, JSON] = Field(default_factory=dict)
    # "<securable_type>/<full_name>" -> privilege_assignments
    grants: dict[str, list[JSON]] = Field(default_factory=dict)

    account_id: str | None = None
    account_workspaces: list[JSON] = Field(default_factory=list)
    account_private_access_settings: list[JSON] = Field(default_factory=list)
    account_credentials: list[JSON] = Field(default_factory=list)
    account_storage_configurations: list[JSON] = Field(default_factory=list)
    account_networks: list[JSON] = Field(default_factory=list)
    account_customer_managed_keys: list[JSON] = Field(default_factory=list)
    # GET /api/2.0/accounts/{id}/log-delivery: the log_delivery_configurations
    account_log_delivery: list[JSON] = Field(default_factory=list)
    # GET /api/2.0/instance-profiles/list (a workspace route)
    instance_profiles: list[JSON] = Field(default_factory=list)

    @classmethod
    def from_json(cls, text: str) -> WorkspaceState:
        return cls.model_validate_json(text)

    def counts(self) -> dict[str, int]:
        """Objects per collection: what a collector must find (used by tests and the bench)."""
        return {
            name: len(value)
            for name, value in self.__dict__.items()
            if isinstance(value, list | dict) and name not in {"current_user", "workspace_conf"}
        }
