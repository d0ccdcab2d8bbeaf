"""Every family, through the real SDK over HTTP, with page size 2 and every 7th request throttled."""

from __future__ import annotations

import pytest

from mlguard.collect.databricks import ALL_TYPES
from mlguard.collect.databricks.provider import FAMILIES
from mlguard.testing.databricks_fake import WorkspaceState, bulk_state, demo_state
from mlguard.testing.databricks_fake.harness import (
    RecordingClock,
    collect_inventory,
    counts_by_type,
    expected_counts,
)

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

    # A workload type newer than the SDK's enum survives because serving is read as raw JSON.
    newtype = res[("databricks.serving_endpoint", "vision-gpu-newtype")]
    assert newtype.data["served_entities"][0]["workload_type"] == "GPU_XLARGE_8xH200"
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
    start_fake(state)
    types = frozenset({"databricks.cluster", "databricks.uc.catalog", "databricks.ip_access_list"})
    inventory = collect_inventory(types, clock=RecordingClock())
    res = {(r.type, r.id): r.data for r in inventory.resources}
    assert res[("databricks.cluster", "0101-gpu-train-a1")]["data_security_mode"] == (
        "DATA_SECURITY_MODE_FROM_THE_FUTURE"
    )
    assert res[("databricks.uc.catalog", "ml")]["account_users_privileges"] == ["SOME_NEW_PRIVILEGE"]
    assert res[("databricks.ip_access_list", "ipl-1")]["list_type"] == "MONITOR_ONLY"
