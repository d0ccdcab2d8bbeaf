"""Every family, through the real SDK over HTTP, with page size 2 and every 7th request throttled."""

from __future__ import annotations

import pytest
from tests.support.databricks_harness import (
    RecordingClock,
    collect_inventory,
    counts_by_type,
    expected_counts,
)

from mlguard.collect.databricks import ALL_TYPES
from mlguard.collect.databricks.provider import FAMILIES
from mlguard.demo.databricks_fake import WorkspaceState, bulk_state, demo_state

WORKSPACE_TYPES = frozenset(ALL_TYPES - {"databricks.account_workspace"})


def other_seed() -> WorkspaceState:
    """A workspace not shaped like the demo: many objects, other names, no legacy registry."""
    s = bulk_state(150)
    s.registered_models = []
    s.metastore = None
    return s


FAMILY_IDS = [module.__name__.rsplit(".", 1)[1] for module, _ in FAMILIES]


@pytest.mark.parametrize(("family_types"), [types for _, types in FAMILIES], ids=FAMILY_IDS)
def test_family_counts_paged_and_throttled(start_fake, family_types: tuple[str, ...]) -> None:
    state = demo_state()
    fake = start_fake(state, page_size=2, throttle_every=7, retry_after=1)
    clock = RecordingClock()

    inventory = collect_inventory(frozenset(family_types), clock=clock)

    expected = {t: n for t, n in expected_counts(state).items() if t in family_types}
    assert counts_by_type(inventory) == expected
    assert inventory.errors == []
    assert {c.resource_type for c in inventory.coverage} == set(family_types)
    # Every 429 was retried after the Retry-After the server sent (the SDK adds jitter on top).
    throttled = len(fake.fake.requests) // 7
    assert len(clock.sleeps) == throttled
    assert all(s >= 1 for s in clock.sleeps)


@pytest.mark.parametrize("seed", [demo_state, other_seed], ids=["demo", "other"])
def test_whole_workspace_counts(start_fake, seed) -> None:
    state = seed()
    start_fake(state, page_size=2, throttle_every=7, retry_after=0)
    inventory = collect_inventory(WORKSPACE_TYPES, clock=RecordingClock())
    assert counts_by_type(inventory) == expected_counts(state)
    assert inventory.errors == []
    assert {c.resource_type for c in inventory.coverage} == WORKSPACE_TYPES
    assert inventory.provenance.identities[0].principal == state.current_user["userName"]


def test_uc_lists_survive_an_empty_page_mid_stream(start_fake) -> None:
    fake = start_fake(page_size=1, empty_uc_page=True)
    inventory = collect_inventory(frozenset({"databricks.uc.catalog"}), clock=RecordingClock())
    assert counts_by_type(inventory) == {"databricks.uc.catalog": 3}
    catalog_pages = [r for r in fake.fake.requests if r.path.endswith("/unity-catalog/catalogs")]
    assert len(catalog_pages) == 4  # 3 catalogs, one page each, plus the planted empty page


def test_resource_facts(start_fake) -> None:
    start_fake()
    inventory = collect_inventory(WORKSPACE_TYPES, clock=RecordingClock())
    res = {(r.type, r.id): r for r in inventory.resources}
    host = inventory.provenance.workspaces[0]

    gpu = res[("databricks.cluster", "0101-gpu-train-a1")]
    assert gpu.uid == f"databricks://{host}/cluster/0101-gpu-train-a1"
    assert gpu.workspace == host
    assert "://" not in host
    assert gpu.data["gpu"]["num_gpus"] == 8
    assert gpu.data["autotermination_minutes"] == 0
    assert gpu.data["runtime"] == {**gpu.data["runtime"], "ml": True, "gpu": True, "deprecated": True}
    assert gpu.data["spark_conf_plaintext_secrets"] is True
    governed = res[("databricks.cluster", "0102-gpu-dev-b2")]
    assert governed.data["spark_conf_plaintext_secrets"] is False
    assert governed.data["spark_conf"]["spark.hadoop.fs.s3a.secret.key"] == "{{secrets/ml/s3-secret}}"
    assert governed.data["runtime"]["deprecated"] is False

    policy = res[("databricks.cluster_policy", "POL-GPU-1")]
    assert policy.data["enforces"]["autotermination_max_minutes"] == 60
    assert policy.data["enforces"]["max_workers"] == 8

    # A multi-GPU workload type is a GPU (not only the GPU_* prefix).
    newtype = res[("databricks.serving_endpoint", "vision-gpu-newtype")]
    assert newtype.data["served_entities"][0]["workload_type"] == "MULTIGPU_MEDIUM"
    assert newtype.data["gpu_without_scale_to_zero"] is True
    churn = res[("databricks.serving_endpoint", "churn-cpu")]
    assert churn.data["inference_table_enabled"] is True
    assert churn.tags == {"team": "growth", "env": "prod"}
    # Both capture paths (legacy auto-capture and the AI gateway) name their payload table.
    assert churn.data["inference_table_names"] == [
        "ml.monitoring.churn_gw_payload",
        "ml.monitoring.churn_payload",
    ]
    assert newtype.data["inference_table_names"] == []

    assert res[("databricks.uc.catalog", "main")].data["account_users_all_privileges"] is True
    assert res[("databricks.uc.schema", "raw.events")].data["account_users_manage"] is True
    assert res[("databricks.token", "tok-1")].data["never_expires"] is True
    assert res[("databricks.job", "11")].data["run_as_type"] == "user"
    assert res[("databricks.job", "12")].data["runs_as_service_principal"] is True
    ws = res[("databricks.workspace", host)]
    assert ws.data["enableVerboseAuditLogs"] is False
    assert ws.data["admins_group_size"] == 7
    assert ws.data["restrict_workspace_admins"] == "ALLOW_ALL"
    assert res[("databricks.uc.metastore", "ms-11aa22bb")].region == "us-east-1"


def test_enum_values_newer_than_the_sdk_survive(start_fake) -> None:
    """Typed SDK classes turn unknown enum values into None; the collector reads raw JSON."""
    state = demo_state()
    state.clusters[0]["data_security_mode"] = "DATA_SECURITY_MODE_FROM_THE_FUTURE"
    state.grants["catalog/ml"] = [{"principal": "account users", "privileges": ["SOME_NEW_PRIVILEGE"]}]
    state.ip_access_lists[0]["list_type"] = "MONITOR_ONLY"
    vit = next(e for e in state.serving_endpoints if e["name"] == "vision-gpu-newtype")
    vit["config"]["served_entities"][0]["workload_type"] = "GPU_XLARGE_8xH200"
    start_fake(state)
    types = frozenset(
        {
            "databricks.cluster",
            "databricks.uc.catalog",
            "databricks.ip_access_list",
            "databricks.serving_endpoint",
        }
    )
    inventory = collect_inventory(types, clock=RecordingClock())
    res = {(r.type, r.id): r.data for r in inventory.resources}
    assert res[("databricks.cluster", "0101-gpu-train-a1")]["data_security_mode"] == (
        "DATA_SECURITY_MODE_FROM_THE_FUTURE"
    )
    assert res[("databricks.uc.catalog", "ml")]["account_users_privileges"] == ["SOME_NEW_PRIVILEGE"]
    assert res[("databricks.ip_access_list", "ipl-1")]["list_type"] == "MONITOR_ONLY"
    vit_data = res[("databricks.serving_endpoint", "vision-gpu-newtype")]
    assert vit_data["served_entities"][0]["workload_type"] == "GPU_XLARGE_8xH200"


def test_gpu_runtime_and_single_node_facts_of_clusters(start_fake) -> None:
    state = demo_state()
    base = state.clusters[-1]
    state.clusters += [
        # A node type neither the workspace's list nor mlguard's table knows.
        dict(base, cluster_id="0201-odd", node_type_id="zz9.large", driver_node_type_id="zz9.large"),
        # A type the workspace does not list but the table knows (GPU model from the table).
        dict(base, cluster_id="0202-p3", node_type_id="p3.2xlarge", driver_node_type_id="p3.2xlarge"),
        # Single node, old style (zero workers, singleNode profile) and new style (is_single_node).
        {
            **{k: v for k, v in base.items() if k != "autoscale"},
            "cluster_id": "0203-single-old",
            "node_type_id": "g5.xlarge",
            "driver_node_type_id": "g5.xlarge",
            "num_workers": 0,
            "spark_conf": {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*]"},
            "custom_tags": {"ResourceClass": "SingleNode"},
        },
        {
            **{k: v for k, v in base.items() if k != "autoscale"},
            "cluster_id": "0204-single-new",
            "node_type_id": "g5.xlarge",
            "num_workers": 0,
            "is_single_node": True,
            "spark_version": "99.1.x-scala2.13",
        },
    ]
    start_fake(state)
    inventory = collect_inventory(frozenset({"databricks.cluster"}), clock=RecordingClock())
    res = {r.id: r for r in inventory.resources}
    errors = {(e.resource_uid or "").rsplit("/", 1)[-1]: e for e in inventory.errors}

    assert res["0201-odd"].data["is_gpu"] is None
    assert errors["0201-odd"].attributes == ["gpu", "driver_gpu", "is_gpu"]
    assert errors["0201-odd"].code == "UnknownInstanceType"
    p3 = res["0202-p3"].data
    assert (p3["is_gpu"], p3["gpu"]["num_gpus"], p3["gpu"]["gpu_model"]) == (True, 1, "V100")
    g5 = res["0102-gpu-dev-b2"].data["gpu"]
    assert (g5["num_gpus"], g5["gpu_model"], g5["source"]) == (1, "A10G", "list-node-types")

    assert res["0203-single-old"].data["single_node"] is True
    assert res["0204-single-new"].data["single_node"] is True
    assert res["0102-gpu-dev-b2"].data["single_node"] is False  # autoscaling
    assert res["0101-gpu-train-a1"].data["single_node"] is False  # 4 fixed workers

    # Runtime end of support from the dated table; a version it does not know is unknown.
    old = res["0101-gpu-train-a1"].data["runtime_support"]
    assert (old["version"], old["end_of_support"], old["lts"]) == ("11.3", "2025-10-19", True)
    assert res["0204-single-new"].data["runtime_support"] is None
    assert errors["0204-single-new"].attributes == ["runtime_support"]
    assert errors["0204-single-new"].code == "UnknownRuntime"


def test_ip_list_of_two_internet_halves_allows_any_address(start_fake) -> None:
    """Allowing 0.0.0.0/1 and 128.0.0.0/1 allows everyone, like 0.0.0.0/0; 10.0.0.0/8 does not."""
    state = demo_state()
    state.ip_access_lists = [
        {**state.ip_access_lists[0], "list_id": "halves", "ip_addresses": ["0.0.0.0/1", "128.0.0.0/1"]},
        {**state.ip_access_lists[0], "list_id": "private", "ip_addresses": ["10.0.0.0/8"]},
    ]
    start_fake(state)
    inventory = collect_inventory(frozenset({"databricks.ip_access_list"}), clock=RecordingClock())
    found = {r.uid.rsplit("/", 1)[-1]: r.data["allows_any_address"] for r in inventory.resources}
    assert found == {"halves": True, "private": False}
