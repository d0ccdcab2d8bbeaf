"""Prompts and batch inference jobs (collect/aws/bedrock_extra.py) against moto + moto_ext."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mlguard.demo import moto_ext
from mlguard.demo.aws_estate import flow_definition
from mlguard.model import Inventory
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from tests.collect.aws.conftest import ACCOUNT, REGION, collect
from tests.collect.aws.test_engine import failing, run_with_hooks

POLICIES = load_policy_set([(builtin_policy_dir(), "builtin")]).policies

pytestmark = pytest.mark.usefixtures("aws")

KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CANARY = "AKIAZZCANARYPROMPT01"


def test_prompts_keep_no_template_text() -> None:
    moto_ext.apply()  # moto 5.2 has no Prompt management
    agents = boto3.client("bedrock-agent", region_name=REGION)
    variant = {
        "name": "main",
        "templateType": "TEXT",
        "templateConfiguration": {"text": {"text": f"Use key {CANARY} to answer {{{{q}}}}"}},
        "modelId": "amazon.titan-text-express-v1",
    }
    agents.create_prompt(
        name="keyed", customerEncryptionKeyArn=KEY, defaultVariant="main", variants=[variant]
    )
    agents.create_prompt(
        name="plain", description=f"notes {CANARY}", variants=[variant, {**variant, "name": "alt"}]
    )

    run = collect({"aws.bedrock.prompt"})
    assert run.inventory.errors == []
    keyed = run.one("aws.bedrock.prompt", "keyed")
    assert keyed.uid.startswith(f"arn:aws:bedrock:{REGION}:{ACCOUNT}:prompt/")
    assert keyed.data["kms_key_arn"] == KEY
    assert keyed.data["default_variant"] == "main"
    assert keyed.data["variants"] == [
        {"name": "main", "template_type": "TEXT", "model_id": "amazon.titan-text-express-v1"}
    ]
    plain = run.one("aws.bedrock.prompt", "plain").data
    assert plain["kms_key_arn"] is None
    assert plain["variant_count"] == 2
    dumped = run.inventory.model_dump_json()
    assert CANARY not in dumped
    assert "Use key" not in dumped  # the template text itself is never kept


def test_model_invocation_jobs() -> None:
    moto_ext.apply()  # moto 5.2 has no batch inference
    bedrock = boto3.client("bedrock", region_name=REGION)
    role = f"arn:aws:iam::{ACCOUNT}:role/batch"
    bedrock.create_model_invocation_job(
        jobName="private",
        roleArn=role,
        modelId="amazon.titan-text-express-v1",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://in-bucket/records/"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://out-bucket/x/", "s3EncryptionKeyId": KEY}},
        vpcConfig={"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]},
    )
    bedrock.create_model_invocation_job(
        jobName="open",
        roleArn=role,
        modelId="amazon.titan-text-express-v1",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://in-bucket/records/"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://out-bucket/y/"}},
    )

    run = collect({"aws.bedrock.model_invocation_job"})
    assert run.inventory.errors == []
    assert len(run.of("aws.bedrock.model_invocation_job")) == 2  # listed by several filters, kept once
    private = run.one("aws.bedrock.model_invocation_job", "private").data
    assert private["output_kms_key_id"] == KEY
    assert private["in_vpc"] is True
    assert private["subnet_ids"] == ["subnet-1"]
    assert private["s3_buckets"] == ["in-bucket", "out-bucket"]
    assert private["role_arn"] == role
    opened = run.one("aws.bedrock.model_invocation_job", "open").data
    assert opened["output_kms_key_id"] is None
    assert opened["in_vpc"] is False


def test_bedrock_vpc_endpoints_only() -> None:
    """Only the endpoints of Bedrock services are listed (the service-name filter), with their state."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.bedrock-runtime", VpcEndpointType="Interface"
    )
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway")

    run = collect({"aws.bedrock.vpc_endpoint"})
    assert run.inventory.errors == []
    (endpoint,) = run.of("aws.bedrock.vpc_endpoint")
    assert endpoint.uid.startswith(f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-endpoint/vpce-")
    assert endpoint.data["service"] == "bedrock-runtime"
    assert endpoint.data["vpc_id"] == vpc
    assert endpoint.data["state"] == "available"
    assert endpoint.data["endpoint_type"] == "Interface"


def _flow_inventory(hooks: dict[str, Any] | None = None) -> Inventory:
    sink, _ = run_with_hooks({"aws.bedrock.flow"}, hooks or {})
    return sink.to_inventory("2026-06-01T00:00:00Z")


def _flow_status(inventory: Inventory, policy_id: str) -> dict[str, str]:
    results = evaluate_inventory([POLICIES[policy_id]], inventory).results
    return {r.resource_name or r.resource_uid: r.status.value for r in results}


def _seed_flows() -> None:
    moto_ext.apply()  # moto 5.2 has no Bedrock Flows
    agents = boto3.client("bedrock-agent", region_name=REGION)
    role = f"arn:aws:iam::{ACCOUNT}:role/flows"
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    agents.create_flow(
        name="guarded",
        executionRoleArn=role,
        customerEncryptionKeyArn=KEY,
        definition=flow_definition(model, "gr-1", "KB12345678"),
    )
    agents.create_flow(
        name="open", executionRoleArn=role, definition=flow_definition(model, None, "KB12345678")
    )
    # A retrieve-only knowledge base node (no modelId) cannot carry a guardrail.
    retrieve = flow_definition(model, "gr-1")
    retrieve["nodes"].append(
        {
            "name": "Lookup",
            "type": "KnowledgeBase",
            "configuration": {"knowledgeBase": {"knowledgeBaseId": "KB12345678"}},
            "inputs": [{"name": "retrievalQuery", "type": "String", "expression": "$.data"}],
            "outputs": [{"name": "retrievalResults", "type": "Array"}],
        }
    )
    agents.create_flow(name="retrieve", executionRoleArn=role, definition=retrieve)


def test_flows_keep_node_guardrails_not_templates() -> None:
    _seed_flows()
    inventory = _flow_inventory()
    assert inventory.errors == []
    by = {r.name: r.data for r in inventory.resources}
    guarded = by["guarded"]
    assert guarded["kms_key_arn"] == KEY
    assert guarded["unguarded_nodes"] == []
    answer = next(n for n in guarded["nodes"] if n["name"] == "Answer")
    assert (answer["type"], answer["guardrail_applicable"], answer["guardrail_identifier"]) == (
        "Prompt",
        True,
        "gr-1",
    )
    assert by["open"]["unguarded_nodes"] == ["Answer", "Policies"]
    assert by["open"]["kms_key_arn"] is None
    lookup = next(n for n in by["retrieve"]["nodes"] if n["name"] == "Lookup")
    assert lookup["guardrail_applicable"] is False
    assert by["retrieve"]["unguarded_nodes"] == []
    assert "Answer briefly" not in inventory.model_dump_json()  # the template text is never kept
    assert _flow_status(inventory, "bedrock_flow_guardrail_enabled") == {
        "guarded": "PASS",
        "open": "FAIL",
        "retrieve": "PASS",
    }


def test_an_unread_flow_is_an_error_never_a_pass() -> None:
    _seed_flows()
    inventory = _flow_inventory({"before-call.bedrock-agent.GetFlow": failing("AccessDeniedException", 403)})
    assert {e.operation for e in inventory.errors} == {"bedrock-agent:GetFlow"}
    for policy in ("bedrock_flow_guardrail_enabled", "bedrock_flow_kms_customer_managed"):
        assert set(_flow_status(inventory, policy).values()) == {"ERROR"}, policy


def test_vpcs_join_bedrock_runtime_endpoints() -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    private = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.create_vpc_endpoint(
        VpcId=private, ServiceName=f"com.amazonaws.{REGION}.bedrock-runtime", VpcEndpointType="Interface"
    )
    run = collect({"aws.ec2.vpc", "aws.bedrock.vpc_endpoint"})
    assert run.inventory.errors == []
    vpcs = {r.id: r.data for r in run.of("aws.ec2.vpc")}
    assert vpcs[private]["is_default"] is False
    assert vpcs[private]["cidr_block"] == "10.9.0.0/16"
    assert any(v["is_default"] for v in vpcs.values())  # moto's default VPC
    (endpoint,) = run.of("aws.bedrock.vpc_endpoint")
    assert (endpoint.data["vpc_id"], endpoint.data["service"]) == (private, "bedrock-runtime")
