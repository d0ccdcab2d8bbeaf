"""Amazon Bedrock resources beyond ``bedrock.py``: Prompt management prompts, batch inference
(model invocation) jobs and the VPC endpoints of the Bedrock services.

A prompt's template text and description are free text that may hold customer data or pasted
keys; they are never kept: only the variants' names, template types and model ids are. Batch
jobs keep their S3 locations, output KMS key and VPC configuration, not their status messages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mlguard.collect.aws.bedrock import s3_bucket_of
from mlguard.collect.aws.normalize import as_list, to_json
from mlguard.collect.aws.spec import Detail, Item, Options, ResourceSpec, define

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


define(
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
    ResourceSpec(
        type="aws.bedrock.prompt",
        family="bedrock",
        service="bedrock-agent",
        operation="list_prompts",
        items="promptSummaries",
        id="id",
        name="name",
        arn="arn",
        normalize=_prompt,
        details=(
            Detail(
                operation="get_prompt",
                params=lambda r: {"promptIdentifier": r["id"]},
                attributes=_PROMPT_DETAIL_FIELDS,
            ),
        ),
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
