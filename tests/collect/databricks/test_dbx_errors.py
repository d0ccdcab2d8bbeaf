"""Errors are data: a denied admin API becomes CollectionErrors for exactly what needed it."""

from __future__ import annotations

import pytest
from tests.support.databricks_harness import RecordingClock, collect_inventory, counts_by_type

from mlguard.collect.databricks import ALL_TYPES
from mlguard.demo.databricks_fake import WorkspaceState, demo_state
from mlguard.errors import CollectionSetupError

WORKSPACE_TYPES = frozenset(ALL_TYPES - {"databricks.account_workspace"})


def test_denied_token_management_and_conf_key(start_fake) -> None:
    start_fake(
        page_size=2,
        throttle_every=7,
        retry_after=0,
        deny={"tokens"},
        deny_conf_keys={"enableVerboseAuditLogs"},
    )
    baseline_state = demo_state()

    inventory = collect_inventory(WORKSPACE_TYPES, clock=RecordingClock())

    host = inventory.provenance.workspaces[0]
    token_errors = [e for e in inventory.errors if e.resource_type == "databricks.token"]
    assert len(token_errors) == 1
    err = token_errors[0]
    assert (err.workspace, err.code, err.operation, err.resource_uid) == (
        host,
        "PERMISSION_DENIED",
        "GET /api/2.0/token-management/tokens",
        None,
    )
    conf_errors = [e for e in inventory.errors if e.resource_type == "databricks.workspace"]
    assert len(conf_errors) == 1
    assert conf_errors[0].attributes == ["enableVerboseAuditLogs", "plaintext_secret_paths"]
    assert conf_errors[0].resource_uid == f"databricks://{host}/workspace/{host}"
    assert conf_errors[0].operation == "GET /api/2.0/workspace-conf"
    assert len(inventory.errors) == 2

    # The rest is complete: the other keys of the same group were read, every other type counted.
    ws = next(r for r in inventory.resources if r.type == "databricks.workspace")
    assert "enableVerboseAuditLogs" not in ws.data
    assert ws.data["enableFileStoreEndpoint"] is False
    assert ws.data["enforceUserIsolation"] is False
    counts = counts_by_type(inventory)
    assert "databricks.token" not in counts
    assert counts["databricks.cluster"] == len(baseline_state.clusters)
    assert counts["databricks.uc.table"] == len(baseline_state.tables)
    # Coverage says the token type was attempted, so policies on it come out ERROR, not PASS.
    assert "databricks.token" in {c.resource_type for c in inventory.coverage}


def test_denied_detail_call_narrows_to_the_resource(start_fake) -> None:
    start_fake(deny={"serving_permissions"})
    inventory = collect_inventory(frozenset({"databricks.serving_endpoint"}), clock=RecordingClock())
    seeded = demo_state().serving_endpoints
    assert counts_by_type(inventory) == {"databricks.serving_endpoint": len(seeded)}
    assert len(inventory.errors) == len(seeded)
    assert {tuple(e.attributes) for e in inventory.errors} == {
        (
            "permissions",
            "query_principals",
            "acl",
            "acl_owner",
            "acl_owner_type",
            "acl_managers",
            "acl_user_managers",
            "plaintext_secret_paths",
        )
    }
    assert {e.resource_uid for e in inventory.errors} == {r.uid for r in inventory.resources}
    assert {e.operation for e in inventory.errors} == {
        f"GET /api/2.0/permissions/serving-endpoints/{e['id']}" for e in seeded
    }
    assert all("permissions" not in r.data and "acl" not in r.data for r in inventory.resources)


def test_denied_grants_on_catalogs(start_fake) -> None:
    start_fake(deny={r"/api/2.1/unity-catalog/permissions/catalog/.*"})
    inventory = collect_inventory(
        frozenset({"databricks.uc.catalog", "databricks.uc.schema"}), clock=RecordingClock()
    )
    cat_errors = [e for e in inventory.errors if e.resource_type == "databricks.uc.catalog"]
    assert len(cat_errors) == 3
    assert all("grants" in e.attributes for e in cat_errors)
    assert not [e for e in inventory.errors if e.resource_type == "databricks.uc.schema"]
    assert counts_by_type(inventory) == {"databricks.uc.catalog": 3, "databricks.uc.schema": 5}


def test_listing_denied_mid_tree_marks_dependent_types(start_fake) -> None:
    start_fake(deny={"tables"})
    types = frozenset({"databricks.uc.schema", "databricks.uc.table", "databricks.uc.quality_monitor"})
    inventory = collect_inventory(types, clock=RecordingClock())
    assert counts_by_type(inventory) == {"databricks.uc.schema": 5}
    assert {e.resource_type for e in inventory.errors} == {
        "databricks.uc.table",
        "databricks.uc.quality_monitor",
    }
    assert all(e.resource_uid is None for e in inventory.errors)


def test_no_metastore_is_not_an_error(start_fake) -> None:
    state = demo_state()
    state.metastore = None
    start_fake(state)
    inventory = collect_inventory(frozenset({"databricks.uc.metastore"}), clock=RecordingClock())
    assert inventory.resources == []
    assert inventory.errors == []
    assert [c.resource_type for c in inventory.coverage] == ["databricks.uc.metastore"]


def test_denied_metastore_get_fails_the_whole_type(start_fake) -> None:
    """The metastore spec's required detail: without the metastore there is no resource to judge,
    so the type is incomplete (no resource uid), not a resource with unknown attributes."""
    start_fake(deny={"/api/2.1/unity-catalog/metastores/[^/]+"})
    inventory = collect_inventory(frozenset({"databricks.uc.metastore"}), clock=RecordingClock())
    assert inventory.resources == []
    assert [(e.resource_type, e.resource_uid, e.code) for e in inventory.errors] == [
        ("databricks.uc.metastore", None, "PERMISSION_DENIED")
    ]


def test_denied_system_schemas_is_an_attribute_error_on_the_metastore(start_fake) -> None:
    start_fake(deny={"system_schemas"})
    inventory = collect_inventory(frozenset({"databricks.uc.metastore"}), clock=RecordingClock())
    [metastore] = inventory.resources
    assert "system_schemas" not in metastore.data
    assert metastore.data["metastore_name"]
    [error] = inventory.errors
    assert error.resource_uid == metastore.uid
    assert {"system_schemas", "enabled_system_schemas"} <= set(error.attributes)


def test_pruning_never_leaves_out_a_required_detail() -> None:
    from mlguard.collect.databricks.unity_catalog import METASTORE_FAMILY

    [spec] = METASTORE_FAMILY.specs
    pruned = spec.pruned(frozenset({"owner"}))
    assert pruned.details == {"system_schemas"}


def test_missing_route_is_recorded_and_the_rest_goes_on(start_fake) -> None:
    fake = start_fake(WorkspaceState())
    fake.fake._routes = [r for r in fake.fake._routes if r[0] != "ip_access_lists"]  # route gone: 404
    inventory = collect_inventory(
        frozenset({"databricks.ip_access_list", "databricks.secret_scope"}), clock=RecordingClock()
    )
    assert [(e.resource_type, e.code) for e in inventory.errors] == [
        ("databricks.ip_access_list", "ENDPOINT_NOT_FOUND")
    ]


def test_bad_token_is_a_setup_error(start_fake, monkeypatch: pytest.MonkeyPatch) -> None:
    start_fake()
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    with pytest.raises(CollectionSetupError, match="UNAUTHENTICATED"):
        collect_inventory(WORKSPACE_TYPES, clock=RecordingClock())


def test_unreachable_host_is_a_setup_error(start_fake, monkeypatch: pytest.MonkeyPatch) -> None:
    server = start_fake()
    host = server.host
    server.stop()
    monkeypatch.setenv("DATABRICKS_HOST", host)
    from mlguard.config import DatabricksScope, ScopeConfig

    scope = ScopeConfig(databricks=DatabricksScope(http_timeout_seconds=1, retry_timeout_seconds=1))
    with pytest.raises(CollectionSetupError):
        collect_inventory(WORKSPACE_TYPES, clock=RecordingClock(), scope=scope)


def test_server_error_on_one_route_is_recorded(start_fake) -> None:
    start_fake(fail={"instance_pools"})
    inventory = collect_inventory(
        frozenset({"databricks.instance_pool", "databricks.sql_warehouse"}), clock=RecordingClock()
    )
    assert [(e.resource_type, e.code, e.operation) for e in inventory.errors] == [
        ("databricks.instance_pool", "INTERNAL_ERROR", "GET /api/2.0/instance-pools/list")
    ]
    assert counts_by_type(inventory) == {"databricks.sql_warehouse": 2}


def test_timeout_on_one_route_is_recorded(start_fake) -> None:
    from mlguard.config import DatabricksScope, ScopeConfig

    start_fake(slow={"ip_access_lists": 1.5})
    scope = ScopeConfig(databricks=DatabricksScope(http_timeout_seconds=1, retry_timeout_seconds=1))
    inventory = collect_inventory(
        frozenset({"databricks.ip_access_list", "databricks.secret_scope"}),
        clock=RecordingClock(),
        scope=scope,
    )
    assert [(e.resource_type, e.code) for e in inventory.errors] == [("databricks.ip_access_list", "TIMEOUT")]
    assert counts_by_type(inventory) == {"databricks.secret_scope": 2}


def test_denied_node_types_fall_back_to_the_table_and_block_only_unknown_gpu_facts(start_fake) -> None:
    state = demo_state()
    odd = dict(state.clusters[-1], cluster_id="0199-odd", cluster_name="odd-node")
    odd.update(node_type_id="zz9.large", driver_node_type_id="zz9.large")
    state.clusters.append(odd)
    start_fake(state, deny={"node_types"})
    inventory = collect_inventory(
        frozenset({"databricks.cluster", "databricks.instance_pool"}), clock=RecordingClock()
    )
    assert counts_by_type(inventory) == {"databricks.cluster": 7, "databricks.instance_pool": 4}
    # Only the node type that neither the workspace nor the table knows is unknown.
    gpu_errors = [e for e in inventory.errors if "is_gpu" in e.attributes]
    assert [(e.resource_uid or "").rsplit("/", 1)[-1] for e in gpu_errors] == ["0199-odd"]
    assert gpu_errors[0].operation == "GET /api/2.1/clusters/list-node-types"
    assert gpu_errors[0].code == "PERMISSION_DENIED"
    assert gpu_errors[0].attributes == ["gpu", "driver_gpu", "is_gpu"]
    by_id = {r.id: r for r in inventory.resources}
    assert by_id["0199-odd"].data["is_gpu"] is None  # unknown (and blocked), never "not a GPU"
    assert by_id["0101-gpu-train-a1"].data["is_gpu"] is True  # p4d.24xlarge, from the table
    assert by_id["0101-gpu-train-a1"].data["gpu"]["num_gpus"] == 8
    assert by_id["0101-gpu-train-a1"].data["gpu"]["source"].startswith("table ")
    assert by_id["0105-analyst-e5"].data["is_gpu"] is False  # m5.xlarge: no accelerator by rule
