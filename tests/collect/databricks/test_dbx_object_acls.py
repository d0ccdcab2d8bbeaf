"""Object permissions (jobs, pipelines, clusters, warehouses, experiments, serving endpoints,
tokens), effective Unity Catalog privileges and model alias lineage, collected from the fake
workspace through the real databricks-sdk."""

from __future__ import annotations

from typing import Any

from tests.support.databricks_harness import RecordingClock, collect_inventory

from mlguard.collect.databricks.object_acls import acl_summary
from mlguard.demo.databricks_fake.seeds import CANARY_RECIPIENT
from mlguard.model import Inventory

_ACL_TYPES = frozenset(
    {
        "databricks.job",
        "databricks.pipeline",
        "databricks.cluster",
        "databricks.sql_warehouse",
        "databricks.mlflow_experiment",
        "databricks.serving_endpoint",
    }
)


def _data(inventory: Inventory, rtype: str, ident: str) -> dict[str, Any]:
    return next(r.data for r in inventory.resources if r.type == rtype and r.id == ident)


def test_acl_summary_separates_users_groups_and_service_principals() -> None:
    body = {
        "access_control_list": [
            {"user_name": "alice@example.com", "all_permissions": [{"permission_level": "CAN_MANAGE"}]},
            {"service_principal_name": "sp-1", "all_permissions": [{"permission_level": "IS_OWNER"}]},
            {
                "group_name": "admins",
                "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": True}],
            },
            {"group_name": "users", "all_permissions": [{"permission_level": "CAN_VIEW"}]},
            {"group_name": "users", "all_permissions": [{"permission_level": "CAN_RUN"}]},
            {"all_permissions": [{"permission_level": "CAN_VIEW"}]},  # no principal: ignored
        ]
    }
    s = acl_summary(body)
    assert s["acl_owner"] == "sp-1"
    assert s["acl_owner_type"] == "service_principal"
    assert s["acl_managers"] == ["admins", "alice@example.com", "sp-1"]
    assert s["acl_user_managers"] == ["alice@example.com"]
    admins = next(e for e in s["acl"] if e["principal"] == "admins")
    assert admins == {
        "principal": "admins",
        "principal_type": "group",
        "permission_levels": ["CAN_MANAGE"],
        "inherited_levels": ["CAN_MANAGE"],
    }
    assert len(s["acl"]) == 4
    # A principal listed twice is one entry with both levels.
    assert next(e for e in s["acl"] if e["principal"] == "users")["permission_levels"] == [
        "CAN_RUN",
        "CAN_VIEW",
    ]


def test_object_acls_are_attached_to_their_resources(start_fake) -> None:
    start_fake()
    inv = collect_inventory(_ACL_TYPES, clock=RecordingClock())
    assert not inv.errors
    # Seeded: owned by its service principal, managed by a group.
    etl = _data(inv, "databricks.job", "12")
    assert etl["acl_owner"] == "7f9e2d1c-etl-sp"
    assert etl["acl_owner_type"] == "service_principal"
    assert etl["acl_user_managers"] == []
    assert etl["acl_managers"] == ["7f9e2d1c-etl-sp", "admins", "data-eng"]
    # Not seeded: the ACL of a new object (its creator owns it).
    nightly = _data(inv, "databricks.job", "11")
    assert nightly["acl_owner"] == "alice@example.com"
    assert nightly["acl_user_managers"] == ["alice@example.com"]
    cluster = _data(inv, "databricks.cluster", "0106-feature-f6")
    users = next(e for e in cluster["acl"] if e["principal"] == "users")
    assert users["principal_type"] == "group"
    assert users["permission_levels"] == ["CAN_MANAGE"]
    assert _data(inv, "databricks.sql_warehouse", "wh-002")["acl_owner"] == "bob@example.com"
    assert "CAN_EDIT" in next(
        e["permission_levels"]
        for e in _data(inv, "databricks.mlflow_experiment", "110")["acl"]
        if e["principal"] == "users"
    )
    assert _data(inv, "databricks.pipeline", "pl-003")["acl_owner"] == "carol@example.com"
    endpoint = next(
        r.data
        for r in inv.resources
        if r.type == "databricks.serving_endpoint" and r.data["endpoint_id"] == "ep-0004"
    )
    assert {
        "principal": "users",
        "principal_type": "group",
        "permission_levels": ["CAN_MANAGE", "CAN_QUERY"],
    } in (endpoint["permissions"])
    assert "users" in endpoint["acl_managers"]
    for r in inv.resources:
        assert "acl" in r.data, r.uid


def test_denied_object_permissions_block_only_the_acl_attributes(start_fake) -> None:
    start_fake(deny={"object_permissions"})
    inv = collect_inventory(frozenset({"databricks.job", "databricks.workspace"}), clock=RecordingClock())
    jobs = [r for r in inv.resources if r.type == "databricks.job"]
    assert jobs
    assert all("acl" not in r.data and "job_name" in r.data for r in jobs)
    job_errors = [e for e in inv.errors if e.resource_type == "databricks.job"]
    assert {e.resource_uid for e in job_errors} == {r.uid for r in jobs}
    assert all("acl_user_managers" in e.attributes for e in job_errors)
    assert {e.code for e in job_errors} == {"PERMISSION_DENIED"}
    ws_errors = [e for e in inv.errors if e.resource_type == "databricks.workspace"]
    assert [e.attributes[0] for e in ws_errors] == ["token_acl"]
    workspace = next(r for r in inv.resources if r.type == "databricks.workspace")
    assert "token_acl" not in workspace.data
    assert "admins_group_size" in workspace.data


def test_token_permissions_are_read(start_fake) -> None:
    start_fake()
    inv = collect_inventory(frozenset({"databricks.workspace"}), clock=RecordingClock())
    workspace = next(r for r in inv.resources if r.type == "databricks.workspace")
    assert {
        "principal": "users",
        "principal_type": "group",
        "permission_levels": ["CAN_USE"],
        "inherited_levels": [],
    } in (workspace.data["token_acl"])


def test_effective_privileges_include_inherited_grants(start_fake) -> None:
    fake = start_fake()
    inv = collect_inventory(
        frozenset({"databricks.uc.table", "databricks.uc.registered_model", "databricks.uc.schema"}),
        clock=RecordingClock(),
    )
    assert not inv.errors
    scratch = _data(inv, "databricks.uc.table", "main.default.scratch")
    everyone = next(g for g in scratch["effective_grants"] if g["principal"] == "account users")
    assert "ALL_PRIVILEGES" in everyone["privileges"]
    assert everyone["inherited_from"] == ["CATALOG:main"]
    assert "ALL_PRIVILEGES" in scratch["account_users_effective_privileges"]
    clicks = _data(inv, "databricks.uc.table", "raw.events.clicks")
    assert clicks["account_users_effective_privileges"] == ["MANAGE", "SELECT", "USE_CATALOG"]
    features = _data(inv, "databricks.uc.table", "ml.features.customer_features")
    assert features["account_users_effective_privileges"] == []
    # An empty page mid-stream (the fake plants one) is followed, not taken as the end.
    schema = _data(inv, "databricks.uc.schema", "raw.events")
    assert {g["principal"] for g in schema["effective_grants"]} == {"account users", "etl-sp"}
    routes = set(fake.fake.paths_seen())
    assert "/api/2.1/unity-catalog/effective-permissions/table/main.default.scratch" in routes
    vit = _data(inv, "databricks.uc.registered_model", "ml.models.vit")
    assert vit["account_users_effective_privileges"] == ["ALL_PRIVILEGES"]


def test_model_governance_facts(start_fake) -> None:
    start_fake()
    inv = collect_inventory(frozenset({"databricks.uc.registered_model"}), clock=RecordingClock())
    fraud = _data(inv, "databricks.uc.registered_model", "ml.models.fraud")
    assert fraud["aliased_versions_without_run"] == []
    assert fraud["comment"] is None
    vit = _data(inv, "databricks.uc.registered_model", "ml.models.vit")
    assert vit["aliased_versions_without_run"] == ["challenger"]
    churn = _data(inv, "databricks.uc.registered_model", "ml.models.churn")
    assert churn["comment"].startswith("Monthly churn")


def test_delta_sharing_recipients(start_fake) -> None:
    fake = start_fake()
    inv = collect_inventory(frozenset({"databricks.uc.recipient"}), clock=RecordingClock())
    assert not inv.errors
    partner = _data(inv, "databricks.uc.recipient", "partner-analytics")
    assert partner["allowed_ip_addresses"] == ["203.0.113.0/24"]
    assert partner["tokens_without_expiry"] == []
    assert partner["tokens"][0]["expires_at"] is not None
    assert set(partner["tokens"][0]) == {"id", "created_at", "expires_at"}  # no activation URL
    vendor = _data(inv, "databricks.uc.recipient", "vendor-open")
    assert vendor["allowed_ip_addresses"] == []
    assert vendor["tokens_without_expiry"] == ["tok-vendor-1"]
    sister = _data(inv, "databricks.uc.recipient", "sister-workspace")
    assert sister["active_token_count"] == 0
    # Tokens come from the get of token recipients only; the list does not carry them.
    gets = {p for p in fake.fake.paths_seen() if p.startswith("/api/2.1/unity-catalog/recipients/")}
    assert gets == {
        "/api/2.1/unity-catalog/recipients/partner-analytics",
        "/api/2.1/unity-catalog/recipients/vendor-open",
    }
    assert CANARY_RECIPIENT not in inv.model_dump_json()


def test_denied_recipient_get_is_an_attribute_error(start_fake) -> None:
    start_fake(deny={"recipient"})
    inv = collect_inventory(frozenset({"databricks.uc.recipient"}), clock=RecordingClock())
    vendor = _data(inv, "databricks.uc.recipient", "vendor-open")
    assert "tokens_without_expiry" not in vendor
    assert vendor["allowed_ip_addresses"] == []
    assert {e.resource_uid.rsplit("/", 1)[-1] for e in inv.errors if e.resource_uid} == {
        "partner-analytics",
        "vendor-open",
    }
