"""Bedrock AgentCore control plane: agent runtimes (with endpoints), gateways, memories, and the
custom browser and code interpreter tools.

Every type is listed, then read with its Get call (the list summaries carry neither network
modes nor keys). Runtime environment variables keep their names and a ``looks_like_secret`` flag,
never their values; the container image URI becomes the ECR repository ARN key that joins a
runtime to ``aws.ecr.repository``.
"""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.ecr import repository_arns
from mlguard.collect.aws.normalize import as_list, to_json
from mlguard.collect.aws.spec import Detail, Item, Options, ResourceSpec, define
from mlguard.collect.secrets import variable_flags

SERVICE = "bedrock-agentcore-control"


def _network(raw: dict[str, Any]) -> dict[str, Any]:
    network = raw.get("networkConfiguration") or {}
    vpc = network.get("networkModeConfig") or network.get("vpcConfig") or {}
    return {
        "network_mode": network.get("networkMode"),
        "subnet_ids": [str(s) for s in as_list(vpc.get("subnets"))],
        "security_group_ids": [str(g) for g in as_list(vpc.get("securityGroups"))],
    }


_NETWORK_FIELDS = ("network_mode", "subnet_ids", "security_group_ids")


def _authorizer(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """The JWT authorizer's discovery URL, audiences and clients (identifiers, not secrets)."""
    jwt = (config or {}).get("customJWTAuthorizer")
    if not isinstance(jwt, dict):
        return None
    return {
        "discovery_url": jwt.get("discoveryUrl"),
        "allowed_audience": [str(a) for a in as_list(jwt.get("allowedAudience"))],
        "allowed_clients": [str(c) for c in as_list(jwt.get("allowedClients"))],
    }


def _runtime(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    artifact = raw.get("agentRuntimeArtifact") or {}
    container = (artifact.get("containerConfiguration") or {}).get("containerUri")
    env = variable_flags(raw.get("environmentVariables"))
    jwt = _authorizer(raw.get("authorizerConfiguration"))
    data: dict[str, Any] = {
        "agent_runtime_version": raw.get("agentRuntimeVersion"),
        "status": raw.get("status"),
        "description": raw.get("description") or None,
        "last_updated_at": to_json(raw.get("lastUpdatedAt")),
        "role_arn": raw.get("roleArn"),
        **_network(raw),
        "artifact_type": "container"
        if container
        else ("code" if artifact.get("codeConfiguration") else None),
        "container_uri": container,
        "images": [container] if container else [],
        "ecr_repository_arns": repository_arns([container]),
        # Without a JWT authorizer, AgentCore authorises InvokeAgentRuntime with IAM (SigV4).
        "authorizer_type": "CUSTOM_JWT" if jwt else "AWS_IAM",
        "authorizer": jwt,
        "protocol": (raw.get("protocolConfiguration") or {}).get("serverProtocol"),
        "idle_session_timeout": (raw.get("lifecycleConfiguration") or {}).get("idleRuntimeSessionTimeout"),
        "max_lifetime": (raw.get("lifecycleConfiguration") or {}).get("maxLifetime"),
        "environment_variables": env,
        "secret_like_variables": [v["name"] for v in env if v["looks_like_secret"]],
    }
    if "Endpoints" in raw:
        data["endpoints"] = [
            {
                "name": e.get("name"),
                "arn": e.get("agentRuntimeEndpointArn"),
                "status": e.get("status"),
                "live_version": e.get("liveVersion"),
                "target_version": e.get("targetVersion"),
            }
            for e in as_list(raw.get("Endpoints"))
        ]
    return data


def _gateway(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    authorizer_type = raw.get("authorizerType")
    return {
        "status": raw.get("status"),
        "description": raw.get("description") or None,
        "protocol_type": raw.get("protocolType"),
        "authorizer_type": authorizer_type,
        "requires_inbound_authorization": None if authorizer_type is None else authorizer_type != "NONE",
        "authorizer": _authorizer(raw.get("authorizerConfiguration")),
        "kms_key_arn": raw.get("kmsKeyArn") or None,
        "role_arn": raw.get("roleArn"),
        "gateway_url": raw.get("gatewayUrl"),
        "exception_level": raw.get("exceptionLevel"),
        "updated_at": to_json(raw.get("updatedAt")),
    }


def _memory(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    return {
        "status": raw.get("status"),
        "description": raw.get("description") or None,
        "encryption_key_arn": raw.get("encryptionKeyArn") or None,
        "memory_execution_role_arn": raw.get("memoryExecutionRoleArn"),
        "event_expiry_duration": raw.get("eventExpiryDuration"),
        "strategy_types": sorted(
            {str(s.get("type")) for s in as_list(raw.get("strategies")) if s.get("type")}
        ),
        "updated_at": to_json(raw.get("updatedAt")),
    }


def _browser(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    recording = raw.get("recording") or {}
    location = recording.get("s3Location") or {}
    return {
        "status": raw.get("status"),
        "description": raw.get("description") or None,
        "execution_role_arn": raw.get("executionRoleArn"),
        **_network(raw),
        "recording_enabled": bool(recording.get("enabled", False)),
        "recording_s3_bucket": location.get("bucket"),
        "recording_s3_prefix": location.get("prefix"),
        "browser_signing_enabled": bool((raw.get("browserSigning") or {}).get("enabled", False)),
    }


def _code_interpreter(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    return {
        "status": raw.get("status"),
        "description": raw.get("description") or None,
        "execution_role_arn": raw.get("executionRoleArn"),
        **_network(raw),
    }


def _arn(kind: str) -> str:
    return "arn:{partition}:bedrock-agentcore:{region}:{account}:" + kind + "/{id}"


define(
    ResourceSpec(
        type="aws.agentcore.runtime",
        family="agentcore",
        service=SERVICE,
        operation="list_agent_runtimes",
        items="agentRuntimes",
        id="agentRuntimeId",
        name="agentRuntimeName",
        arn="agentRuntimeArn",
        arn_template=_arn("runtime"),
        normalize=_runtime,
        details=(
            Detail(
                operation="get_agent_runtime",
                params=lambda r: {"agentRuntimeId": r["agentRuntimeId"]},
                attributes=(
                    *_NETWORK_FIELDS,
                    "role_arn",
                    "artifact_type",
                    "container_uri",
                    "images",
                    "ecr_repository_arns",
                    "authorizer_type",
                    "authorizer",
                    "protocol",
                    "idle_session_timeout",
                    "max_lifetime",
                    "environment_variables",
                    "secret_like_variables",
                ),
            ),
            Detail(
                operation="list_agent_runtime_endpoints",
                params=lambda r: {"agentRuntimeId": r["agentRuntimeId"]},
                items="runtimeEndpoints",
                into="Endpoints",
                attributes=("endpoints",),
            ),
        ),
    ),
    ResourceSpec(
        type="aws.agentcore.gateway",
        family="agentcore",
        service=SERVICE,
        operation="list_gateways",
        items="items",
        id="gatewayId",
        name="name",
        arn="gatewayArn",
        arn_template=_arn("gateway"),
        normalize=_gateway,
        details=(
            Detail(
                operation="get_gateway",
                params=lambda r: {"gatewayIdentifier": r["gatewayId"]},
                attributes=("authorizer", "kms_key_arn", "role_arn", "gateway_url", "exception_level"),
            ),
        ),
    ),
    ResourceSpec(
        type="aws.agentcore.memory",
        family="agentcore",
        service=SERVICE,
        operation="list_memories",
        items="memories",
        id="id",
        name="name",
        arn="arn",
        arn_template=_arn("memory"),
        normalize=_memory,
        details=(
            Detail(
                operation="get_memory",
                params=lambda r: {"memoryId": r["id"]},
                select="memory",
                attributes=(
                    "description",
                    "encryption_key_arn",
                    "memory_execution_role_arn",
                    "event_expiry_duration",
                    "strategy_types",
                ),
            ),
        ),
    ),
    ResourceSpec(
        type="aws.agentcore.browser",
        family="agentcore",
        service=SERVICE,
        operation="list_browsers",
        params=lambda o: [{"type": "CUSTOM"}],  # the AWS-managed aws.browser.v1 is not configurable
        items="browserSummaries",
        id="browserId",
        name="name",
        arn="browserArn",
        arn_template=_arn("browser-custom"),
        normalize=_browser,
        details=(
            Detail(
                operation="get_browser",
                params=lambda r: {"browserId": r["browserId"]},
                attributes=(
                    "execution_role_arn",
                    *_NETWORK_FIELDS,
                    "recording_enabled",
                    "recording_s3_bucket",
                    "recording_s3_prefix",
                    "browser_signing_enabled",
                ),
            ),
        ),
    ),
    ResourceSpec(
        type="aws.agentcore.code_interpreter",
        family="agentcore",
        service=SERVICE,
        operation="list_code_interpreters",
        params=lambda o: [{"type": "CUSTOM"}],  # the AWS-managed aws.codeinterpreter.v1 likewise
        items="codeInterpreterSummaries",
        id="codeInterpreterId",
        name="name",
        arn="codeInterpreterArn",
        arn_template=_arn("code-interpreter-custom"),
        normalize=_code_interpreter,
        details=(
            Detail(
                operation="get_code_interpreter",
                params=lambda r: {"codeInterpreterId": r["codeInterpreterId"]},
                attributes=("execution_role_arn", *_NETWORK_FIELDS),
            ),
        ),
    ),
)
