"""Prompts and batch inference jobs (collect/aws/bedrock_extra.py) against moto + moto_ext."""

from __future__ import annotations

import boto3
import pytest

from mlguard.testing import moto_ext
from tests.collect.aws.conftest import ACCOUNT, REGION, collect

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
