"""Seeds for the fake workspace: ``demo`` (a realistic mix of good and bad configurations) and
``bulk`` (many objects, for the benchmark).

The demo plants canary secrets (``CANARIES``) in places where real workspaces leak them: Spark
conf, cluster env vars, job parameters, pipeline configuration, an external model's API key.
Tests assert none of them reaches any output.
"""

from __future__ import annotations

import json
from typing import Any

from mlguard.demo.databricks_fake.state import JSON, WorkspaceState

# Values that must never appear in an inventory or report.
CANARY_SPARK_CONF = "CANARY-spark-conf-7d1f0c9b2e"
CANARY_ENV = "CANARY-env-var-51aa0e8c3f"
CANARY_JOB_PARAM = "CANARY-job-param-c0ffee1234"
CANARY_PIPELINE_CONF = "CANARY-pipeline-conf-9b8a7c6d"
CANARY_EXTERNAL_KEY = "CANARY-openai-key-e4d3c2b1a0"
CANARY_TOKEN_VALUE = "dapi0123456789abcdef0123456789abcdef"
# Realistic credential shapes under neutral names, in the other free-text fields collectors read.
CANARY_AZURE_KEY = (  # Spark conf: an Azure storage account key
    "ATltlo+3zoReDmMWusqeUaDypp3HXn1y5GGjeZ6EmrkHEcD7olL5AY/uKPDUuMS8VPgquoRmRjbp0LL0B/91TB=="
)
CANARY_JDBC_PASSWORD = "Jdbc-Canary-Pw-5521"  # job parameter: password inside a JDBC URL
CANARY_SLACK = "xoxb-2048105337-1093278451203-ATLSGGGyA3fPzKPXGx8EZd3P"  # job tag
CANARY_GITHUB = "ghp_Zq8Lm3Xv7Rt2Wk9Np4Ys6Bc1Hd5Jf0Ga8Ke2"  # pipeline configuration (git URL)
CANARY_SAS_SIG = "Qm7Zr2Xk9Lp4Wt8Yv1Bn6Hc3Ds5Fg0Jh%3D"  # serving endpoint tag (SAS URL)
CANARY_JWT = (  # MLflow experiment tag
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtbGd1YXJkLWNhbmFyeSIsImlhdCI6MTc2NDI4ODAwMH0."
    "qX5poBtX3p-6Bpx-YoFgzoxeN1OSd4RCb-VGdhyOmxg"
)
CANARY_POLICY_KEY = "sk-proj-Wd7Hk2Lq9Xz4Mv8Rb1Tn6Yc3Pf5Gs0Ja"  # cluster policy fixed env value
CANARY_POOL_TAG = "b7c1e9f3a2d84e6f90a1c2b3d4e5f6a7"  # instance pool tag (a hex token under *_pass)
# Delta Sharing activation link (a one-time credential download URL) of a recipient token
CANARY_RECIPIENT = "CANARY-recipient-activation-3e5d7f9a1b"
CANARIES = (
    CANARY_SPARK_CONF,
    CANARY_ENV,
    CANARY_JOB_PARAM,
    CANARY_PIPELINE_CONF,
    CANARY_EXTERNAL_KEY,
    CANARY_TOKEN_VALUE,
    CANARY_AZURE_KEY,
    CANARY_JDBC_PASSWORD,
    CANARY_SLACK,
    CANARY_GITHUB,
    CANARY_SAS_SIG,
    CANARY_JWT,
    CANARY_POLICY_KEY,
    CANARY_POOL_TAG,
    CANARY_RECIPIENT,
)

NOW_MS = 1_764_288_000_000  # 2025-11-28T00:00:00Z, fixed so seeds are reproducible
DAY_MS = 86_400_000

NODE_TYPES: list[JSON] = [
    {
        "node_type_id": "m5.xlarge",
        "memory_mb": 16384,
        "num_cores": 4.0,
        "num_gpus": 0,
        "description": "m5.xlarge",
        "instance_type_id": "m5.xlarge",
        "category": "General Purpose",
    },
    {
        "node_type_id": "i3.xlarge",
        "memory_mb": 31232,
        "num_cores": 4.0,
        "num_gpus": 0,
        "description": "i3.xlarge",
        "instance_type_id": "i3.xlarge",
        "category": "Storage Optimized",
    },
    {
        "node_type_id": "g5.xlarge",
        "memory_mb": 16384,
        "num_cores": 4.0,
        "num_gpus": 1,
        "description": "g5.xlarge",
        "instance_type_id": "g5.xlarge",
        "category": "GPU Accelerated",
    },
    {
        "node_type_id": "g5.12xlarge",
        "memory_mb": 196608,
        "num_cores": 48.0,
        "num_gpus": 4,
        "description": "g5.12xlarge",
        "instance_type_id": "g5.12xlarge",
        "category": "GPU Accelerated",
    },
    {
        "node_type_id": "p4d.24xlarge",
        "memory_mb": 1179648,
        "num_cores": 96.0,
        "num_gpus": 8,
        "description": "p4d.24xlarge",
        "instance_type_id": "p4d.24xlarge",
        "category": "GPU Accelerated",
    },
]

SPARK_VERSIONS: list[JSON] = [
    {"key": "15.4.x-scala2.12", "name": "15.4 LTS (includes Apache Spark 3.5.0, Scala 2.12)"},
    {"key": "15.4.x-cpu-ml-scala2.12", "name": "15.4 LTS ML (includes Apache Spark 3.5.0, Scala 2.12)"},
    {"key": "15.4.x-gpu-ml-scala2.12", "name": "15.4 LTS ML (includes Apache Spark 3.5.0, GPU, Scala 2.12)"},
    {"key": "16.4.x-scala2.12", "name": "16.4 LTS (includes Apache Spark 3.5.2, Scala 2.12)"},
    {"key": "16.4.x-gpu-ml-scala2.12", "name": "16.4 LTS ML (includes Apache Spark 3.5.2, GPU, Scala 2.12)"},
]

WORKSPACE_CONF = {
    "maxTokenLifetimeDays": "0",
    "enableTokensConfig": "true",
    "enableIpAccessLists": "true",
    "enableResultsDownloading": "true",
    "enableExportNotebook": "true",
    "enableNotebookTableClipboard": "true",
    "enableDbfsFileBrowser": "true",
    "enableFileStoreEndpoint": "false",
    "enableVerboseAuditLogs": "false",
    "enforceUserIsolation": "false",
    "enableWorkspaceAclsConfig": "true",
    "enforceWorkspaceViewAcls": "true",
    "storeInteractiveNotebookResultsInCustomerAccount": "false",
    "enableDeprecatedGlobalInitScripts": "false",
    "enableEnforceImdsV2": "true",
    "enableProjectTypeInWorkspace": "true",
    "enableWebTerminal": "true",
}


def _cluster(
    cid: str,
    name: str,
    node: str,
    *,
    version: str = "15.4.x-scala2.12",
    autoterm: int = 60,
    autoscale: tuple[int, int] | None = None,
    workers: int = 2,
    policy: str | None = None,
    mode: str = "USER_ISOLATION",
    disk_enc: bool = True,
    spark_conf: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    state: str = "RUNNING",
    init: list[JSON] | None = None,
    pool: str | None = None,
    source: str = "UI",
    creator: str = "alice@example.com",
    logs: JSON | None = None,
) -> JSON:
    c: JSON = {
        "cluster_id": cid,
        "cluster_name": name,
        "spark_version": version,
        "node_type_id": node,
        "driver_node_type_id": node,
        "autotermination_minutes": autoterm,
        "data_security_mode": mode,
        "enable_local_disk_encryption": disk_enc,
        "spark_conf": spark_conf or {},
        "spark_env_vars": env or {},
        "custom_tags": tags or {},
        "init_scripts": init or [],
        "state": state,
        "cluster_source": source,
        "creator_user_name": creator,
        "start_time": NOW_MS - 30 * DAY_MS,
        "last_restarted_time": NOW_MS - 2 * DAY_MS,
        "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "zone_id": "us-east-1a"},
    }
    if autoscale:
        c["autoscale"] = {"min_workers": autoscale[0], "max_workers": autoscale[1]}
    else:
        c["num_workers"] = workers
    if policy:
        c["policy_id"] = policy
    if pool:
        c["instance_pool_id"] = pool
    if logs:
        c["cluster_log_conf"] = logs
    return c


def _grants(*pairs: tuple[str, list[str]]) -> list[JSON]:
    return [{"principal": p, "privileges": privs} for p, privs in pairs]


def demo_state() -> WorkspaceState:
    s = WorkspaceState(account_id="0d6c1e3f-acct-demo")
    s.workspace_conf = dict(WORKSPACE_CONF)
    s.settings = {
        "restrict_workspace_admins": {"restrict_workspace_admins": {"status": "ALLOW_ALL"}},
        "automatic_cluster_update": {
            "automatic_cluster_update_workspace": {"enabled": False, "can_toggle": True}
        },
        "disable_legacy_dbfs": {"disable_legacy_dbfs": {"value": False}},
    }
    s.node_types = list(NODE_TYPES)
    s.spark_versions = list(SPARK_VERSIONS)

    # ---- compute
    s.cluster_policies = [
        {
            "policy_id": "POL-GPU-1",
            "name": "GPU ML (governed)",
            "creator_user_name": "admin@example.com",
            "created_at_timestamp": NOW_MS - 90 * DAY_MS,
            "definition": json.dumps(
                {
                    "autotermination_minutes": {"type": "range", "maxValue": 60, "defaultValue": 30},
                    "node_type_id": {"type": "allowlist", "values": ["g5.xlarge", "g5.12xlarge"]},
                    "autoscale.max_workers": {"type": "range", "maxValue": 8},
                    "custom_tags.cost_center": {"type": "fixed", "value": "ml-research"},
                    "spark_env_vars.OPENAI_API_KEY": {"type": "fixed", "value": CANARY_POLICY_KEY},
                }
            ),
        },
        {
            "policy_id": "POL-OPEN-2",
            "name": "Unrestricted (legacy)",
            "creator_user_name": "bob@example.com",
            "created_at_timestamp": NOW_MS - 400 * DAY_MS,
            "definition": json.dumps({"spark_version": {"type": "unlimited", "defaultValue": "auto:latest"}}),
        },
    ]
    s.instance_pools = [
        {
            "instance_pool_id": "pool-gpu-01",
            "instance_pool_name": "gpu-warm-pool",
            "node_type_id": "g5.12xlarge",
            "min_idle_instances": 4,
            "max_capacity": 32,
            "idle_instance_autotermination_minutes": 0,
            "custom_tags": {"team": "vision"},
            "state": "ACTIVE",
        },
        {
            "instance_pool_id": "pool-cpu-02",
            "instance_pool_name": "etl-pool",
            "node_type_id": "i3.xlarge",
            "min_idle_instances": 0,
            "max_capacity": 50,
            "idle_instance_autotermination_minutes": 15,
            "custom_tags": {"team": "data-eng"},
            "state": "ACTIVE",
        },
    ]
    s.clusters = [
        _cluster(
            "0101-gpu-train-a1",
            "gpu-training-shared",
            "p4d.24xlarge",
            version="11.3.x-gpu-ml-scala2.12",
            autoterm=0,
            workers=4,
            mode="NONE",
            disk_enc=False,
            spark_conf={
                "spark.hadoop.fs.s3a.secret.key": CANARY_SPARK_CONF,
                "fs.azure.account.key.acmeml.dfs.core.windows.net": CANARY_AZURE_KEY,
                "spark.databricks.delta.preview.enabled": "true",
            },
            env={"HF_TOKEN": CANARY_ENV, "PYSPARK_PYTHON": "/databricks/python3/bin/python3"},
            tags={"team": "vision"},
            init=[{"dbfs": {"destination": "dbfs:/init/install-cuda.sh"}}],
        ),
        _cluster(
            "0102-gpu-dev-b2",
            "gpu-dev-governed",
            "g5.xlarge",
            version="15.4.x-gpu-ml-scala2.12",
            autoterm=30,
            autoscale=(1, 4),
            policy="POL-GPU-1",
            tags={"cost_center": "ml-research"},
            spark_conf={"spark.hadoop.fs.s3a.secret.key": "{{secrets/ml/s3-secret}}"},
            init=[{"workspace": {"destination": "/Shared/init/pip.sh"}}],
        ),
        _cluster(
            "0103-etl-c3",
            "etl-nightly",
            "i3.xlarge",
            autoterm=20,
            autoscale=(2, 10),
            pool="pool-cpu-02",
            state="TERMINATED",
            source="JOB",
            creator="etl-sp",
            logs={"s3": {"destination": "s3://ml-prod-logs/clusters", "region": "us-east-1"}},
        ),
        _cluster(
            "0104-gpu-pool-d4",
            "gpu-inference-batch",
            "g5.12xlarge",
            version="16.4.x-gpu-ml-scala2.12",
            autoterm=0,
            workers=2,
            pool="pool-gpu-01",
            mode="SINGLE_USER",
        ),
        _cluster(
            "0105-analyst-e5",
            "analyst-shared",
            "m5.xlarge",
            autoterm=120,
            autoscale=(1, 3),
            mode="USER_ISOLATION",
            policy="POL-OPEN-2",
        ),
    ]
    s.warehouses = [
        {
            "id": "wh-001",
            "name": "bi-serverless",
            "cluster_size": "Small",
            "min_num_clusters": 1,
            "max_num_clusters": 2,
            "auto_stop_mins": 10,
            "enable_serverless_compute": True,
            "spot_instance_policy": "COST_OPTIMIZED",
            "warehouse_type": "PRO",
            "state": "RUNNING",
            "creator_name": "alice@example.com",
            "tags": {"custom_tags": [{"key": "team", "value": "bi"}]},
        },
        {
            "id": "wh-002",
            "name": "adhoc-xl-always-on",
            "cluster_size": "X-Large",
            "min_num_clusters": 2,
            "max_num_clusters": 10,
            "auto_stop_mins": 0,
            "enable_serverless_compute": False,
            "spot_instance_policy": "RELIABILITY_OPTIMIZED",
            "warehouse_type": "CLASSIC",
            "state": "RUNNING",
            "creator_name": "bob@example.com",
            "tags": {},
        },
    ]

    # ---- jobs and pipelines
    s.jobs = [
        {
            "job_id": 11,
            "creator_user_name": "alice@example.com",
            "created_time": NOW_MS - 60 * DAY_MS,
            "settings": {
                "name": "train-nightly",
                "format": "MULTI_TASK",
                "timeout_seconds": 0,
                "max_concurrent_runs": 1,
                "run_as": {"user_name": "alice@example.com"},
                "tags": {"team": "vision", "notify": CANARY_SLACK},
                "schedule": {
                    "quartz_cron_expression": "0 0 2 * * ?",
                    "timezone_id": "UTC",
                    "pause_status": "UNPAUSED",
                },
                "parameters": [
                    {"name": "db_password", "default": CANARY_JOB_PARAM},
                    {"name": "epochs", "default": "10"},
                ],
                "tasks": [
                    {
                        "task_key": "train",
                        "existing_cluster_id": "0101-gpu-train-a1",
                        "notebook_task": {
                            "notebook_path": "/Repos/ml/train",
                            "base_parameters": {
                                "api_token": CANARY_JOB_PARAM,
                                "lr": "0.01",
                                "source": f"jdbc:postgresql://etl:{CANARY_JDBC_PASSWORD}@db.acme.internal/raw",
                            },
                        },
                    }
                ],
            },
        },
        {
            "job_id": 12,
            "creator_user_name": "etl-sp",
            "created_time": NOW_MS - 120 * DAY_MS,
            "settings": {
                "name": "etl-daily",
                "format": "MULTI_TASK",
                "timeout_seconds": 7200,
                "max_concurrent_runs": 1,
                "run_as": {"service_principal_name": "7f9e2d1c-etl-sp"},
                "email_notifications": {"on_failure": ["data-eng@example.com"]},
                "health": {
                    "rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 3600}]
                },
                "schedule": {
                    "quartz_cron_expression": "0 30 1 * * ?",
                    "timezone_id": "UTC",
                    "pause_status": "UNPAUSED",
                },
                "job_clusters": [
                    {
                        "job_cluster_key": "etl",
                        "new_cluster": {
                            "spark_version": "15.4.x-scala2.12",
                            "node_type_id": "i3.xlarge",
                            "num_workers": 4,
                            "spark_conf": {"spark.password": "{{secrets/etl/jdbc}}"},
                        },
                    }
                ],
                "tasks": [
                    {
                        "task_key": "ingest",
                        "job_cluster_key": "etl",
                        "spark_python_task": {
                            "python_file": "s3://etl/ingest.py",
                            "parameters": ["--env", "prod", f"--password={CANARY_JOB_PARAM}"],
                        },
                    }
                ],
            },
        },
        {
            "job_id": 13,
            "creator_user_name": "carol@example.com",
            "created_time": NOW_MS - 10 * DAY_MS,
            "settings": {
                "name": "batch-scoring",
                "format": "MULTI_TASK",
                "timeout_seconds": 3600,
                "max_concurrent_runs": 1,
                "run_as": {"service_principal_name": "a1b2c3d4-scoring-sp"},
                "webhook_notifications": {"on_failure": [{"id": "slack-ml-alerts"}]},
                "tasks": [
                    {
                        "task_key": "score",
                        "existing_cluster_id": "0104-gpu-pool-d4",
                        "python_wheel_task": {"package_name": "scoring", "entry_point": "main"},
                    }
                ],
            },
        },
    ]
    s.pipelines = [
        {
            "pipeline_id": "pl-001",
            "name": "bronze-to-silver",
            "state": "IDLE",
            "creator_user_name": "alice@example.com",
            "run_as_user_name": "alice@example.com",
            "health": "HEALTHY",
            "spec": {
                "id": "pl-001",
                "name": "bronze-to-silver",
                "development": True,
                "channel": "PREVIEW",
                "continuous": False,
                "photon": True,
                "edition": "ADVANCED",
                "catalog": "main",
                "target": "silver",
                "clusters": [
                    {
                        "label": "default",
                        "node_type_id": "i3.xlarge",
                        "autoscale": {"min_workers": 1, "max_workers": 5, "mode": "ENHANCED"},
                    }
                ],
                "configuration": {
                    "source.password": CANARY_PIPELINE_CONF,
                    "source.table": "raw.events",
                    "git.remote": f"https://ml-bot:{CANARY_GITHUB}@github.com/acme/pipelines.git",
                },
                "notifications": [],
            },
        },
        {
            "pipeline_id": "pl-002",
            "name": "features-prod",
            "state": "RUNNING",
            "creator_user_name": "etl-sp",
            "run_as_user_name": "7f9e2d1c-etl-sp",
            "health": "HEALTHY",
            "spec": {
                "id": "pl-002",
                "name": "features-prod",
                "development": False,
                "channel": "CURRENT",
                "continuous": True,
                "serverless": True,
                "edition": "ADVANCED",
                "catalog": "ml",
                "target": "features",
                "notifications": [
                    {
                        "email_recipients": ["data-eng@example.com"],
                        "alerts": ["on-update-failure", "on-flow-failure"],
                    }
                ],
            },
        },
    ]

    # ---- serving
    s.serving_endpoints = [
        {
            "name": "fraud-gpu",
            "id": "ep-0001",
            "creator": "alice@example.com",
            "creation_timestamp": NOW_MS - 40 * DAY_MS,
            "last_updated_timestamp": NOW_MS - DAY_MS,
            "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
            "task": "llm/v1/completions",
            "tags": [
                {"key": "team", "value": "risk"},
                {
                    "key": "logs",
                    "value": f"https://acme.blob.core.windows.net/logs?sv=2022-11-02&sig={CANARY_SAS_SIG}",
                },
            ],
            "permission_level": "CAN_MANAGE",
            "route_optimized": False,
            "config": {
                "served_entities": [
                    {
                        "name": "fraud-1",
                        "entity_name": "ml.models.fraud",
                        "entity_version": "3",
                        "workload_type": "GPU_LARGE",
                        "workload_size": "Medium",
                        "scale_to_zero_enabled": False,
                    }
                ],
                "traffic_config": {"routes": [{"served_model_name": "fraud-1", "traffic_percentage": 100}]},
            },
        },
        {
            "name": "churn-cpu",
            "id": "ep-0002",
            "creator": "bob@example.com",
            "creation_timestamp": NOW_MS - 100 * DAY_MS,
            "last_updated_timestamp": NOW_MS - 5 * DAY_MS,
            "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
            "tags": [{"key": "team", "value": "growth"}, {"key": "env", "value": "prod"}],
            "config": {
                "served_entities": [
                    {
                        "name": "churn-7",
                        "entity_name": "ml.models.churn",
                        "entity_version": "7",
                        "workload_type": "CPU",
                        "workload_size": "Small",
                        "scale_to_zero_enabled": True,
                    }
                ],
                "auto_capture_config": {
                    "catalog_name": "ml",
                    "schema_name": "monitoring",
                    "table_name_prefix": "churn",
                    "enabled": True,
                },
            },
            "ai_gateway": {
                "usage_tracking_config": {"enabled": True},
                "inference_table_config": {
                    "catalog_name": "ml",
                    "schema_name": "monitoring",
                    "table_name_prefix": "churn_gw",
                    "enabled": True,
                },
            },
        },
        {
            "name": "llm-provisioned",
            "id": "ep-0003",
            "creator": "carol@example.com",
            "creation_timestamp": NOW_MS - 20 * DAY_MS,
            "last_updated_timestamp": NOW_MS - 2 * DAY_MS,
            "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
            "tags": [],
            "config": {
                "served_entities": [
                    {
                        "name": "llama-pt",
                        "entity_name": "system.ai.llama_v3_3_70b_instruct",
                        "entity_version": "1",
                        "min_provisioned_throughput": 0,
                        "max_provisioned_throughput": 9500,
                        "scale_to_zero_enabled": False,
                        "foundation_model": {"name": "llama-3-3-70b", "display_name": "Llama 3.3 70B"},
                    }
                ]
            },
            "ai_gateway": {
                "guardrails": {
                    "input": {"pii": {"behavior": "BLOCK"}, "safety": True},
                    "output": {"pii": {"behavior": "MASK"}},
                },
                "rate_limits": [{"calls": 100, "renewal_period": "minute", "key": "user"}],
                "usage_tracking_config": {"enabled": True},
            },
        },
        {
            "name": "openai-proxy",
            "id": "ep-0004",
            "creator": "dave@example.com",
            "creation_timestamp": NOW_MS - 15 * DAY_MS,
            "last_updated_timestamp": NOW_MS - 15 * DAY_MS,
            "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
            "task": "llm/v1/chat",
            "tags": [],
            "config": {
                "served_entities": [
                    {
                        "name": "gpt",
                        "external_model": {
                            "provider": "openai",
                            "name": "gpt-4o",
                            "task": "llm/v1/chat",
                            "openai_config": {
                                "openai_api_key_plaintext": CANARY_EXTERNAL_KEY,
                                "openai_api_base": "https://api.openai.com/v1",
                            },
                        },
                    }
                ]
            },
        },
        {
            "name": "vision-gpu-newtype",
            "id": "ep-0005",
            "creator": "erin@example.com",
            "creation_timestamp": NOW_MS - 3 * DAY_MS,
            "last_updated_timestamp": NOW_MS - 3 * DAY_MS,
            "state": {"ready": "NOT_READY", "config_update": "IN_PROGRESS"},
            "tags": [],
            "config": {
                "served_entities": [
                    {
                        "name": "vit",
                        "entity_name": "ml.models.vit",
                        "entity_version": "2",
                        "workload_type": "MULTIGPU_MEDIUM",
                        "workload_size": "Large",
                        "scale_to_zero_enabled": False,
                    }
                ]
            },
        },
    ]
    s.serving_permissions = {
        e["id"]: {
            "object_id": f"/serving-endpoints/{e['id']}",
            "object_type": "serving-endpoint",
            "access_control_list": [
                {
                    "user_name": e["creator"],
                    "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": False}],
                },
                {
                    "group_name": "admins",
                    "all_permissions": [
                        {
                            "permission_level": "CAN_MANAGE",
                            "inherited": True,
                            "inherited_from_object": ["/serving-endpoints/"],
                        }
                    ],
                },
            ]
            + (
                [
                    {
                        "group_name": "users",
                        "all_permissions": [{"permission_level": "CAN_QUERY", "inherited": False}],
                    }
                ]
                if e["id"] in {"ep-0001", "ep-0004"}
                else []
            ),
        }
        for e in s.serving_endpoints
    }

    # ---- identity
    s.tokens = [
        {
            "token_id": "tok-1",
            "comment": "laptop",
            "created_by_username": "alice@example.com",
            "created_by_id": 101,
            "owner_id": 101,
            "creation_time": NOW_MS - 400 * DAY_MS,
            "expiry_time": -1,
            "last_used_day": NOW_MS - 200 * DAY_MS,
            "workspace_id": s.workspace_id,
        },
        {
            "token_id": "tok-2",
            "comment": "ci",
            "created_by_username": "etl-sp",
            "created_by_id": 201,
            "owner_id": 201,
            "creation_time": NOW_MS - 10 * DAY_MS,
            "expiry_time": NOW_MS + 80 * DAY_MS,
            "last_used_day": NOW_MS - DAY_MS,
            "workspace_id": s.workspace_id,
        },
        {
            "token_id": "tok-3",
            "comment": f"pasted by mistake {CANARY_TOKEN_VALUE}",
            "created_by_username": "bob@example.com",
            "created_by_id": 102,
            "owner_id": 102,
            "creation_time": NOW_MS - 50 * DAY_MS,
            "expiry_time": NOW_MS + 3000 * DAY_MS,
            "workspace_id": s.workspace_id,
        },
    ]
    s.ip_access_lists = [
        {
            "list_id": "ipl-1",
            "label": "office",
            "list_type": "ALLOW",
            "ip_addresses": ["203.0.113.0/24"],
            "address_count": 1,
            "enabled": True,
            "created_at": NOW_MS - 300 * DAY_MS,
            "created_by": 101,
        },
        {
            "list_id": "ipl-2",
            "label": "everyone-temp",
            "list_type": "ALLOW",
            "ip_addresses": ["0.0.0.0/0"],
            "address_count": 1,
            "enabled": True,
            "created_at": NOW_MS - 5 * DAY_MS,
            "created_by": 102,
        },
    ]
    s.secret_scopes = [
        {"name": "ml", "backend_type": "DATABRICKS"},
        {"name": "etl", "backend_type": "DATABRICKS"},
    ]
    s.secret_acls = {
        "ml": [{"principal": "admins", "permission": "MANAGE"}, {"principal": "users", "permission": "READ"}],
        "etl": [
            {"principal": "admins", "permission": "MANAGE"},
            {"principal": "7f9e2d1c-etl-sp", "permission": "READ"},
        ],
    }
    s.service_principals = [
        {
            "id": "201",
            "applicationId": "7f9e2d1c-etl-sp",
            "displayName": "etl-sp",
            "active": True,
            "entitlements": [{"value": "workspace-access"}, {"value": "allow-cluster-create"}],
        },
        {
            "id": "202",
            "applicationId": "a1b2c3d4-scoring-sp",
            "displayName": "scoring-sp",
            "active": True,
            "entitlements": [{"value": "workspace-access"}],
        },
    ]
    s.groups = [
        {
            "id": "g-admins",
            "displayName": "admins",
            "members": [{"value": str(100 + i), "display": f"admin{i}@example.com"} for i in range(7)],
        },
        {"id": "g-users", "displayName": "users", "members": []},
    ]

    # ---- MLflow (workspace)
    s.experiments = [
        {
            "experiment_id": str(100 + i),
            "name": f"/Users/alice@example.com/exp-{i}",
            "artifact_location": f"dbfs:/databricks/mlflow-tracking/{100 + i}",
            "lifecycle_stage": "active",
            "creation_time": NOW_MS - (50 - i) * DAY_MS,
            "last_update_time": NOW_MS - i * DAY_MS,
            "tags": [{"key": "mlflow.ownerEmail", "value": "alice@example.com"}]
            + ([{"key": "tracking", "value": CANARY_JWT}] if i == 2 else []),
        }
        for i in range(5)
    ]
    # Created with a custom artifact location on the DBFS root: readable by every user.
    s.experiments.append(
        {
            "experiment_id": "110",
            "name": "/Shared/fraud-shared",
            "artifact_location": "dbfs:/tmp/mlflow/fraud-shared",
            "lifecycle_stage": "active",
            "creation_time": NOW_MS - 60 * DAY_MS,
            "last_update_time": NOW_MS - 5 * DAY_MS,
            "tags": [{"key": "mlflow.ownerEmail", "value": "bob@example.com"}],
        }
    )
    s.registered_models = [
        {
            "name": "fraud_legacy",
            "creation_timestamp": NOW_MS - 500 * DAY_MS,
            "last_updated_timestamp": NOW_MS - 100 * DAY_MS,
            "user_id": "alice@example.com",
            "latest_versions": [
                {
                    "name": "fraud_legacy",
                    "version": "4",
                    "current_stage": "Production",
                    "run_id": "r-abc",
                    "source": "dbfs:/mlflow/1/r-abc/artifacts/model",
                    "status": "READY",
                }
            ],
        },
        {
            "name": "churn_legacy",
            "creation_timestamp": NOW_MS - 300 * DAY_MS,
            "last_updated_timestamp": NOW_MS - 250 * DAY_MS,
            "user_id": "bob@example.com",
            "latest_versions": [],
        },
    ]

    # ---- Unity Catalog
    s.metastore = {
        "metastore_id": "ms-11aa22bb",
        "name": "primary-us-east-1",
        "owner": "alice@example.com",
        "region": "us-east-1",
        "cloud": "aws",
        "storage_root": "s3://uc-root/metastore",
        "delta_sharing_scope": "INTERNAL_AND_EXTERNAL",
        "delta_sharing_recipient_token_lifetime_in_seconds": 0,
        "delta_sharing_organization_name": "example",
        "privilege_model_version": "1.0",
        "created_at": NOW_MS - 700 * DAY_MS,
        "updated_at": NOW_MS - 30 * DAY_MS,
    }
    s.system_schemas = [
        {"schema": "access", "state": "ENABLE_COMPLETED"},
        {"schema": "billing", "state": "ENABLE_COMPLETED"},
        {"schema": "compute", "state": "AVAILABLE"},
    ]
    s.catalogs = [
        {
            "name": "main",
            "full_name": "main",
            "owner": "admins",
            "catalog_type": "MANAGED_CATALOG",
            "isolation_mode": "OPEN",
            "metastore_id": "ms-11aa22bb",
            "created_at": NOW_MS - 600 * DAY_MS,
        },
        {
            "name": "ml",
            "full_name": "ml",
            "owner": "alice@example.com",
            "catalog_type": "MANAGED_CATALOG",
            "isolation_mode": "ISOLATED",
            "metastore_id": "ms-11aa22bb",
            "created_at": NOW_MS - 300 * DAY_MS,
        },
        {
            "name": "raw",
            "full_name": "raw",
            "owner": "etl-sp",
            "catalog_type": "MANAGED_CATALOG",
            "isolation_mode": "OPEN",
            "metastore_id": "ms-11aa22bb",
            "created_at": NOW_MS - 300 * DAY_MS,
        },
    ]
    s.schemas = [
        {"name": n, "catalog_name": c, "full_name": f"{c}.{n}", "owner": o}
        for c, n, o in [
            ("main", "default", "admins"),
            ("ml", "models", "alice@example.com"),
            ("ml", "features", "etl-sp"),
            ("ml", "monitoring", "alice@example.com"),
            ("raw", "events", "etl-sp"),
        ]
    ]
    s.tables = [
        {
            "name": n,
            "catalog_name": c,
            "schema_name": sc,
            "full_name": f"{c}.{sc}.{n}",
            "table_type": tt,
            "data_source_format": fmt,
            "storage_location": loc,
            "owner": o,
        }
        for c, sc, n, tt, fmt, loc, o in [
            ("ml", "features", "customer_features", "MANAGED", "DELTA", None, "etl-sp"),
            ("ml", "features", "txn_features", "MANAGED", "DELTA", None, "etl-sp"),
            ("ml", "monitoring", "churn_payload", "MANAGED", "DELTA", None, "alice@example.com"),
            ("raw", "events", "clicks", "EXTERNAL", "DELTA", "s3://raw-data/clicks", "etl-sp"),
            ("raw", "events", "legacy_csv", "EXTERNAL", "CSV", "s3://raw-data/legacy", "bob@example.com"),
            ("main", "default", "scratch", "MANAGED", "DELTA", None, "bob@example.com"),
        ]
    ]
    for t in s.tables:
        if t["storage_location"] is None:
            del t["storage_location"]
    s.monitors = {
        "ml.features.customer_features": {
            "table_name": "ml.features.customer_features",
            "status": "MONITOR_STATUS_ACTIVE",
            "profile_metrics_table_name": "ml.monitoring.customer_features_profile_metrics",
            "drift_metrics_table_name": "ml.monitoring.customer_features_drift_metrics",
            "output_schema_name": "ml.monitoring",
            "assets_dir": "/Shared/monitors/customer_features",
            "snapshot": {},
            "schedule": {"quartz_cron_expression": "0 0 6 * * ?", "timezone_id": "UTC"},
            "notifications": {"on_failure": {"email_addresses": ["ml-ops@example.com"]}},
        },
        "ml.monitoring.churn_payload": {
            "table_name": "ml.monitoring.churn_payload",
            "status": "MONITOR_STATUS_ACTIVE",
            "profile_metrics_table_name": "ml.monitoring.churn_payload_profile_metrics",
            "drift_metrics_table_name": "ml.monitoring.churn_payload_drift_metrics",
            "output_schema_name": "ml.monitoring",
            "assets_dir": "/Shared/monitors/churn",
            # Paused during an incident and never resumed: no refresh runs.
            "schedule": {
                "quartz_cron_expression": "0 0 * * * ?",
                "timezone_id": "UTC",
                "pause_status": "PAUSED",
            },
            "inference_log": {
                "granularities": ["1 day"],
                "model_id_col": "model_id",
                "prediction_col": "prediction",
                "timestamp_col": "ts",
                "problem_type": "PROBLEM_TYPE_CLASSIFICATION",
            },
        },
    }
    # The credentials' IAM roles and the locations' buckets are in the demo AWS estate
    # (mlguard.demo.aws_estate, account 123456789012): one hybrid estate, judged across the border.
    s.storage_credentials = [
        {
            "name": "uc-root-cred",
            "id": "sc-1",
            "owner": "admins",
            "read_only": False,
            "aws_iam_role": {
                "role_arn": "arn:aws:iam::123456789012:role/databricks-uc-access",
                "unity_catalog_iam_arn": "arn:aws:iam::414351767826:role/unity-catalog-prod",
            },
            "used_for_managed_storage": True,
        },
        {
            "name": "raw-data-cred",
            "id": "sc-2",
            "owner": "etl-sp",
            "read_only": True,
            "aws_iam_role": {"role_arn": "arn:aws:iam::123456789012:role/databricks-uc-access"},
        },
    ]
    s.external_locations = [
        {
            "name": "raw-data",
            "url": "s3://acme-ml-raw-data/uc/",
            "credential_name": "raw-data-cred",
            "owner": "etl-sp",
            "read_only": True,
        },
        {
            "name": "scratch-rw",
            "url": "s3://acme-ml-public-datasets/scratch/",
            "credential_name": "uc-root-cred",
            "owner": "bob@example.com",
            "read_only": False,
        },
    ]
    s.uc_models = [
        {
            "name": n,
            "catalog_name": "ml",
            "schema_name": "models",
            "full_name": f"ml.models.{n}",
            "owner": o,
            "aliases": al,
            "storage_location": f"s3://uc-root/models/{n}",
            "created_at": NOW_MS - 90 * DAY_MS,
        }
        for n, o, al in [
            ("fraud", "alice@example.com", [{"alias_name": "champion", "version_num": 3}]),
            ("churn", "etl-sp", [{"alias_name": "champion", "version_num": 7}]),
            ("vit", "erin@example.com", []),
        ]
    ]
    s.uc_model_versions = {
        "ml.models.fraud": [
            {
                "model_name": "fraud",
                "catalog_name": "ml",
                "schema_name": "models",
                "version": v,
                "source": f"dbfs:/databricks/mlflow-tracking/101/run{v}/artifacts/model",
                "run_id": f"run{v}",
                "status": "READY",
                "created_by": "alice@example.com",
            }
            for v in (1, 2, 3)
        ],
        "ml.models.churn": [
            {
                "model_name": "churn",
                "catalog_name": "ml",
                "schema_name": "models",
                "version": 7,
                "source": "dbfs:/databricks/mlflow-tracking/102/run7/artifacts/model",
                "run_id": "run7",
                "status": "READY",
                "created_by": "etl-sp",
            }
        ],
        "ml.models.vit": [
            {
                "model_name": "vit",
                "catalog_name": "ml",
                "schema_name": "models",
                "version": 2,
                "source": "s3://uploads/vit",
                "status": "READY",
                "created_by": "erin@example.com",
            }
        ],
    }
    s.grants = {
        "catalog/main": _grants(("account users", ["USE_CATALOG", "ALL_PRIVILEGES"]), ("admins", ["MANAGE"])),
        "catalog/ml": _grants(("ml-engineers", ["USE_CATALOG", "USE_SCHEMA", "SELECT"])),
        "catalog/raw": _grants(("account users", ["USE_CATALOG"]), ("etl-sp", ["ALL_PRIVILEGES"])),
        "schema/ml.models": _grants(("ml-engineers", ["CREATE_MODEL", "EXECUTE"])),
        "schema/raw.events": _grants(("account users", ["SELECT", "MANAGE"])),
        "external_location/scratch-rw": _grants(("account users", ["READ_FILES", "WRITE_FILES"])),
        "external_location/raw-data": _grants(("etl-sp", ["READ_FILES"])),
        "storage_credential/uc-root-cred": _grants(("admins", ["ALL_PRIVILEGES"])),
        "function/ml.models.fraud": _grants(("account users", ["EXECUTE"])),
        "function/ml.models.churn": _grants(("ml-engineers", ["EXECUTE", "APPLY_TAG"])),
    }
    # A sandbox credential an engineer made for themselves and opened to everyone: any user can
    # define external locations on whatever its IAM role reaches.
    s.storage_credentials.append(
        {
            "name": "sandbox-cred",
            "id": "sc-3",
            "owner": "erin@example.com",
            "read_only": False,
            "aws_iam_role": {"role_arn": "arn:aws:iam::123456789012:role/databricks-uc-sandbox"},
        }
    )
    s.grants["storage_credential/sandbox-cred"] = _grants(
        ("account users", ["CREATE_EXTERNAL_LOCATION", "READ_FILES"])
    )
    s.account_workspaces = [
        {
            "workspace_id": s.workspace_id,
            "workspace_name": "ml-prod",
            "deployment_name": "ml-prod",
            "aws_region": "us-east-1",
            "pricing_tier": "ENTERPRISE",
            "workspace_status": "RUNNING",
            "credentials_id": "cred-1",
            "storage_configuration_id": "stor-1",
            "network_id": "net-1",
            "private_access_settings_id": "pas-1",
            "storage_customer_managed_key_id": "cmk-1",
            "managed_services_customer_managed_key_id": "cmk-2",
            "creation_time": NOW_MS - 700 * DAY_MS,
        },
        {
            "workspace_id": 2234567890123456,
            "workspace_name": "sandbox",
            "deployment_name": "ml-sandbox",
            "aws_region": "us-west-2",
            "pricing_tier": "PREMIUM",
            "workspace_status": "RUNNING",
            "credentials_id": "cred-2",
            "storage_configuration_id": "stor-2",
            "creation_time": NOW_MS - 200 * DAY_MS,
        },
    ]
    s.account_private_access_settings = [
        {
            "account_id": s.account_id,
            "private_access_settings_id": "pas-1",
            "private_access_settings_name": "ml-prod",
            "region": "us-east-1",
            "public_access_enabled": False,
            "private_access_level": "ACCOUNT",
        },
        {  # attached to no workspace: PrivateLink that still allows public access
            "account_id": s.account_id,
            "private_access_settings_id": "pas-open",
            "private_access_settings_name": "migration",
            "region": "us-west-2",
            "public_access_enabled": True,
        },
    ]
    # The account objects the workspaces name, on the demo AWS account (hybrid estate): prod runs
    # as a cross-account role with the documented trust (Databricks' account, this account id as
    # external ID) on a hardened root bucket in its own VPC; the sandbox's role has no external ID
    # and trusts another principal, its root bucket is the public datasets bucket and its network
    # uses the SSH-open security group. The security group ids are moto's, set by the demo
    # (mlguard.demo.scan) once the AWS estate exists.
    aws = "arn:aws:iam::123456789012"
    s.account_credentials = [
        {
            "credentials_id": cid,
            "credentials_name": name,
            "account_id": s.account_id,
            "aws_credentials": {"sts_role": {"role_arn": f"{aws}:role/{role}"}},
        }
        for cid, name, role in (
            ("cred-1", "ml-prod", "databricks-cross-account"),
            ("cred-2", "sandbox", "databricks-cross-account-sandbox"),
        )
    ]
    s.account_storage_configurations = [
        {
            "storage_configuration_id": sid,
            "storage_configuration_name": name,
            "account_id": s.account_id,
            "root_bucket_info": {"bucket_name": bucket},
        }
        for sid, name, bucket in (
            ("stor-1", "ml-prod", "acme-ml-model-artifacts"),
            ("stor-2", "sandbox", "acme-ml-public-datasets"),
        )
    ]
    s.account_networks = [
        {
            "network_id": nid,
            "network_name": name,
            "account_id": s.account_id,
            "vpc_id": "vpc-demo",
            "subnet_ids": ["subnet-demo-a", "subnet-demo-b"],
            "security_group_ids": [sg],
            "vpc_status": "VALID",
        }
        for nid, name, sg in (("net-1", "ml-prod", "sg-ml-private"), ("net-2", "sandbox", "sg-ml-ssh-open"))
    ]
    s.account_workspaces[1]["network_id"] = "net-2"
    s.account_customer_managed_keys = [
        {
            "customer_managed_key_id": kid,
            "account_id": s.account_id,
            "aws_key_info": {
                "key_arn": f"arn:aws:kms:us-east-1:123456789012:key/{key}",
                "key_region": "us-east-1",
            },
            "use_cases": [use],
        }
        for kid, key, use in (
            ("cmk-1", "5f0c1d2e-storage", "STORAGE"),
            ("cmk-2", "6a1b2c3d-managed", "MANAGED_SERVICES"),
        )
    ]
    s.account_log_delivery = [
        {  # audit logs of the prod workspace only; the sandbox has none
            "config_id": "log-1",
            "config_name": "audit-prod",
            "account_id": s.account_id,
            "log_type": "AUDIT_LOGS",
            "output_format": "JSON",
            "status": "ENABLED",
            "credentials_id": "cred-log",
            "storage_configuration_id": "stor-log",
            "workspace_ids_filter": [s.workspace_id],
        },
        {
            "config_id": "log-2",
            "config_name": "usage",
            "account_id": s.account_id,
            "log_type": "BILLABLE_USAGE",
            "output_format": "CSV",
            "status": "ENABLED",
            "credentials_id": "cred-log",
            "storage_configuration_id": "stor-log",
        },
    ]
    # Instance profiles: the scoped GPU training role (registered with its role ARN) and an ETL
    # profile whose role (derived: same name) may do anything.
    s.instance_profiles = [
        {
            "instance_profile_arn": f"{aws}:instance-profile/gpu-training",
            "iam_role_arn": f"{aws}:role/GpuTrainingInstanceRole",
            "is_meta_instance_profile": False,
        },
        {"instance_profile_arn": f"{aws}:instance-profile/databricks-etl-instance"},
    ]

    # ---- compliant and non-compliant counterparts for the compute, serving and monitoring policies
    long_running = _cluster(
        "0106-feature-f6",
        "feature-eng-shared",
        "m5.xlarge",
        autoterm=120,
        autoscale=(1, 4),
        policy="POL-OPEN-2",
        tags={"team": "features"},
        creator="carol@example.com",
        logs={"volumes": {"destination": "/Volumes/ops/logs/clusters"}},
    )
    # Busy every day since it was started, so auto-termination never stopped it: it still runs the
    # image it was started with 95 days ago.
    long_running["start_time"] = NOW_MS - 95 * DAY_MS
    long_running["last_restarted_time"] = NOW_MS - 95 * DAY_MS
    s.clusters.append(long_running)
    s.instance_pools.append(
        {
            "instance_pool_id": "pool-gpu-03",
            "instance_pool_name": "gpu-burst-pool",
            "node_type_id": "g5.xlarge",
            "min_idle_instances": 0,
            "max_capacity": 8,
            "idle_instance_autotermination_minutes": 10,
            "custom_tags": {"team": "reco", "vault_pass": CANARY_POOL_TAG},
            "state": "ACTIVE",
        }
    )
    # A CPU pool made for a one-off backfill: no max_capacity, so no limit on its instances, and
    # released instances stay cached (and billed) for 8 hours.
    s.instance_pools.append(
        {
            "instance_pool_id": "pool-cpu-04",
            "instance_pool_name": "backfill-pool",
            "node_type_id": "i3.xlarge",
            "min_idle_instances": 0,
            "idle_instance_autotermination_minutes": 480,
            "custom_tags": {"team": "data-eng"},
            "state": "ACTIVE",
        }
    )
    s.pipelines.append(
        {
            "pipeline_id": "pl-003",
            "name": "labels-prod",
            "state": "IDLE",
            "creator_user_name": "carol@example.com",
            "run_as_user_name": "carol@example.com",
            "health": "HEALTHY",
            "spec": {
                "id": "pl-003",
                "name": "labels-prod",
                "development": False,
                "channel": "CURRENT",
                "continuous": False,
                "serverless": True,
                "edition": "CORE",
                "catalog": "ml",
                "target": "labels",
                "notifications": [],
            },
        }
    )
    # Databricks endpoints that front SageMaker endpoints of the demo AWS account (an external
    # model with a custom provider): the fraud detector is autoscaled and alarmed, the summarizer
    # neither.
    for ep_id, name, backend in (
        ("ep-0007", "fraud-gateway", "fraud-detector"),
        ("ep-0008", "summarizer-gateway", "llm-summarizer"),
    ):
        s.serving_endpoints.append(
            {
                "name": name,
                "id": ep_id,
                "creator": "dave@example.com",
                "creation_timestamp": NOW_MS - 20 * DAY_MS,
                "last_updated_timestamp": NOW_MS - 20 * DAY_MS,
                "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
                "task": "llm/v1/chat",
                "tags": [{"key": "team", "value": "risk"}],
                "config": {
                    "served_entities": [
                        {
                            "name": backend,
                            "external_model": {
                                "provider": "custom",
                                "name": backend,
                                "task": "llm/v1/chat",
                                "custom_provider_config": {
                                    "custom_provider_url": "https://runtime.sagemaker.us-east-1.amazonaws.com"
                                    f"/endpoints/{backend}/invocations",
                                    "bearer_token_auth": {"token": "{{secrets/sagemaker/token}}"},
                                },
                            },
                        }
                    ]
                },
            }
        )
    # ... and endpoints that front Amazon Bedrock in the demo AWS account through an instance
    # profile: us-east-1 logs model invocations, eu-west-1 does not.
    for ep_id, name, region in (
        ("ep-0009", "claude-gateway", "us-east-1"),
        ("ep-0010", "claude-gateway-eu", "eu-west-1"),
    ):
        s.serving_endpoints.append(
            {
                "name": name,
                "id": ep_id,
                "creator": "dave@example.com",
                "creation_timestamp": NOW_MS - 10 * DAY_MS,
                "last_updated_timestamp": NOW_MS - 10 * DAY_MS,
                "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
                "task": "llm/v1/chat",
                "tags": [{"key": "team", "value": "assistants"}],
                "config": {
                    "served_entities": [
                        {
                            "name": "claude",
                            "external_model": {
                                "provider": "amazon-bedrock",
                                "name": "anthropic.claude-3-5-sonnet-20240620-v1:0",
                                "task": "llm/v1/chat",
                                "amazon_bedrock_config": {
                                    "aws_region": region,
                                    "bedrock_provider": "anthropic",
                                    "instance_profile_arn": f"{aws}:instance-profile/gpu-training",
                                },
                            },
                        }
                    ]
                },
            }
        )
    s.serving_endpoints.append(
        {
            "name": "reco-gpu",
            "id": "ep-0006",
            "creator": "frank@example.com",
            "creation_timestamp": NOW_MS - 12 * DAY_MS,
            "last_updated_timestamp": NOW_MS - 4 * DAY_MS,
            "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
            "tags": [
                {"key": "team", "value": "reco"},
                {"key": "mlguard:internal", "value": "batch jobs only"},
            ],
            "config": {
                "served_entities": [
                    {
                        "name": "reco-4",
                        "entity_name": "ml.models.reco",
                        "entity_version": "4",
                        "workload_type": "GPU_SMALL",
                        "workload_size": "Small",
                        "scale_to_zero_enabled": True,
                    }
                ],
                "auto_capture_config": {
                    "enabled": True,
                    "catalog_name": "ml",
                    "schema_name": "monitoring",
                    "table_name_prefix": "reco",
                },
            },
        }
    )
    # Jobs that no schedule starts (an orchestrator calls run-now): notified per task, tagged as ad
    # hoc, or silent; their cluster specifications with and without a cluster policy.
    s.jobs += [
        {
            "job_id": 14,
            "creator_user_name": "carol@example.com",
            "created_time": NOW_MS - 20 * DAY_MS,
            "settings": {
                "name": "features-backfill",
                "max_concurrent_runs": 1,
                "run_as": {"service_principal_name": "7f9e2d1c-etl-sp"},
                "job_clusters": [
                    {
                        "job_cluster_key": "backfill",
                        "new_cluster": {
                            "spark_version": "15.4.x-scala2.12",
                            "node_type_id": "i3.xlarge",
                            "num_workers": 2,
                            "policy_id": "POL-OPEN-2",
                        },
                    }
                ],
                "tasks": [
                    {
                        "task_key": key,
                        "job_cluster_key": "backfill",
                        "notebook_task": {"notebook_path": f"/Repos/features/{key}"},
                        "email_notifications": {"on_failure": ["data-eng@example.com"]},
                    }
                    for key in ("extract", "aggregate")
                ],
            },
        },
        {
            "job_id": 15,
            "creator_user_name": "dave@example.com",
            "created_time": NOW_MS - 3 * DAY_MS,
            "settings": {
                "name": "adhoc-debug",
                "max_concurrent_runs": 1,
                "run_as": {"service_principal_name": "a1b2c3d4-scoring-sp"},
                "tags": {"mlguard:adhoc": "debugging the scorer by hand"},
                "tasks": [
                    {
                        "task_key": "debug",
                        "existing_cluster_id": "0102-gpu-dev-b2",
                        "notebook_task": {"notebook_path": "/Users/dave@example.com/debug"},
                    }
                ],
            },
        },
        {
            "job_id": 16,
            "creator_user_name": "frank@example.com",
            "created_time": NOW_MS - 8 * DAY_MS,
            "settings": {
                "name": "reco-retrain-on-demand",
                # One run per retrain request: a burst of requests is a burst of GPU clusters.
                "max_concurrent_runs": 100,
                "run_as": {"service_principal_name": "a1b2c3d4-scoring-sp"},
                "tasks": [
                    {
                        "task_key": "retrain",
                        "new_cluster": {
                            "spark_version": "15.4.x-gpu-ml-scala2.12",
                            "node_type_id": "g5.xlarge",
                            "num_workers": 1,
                        },
                        "python_wheel_task": {"package_name": "reco", "entry_point": "retrain"},
                    }
                ],
            },
        },
    ]
    s.serving_permissions["ep-0006"] = {
        "object_id": "/serving-endpoints/ep-0006",
        "object_type": "serving-endpoint",
        "access_control_list": [
            {
                "user_name": "frank@example.com",
                "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": False}],
            },
            {
                "group_name": "reco-apps",
                "all_permissions": [{"permission_level": "CAN_QUERY", "inherited": False}],
            },
        ],
    }

    # ---- object permissions (GET /api/2.0/permissions/...): objects without an entry get the ACL
    # of a new object (their creator, and the admins group inherited). The etl job is owned by its
    # service principal and managed by a group; the others below are opened to every user.
    admins = {
        "group_name": "admins",
        "all_permissions": [
            {"permission_level": "CAN_MANAGE", "inherited": True, "inherited_from_object": ["/"]}
        ],
    }

    def acl(kind: str, ident: str, *entries: tuple[str, str, str]) -> None:
        s.object_permissions[f"{kind}/{ident}"] = {
            "object_id": f"/{kind}/{ident}",
            "object_type": kind.rstrip("s"),
            "access_control_list": [
                {key: name, "all_permissions": [{"permission_level": level, "inherited": False}]}
                for key, name, level in entries
            ]
            + [admins],
        }

    acl(
        "jobs",
        "12",
        ("service_principal_name", "7f9e2d1c-etl-sp", "IS_OWNER"),
        ("group_name", "data-eng", "CAN_MANAGE"),
    )
    acl(
        "jobs",
        "13",
        ("service_principal_name", "a1b2c3d4-scoring-sp", "IS_OWNER"),
        ("group_name", "users", "CAN_MANAGE_RUN"),
    )
    acl(
        "clusters",
        "0106-feature-f6",
        ("user_name", "carol@example.com", "CAN_MANAGE"),
        ("group_name", "users", "CAN_MANAGE"),
    )
    acl(
        "pipelines",
        "pl-003",
        ("user_name", "carol@example.com", "IS_OWNER"),
        ("group_name", "users", "CAN_MANAGE"),
    )
    acl(
        "warehouses",
        "wh-001",
        ("user_name", "alice@example.com", "IS_OWNER"),
        ("group_name", "users", "CAN_USE"),
    )
    acl(
        "warehouses",
        "wh-002",
        ("user_name", "bob@example.com", "IS_OWNER"),
        ("group_name", "users", "CAN_MANAGE"),
    )
    acl(
        "experiments",
        "110",
        ("user_name", "bob@example.com", "CAN_MANAGE"),
        ("group_name", "users", "CAN_EDIT"),
    )
    # Personal access tokens usable by every user (the default once tokens are enabled).
    acl("authorization", "tokens", ("group_name", "users", "CAN_USE"))
    for entry in s.serving_permissions["ep-0004"]["access_control_list"]:
        if entry.get("group_name") == "users":  # every user may query it, and manage it too
            entry["all_permissions"].append({"permission_level": "CAN_MANAGE", "inherited": False})
    # ---- model governance: a described, group-owned model; an alias on a version without a run;
    # a model every account user may manage.
    for m in s.uc_models:
        if m["name"] == "churn":
            m["comment"] = "Monthly churn propensity; owner: growth-ml; trained by the churn-retrain job."
        if m["name"] == "vit":
            m["aliases"] = [{"alias_name": "challenger", "version_num": 2}]
    s.grants["function/ml.models.vit"] = _grants(("account users", ["ALL_PRIVILEGES"]))
    # ---- Delta Sharing recipients: an open-sharing partner limited to its network with an expiring
    # token; a vendor with a token that never expires usable from anywhere; a Databricks-to-Databricks
    # recipient (no token at all).
    s.recipients = [
        {
            "name": "partner-analytics",
            "authentication_type": "TOKEN",
            "owner": "data-sharing-admins",
            "activated": True,
            "ip_access_list": {"allowed_ip_addresses": ["203.0.113.0/24"]},
            "created_at": NOW_MS - 40 * DAY_MS,
            "created_by": "alice@example.com",
            "tokens": [
                {
                    "id": "tok-partner-1",
                    "created_at": NOW_MS - 40 * DAY_MS,
                    "expiration_time": NOW_MS + 50 * DAY_MS,
                    "activation_url": f"https://dbc-demo.cloud.databricks.com/delta_sharing/retrieve_config.html?{CANARY_RECIPIENT}",
                }
            ],
        },
        {
            "name": "vendor-open",
            "authentication_type": "TOKEN",
            "owner": "bob@example.com",
            "activated": True,
            "created_at": NOW_MS - 200 * DAY_MS,
            "created_by": "bob@example.com",
            "tokens": [{"id": "tok-vendor-1", "created_at": NOW_MS - 200 * DAY_MS}],
        },
        {
            "name": "sister-workspace",
            "authentication_type": "DATABRICKS",
            "owner": "data-sharing-admins",
            "data_recipient_global_metastore_id": "aws:us-west-2:0a1b2c3d-4e5f-6789-abcd-ef0123456789",
            "created_at": NOW_MS - 90 * DAY_MS,
            "created_by": "alice@example.com",
        },
    ]
    for ep_id in ("ep-0007", "ep-0008", "ep-0009", "ep-0010"):  # the AWS gateways: owner, and apps
        s.serving_permissions[ep_id] = {
            "object_id": f"/serving-endpoints/{ep_id}",
            "object_type": "serving-endpoint",
            "access_control_list": [
                {
                    "user_name": "dave@example.com",
                    "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": False}],
                },
                {
                    "group_name": "risk-apps",
                    "all_permissions": [{"permission_level": "CAN_QUERY", "inherited": False}],
                },
            ],
        }
    return s


def bulk_state(n: int = 1000) -> WorkspaceState:
    """About ``n`` objects spread over every family, for the benchmark (demo configs repeated)."""
    s = demo_state()
    per = max(n // 12, 1)
    base = demo_state()

    def many(items: list[JSON], key: str, fmt: str) -> list[JSON]:
        out: list[JSON] = []
        for i in range(per):
            src: dict[str, Any] = json.loads(json.dumps(items[i % len(items)]))
            src[key] = fmt.format(i=i)
            out.append(src)
        return out

    s.clusters = many(base.clusters, "cluster_id", "c-{i:05d}")
    s.jobs = many(base.jobs, "job_id", "{i}")
    for j in s.jobs:
        j["job_id"] = int(j["job_id"])
    s.pipelines = many(base.pipelines, "pipeline_id", "pl-{i:05d}")
    s.warehouses = many(base.warehouses, "id", "wh-{i:05d}")
    s.instance_pools = many(base.instance_pools, "instance_pool_id", "pool-{i:05d}")
    s.tokens = many(base.tokens, "token_id", "tok-{i:05d}")
    s.experiments = many(base.experiments, "experiment_id", "{i}")
    s.registered_models = many(base.registered_models, "name", "legacy_{i}")
    s.serving_endpoints = many(base.serving_endpoints, "name", "ep-{i:05d}")
    for e in s.serving_endpoints:
        e["id"] = "id-" + e["name"]
    s.serving_permissions = {
        e["id"]: next(iter(base.serving_permissions.values())) for e in s.serving_endpoints
    }
    n_cat = 4
    s.catalogs = [{**base.catalogs[0], "name": f"cat{i}", "full_name": f"cat{i}"} for i in range(n_cat)]
    s.schemas = [
        {"name": f"s{j}", "catalog_name": f"cat{i}", "full_name": f"cat{i}.s{j}", "owner": "admins"}
        for i in range(n_cat)
        for j in range(5)
    ]
    s.tables = [
        {
            "name": f"t{k}",
            "catalog_name": sc["catalog_name"],
            "schema_name": sc["name"],
            "full_name": f"{sc['full_name']}.t{k}",
            "table_type": "MANAGED",
            "data_source_format": "DELTA",
            "owner": "etl-sp",
        }
        for sc in s.schemas
        for k in range(max(per // len(s.schemas), 1) * 2)
    ]
    s.monitors = {
        t["full_name"]: {**base.monitors["ml.features.customer_features"], "table_name": t["full_name"]}
        for t in s.tables[::3]
    }
    s.grants = {f"catalog/{c['name']}": base.grants["catalog/main"] for c in s.catalogs}
    return s


_TIME_KEY = ("time", "timestamp", "_at", "_day")


def rebase_times(state: WorkspaceState, now_ms: int) -> WorkspaceState:
    """The same workspace with every epoch-millisecond timestamp moved so that the seed's clock
    (``NOW_MS``) becomes ``now_ms``: ages and expiries stay as seeded, relative to today. The demo
    scan uses it, since it evaluates against the real clock."""
    delta = now_ms - NOW_MS

    def shift(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: shift(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [shift(v, key) for v in value]
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 10**12 <= value < 10**13
            and any(part in key for part in _TIME_KEY)
        ):
            return value + delta
        return value

    return WorkspaceState.model_validate(shift(state.model_dump(mode="json")))


SEEDS = {"demo": demo_state, "empty": WorkspaceState}


def seed(name: str) -> WorkspaceState:
    if name.startswith("bulk"):
        count = name.removeprefix("bulk").lstrip(":") or "1000"
        return bulk_state(int(count))
    if name not in SEEDS:
        raise KeyError(name)
    return SEEDS[name]()
