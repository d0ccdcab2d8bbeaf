"""Compute: clusters, cluster policies, instance pools, SQL warehouses.

GPU facts come from the workspace's own node-type list (``clusters.list_node_types``) refined by
mlguard's dated accelerator table, which also stands in when the list cannot be read or lacks a
type; runtime facts from ``clusters.spark_versions`` (a runtime the workspace no longer offers is
deprecated) and from the dated end-of-support table (``runtime_support``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from mlguard.collect.databricks import object_acls
from mlguard.collect.databricks._common import TRANSIENT_ERRORS, WorkspaceContext, ms_to_iso
from mlguard.collect.databricks.engine import run_family
from mlguard.collect.databricks.spec import FamilySpec, Item, Prelude, ResourceSpec
from mlguard.collect.facts import (
    UnknownInstanceType,
    UnknownRuntime,
    accelerator_table,
    end_of_support_table,
    instance_type_facts,
    runtime_support,
)
from mlguard.collect.secrets import REDACTED, credential_key, redact_mapping

CLUSTER = "databricks.cluster"
POLICY = "databricks.cluster_policy"
POOL = "databricks.instance_pool"
WAREHOUSE = "databricks.sql_warehouse"
TYPES = (CLUSTER, POLICY, POOL, WAREHOUSE)


class NodeTypes:
    """Node-type facts, read once per workspace when a type that needs them is collected."""

    def __init__(self, ctx: WorkspaceContext) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self.error: BaseException | None = None
        try:
            resp = ctx.get("/api/2.1/clusters/list-node-types")
            self.by_id = {n["node_type_id"]: n for n in resp.get("node_types") or [] if "node_type_id" in n}
        except TRANSIENT_ERRORS as exc:  # recorded per resource by the caller (gpu attribute)
            self.error = exc

    def gpu(self, node_type_id: str | None) -> dict[str, Any] | None:
        """GPU facts of a node type: the workspace's list refined by mlguard's dated table (GPU
        model and memory), the table alone when the list could not be read or lacks the type.
        None when neither knows it: unknown, never "not a GPU"."""
        node = self.by_id.get(node_type_id or "")
        table = instance_type_facts(node_type_id)
        if node is not None:
            gpus = node.get("num_gpus") or 0
            return {
                "node_type_id": node_type_id,
                "known": True,
                "num_gpus": gpus,
                "is_gpu": gpus > 0,
                "gpu_model": (table or {}).get("gpu_model") if gpus else None,
                "gpu_memory_mib": (table or {}).get("gpu_memory_mib") if gpus else None,
                "category": node.get("category"),
                "memory_mb": node.get("memory_mb"),
                "num_cores": node.get("num_cores"),
                "source": "list-node-types",
            }
        if table is None:
            return None
        return {
            "node_type_id": node_type_id,
            "known": True,
            "num_gpus": table["gpu_count"],
            "is_gpu": table["is_gpu"],
            "gpu_model": table["gpu_model"],
            "gpu_memory_mib": table["gpu_memory_mib"],
            "source": table["source"],
        }

    def unknown(self, node_type_id: str | None) -> BaseException:
        """Why the GPU facts of ``node_type_id`` are unknown (for the collection error)."""
        if self.error is not None:
            return self.error
        return UnknownInstanceType(
            f"node type {node_type_id} is neither in the workspace's list-node-types nor in "
            f"mlguard's accelerator table (as of {accelerator_table().as_of})"
        )


def single_node(cluster: dict[str, Any]) -> bool:
    """A single-node cluster (driver only): it cannot autoscale. The newer API says so with
    ``is_single_node``; older clusters with zero workers plus the singleNode profile or the
    ``ResourceClass: SingleNode`` tag."""
    if cluster.get("is_single_node") is True:
        return True
    if cluster.get("autoscale") or cluster.get("num_workers") not in (0, None):
        return False
    profile = (cluster.get("spark_conf") or {}).get("spark.databricks.cluster.profile")
    return profile == "singleNode" or (cluster.get("custom_tags") or {}).get("ResourceClass") == "SingleNode"


def runtime_facts(key: str | None, supported: set[str] | None) -> dict[str, Any]:
    key = key or ""
    version = re.match(r"^(\d+)\.(\d+|x)", key)
    return {
        "key": key or None,
        "major": int(version.group(1)) if version else None,
        "minor": int(version.group(2)) if version and version.group(2).isdigit() else None,
        "ml": "-ml-" in key,
        "gpu": "-gpu-" in key,
        "photon": "photon" in key,
        # None when the list could not be read: unknown, not "supported".
        "deprecated": None if supported is None else key not in supported,
    }


def _init_scripts(scripts: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for script in scripts or []:
        for kind, spec in script.items():
            dest = spec.get("destination") if isinstance(spec, dict) else None
            out.append({"type": kind, "destination": dest})
    return out


def _log_conf(conf: dict[str, Any] | None) -> dict[str, Any] | None:
    """Where cluster logs are delivered ({"s3": {"destination": ...}} -> type and destination);
    None when delivery is not configured."""
    for kind, spec in (conf or {}).items():
        if isinstance(spec, dict) and spec.get("destination"):
            return {"type": kind, "destination": spec["destination"]}
    return None


def _gpu_error(ctx: WorkspaceContext, rtype: str, uid: str, nodes: NodeTypes, node_type_id: Any) -> None:
    ctx.record(
        rtype,
        nodes.unknown(node_type_id),
        operation="GET /api/2.1/clusters/list-node-types",
        resource_uid=uid,
        attributes=["gpu", "driver_gpu", "is_gpu"] if rtype == CLUSTER else ["gpu", "is_gpu"],
    )


def _cluster_is_gpu(gpu: dict[str, Any] | None, driver: dict[str, Any] | None) -> bool | None:
    """GPU when the workers or the driver have GPUs; unknown when one side is unknown and the
    other has none."""
    if (gpu or {}).get("is_gpu") or (driver or {}).get("is_gpu"):
        return True
    if gpu is None or driver is None:
        return None
    return False


def _spark_versions(ctx: WorkspaceContext) -> tuple[set[str] | None, BaseException | None]:
    """The runtimes the workspace offers (None and the error when the list cannot be read)."""
    try:
        resp = ctx.get("/api/2.1/clusters/spark-versions")
    except TRANSIENT_ERRORS as exc:
        return None, exc
    return {v["key"] for v in resp.get("versions") or [] if "key" in v}, None


def _cluster(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    nodes: NodeTypes = pre["node_types"]
    supported, versions_error = pre["spark_versions"]
    c = item.raw
    conf, conf_secrets = redact_mapping(c.get("spark_conf"))
    env, env_secrets = redact_mapping(c.get("spark_env_vars"))
    autoscale = c.get("autoscale")
    gpu = nodes.gpu(c.get("node_type_id"))
    driver_gpu = nodes.gpu(c.get("driver_node_type_id") or c.get("node_type_id"))
    data: dict[str, Any] = {
        "cluster_name": c.get("cluster_name"),
        "state": c.get("state"),
        "cluster_source": c.get("cluster_source"),
        "creator_user_name": c.get("creator_user_name"),
        "single_user_name": c.get("single_user_name"),
        "spark_version": c.get("spark_version"),
        "runtime": runtime_facts(c.get("spark_version"), supported),
        "runtime_support": runtime_support("databricks_runtime", c.get("spark_version")),
        "node_type_id": c.get("node_type_id"),
        "driver_node_type_id": c.get("driver_node_type_id"),
        "gpu": gpu,
        "driver_gpu": driver_gpu,
        "is_gpu": _cluster_is_gpu(gpu, driver_gpu),
        "single_node": single_node(c),
        "autotermination_minutes": c.get("autotermination_minutes", 0),
        "autoscale": {
            "min_workers": autoscale.get("min_workers"),
            "max_workers": autoscale.get("max_workers"),
        }
        if autoscale
        else None,
        "num_workers": c.get("num_workers"),
        "fixed_size": autoscale is None,
        "policy_id": c.get("policy_id"),
        "instance_pool_id": c.get("instance_pool_id"),
        "driver_instance_pool_id": c.get("driver_instance_pool_id"),
        "data_security_mode": c.get("data_security_mode"),
        "enable_local_disk_encryption": bool(c.get("enable_local_disk_encryption", False)),
        "init_scripts": _init_scripts(c.get("init_scripts")),
        "cluster_log_conf": _log_conf(c.get("cluster_log_conf")),
        "custom_tags": c.get("custom_tags") or {},
        "spark_conf": conf,
        "spark_env_vars": env,
        "spark_conf_plaintext_secrets": bool(conf_secrets),
        "env_plaintext_secrets": bool(env_secrets),
        "plaintext_secret_keys": conf_secrets + env_secrets,
        "aws_attributes": {
            k: v
            for k, v in (c.get("aws_attributes") or {}).items()
            if k
            in {
                "availability",
                "zone_id",
                "first_on_demand",
                "spot_bid_price_percent",
                "ebs_volume_type",
                "instance_profile_arn",
            }
        },
        "started_at": ms_to_iso(c.get("start_time")),
        "last_restarted_at": ms_to_iso(c.get("last_restarted_time")),
        "terminated_at": ms_to_iso(c.get("terminated_time")),
    }
    item.data, item.tags = data, c.get("custom_tags")
    if data["is_gpu"] is None:
        unknown = c.get("node_type_id") if gpu is None else c.get("driver_node_type_id")
        _gpu_error(ctx, CLUSTER, item.uid, nodes, unknown)
    if data["runtime_support"] is None:
        ctx.record(
            CLUSTER,
            UnknownRuntime(
                f"no end-of-support date for Databricks Runtime {c.get('spark_version')}: "
                f"mlguard's table (as of {end_of_support_table().as_of}) does not know it"
            ),
            operation="GET /api/2.1/clusters/list",
            resource_uid=item.uid,
            attributes=["runtime_support"],
        )
    if versions_error is not None:
        ctx.record(
            CLUSTER,
            versions_error,
            operation="GET /api/2.1/clusters/spark-versions",
            resource_uid=item.uid,
            attributes=["runtime"],
        )


def policy_enforcement(definition: dict[str, Any]) -> dict[str, Any]:
    """What a cluster policy definition enforces, in the terms policies ask about."""

    def rule(path: str) -> dict[str, Any]:
        value = definition.get(path)
        return value if isinstance(value, dict) else {}

    def upper(path: str) -> Any:
        r = rule(path)
        if r.get("type") == "fixed":
            return r.get("value")
        if r.get("type") == "range":
            return r.get("maxValue")
        return None

    auto = rule("autotermination_minutes")
    node = rule("node_type_id")
    max_workers = upper("autoscale.max_workers")
    if max_workers is None:
        max_workers = upper("num_workers")
    return {
        "autotermination_enforced": auto.get("type") in {"fixed", "range"}
        and not (auto.get("type") == "fixed" and auto.get("value") == 0),
        "autotermination_max_minutes": upper("autotermination_minutes"),
        "autotermination_hidden": bool(auto.get("hidden")),
        "node_type_rule": node.get("type"),
        "node_types_allowed": node.get("values")
        if node.get("type") == "allowlist"
        else ([node["value"]] if node.get("type") == "fixed" and "value" in node else None),
        "max_workers": max_workers,
        "fixed_custom_tags": sorted(
            k.removeprefix("custom_tags.")
            for k, v in definition.items()
            if k.startswith("custom_tags.") and isinstance(v, dict) and v.get("type") == "fixed"
        ),
        "data_security_mode": rule("data_security_mode").get("value")
        or rule("data_security_mode").get("values"),
    }


def _redact_definition(definition: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    out: dict[str, Any] = {}
    found = False
    for path, spec in definition.items():
        if not (isinstance(spec, dict) and path.startswith(("spark_conf.", "spark_env_vars."))):
            out[path] = spec
            continue
        leaf = path.split(".", 1)[1]
        red, secrets = redact_mapping({leaf: spec.get("value", spec.get("defaultValue", ""))})
        found = found or bool(secrets)
        out[path] = {
            k: (
                red[leaf]
                if k in {"value", "defaultValue"}
                else ([REDACTED] if k == "values" and credential_key(leaf) else v)
            )
            for k, v in spec.items()
        }
    return out, found


def _policy(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    p = item.raw
    raw = p.get("definition") or "{}"
    try:
        definition = json.loads(raw) if isinstance(raw, str) else dict(raw)
        parse_error = None
    except ValueError as exc:
        definition, parse_error = {}, str(exc)
    definition, secrets = _redact_definition(definition)
    item.data = {
        "policy_name": p.get("name"),
        "creator_user_name": p.get("creator_user_name"),
        "created_at": ms_to_iso(p.get("created_at_timestamp")),
        "policy_family_id": p.get("policy_family_id"),
        "is_default": p.get("is_default"),
        "max_clusters_per_user": p.get("max_clusters_per_user"),
        "definition": definition,
        "definition_parse_error": parse_error,
        "definition_plaintext_secrets": secrets,
        "enforces": policy_enforcement(definition),
    }


def _pool(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    nodes: NodeTypes = pre["node_types"]
    p = item.raw
    gpu = nodes.gpu(p.get("node_type_id"))
    item.data = {
        "instance_pool_name": p.get("instance_pool_name"),
        "state": p.get("state"),
        "node_type_id": p.get("node_type_id"),
        "gpu": gpu,
        "is_gpu": None if gpu is None else gpu.get("is_gpu"),
        "min_idle_instances": p.get("min_idle_instances", 0),
        "max_capacity": p.get("max_capacity"),
        "idle_instance_autotermination_minutes": p.get("idle_instance_autotermination_minutes"),
        "preloaded_spark_versions": p.get("preloaded_spark_versions") or [],
        "custom_tags": p.get("custom_tags") or {},
        "enable_elastic_disk": p.get("enable_elastic_disk"),
    }
    item.tags = p.get("custom_tags")
    if gpu is None:
        _gpu_error(ctx, POOL, item.uid, nodes, p.get("node_type_id"))


def _warehouse(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    w = item.raw
    tags = {t.get("key"): t.get("value") for t in (w.get("tags") or {}).get("custom_tags") or []}
    item.data = {
        "warehouse_name": w.get("name"),
        "state": w.get("state"),
        "cluster_size": w.get("cluster_size"),
        "min_num_clusters": w.get("min_num_clusters"),
        "max_num_clusters": w.get("max_num_clusters"),
        "auto_stop_mins": w.get("auto_stop_mins", 0),
        "enable_serverless_compute": bool(w.get("enable_serverless_compute", False)),
        "warehouse_type": w.get("warehouse_type"),
        "spot_instance_policy": w.get("spot_instance_policy"),
        "enable_photon": w.get("enable_photon"),
        "channel": (w.get("channel") or {}).get("name"),
        "creator_name": w.get("creator_name"),
        "custom_tags": tags,
    }
    item.tags = tags


NODE_TYPES = Prelude(
    name="node_types",
    routes=("GET /api/2.1/clusters/list-node-types",),
    sdk_calls=("clusters.list_node_types",),
    read=NodeTypes,
)
SPARK_VERSIONS = Prelude(
    name="spark_versions",
    routes=("GET /api/2.1/clusters/spark-versions",),
    sdk_calls=("clusters.spark_versions",),
    read=_spark_versions,
    in_section=True,
)

FAMILY = FamilySpec(
    name="compute",
    specs=(
        ResourceSpec(
            type=CLUSTER,
            family="compute",
            list_route="GET /api/2.1/clusters/list",
            list_sdk_call="clusters.list",
            items="clusters",
            id=lambda c: str(c.get("cluster_id")),
            name=lambda c: c.get("cluster_name"),
            normalize=_cluster,
            preludes=(NODE_TYPES, SPARK_VERSIONS),
            after=(object_acls.acl_detail("clusters"),),
            requires="workspace-access (users see clusters they can attach to); CAN_MANAGE to read its "
            "permissions",
            without_admin="non-admins only see clusters with CAN_ATTACH_TO or higher: the inventory is "
            "partial; unreadable permissions are an attribute error (acl...)",
        ),
        ResourceSpec(
            type=POLICY,
            family="compute",
            list_route="GET /api/2.0/policies/clusters/list",
            list_sdk_call="cluster_policies.list",
            items="policies",
            id=lambda p: str(p.get("policy_id")),
            name=lambda p: p.get("name"),
            normalize=_policy,
            requires="workspace-access",
            without_admin="non-admins only see policies they may use",
        ),
        ResourceSpec(
            type=POOL,
            family="compute",
            list_route="GET /api/2.0/instance-pools/list",
            list_sdk_call="instance_pools.list",
            items="instance_pools",
            id=lambda p: str(p.get("instance_pool_id")),
            name=lambda p: p.get("instance_pool_name"),
            normalize=_pool,
            preludes=(NODE_TYPES,),
            requires="workspace-access",
            without_admin="non-admins only see pools they can attach to",
        ),
        ResourceSpec(
            type=WAREHOUSE,
            family="compute",
            list_route="GET /api/2.0/sql/warehouses",
            list_sdk_call="warehouses.list",
            items="warehouses",
            id=lambda w: str(w.get("id")),
            name=lambda w: w.get("name"),
            normalize=_warehouse,
            after=(object_acls.acl_detail("warehouses"),),
            requires="workspace-access + databricks-sql-access; CAN_MANAGE to read a warehouse's permissions",
            without_admin="non-admins only see warehouses with CAN_USE or higher; unreadable permissions "
            "are an attribute error (acl...)",
        ),
    ),
)


def collect(ctx: WorkspaceContext) -> None:
    run_family(ctx, FAMILY)
