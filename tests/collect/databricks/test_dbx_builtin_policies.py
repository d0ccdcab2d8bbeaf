"""The built-in Databricks compute, jobs, serving and monitoring policies read attributes the real
collector produces: evaluated on the demo workspace (collected over HTTP through the SDK), each one
both FAILs and PASSes somewhere and never comes out ERROR for lack of data."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.databricks_harness import RecordingClock, collect_inventory

from mlguard.demo.databricks_fake.seeds import NOW_MS
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set

POLICY_IDS = (
    "databricks_gpu_cluster_autotermination",
    "databricks_gpu_cluster_autoscale_bounded",
    "databricks_gpu_cluster_policy",
    "databricks_cluster_autotermination",
    "databricks_gpu_pool_no_idle_instances",
    "databricks_sql_warehouse_auto_stop",
    "databricks_gpu_serving_scale_to_zero",
    "databricks_job_uses_job_clusters",
    "databricks_serving_inference_tables",
    "databricks_serving_quality_monitor",
    "databricks_uc_model_production_monitored",
    "databricks_job_failure_notifications",
    "databricks_pipeline_failure_notifications",
    "databricks_cluster_uc_access_mode",
    "databricks_cluster_local_disk_encryption",
    "databricks_cluster_no_plaintext_secrets",
    "databricks_cluster_no_dbfs_init_scripts",
    "databricks_cluster_supported_runtime",
    "databricks_cluster_recently_restarted",
    "databricks_job_run_as_service_principal",
    "databricks_serving_not_public",
    "databricks_serving_ai_gateway_rate_limits",
    "databricks_serving_guardrails",
    "databricks_secret_scope_not_all_users",
    "databricks_cluster_policy_required",
    "databricks_job_cluster_policy_required",
    "databricks_job_timeout",
    "databricks_instance_pool_idle_autotermination",
    "databricks_mlflow_artifacts_not_in_open_dbfs",
    "databricks_uc_table_owner_not_user",
    "databricks_cluster_log_delivery",
    "databricks_job_duration_health_rule",
    "databricks_job_max_concurrent_runs_bounded",
    "databricks_token_unused",
    "databricks_instance_pool_max_capacity",
    "databricks_sql_warehouse_max_clusters_bounded",
    "databricks_uc_model_version_lineage",
    "databricks_uc_quality_monitor_failure_notifications",
    "databricks_uc_quality_monitor_scheduled",
)


def test_policies_fail_and_pass_on_the_collected_demo_workspace(start_fake) -> None:
    start_fake()
    policies = load_policy_set([(builtin_policy_dir(), "builtin")]).policies
    selected = [policies[pid] for pid in POLICY_IDS]
    types = frozenset(p.resource for p in selected) | {
        "databricks.uc.quality_monitor",
        "databricks.serving_endpoint",
    }
    inventory = collect_inventory(types, clock=RecordingClock())
    assert not inventory.errors
    # The seed's clock, so age-based policies see the seed as it was written.
    now = datetime.fromtimestamp(NOW_MS / 1000, tz=UTC)
    statuses: dict[str, dict[str, set[str]]] = {pid: {} for pid in POLICY_IDS}
    for r in evaluate_inventory(selected, inventory, now=now).results:
        statuses[r.policy_id].setdefault(str(r.status), set()).add(r.resource_uid.rsplit("/", 1)[-1])
    for pid, by_status in statuses.items():
        assert "ERROR" not in by_status, (pid, by_status)
        assert by_status.get("FAIL"), (pid, by_status)
        assert by_status.get("PASS"), (pid, by_status)
    # A few outcomes that only hold when the joined attributes line up with the collector's output.
    assert statuses["databricks_serving_quality_monitor"]["PASS"] == {"churn-cpu"}
    assert statuses["databricks_uc_model_production_monitored"] == {
        "PASS": {"ml.models.churn"},
        "FAIL": {"ml.models.fraud"},
        "SKIP": {"ml.models.vit"},
    }
    assert statuses["databricks_cluster_no_plaintext_secrets"]["FAIL"] == {"0101-gpu-train-a1"}
    # Jobs no schedule starts count too (job 13 by webhook, 14 on every task); 15 is tagged ad hoc.
    assert statuses["databricks_job_failure_notifications"] == {
        "PASS": {"12", "13", "14"},
        "FAIL": {"11", "16"},
        "SKIP": {"15"},
    }
    assert statuses["databricks_job_cluster_policy_required"]["FAIL"] == {"12", "16"}
    assert statuses["databricks_cluster_policy_required"] == {
        "PASS": {"0102-gpu-dev-b2", "0105-analyst-e5", "0106-feature-f6"},
        "FAIL": {"0101-gpu-train-a1", "0104-gpu-pool-d4"},
        "SKIP": {"0103-etl-c3"},
    }
    # Every endpoint, not only external and foundation models; reco-gpu is tagged internal.
    rate_limits = statuses["databricks_serving_ai_gateway_rate_limits"]
    assert rate_limits["PASS"] == {"llm-provisioned"}
    assert {"openai-proxy", "churn-cpu", "fraud-gpu"} <= rate_limits["FAIL"]
    assert rate_limits["SKIP"] == {"reco-gpu"}
    # Job 11 sets timeout 0, 14-16 none (the Jobs API default, no timeout).
    assert statuses["databricks_job_timeout"] == {"PASS": {"12", "13"}, "FAIL": {"11", "14", "15", "16"}}
    assert statuses["databricks_job_max_concurrent_runs_bounded"]["FAIL"] == {"16"}
    # tok-1 last used 200 days ago; tok-3 never used but only 50 days old.
    assert statuses["databricks_token_unused"] == {"PASS": {"tok-2", "tok-3"}, "FAIL": {"tok-1"}}
    assert statuses["databricks_instance_pool_max_capacity"]["FAIL"] == {"pool-cpu-04"}
    warehouses = statuses["databricks_sql_warehouse_max_clusters_bounded"]
    assert warehouses == {"PASS": {"wh-001"}, "FAIL": {"wh-002"}}
    assert statuses["databricks_uc_model_version_lineage"] == {
        "PASS": {"ml.models.fraud", "ml.models.churn"},
        "FAIL": {"ml.models.vit"},
    }
    # churn_payload's schedule is paused: it refreshes no more than a monitor without one.
    assert statuses["databricks_uc_quality_monitor_scheduled"] == {
        "PASS": {"ml.features.customer_features"},
        "FAIL": {"ml.monitoring.churn_payload"},
    }
    # Only 11 and 12 run on a schedule; 12 warns on run duration.
    assert statuses["databricks_job_duration_health_rule"] == {
        "PASS": {"12"},
        "FAIL": {"11"},
        "SKIP": {"13", "14", "15", "16"},
    }
    logs = statuses["databricks_cluster_log_delivery"]
    assert logs["PASS"] == {"0103-etl-c3", "0106-feature-f6"}
    assert "0101-gpu-train-a1" in logs["FAIL"]
    assert statuses["databricks_uc_table_owner_not_user"]["FAIL"] == {
        "ml.monitoring.churn_payload",
        "raw.events.legacy_csv",
        "main.default.scratch",
    }
    assert statuses["databricks_mlflow_artifacts_not_in_open_dbfs"] == {
        "PASS": {"100", "101", "102", "103", "104"},
        "FAIL": {"110"},
    }
    idle = statuses["databricks_instance_pool_idle_autotermination"]
    assert idle == {"PASS": {"pool-gpu-01", "pool-cpu-02", "pool-gpu-03"}, "FAIL": {"pool-cpu-04"}}
