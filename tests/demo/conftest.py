"""Shared fixtures for the demo estate and moto extension tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlguard.demo import moto_ext

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True, scope="session")
def _moto_ext() -> None:
    moto_ext.apply()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and no profile/endpoint from the developer's machine."""
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def mocked(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def sm(mocked: None) -> Any:
    return boto3.client("sagemaker", region_name=REGION)


@pytest.fixture
def role_arn(mocked: None) -> str:
    iam = boto3.client("iam", region_name=REGION)
    return str(
        iam.create_role(RoleName="sm", AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}')[
            "Role"
        ]["Arn"]
    )
