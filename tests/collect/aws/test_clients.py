"""Clients of different accounts share their service model and client class, nothing else: each
signs with its own account's credentials, for its own region, and the read-only guard sees it."""

from __future__ import annotations

import gc
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.credentials import Credentials
from moto import mock_aws

from mlguard.collect.aws import AwsCollector
from mlguard.collect.base import InventorySink, NullProgress
from mlguard.collect.errors import ReadOnlyViolation
from mlguard.config import AwsScope, ScopeConfig
from mlguard.gc_pause import SCAN_GC_THRESHOLDS


class _Body:
    """The raw body of an answer made here: an empty list of models."""

    def stream(self, **_: Any) -> Any:
        yield b'{"Models": []}'


def _signed_by(client: Any) -> list[str]:
    """The Authorization headers of the requests ``client`` sends (answered here, not sent)."""
    seen: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        seen.append(str(request.headers["Authorization"]))
        return AWSResponse(request.url, 200, {}, _Body())

    client.meta.events.register("before-send", answer)
    return seen


def test_two_accounts_share_the_model_and_class_but_sign_with_their_own_keys() -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    one = collector.session_with(Credentials("AKIAACCOUNTONE", "secret-one"), "us-east-1")
    two = collector.session_with(Credentials("AKIAACCOUNTTWO", "secret-two"), "us-east-1")
    a = one.client("sagemaker", region_name="us-east-1")
    b = two.client("sagemaker", region_name="eu-west-1")

    assert a.meta.service_model is b.meta.service_model  # made once for the scan
    assert type(a) is type(b)
    assert a.meta.events is not b.meta.events  # each client keeps its own handlers

    sent_a, sent_b = _signed_by(a), _signed_by(b)
    a.list_models()
    b.list_models()
    assert len(sent_a) == len(sent_b) == 1
    assert "Credential=AKIAACCOUNTONE/" in sent_a[0]
    assert "/us-east-1/sagemaker/" in sent_a[0]
    assert "Credential=AKIAACCOUNTTWO/" in sent_b[0]
    assert "/eu-west-1/sagemaker/" in sent_b[0]

    with pytest.raises(ReadOnlyViolation, match="sagemaker:DeleteEndpoint"):
        b.delete_endpoint(EndpointName="x")  # the guard sees the second account's calls too
    assert len(sent_b) == 1


def test_sessions_outside_the_collector_keep_botocore_s_own_clients() -> None:
    AwsCollector(ScopeConfig()).base_session()
    first = boto3.client("sagemaker", region_name="us-east-1")
    second = boto3.client("sagemaker", region_name="us-east-1")
    assert first.meta.service_model is not second.meta.service_model


def test_the_scan_collects_garbage_less_often_and_restores_the_thresholds_after() -> None:
    collector = AwsCollector(ScopeConfig(aws=AwsScope(regions=["us-east-1"])))
    before = gc.get_threshold()
    during: list[tuple[int, int, int]] = []
    base = collector.base_session

    def session() -> boto3.Session:
        during.append(gc.get_threshold())
        return base()

    collector.base_session = session  # type: ignore[method-assign]
    with mock_aws():
        collector.collect(frozenset({"aws.kms.key"}), InventorySink(), NullProgress())
    assert during == [SCAN_GC_THRESHOLDS]
    assert gc.get_threshold() == before
