from __future__ import annotations

import json
from typing import Any

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


def _pab(**on: bool) -> dict[str, bool]:
    keys = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return {k: on.get(k, False) for k in keys}


def _public_acl_bucket(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)
    s3.put_bucket_acl(Bucket=name, ACL="public-read")


def _public_policy_bucket(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{name}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))


@pytest.mark.usefixtures("aws")
def test_effective_public_status_combines_acl_policy_ownership_and_both_block_public_access_levels() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    _public_acl_bucket(s3, "acl-open")
    _public_acl_bucket(s3, "acl-ignored")
    s3.put_public_access_block(
        Bucket="acl-ignored", PublicAccessBlockConfiguration=_pab(IgnorePublicAcls=True)
    )
    _public_acl_bucket(s3, "acl-disabled")
    s3.put_bucket_ownership_controls(
        Bucket="acl-disabled", OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    _public_policy_bucket(s3, "policy-open")
    _public_policy_bucket(s3, "policy-restricted")
    s3.put_public_access_block(
        Bucket="policy-restricted", PublicAccessBlockConfiguration=_pab(RestrictPublicBuckets=True)
    )

    run = collect({"aws.s3.bucket"})
    assert run.inventory.errors == []
    facts = {
        r.name: (
            r.data["effective_acl_public"],
            r.data["effective_policy_public"],
            r.data["effective_public"],
        )
        for r in run.of("aws.s3.bucket")
    }
    assert facts == {
        "acl-open": (True, False, True),
        "acl-ignored": (False, False, False),
        "acl-disabled": (False, False, False),
        "policy-open": (False, True, True),
        "policy-restricted": (False, False, False),
    }
    ignored = run.one("aws.s3.bucket", "acl-ignored").data
    assert ignored["acl_public"] is True  # the raw fact stays
    assert ignored["public_access_neutralised_by"] == [
        "ACL grants ignored: IgnorePublicAcls (bucket Block Public Access)"
    ]
    assert (
        run.one("aws.s3.bucket", "acl-open").data["account_public_access_block"]["ignore_public_acls"]
        is False
    )

    boto3.client("s3control", region_name="us-east-1").put_public_access_block(
        AccountId=ACCOUNT, PublicAccessBlockConfiguration=_pab(IgnorePublicAcls=True)
    )
    again = collect({"aws.s3.bucket"})
    acl_open = again.one("aws.s3.bucket", "acl-open").data
    assert (acl_open["acl_public"], acl_open["effective_public"]) == (True, False)
    assert acl_open["public_access_neutralised_by"] == [
        "ACL grants ignored: IgnorePublicAcls (account Block Public Access)"
    ]
    assert again.one("aws.s3.bucket", "policy-open").data["effective_public"] is True


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("event", "operation"),
    [
        ("before-call.s3.GetPublicAccessBlock", "s3:GetPublicAccessBlock"),
        ("before-call.s3.GetBucketAcl", "s3:GetBucketAcl"),
        ("before-call.s3.GetBucketOwnershipControls", "s3:GetBucketOwnershipControls"),
        ("before-call.s3.GetBucketPolicyStatus", "s3:GetBucketPolicyStatus"),
    ],
)
def test_an_unread_bucket_input_leaves_the_effective_status_unknown(event: str, operation: str) -> None:
    from tests.collect.aws.test_engine import failing, run_with_hooks

    s3 = boto3.client("s3", region_name="us-east-1")
    _public_acl_bucket(s3, "acl-open")
    sink, _ = run_with_hooks({"aws.s3.bucket"}, {event: failing("AccessDenied", 403)})
    (error,) = sink.errors
    assert (error.operation, error.resource_uid) == (operation, "arn:aws:s3:::acl-open")
    assert {"effective_public", "effective_acl_public", "effective_policy_public"} <= set(error.attributes)
    (bucket,) = sink.resources
    assert not {"effective_public", "effective_acl_public", "effective_policy_public"} & set(bucket.data)


@pytest.mark.usefixtures("aws")
def test_an_unread_account_block_public_access_leaves_the_effective_status_unknown() -> None:
    from tests.collect.aws.test_engine import failing, run_with_hooks

    s3 = boto3.client("s3", region_name="us-east-1")
    _public_acl_bucket(s3, "acl-open")
    sink, _ = run_with_hooks(
        {"aws.s3.bucket"}, {"before-call.s3-control.GetPublicAccessBlock": failing("AccessDenied", 403)}
    )
    (error,) = sink.errors
    assert (error.operation, error.resource_uid) == ("s3control:GetPublicAccessBlock", None)
    assert "effective_public" in error.attributes
    (bucket,) = sink.resources
    assert bucket.data["acl_public"] is True
    assert "effective_public" not in bucket.data
    assert "account_public_access_block" not in bucket.data


def _listed_regions(regions: dict[str, str]) -> dict[str, Any]:
    """botocore hooks that make moto's ListBuckets answer as S3 does: each bucket's region
    (``BucketRegion``), when the request has at least one parameter (moto 5.2 never gives it)."""

    def asked(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["test_listing_parameters"] = dict(params.get("query_string") or {})

    def answered(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if context.get("test_listing_parameters"):
            for bucket in parsed.get("Buckets", []):
                if bucket["Name"] in regions:
                    bucket["BucketRegion"] = regions[bucket["Name"]]

    return {"before-call.s3.ListBuckets": asked, "after-call.s3.ListBuckets": answered}


@pytest.mark.usefixtures("aws")
def test_the_region_listbuckets_gives_saves_the_bucket_location_call() -> None:
    from tests.collect.aws.test_engine import run_with_hooks

    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="east")
    west = boto3.client("s3", region_name="eu-west-1")
    for name in ("west", "unlisted"):
        west.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        west.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    plain, plain_run = run_with_hooks({"aws.s3.bucket"}, {})
    listed, listed_run = run_with_hooks(
        {"aws.s3.bucket"}, _listed_regions({"east": "us-east-1", "west": "eu-west-1"})
    )

    # Without the region in the listing (moto as it is): every bucket is located, as before.
    assert plain_run.stats.by_operation["s3:GetBucketLocation"] == 3
    # With it: only the bucket the listing gave no region for.
    assert listed_run.stats.by_operation["s3:GetBucketLocation"] == 1
    assert listed_run.stats.total == plain_run.stats.total - 2
    assert not plain.errors
    assert not listed.errors

    def fields(sink: Any) -> dict[str, tuple[Any, ...]]:
        return {r.uid: (r.region, r.tags, r.data) for r in sink.resources}

    assert fields(listed) == fields(plain)
    assert {r.name: r.region for r in listed.resources} == {
        "east": "us-east-1",
        "west": "eu-west-1",
        "unlisted": "eu-west-1",
    }
    assert {r.name: r.data["versioning"] for r in listed.resources} == {
        "east": "Disabled",
        "west": "Enabled",  # read in the bucket's own region, as GetBucketLocation's answer would have it
        "unlisted": "Enabled",
    }
