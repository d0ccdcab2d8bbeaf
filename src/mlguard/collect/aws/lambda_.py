"""Lambda functions: runtime, VPC, resource policy, environment variable names (never values)."""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.normalize import as_list, policy_document, to_json
from mlguard.collect.aws.policydoc import public_statements
from mlguard.collect.aws.spec import Detail, Item, Options, ResourceSpec, Unknown, define
from mlguard.collect.facts import end_of_support_table, runtime_support
from mlguard.collect.secrets import variable_flags


def _function(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    env = variable_flags((raw.get("Environment") or {}).get("Variables"))
    vpc = raw.get("VpcConfig") or {}
    data: dict[str, Any] = {
        "runtime": raw.get("Runtime"),
        "handler": raw.get("Handler"),
        "package_type": raw.get("PackageType"),
        "architectures": as_list(raw.get("Architectures")),
        "role": raw.get("Role"),
        "memory_size": raw.get("MemorySize"),
        "timeout": raw.get("Timeout"),
        "last_modified": raw.get("LastModified"),
        "kms_key_arn": raw.get("KMSKeyArn"),
        "tracing_mode": (raw.get("TracingConfig") or {}).get("Mode"),
        "dead_letter_target_arn": (raw.get("DeadLetterConfig") or {}).get("TargetArn"),
        "in_vpc": bool(vpc.get("SubnetIds")),
        "vpc_id": vpc.get("VpcId") or None,
        "subnet_ids": as_list(vpc.get("SubnetIds")),
        "security_group_ids": as_list(vpc.get("SecurityGroupIds")),
        "environment_variables": env,
        "secret_like_variables": [v["name"] for v in env if v["looks_like_secret"]],
        "layers": [layer.get("Arn") for layer in as_list(raw.get("Layers"))],
        "state": raw.get("State"),
        "logging_config": to_json(raw.get("LoggingConfig") or {}),
    }
    data["runtime_support"] = runtime_support("lambda", raw.get("Runtime"))
    if data["runtime_support"] is None and raw.get("PackageType") != "Image":
        item.unknown.append(
            Unknown(
                operation=("lambda", "list_functions"),
                code="UnknownRuntime",
                message=f"no end-of-support date for Lambda runtime {raw.get('Runtime')}: mlguard's "
                f"table (as of {end_of_support_table().as_of}) does not know it",
                attributes=("runtime_support",),
            )
        )
    if "Policy" in raw:
        policy = policy_document(raw.get("Policy"))
        data["policy"] = policy
        data["publicly_invocable"] = any(
            public_statements(policy, action)
            for action in ("lambda:InvokeFunction", "lambda:InvokeFunctionUrl")
        )
    return data


define(
    ResourceSpec(
        type="aws.lambda.function",
        family="lambda",
        service="lambda",
        operation="list_functions",
        items="Functions",
        id="FunctionName",
        name="FunctionName",
        arn="FunctionArn",
        normalize=_function,
        details=(
            Detail(
                operation="get_policy",
                params=lambda r: {"FunctionName": r["FunctionName"]},
                select="Policy",
                into="Policy",
                absent_codes=frozenset({"ResourceNotFoundException"}),
                attributes=("policy", "publicly_invocable"),
            ),
        ),
    ),
)
