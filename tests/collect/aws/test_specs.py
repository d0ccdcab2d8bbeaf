"""Meta-tests over every declared AWS resource type."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mlguard.catalogue import CATALOGUE
from mlguard.collect.aws import AwsCollector
from mlguard.collect.aws.commands import permissions_command
from mlguard.collect.aws.spec import SPECS, api_name, iam_action
from mlguard.collect.base import providers
from mlguard.config import AwsScope, ScopeConfig


@pytest.mark.parametrize("type_name", sorted(SPECS))
def test_every_spec_is_catalogued_and_resolvable(type_name: str) -> None:
    spec = SPECS[type_name]
    assert type_name in CATALOGUE
    assert CATALOGUE[type_name].provider == "aws"
    if CATALOGUE[type_name].scope == "account":
        assert spec.scope == "account"
    for service, op in spec.operations():
        assert api_name(service, op)  # a real botocore operation
        assert ":" in iam_action(service, op)
    for detail in spec.details:
        assert (detail.params is None) != (detail.fetch is None), detail.operation


def test_registered_provider_covers_the_catalogue_aws_types() -> None:
    entry = providers()["aws"]
    assert entry.types() == frozenset(SPECS)
    assert {t for t, rt in CATALOGUE.items() if rt.provider == "aws"} == frozenset(SPECS)


def test_detect_follows_scope_or_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AwsCollector.detect(ScopeConfig(aws=AwsScope(regions=["us-east-1"])))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    assert AwsCollector.detect(ScopeConfig())
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert not AwsCollector.detect(ScopeConfig())


def test_permissions_command() -> None:
    result = CliRunner().invoke(permissions_command, ["--type", "aws.kms.key"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["Statement"][0]["Action"] == [
        "ec2:DescribeRegions",
        "kms:DescribeKey",
        "kms:GetKeyRotationStatus",
        "kms:ListAliases",
        "kms:ListKeys",
        "organizations:DescribeOrganization",
        "organizations:ListAccounts",
        "pricing:GetProducts",  # scan --pricing aws
        "sts:AssumeRole",
        "sts:GetCallerIdentity",
    ]
    bad = CliRunner().invoke(permissions_command, ["--type", "aws.nope"])
    assert bad.exit_code != 0
    assert "aws.nope" in str(bad.exception)
