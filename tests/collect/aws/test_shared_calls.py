"""The memo of identical detail calls of one account and region (``engine.SharedCalls``)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlguard.collect.aws import engine
from mlguard.collect.aws.engine import Account, SharedCalls, client_config


def _counting(answer: dict[str, Any]) -> tuple[list[int], Any]:
    made: list[int] = []

    def make() -> dict[str, Any]:
        made.append(1)
        return {**answer, "Nested": {"Variants": [1, 2]}}

    return made, make


def test_concurrent_identical_calls_are_made_once_and_each_caller_gets_its_own_copy() -> None:
    memo = SharedCalls()
    made, make = _counting({"Name": "c"})
    start = threading.Barrier(8)

    def ask(_: int) -> dict[str, Any]:
        start.wait()
        return memo.call(("sagemaker", "describe_endpoint_config", ("EndpointConfigName", "c")), make)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert len(made) == 1
    assert all(a == {"Name": "c", "Nested": {"Variants": [1, 2]}} for a in answers)
    assert len({id(a) for a in answers}) == 8  # a caller changing its answer changes no other's
    assert len({id(a["Nested"]) for a in answers}) == 8


def test_different_parameters_are_different_calls() -> None:
    memo = SharedCalls()
    made, make = _counting({})
    memo.call(("s", "op", ("Name", "a")), make)
    memo.call(("s", "op", ("Name", "b")), make)
    memo.call(("s", "op", ("Name", "a")), make)
    assert len(made) == 2


def test_an_error_reaches_every_caller_and_the_call_is_made_once() -> None:
    memo = SharedCalls()
    made: list[int] = []

    def denied() -> dict[str, Any]:
        made.append(1)
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeEndpointConfig")

    for _ in range(3):
        with pytest.raises(ClientError, match="AccessDenied"):
            memo.call(("s", "op"), denied)
    assert len(made) == 1


def test_the_memo_is_bounded_and_past_its_bound_every_call_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "SHARED_ANSWERS", 2)
    memo = SharedCalls()  # the bound is read when the memo is made
    made, make = _counting({})
    for name in ("a", "b", "c", "c", "a"):
        memo.call(("s", "op", ("Name", name)), make)
    assert len(made) == 4  # a, b kept; c made both times
    assert len(memo._answers) == 2


def test_a_region_memo_is_dropped_with_its_clients() -> None:
    account = Account(
        id="123456789012",
        partition="aws",
        session=boto3.Session(region_name="us-east-1"),
        home_region="us-east-1",
        config=client_config(1, "standard", 4),
        regions=["us-east-1", "eu-west-1"],
    )
    east, west = account.shared("us-east-1"), account.shared("eu-west-1")
    assert account.shared(None) is east  # the home region's
    assert account.shared("eu-west-1") is west
    account.release("eu-west-1")
    assert account.shared("eu-west-1") is not west
    assert account.shared("us-east-1") is east
    account.release()
    assert account.shared("us-east-1") is not east
