"""Model serving endpoints, read as raw JSON through the SDK's ``api_client.do``: the typed
classes turn an enum value they do not know (a new GPU workload type) into None."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from mlguard.collect.databricks import object_acls
from mlguard.collect.databricks._common import WorkspaceContext, ms_to_iso
from mlguard.collect.databricks.engine import run_family
from mlguard.collect.databricks.spec import Detail, FamilySpec, Item, ResourceSpec
from mlguard.collect.secrets import variable_flags

ENDPOINT = "databricks.serving_endpoint"
TYPES = (ENDPOINT,)

_DETAIL_ATTRIBUTES = [
    "served_entities",
    "has_gpu",
    "gpu_without_scale_to_zero",
    "all_scale_to_zero",
    "provisioned_throughput",
    "auto_capture",
    "inference_table_enabled",
    "inference_table_names",
    "ai_gateway",
    "route_optimized",
    "traffic_routes",
]


# The SDK's ServingModelWorkloadType (databricks-sdk 0.x, "keep in sync with
# InferenceEndpointEntities.scala"): True for a GPU type, False for a CPU type. A type not in this
# table (a newer one) is unknown, never "not a GPU"; no workload type at all is the CPU default.
_WORKLOAD_GPU: dict[str, bool] = {
    "CPU": False,
    "CPU_MEDIUM": False,
    "CPU_LARGE": False,
    "GPU_SMALL": True,
    "GPU_MEDIUM": True,
    "GPU_LARGE": True,
    "GPU_XLARGE": True,
    "GPU_XLARGE_8": True,
    "MULTIGPU_MEDIUM": True,
}
_GPU_ATTRIBUTES = ["has_gpu", "gpu_without_scale_to_zero"]
# Of the endpoint permission levels (CAN_VIEW, CAN_QUERY, CAN_MANAGE) those that can query it.
_QUERY_LEVELS = frozenset({"CAN_QUERY", "CAN_MANAGE"})


class UnknownWorkloadTypeError(ValueError):
    """A served entity's workload type is not one mlguard knows as CPU or GPU."""


def _is_gpu(workload: Any) -> bool | None:
    if workload is None or workload == "":
        return False
    return _WORKLOAD_GPU.get(str(workload).upper())


def _any_gpu(entities: list[dict[str, Any]], *, without_scale_to_zero: bool = False) -> bool | None:
    """True if a (matching) entity is a GPU, False if none is, None if unknown decides it."""
    relevant = [e for e in entities if not (without_scale_to_zero and e["scale_to_zero_enabled"])]
    if any(e["gpu"] is True for e in relevant):
        return True
    if any(e["gpu"] is None for e in relevant):
        return None
    return False


# A SageMaker endpoint's invocation URL, the custom provider URL of an external model that fronts it.
_SAGEMAKER_URL = re.compile(
    r"https://runtime\.sagemaker\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/endpoints/([A-Za-z0-9-]{1,63})/invocations/?"
)


_PROFILE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):instance-profile/.+")


def aws_backend(external: dict[str, Any] | None) -> dict[str, Any]:
    """The AWS service an external model calls: the SageMaker endpoint (name, region) a custom
    provider URL invokes, or the region of an Amazon Bedrock provider and, when it calls Bedrock
    through an instance profile, that profile's AWS account (with access keys it is unknown)."""
    external = external or {}
    url = str((external.get("custom_provider_config") or {}).get("custom_provider_url") or "")
    found = _SAGEMAKER_URL.fullmatch(url.strip())
    bedrock = (
        (external.get("amazon_bedrock_config") or {}) if external.get("provider") == "amazon-bedrock" else {}
    )
    profile = _PROFILE_ARN.fullmatch(str(bedrock.get("instance_profile_arn") or ""))
    return {
        "sagemaker_endpoint": found.group(2) if found else None,
        "sagemaker_region": found.group(1) if found else None,
        "bedrock_region": bedrock.get("aws_region"),
        "bedrock_account": profile.group(1) if profile else None,
    }


def _entity(se: dict[str, Any]) -> dict[str, Any]:
    workload = se.get("workload_type")
    external = se.get("external_model")
    foundation = se.get("foundation_model")
    max_pt = se.get("max_provisioned_throughput")
    return {
        "name": se.get("name"),
        "entity_name": se.get("entity_name") or se.get("model_name"),
        "entity_version": se.get("entity_version") or se.get("model_version"),
        "workload_type": workload,
        "workload_size": se.get("workload_size"),
        "gpu": _is_gpu(workload),
        "scale_to_zero_enabled": bool(se.get("scale_to_zero_enabled", False)),
        "min_provisioned_throughput": se.get("min_provisioned_throughput"),
        "max_provisioned_throughput": max_pt,
        "provisioned_throughput": bool(max_pt),
        "min_provisioned_concurrency": se.get("min_provisioned_concurrency"),
        "max_provisioned_concurrency": se.get("max_provisioned_concurrency"),
        # Provider, model and task; of the provider config (API keys) only names and secret flags.
        "external_model": {
            **{k: external.get(k) for k in ("provider", "name", "task")},
            "credentials": variable_flags(
                {k: v for c in external.values() if isinstance(c, dict) for k, v in c.items()}
            ),
        }
        if external
        else None,
        **aws_backend(external),
        "foundation_model": foundation.get("name") if isinstance(foundation, dict) else None,
        "environment_vars_count": len(se.get("environment_vars") or {}),
        "environment_vars": variable_flags(se.get("environment_vars")),
        "instance_profile_arn": se.get("instance_profile_arn"),
    }


def _gateway(gw: dict[str, Any] | None) -> dict[str, Any]:
    gw = gw or {}
    guardrails = gw.get("guardrails") or {}
    inference = gw.get("inference_table_config") or {}
    return {
        "configured": bool(gw),
        "guardrails": guardrails,
        "has_input_guardrails": bool(guardrails.get("input")),
        "has_output_guardrails": bool(guardrails.get("output")),
        "rate_limits": gw.get("rate_limits") or [],
        "has_rate_limits": bool(gw.get("rate_limits")),
        "usage_tracking_enabled": bool((gw.get("usage_tracking_config") or {}).get("enabled", False)),
        "inference_table_enabled": bool(inference.get("enabled", False)),
        "inference_table": {k: inference.get(k) for k in ("catalog_name", "schema_name", "table_name_prefix")}
        if inference
        else None,
        "fallback_enabled": bool((gw.get("fallback_config") or {}).get("enabled", False)),
    }


def _payload_table(config: dict[str, Any] | None, endpoint: str) -> str | None:
    """Full name of the inference (payload) table an enabled capture config writes to.

    Legacy auto-capture reports it under ``state.payload_table.name``; otherwise (and for AI gateway
    inference tables) it is ``<catalog>.<schema>.<prefix>_payload``, the prefix defaulting to the
    endpoint name."""
    if not config or not config.get("enabled"):
        return None
    catalog, schema = config.get("catalog_name"), config.get("schema_name")
    if not (catalog and schema):
        return None
    reported = ((config.get("state") or {}).get("payload_table") or {}).get("name")
    if reported:
        name = str(reported)
        return name if name.count(".") == 2 else f"{catalog}.{schema}.{name}"
    return f"{catalog}.{schema}.{config.get('table_name_prefix') or endpoint}_payload"


def _endpoint(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    """One endpoint: its full config comes from a detail call."""
    summary = item.raw
    name = item.ident
    ident = _object_id(summary)
    detail, ok = item.got.get("config"), item.ok("config")
    ep = detail if ok and isinstance(detail, dict) else summary
    config = ep.get("config") or ep.get("pending_config") or {}
    entities = [_entity(se) for se in config.get("served_entities") or config.get("served_models") or []]
    gateway = _gateway(ep.get("ai_gateway"))
    capture = config.get("auto_capture_config") or {}
    tags = {t.get("key"): t.get("value", "") for t in ep.get("tags") or []}
    state = ep.get("state") or {}
    data: dict[str, Any] = {
        "endpoint_id": ident,
        "creator": ep.get("creator"),
        "created_at": ms_to_iso(ep.get("creation_timestamp")),
        "updated_at": ms_to_iso(ep.get("last_updated_timestamp")),
        "ready": state.get("ready"),
        "config_update": state.get("config_update"),
        "task": ep.get("task"),
        "endpoint_tags": tags,
    }
    if ok:
        data.update(
            served_entities=entities,
            has_gpu=_any_gpu(entities),
            gpu_without_scale_to_zero=_any_gpu(entities, without_scale_to_zero=True),
            all_scale_to_zero=bool(entities) and all(e["scale_to_zero_enabled"] for e in entities),
            provisioned_throughput=any(e["provisioned_throughput"] for e in entities),
            auto_capture={
                "enabled": bool(capture.get("enabled", False)),
                "catalog_name": capture.get("catalog_name"),
                "schema_name": capture.get("schema_name"),
                "table_name_prefix": capture.get("table_name_prefix"),
            }
            if capture
            else None,
            inference_table_enabled=bool(capture.get("enabled")) or gateway["inference_table_enabled"],
            inference_table_names=sorted(
                {
                    t
                    for t in (
                        _payload_table(capture, name),
                        _payload_table((ep.get("ai_gateway") or {}).get("inference_table_config"), name),
                    )
                    if t
                }
            ),
            ai_gateway=gateway,
            route_optimized=bool(ep.get("route_optimized", False)),
            traffic_routes=(config.get("traffic_config") or {}).get("routes") or [],
        )
        unknown = sorted({str(e["workload_type"]) for e in entities if e["gpu"] is None})
        if unknown:
            blocked = [a for a in _GPU_ATTRIBUTES if data[a] is None]
            for a in blocked:
                del data[a]
            if blocked:
                ctx.record(
                    ENDPOINT,
                    UnknownWorkloadTypeError(
                        f"workload type {', '.join(unknown)} is neither a known CPU nor GPU type"
                    ),
                    operation=f"GET /api/2.0/serving-endpoints/{name}",
                    resource_uid=item.uid,
                    attributes=blocked,
                )
    item.data, item.tags = data, tags


def _object_id(summary: dict[str, Any]) -> str:
    """The endpoint's id in the permissions API (its name when the list gives none)."""
    return str(summary.get("id") or summary.get("name"))


def _read_config(ctx: WorkspaceContext, item: Item) -> dict[str, Any]:
    return ctx.get(f"/api/2.0/serving-endpoints/{quote(item.ident, safe='')}")


def _read_acl(ctx: WorkspaceContext, item: Item) -> dict[str, Any]:
    return object_acls.read_acl(ctx, "serving-endpoints", _object_id(item.raw))


def _apply_acl(data: dict[str, Any], acl: Any) -> None:
    if not isinstance(acl, dict):
        return
    summary = object_acls.acl_summary(acl)
    data.update(summary)
    data["permissions"] = [
        {k: e[k] for k in ("principal", "principal_type", "permission_levels")} for e in summary["acl"]
    ]
    data["query_principals"] = sorted(
        e["principal"] for e in summary["acl"] if _QUERY_LEVELS.intersection(e["permission_levels"])
    )


FAMILY = FamilySpec(
    name="serving",
    specs=(
        ResourceSpec(
            type=ENDPOINT,
            family="serving",
            list_route="GET /api/2.0/serving-endpoints",
            list_sdk_call="api_client.do GET serving-endpoints (raw JSON)",
            items="endpoints",
            paging="single",
            id=lambda e: str(e.get("name")),
            name=lambda e: str(e.get("name")),
            normalize=_endpoint,
            details=(
                Detail(
                    name="config",
                    routes=("GET /api/2.0/serving-endpoints/{name}",),
                    sdk_calls=("api_client.do GET serving-endpoints/{name}",),
                    attributes=tuple(_DETAIL_ATTRIBUTES),
                    fetch=_read_config,
                ),
            ),
            after=(
                Detail(
                    name="acl",
                    routes=("GET /api/2.0/permissions/serving-endpoints/{id}",),
                    sdk_calls=("api_client.do GET permissions/serving-endpoints/{id}",),
                    attributes=("permissions", "query_principals", *object_acls.ACL_ATTRIBUTES),
                    fetch=_read_acl,
                    apply=_apply_acl,
                ),
            ),
            requires="workspace-access; CAN_MANAGE on an endpoint to read its permissions",
            without_admin="endpoints the caller cannot view are missing; unreadable permissions are an "
            "attribute error",
        ),
    ),
)


def collect(ctx: WorkspaceContext) -> None:
    run_family(ctx, FAMILY)
