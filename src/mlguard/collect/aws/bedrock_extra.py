"""Amazon Bedrock resources beyond ``bedrock.py``: Prompt management prompts, Bedrock Flows, batch
inference (model invocation) jobs and the VPC endpoints of the Bedrock services.

A prompt's template text and description are free text that may hold customer data or pasted
keys; they are never kept: only the variants' names, template types and model ids are. A flow's
nodes keep their names, types, models, the resources they call and their guardrail, never a
prompt template, inline code or condition expression. Batch
jobs keep their S3 locations, output KMS key and VPC configuration, not their status messages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mlguard.collect.aws.bedrock import listed_and_got, s3_bucket_of
from mlguard.collect.aws.normalize import as_list, to_json
from mlguard.collect.aws.spec import Item, Options, ResourceSpec, define

_PROMPT_DETAIL_FIELDS = (
    "kms_key_arn",
    "default_variant",
    "variant_count",
    "variants",
)


def _prompt(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    return {
        "version": raw.get("version"),
        "created_at": to_json(raw.get("createdAt")),
        "updated_at": to_json(raw.get("updatedAt")),
        "kms_key_arn": raw.get("customerEncryptionKeyArn"),
        "default_variant": raw.get("defaultVariant"),
        "variant_count": len(as_list(raw.get("variants"))),
        "variants": [
            {"name": v.get("name"), "template_type": v.get("templateType"), "model_id": v.get("modelId")}
            for v in as_list(raw.get("variants"))
            if isinstance(v, dict)
        ],
    }


def _flow_node(node: dict[str, Any]) -> dict[str, Any]:
    """One node of a flow definition: what it runs and its guardrail (a Prompt node, inline or
    from Prompt management, and a KnowledgeBase node that generates answers (has a modelId) can
    carry a guardrail: those are ``guardrail_applicable``; a retrieve-only KnowledgeBase node
    cannot)."""
    kind = node.get("type")
    config = node.get("configuration") or {}
    prompt = config.get("prompt") or {}
    kb = config.get("knowledgeBase") or {}
    guardrail = prompt.get("guardrailConfiguration") or kb.get("guardrailConfiguration") or {}
    source = prompt.get("sourceConfiguration") or {}
    inline = source.get("inline") or {}
    model = inline.get("modelId") or kb.get("modelId")
    return {
        "name": node.get("name"),
        "type": kind,
        "guardrail_applicable": kind == "Prompt" or (kind == "KnowledgeBase" and bool(kb.get("modelId"))),
        "guardrail_identifier": guardrail.get("guardrailIdentifier"),
        "guardrail_version": guardrail.get("guardrailVersion"),
        "model_id": model,
        "prompt_arn": (source.get("resource") or {}).get("promptArn"),
        "knowledge_base_id": kb.get("knowledgeBaseId"),
        "agent_alias_arn": (config.get("agent") or {}).get("agentAliasArn"),
        "lambda_arn": (config.get("lambdaFunction") or {}).get("lambdaArn"),
    }


def _flow(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    data: dict[str, Any] = {
        "status": raw.get("status"),
        "version": raw.get("version"),
        "created_at": to_json(raw.get("createdAt")),
        "updated_at": to_json(raw.get("updatedAt")),
    }
    if "executionRoleArn" in raw:  # GetFlow was read
        nodes = [
            _flow_node(n) for n in as_list((raw.get("definition") or {}).get("nodes")) if isinstance(n, dict)
        ]
        data.update(
            {
                "execution_role_arn": raw.get("executionRoleArn"),
                "kms_key_arn": raw.get("customerEncryptionKeyArn"),
                "nodes": nodes,
                "node_count": len(nodes),
                "unguarded_nodes": sorted(
                    str(n["name"])
                    for n in nodes
                    if n["guardrail_applicable"] and not n["guardrail_identifier"]
                ),
            }
        )
    return data


_FLOW_DETAIL_FIELDS = ("execution_role_arn", "kms_key_arn", "nodes", "node_count", "unguarded_nodes")


def _recent_invocation_jobs(opts: Options) -> list[dict[str, Any]]:
    """Jobs submitted within the look-back, plus every job still queued or running whatever its age."""
    since = {"submitTimeAfter": opts.now - timedelta(days=opts.job_lookback_days)}
    return [
        since,
        {"statusEquals": "InProgress"},
        {"statusEquals": "Scheduled"},
        {"statusEquals": "Submitted"},
    ]


def _invocation_job(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    vpc = raw.get("vpcConfig") or {}
    output = (raw.get("outputDataConfig") or {}).get("s3OutputDataConfig") or {}
    input_uri = ((raw.get("inputDataConfig") or {}).get("s3InputDataConfig") or {}).get("s3Uri")
    return {
        "status": raw.get("status"),
        "model_id": raw.get("modelId"),
        "role_arn": raw.get("roleArn"),
        "submit_time": to_json(raw.get("submitTime")),
        "end_time": to_json(raw.get("endTime")),
        "input_s3_uri": input_uri,
        "output_s3_uri": output.get("s3Uri"),
        "output_kms_key_id": output.get("s3EncryptionKeyId"),
        "in_vpc": bool(vpc.get("subnetIds")),
        "subnet_ids": [str(s) for s in as_list(vpc.get("subnetIds"))],
        "security_group_ids": [str(s) for s in as_list(vpc.get("securityGroupIds"))],
        "s3_buckets": sorted({b for b in (s3_bucket_of(input_uri), s3_bucket_of(output.get("s3Uri"))) if b}),
    }


#: The Bedrock services an interface VPC endpoint can serve (control plane, runtime, agents).
BEDROCK_ENDPOINT_SERVICES = ("bedrock", "bedrock-runtime", "bedrock-agent", "bedrock-agent-runtime")


def _endpoint_filter(opts: Options) -> list[dict[str, Any]]:
    names = [f"com.amazonaws.{opts.region}.{s}" for s in BEDROCK_ENDPOINT_SERVICES]
    return [{"Filters": [{"Name": "service-name", "Values": names}]}]


def _vpc_endpoint(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    service_name = str(raw.get("ServiceName") or "")
    return {
        "service_name": service_name,
        "service": service_name.rsplit(".", 1)[-1] if service_name else None,
        "vpc_id": raw.get("VpcId"),
        "state": raw.get("State"),
        "endpoint_type": raw.get("VpcEndpointType"),
        "private_dns_enabled": raw.get("PrivateDnsEnabled"),
        "subnet_ids": [str(s) for s in as_list(raw.get("SubnetIds"))],
        "security_group_ids": [
            str(g.get("GroupId")) for g in as_list(raw.get("Groups")) if isinstance(g, dict)
        ],
    }


def _vpc(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    return {
        "vpc_id": raw.get("VpcId"),
        "state": raw.get("State"),
        "is_default": bool(raw.get("IsDefault", False)),
        "cidr_block": raw.get("CidrBlock"),
        "owner_id": raw.get("OwnerId"),
    }


define(
    # The VPCs of the region, so private Bedrock connectivity can be judged per VPC (Prowler's
    # bedrock_access_private_connectivity_enforced); defined here beside the endpoints it joins to.
    ResourceSpec(
        type="aws.ec2.vpc",
        family="ec2",
        service="ec2",
        operation="describe_vpcs",
        items="Vpcs",
        id="VpcId",
        arn_template="arn:{partition}:ec2:{region}:{account}:vpc/{id}",
        tags="Tags",
        normalize=_vpc,
    ),
    ResourceSpec(
        type="aws.bedrock.vpc_endpoint",
        family="bedrock",
        service="ec2",
        operation="describe_vpc_endpoints",
        params=_endpoint_filter,
        items="VpcEndpoints",
        id="VpcEndpointId",
        arn_template="arn:{partition}:ec2:{region}:{account}:vpc-endpoint/{id}",
        tags="Tags",
        normalize=_vpc_endpoint,
    ),
    listed_and_got(
        "prompt",
        "bedrock-agent",
        "promptSummaries",
        key="promptIdentifier",
        by="id",
        name="name",
        arn="arn",
        normalize=_prompt,
        attributes=_PROMPT_DETAIL_FIELDS,
    ),
    listed_and_got(
        "flow",
        "bedrock-agent",
        "flowSummaries",
        key="flowIdentifier",
        by="id",
        name="name",
        arn="arn",
        normalize=_flow,
        attributes=_FLOW_DETAIL_FIELDS,
    ),
    ResourceSpec(
        type="aws.bedrock.model_invocation_job",
        family="bedrock",
        service="bedrock",
        operation="list_model_invocation_jobs",
        params=_recent_invocation_jobs,
        items="invocationJobSummaries",
        id="jobArn",
        name="jobName",
        arn="jobArn",
        normalize=_invocation_job,
    ),
)
