from __future__ import annotations

import json

import boto3
import pytest

from tests.collect.aws.conftest import ACCOUNT, collect

TLS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::secure", "arn:aws:s3:::secure/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}
PUBLIC_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::open/*"}
    ],
}


@pytest.mark.usefixtures("aws")
def test_buckets_with_configuration() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="secure")
    s3.put_bucket_encryption(
        Bucket="secure",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "key-1"}}
            ]
        },
    )
    s3.put_bucket_policy(Bucket="secure", Policy=json.dumps(TLS_POLICY))
    s3.put_public_access_block(
        Bucket="secure",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket="secure", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(Bucket="secure", Tagging={"TagSet": [{"Key": "team", "Value": "ml"}]})
    s3.create_bucket(Bucket="access-log-sink", ACL="log-delivery-write")
    s3.put_bucket_logging(
        Bucket="secure",
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": "access-log-sink", "TargetPrefix": "secure/"}
        },
    )
    eu = boto3.client("s3", region_name="eu-west-1")
    eu.create_bucket(Bucket="open", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu.put_bucket_acl(Bucket="open", ACL="public-read")
    eu.put_bucket_policy(Bucket="open", Policy=json.dumps(PUBLIC_POLICY))

    run = collect({"aws.s3.bucket"})
    secure = run.one("aws.s3.bucket", "secure")
    assert secure.uid == "arn:aws:s3:::secure"
    assert secure.region == "us-east-1"
    assert secure.tags == {"team": "ml"}
    d = secure.data
    assert (d["encrypted"], d["sse_algorithm"], d["kms_key_id"]) == (True, "aws:kms", "key-1")
    assert d["tls_only"] is True
    assert d["policy_public"] is False
    assert d["public_access_block"]["fully_blocked"] is True
    assert d["versioning"] == "Enabled"
    assert d["mfa_delete"] is False
    assert d["logging_enabled"] is True
    assert d["acl_public"] is False

    opened = run.one("aws.s3.bucket", "open")
    assert opened.region == "eu-west-1"
    o = opened.data
    assert o["acl_public"] is True
    assert o["policy_public"] is True
    assert o["tls_only"] is False
    assert o["public_access_block_configured"] is False
    assert o["lifecycle_rule_count"] == 0
    assert o["versioning"] == "Disabled"
    assert run.inventory.errors == []
    assert {(c.account, c.region, c.resource_type) for c in run.inventory.coverage} == {
        (ACCOUNT, None, "aws.s3.bucket")
    }


@pytest.mark.usefixtures("aws")
def test_account_public_access_block() -> None:
    run = collect({"aws.s3.account_public_access_block"})
    (pab,) = run.of("aws.s3.account_public_access_block")
    assert pab.uid == f"arn:aws:s3::{ACCOUNT}:account-public-access-block"
    assert pab.data["fully_blocked"] is False
    assert pab.data["configured"] is False

    boto3.client("s3control", region_name="us-east-1").put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    (pab,) = collect({"aws.s3.account_public_access_block"}).of("aws.s3.account_public_access_block")
    assert pab.data["fully_blocked"] is True
    assert pab.data["configured"] is True
