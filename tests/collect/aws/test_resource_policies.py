"""Resource policies read by the real collectors (moto): what makes a function or bucket public."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.collect.aws.conftest import ACCOUNT, collect
from tests.collect.aws.estate import _zip

pytestmark = pytest.mark.usefixtures("aws")


def _function(name: str) -> None:
    iam = boto3.client("iam")
    iam.create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            }
        ),
    )
    boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNT}:role/{name}-role",
        Handler="h.handler",
        Code={"ZipFile": _zip()},
    )


def test_a_function_url_open_to_everyone_is_publicly_invocable() -> None:
    lam = boto3.client("lambda")
    _function("url-open")
    lam.add_permission(
        FunctionName="url-open",
        StatementId="url",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    _function("s3-trigger")
    lam.add_permission(
        FunctionName="s3-trigger",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::ml-uploads",
        SourceAccount=ACCOUNT,
    )
    _function("any-account")
    lam.add_permission(
        FunctionName="any-account",
        StatementId="wide",
        Action="lambda:InvokeFunction",
        Principal="*",
        SourceAccount="*",
    )
    run = collect({"aws.lambda.function"})
    assert run.inventory.errors == []
    public = {r.name: r.data["publicly_invocable"] for r in run.of("aws.lambda.function")}
    assert public == {"url-open": True, "s3-trigger": False, "any-account": True}


def _bucket_with_policy(name: str, condition: dict[str, object] | None, **extra: object) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=name)
    statement: dict[str, object] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/*",
        **extra,
    }
    if condition:
        statement["Condition"] = condition
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def test_bucket_policy_conditions_that_do_and_do_not_narrow_everyone() -> None:
    _bucket_with_policy("org-only", {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}})
    _bucket_with_policy("vpce-only", {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})
    _bucket_with_policy("any-ip", {"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}})
    _bucket_with_policy("any-principal-arn", {"StringLike": {"aws:PrincipalArn": "*"}})
    _bucket_with_policy("tls-is-not-identity", {"Bool": {"aws:SecureTransport": "true"}})
    run = collect({"aws.s3.bucket"})
    assert run.inventory.errors == []
    facts = {r.name: (r.data["policy_public"], r.data["effective_public"]) for r in run.of("aws.s3.bucket")}
    assert facts == {
        "org-only": (False, False),
        "vpce-only": (False, False),
        "any-ip": (True, True),
        "any-principal-arn": (True, True),
        "tls-is-not-identity": (True, True),
    }
