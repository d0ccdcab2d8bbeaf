"""The adaptive rate limit per endpoint (account, region, service), against the moto server behind
the fault proxy: a throttled service is slowed down, the other services of the same account and
region are not."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from mlguard.collect.aws import AwsCollector
from mlguard.collect.aws.engine import Caller, error_code
from mlguard.collect.base import InventorySink, NullProgress
from mlguard.config import AwsScope, ScopeConfig
from tests.support.faults import FaultProxy

REGION = "us-east-1"


def test_a_throttled_service_backs_off_while_another_is_not_slowed(proxy: FaultProxy) -> None:
    rule = proxy.inject("sagemaker", "throttle")
    collector = AwsCollector(ScopeConfig(aws=AwsScope(regions=[REGION])), max_attempts=2)
    root = collector.root(InventorySink())
    caller = Caller(root, REGION)
    for _ in range(3):
        with pytest.raises(ClientError) as raised:
            caller.call("sagemaker", "list_notebook_instances")
        assert error_code(raised.value)[0] == "ThrottlingException"
    for _ in range(5):
        caller.call("s3", "list_buckets")
        caller.call("iam", "list_account_aliases")

    throttled = collector.limits.bucket((root.id, REGION, "sagemaker"))
    assert throttled.throttles == rule.hits == 6  # every attempt's answer, botocore's retries too
    assert throttled.cuts >= 1
    assert throttled.rate() is not None  # sagemaker is held to a rate now ...
    for service in ("s3", "iam"):  # ... the other services of the account and region are not
        other = collector.limits.bucket((root.id, REGION, service))
        assert (other.throttles, other.cuts, other.waited) == (0, 0, 0.0)
        assert other.rate() is None


def test_a_scan_with_a_throttled_service_reads_the_others_and_records_the_throttle(
    proxy: FaultProxy,
) -> None:
    proxy.inject("sagemaker", "throttle")
    scope = ScopeConfig(aws=AwsScope(regions=[REGION], rate_limit=50))
    collector = AwsCollector(scope, max_attempts=2)
    sink = InventorySink()
    types = frozenset(["aws.sagemaker.notebook_instance", "aws.sagemaker.model", "aws.s3.bucket"])
    collector.collect(types, sink, NullProgress())

    assert {(e.resource_type, e.code) for e in sink.errors} == {
        ("aws.sagemaker.notebook_instance", "ThrottlingException"),
        ("aws.sagemaker.model", "ThrottlingException"),
    }  # unread sagemaker types are ERROR, S3 is read
    assert collector.limits.totals()["cuts"] >= 1
