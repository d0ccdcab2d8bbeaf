"""API Gateway REST APIs with stages (logging, throttling, WAF), authorizers and method auth."""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.normalize import as_list, policy_document, to_json
from mlguard.collect.aws.policydoc import public_statements
from mlguard.collect.aws.spec import Caller, Detail, Item, Options, ResourceSpec, define


def _methods(caller: Caller, raw: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for page in caller.pages("apigateway", "get_resources", restApiId=raw["id"], embed=["methods"]):
        for resource in page.get("items", []):
            for verb, method in (resource.get("resourceMethods") or {}).items():
                out.append(
                    {
                        "path": resource.get("path"),
                        "http_method": verb,
                        "authorization_type": method.get("authorizationType"),
                        "authorizer_id": method.get("authorizerId"),
                        "api_key_required": bool(method.get("apiKeyRequired", False)),
                    }
                )
    return out


def _stage(stage: dict[str, Any]) -> dict[str, Any]:
    settings = (stage.get("methodSettings") or {}).get("*/*") or {}
    access = stage.get("accessLogSettings") or {}
    return {
        "stage_name": stage.get("stageName"),
        "deployment_id": stage.get("deploymentId"),
        "web_acl_arn": stage.get("webAclArn"),
        "waf_enabled": bool(stage.get("webAclArn")),
        "access_logging": bool(access.get("destinationArn")),
        "access_log_destination": access.get("destinationArn"),
        "execution_logging_level": settings.get("loggingLevel", "OFF"),
        "data_trace_enabled": bool(settings.get("dataTraceEnabled", False)),
        "metrics_enabled": bool(settings.get("metricsEnabled", False)),
        "throttling_rate_limit": settings.get("throttlingRateLimit"),
        "throttling_burst_limit": settings.get("throttlingBurstLimit"),
        "caching_enabled": bool(settings.get("cachingEnabled", False)),
        "cache_cluster_enabled": bool(stage.get("cacheClusterEnabled", False)),
        "tracing_enabled": bool(stage.get("tracingEnabled", False)),
        "client_certificate_id": stage.get("clientCertificateId"),
    }


def _api(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    text = raw.get("policy")  # API Gateway returns the resource policy as an escaped JSON string
    policy = policy_document(text.replace('\\"', '"')) if isinstance(text, str) and text else None
    data: dict[str, Any] = {
        "description": raw.get("description"),
        "created_date": to_json(raw.get("createdDate")),
        "endpoint_types": as_list((raw.get("endpointConfiguration") or {}).get("types")),
        "api_key_source": raw.get("apiKeySource"),
        "disable_execute_api_endpoint": bool(raw.get("disableExecuteApiEndpoint", False)),
        "policy": policy,
        "policy_public": bool(public_statements(policy)),
    }
    if "Stages" in raw:
        data["stages"] = [_stage(s) for s in as_list(raw.get("Stages"))]
    if "Authorizers" in raw:
        data["authorizers"] = [
            {"authorizer_id": a.get("id"), "authorizer_name": a.get("name"), "authorizer_type": a.get("type")}
            for a in as_list(raw.get("Authorizers"))
        ]
    if "Methods" in raw:
        methods = raw["Methods"]
        data["methods"] = methods
        data["unauthenticated_methods"] = [
            f"{m['http_method']} {m['path']}"
            for m in methods
            if m["authorization_type"] in (None, "NONE")
            and not m["api_key_required"]
            and m["http_method"] != "OPTIONS"
        ]
    return data


define(
    ResourceSpec(
        type="aws.apigateway.rest_api",
        family="apigateway",
        service="apigateway",
        operation="get_rest_apis",
        items="items",
        id="id",
        name="name",
        arn_template="arn:{partition}:apigateway:{region}::/restapis/{id}",
        tags="tags",
        normalize=_api,
        details=(
            Detail(
                operation="get_stages",
                params=lambda r: {"restApiId": r["id"]},
                select="item",
                into="Stages",
                attributes=("stages",),
            ),
            Detail(
                operation="get_authorizers",
                params=lambda r: {"restApiId": r["id"]},
                select="items",
                into="Authorizers",
                attributes=("authorizers",),
            ),
            Detail(
                operation="get_resources",
                fetch=_methods,
                into="Methods",
                attributes=("methods", "unauthenticated_methods"),
            ),
        ),
    ),
)
