"""The API calls of each progress unit (a family in one account and region) are counted by the
engine's own request hooks, and add up to every call the collector sent for a resource type."""

from __future__ import annotations

import boto3
import pytest

from mlguard.collect.base import Calls
from mlguard.demo import moto_ext
from tests.collect.aws.conftest import ACCOUNT, NullProgress, collect

pytestmark = pytest.mark.usefixtures("aws")


class CountingProgress(NullProgress):
    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, Calls | None] = {}

    def finish(self, key: str, resources: int, errors: int, calls: Calls | None = None) -> None:
        super().finish(key, resources, errors, calls)
        self.calls[key] = calls


def test_every_unit_reports_its_calls_and_they_add_up() -> None:
    moto_ext.apply()  # moto 5.2 has no ListServiceSpecificCredentials (users' Bedrock API keys)
    boto3.client("s3").create_bucket(Bucket="bkt-1")
    boto3.client("iam").create_user(UserName="u1")
    progress = CountingProgress()
    run = collect(
        {"aws.s3.bucket", "aws.iam.user", "aws.kms.key"},
        regions=("us-east-1", "eu-west-1"),
        progress=progress,
    )
    stats = run.collector.stats
    assert set(progress.calls) == {
        f"aws/{ACCOUNT}/global/s3",
        f"aws/{ACCOUNT}/global/iam",
        f"aws/{ACCOUNT}/us-east-1/kms",
        f"aws/{ACCOUNT}/eu-west-1/kms",
    }
    counted = {key: c for key, c in progress.calls.items() if c is not None}
    assert counted.keys() == progress.calls.keys()
    assert counted[f"aws/{ACCOUNT}/global/s3"].calls == stats.by_type["aws.s3.bucket"]
    assert counted[f"aws/{ACCOUNT}/global/iam"].calls == stats.by_type["aws.iam.user"]
    kms = counted[f"aws/{ACCOUNT}/us-east-1/kms"].calls + counted[f"aws/{ACCOUNT}/eu-west-1/kms"].calls
    assert kms == stats.by_type["aws.kms.key"]
    assert all(c.calls > 0 and c.attempts >= c.calls for c in counted.values())
