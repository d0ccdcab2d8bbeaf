"""The circuit breaker per endpoint (account, region, service): after a few calls in a row that got
no answer, the endpoint's remaining calls are not sent; each fails at once as its type's named
collection error (ERROR for what it feeds), and the other services are read as usual."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from mlguard.collect.aws import AwsCollector
from mlguard.collect.aws.engine import BREAKER_FAILURES, Breaker, CircuitOpen
from mlguard.collect.base import InventorySink, NullProgress
from mlguard.config import AwsScope, ScopeConfig
from tests.support.faults import FaultProxy

SAGEMAKER = [
    "aws.sagemaker.notebook_instance",
    "aws.sagemaker.endpoint",
    "aws.sagemaker.model",
    "aws.sagemaker.training_job",
    "aws.sagemaker.domain",
    "aws.sagemaker.pipeline",
]
BUCKETS = "aws.s3.bucket"


def _scan() -> InventorySink:
    # One call in flight at a time: the calls reach the dead endpoint in a known order.
    scope = ScopeConfig(aws=AwsScope(regions=["us-east-1"], max_workers=1, max_in_flight=1))
    sink = InventorySink()
    AwsCollector(scope, max_attempts=1).collect(frozenset([*SAGEMAKER, BUCKETS]), sink, NullProgress())
    return sink


def test_a_dead_endpoint_fails_fast_after_a_few_unanswered_calls(proxy: FaultProxy) -> None:
    rule = proxy.inject("sagemaker", "reset")
    sink = _scan()

    assert rule.hits == BREAKER_FAILURES  # not one request per type: the rest were never sent
    by_type = {e.resource_type: e for e in sink.errors}
    assert set(by_type) == set(SAGEMAKER)  # every sagemaker type is its own named ERROR ...
    opened = [e for e in sink.errors if e.code == "CircuitOpen"]
    assert len(opened) == len(SAGEMAKER) - BREAKER_FAILURES
    for e in opened:
        assert e.message.startswith("sagemaker in 123456789012/us-east-1 is not answering (3 calls in a row")
        assert e.operation.startswith("sagemaker:List")
    assert all(e.code != "CircuitOpen" for e in sink.errors if e not in opened)
    # ... while S3, another endpoint, is read as usual
    assert {c.resource_type for c in sink.coverage} == {*SAGEMAKER, BUCKETS}
    assert BUCKETS not in by_type


def test_an_answer_closes_the_circuit() -> None:
    breaker = Breaker(threshold=2)
    key = ("111122223333", "eu-west-1", "sagemaker")
    dead = EndpointConnectionError(endpoint_url="https://api.sagemaker.eu-west-1.amazonaws.com")
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListModels")
    breaker.failed(key, dead)
    breaker.failed(key, denied)  # an error answer: the host is alive
    breaker.failed(key, dead)
    breaker.check(key)  # one failure in a row: still closed
    breaker.failed(key, dead)
    with pytest.raises(CircuitOpen, match=r"sagemaker in 111122223333/eu-west-1 is not answering"):
        breaker.check(key)
    breaker.check(("111122223333", "us-east-1", "sagemaker"))  # another region: its own endpoint
    breaker.answered(key)
    breaker.check(key)
