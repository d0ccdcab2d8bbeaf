"""The memo of identical detail calls of one account and region (``engine.SharedCalls``)."""

from __future__ import annotations

import json
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


def _listing(pages: int, fail_after: int | None = None) -> tuple[list[int], Any]:
    made: list[int] = []

    def make() -> Any:
        made.append(1)
        for n in range(pages):
            if fail_after is not None and n == fail_after:
                error = {"Error": {"Code": "Throttling", "Message": "slow down"}}
                raise ClientError(error, "DescribeInstances")
            yield {"Page": n, "Items": [{"N": n}]}

    return made, make


def test_a_shared_listing_is_paged_once_and_each_reader_gets_every_page() -> None:
    memo = SharedCalls()
    made, make = _listing(3)
    first = list(memo.pages(("pages", "ec2", "describe_instances", "{}"), make))
    second = list(memo.pages(("pages", "ec2", "describe_instances", "{}"), make))
    assert len(made) == 1
    assert first == second == [{"Page": n, "Items": [{"N": n}]} for n in range(3)]
    assert all(a is not b and a["Items"] is not b["Items"] for a, b in zip(first, second, strict=True))


def test_a_listing_an_error_ended_gives_each_reader_the_same_pages_then_the_error() -> None:
    memo = SharedCalls()
    made, make = _listing(3, fail_after=2)
    for _ in range(2):
        got: list[dict[str, Any]] = []
        with pytest.raises(ClientError, match="Throttling"):
            got.extend(memo.pages(("k",), make))
        assert got == [{"Page": 0, "Items": [{"N": 0}]}, {"Page": 1, "Items": [{"N": 1}]}]
    assert len(made) == 1


def test_a_listing_longer_than_the_page_bound_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "SHARED_PAGES", 2)
    memo = SharedCalls()
    made, make = _listing(4)
    assert [p["Page"] for p in memo.pages(("k",), make)] == [0, 1, 2, 3]
    assert [p["Page"] for p in memo.pages(("k",), make)] == [0, 1, 2, 3]
    assert len(made) == 2  # each reader paged it


def test_a_reader_that_stops_early_leaves_the_listing_whole_for_the_others() -> None:
    memo = SharedCalls()
    made, make = _listing(3)
    reader = memo.pages(("k",), make)
    assert next(reader)["Page"] == 0
    reader.close()
    assert [p["Page"] for p in memo.pages(("k",), make)] == [0, 1, 2]
    assert len(made) == 1


def _both_ways(types: set[str], hooks: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """The scan with the memo, and with it keeping nothing (every call sent, as before it)."""
    from tests.collect.aws.test_engine import run_with_hooks

    shared, shared_run = run_with_hooks(types, hooks)
    with monkeypatch.context() as m:
        m.setattr(engine, "SHARED_ANSWERS", 0)
        each, each_run = run_with_hooks(types, hooks)
    return shared, shared_run.stats.by_operation, each, each_run.stats.by_operation


def _same(shared: Any, each: Any) -> None:
    assert {r.uid: (r.type, r.region, r.tags, r.data) for r in shared.resources} == {
        r.uid: (r.type, r.region, r.tags, r.data) for r in each.resources
    }
    errors = [sorted(e.model_dump_json() for e in sink.errors) for sink in (shared, each)]
    assert errors[0] == errors[1]


_EC2 = {"aws.ec2.instance", "aws.region"}


def _instances() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for itype in ("p3.2xlarge", "t3.micro"):
        ec2.run_instances(ImageId=image, InstanceType=itype, MinCount=1, MaxCount=1)


@pytest.mark.usefixtures("aws")
def test_the_region_gpu_fleet_shares_the_ec2_listing_and_type_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    _instances()
    shared, shared_ops, each, each_ops = _both_ways(_EC2, {}, monkeypatch)
    # Requests (pages): the instances' listing and the type facts, once instead of once per type.
    assert each_ops["ec2:DescribeInstances"] == 2
    assert shared_ops["ec2:DescribeInstances"] == 1
    assert each_ops["ec2:DescribeInstanceTypes"] == 2 * shared_ops["ec2:DescribeInstanceTypes"] > 0
    _same(shared, each)
    (region,) = [r for r in shared.resources if r.type == "aws.region"]
    assert region.data["gpu_fleet"]["instances"] == 1
    assert region.data["instances"] == 2


@pytest.mark.usefixtures("aws")
def test_a_failed_shared_listing_is_each_readers_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.collect.aws.test_engine import failing

    _instances()
    hooks = {"before-call.ec2.DescribeInstances": failing("UnauthorizedOperation", 403)}
    shared, _, each, _ = _both_ways(_EC2, hooks, monkeypatch)
    _same(shared, each)
    assert sorted((e.resource_type, e.operation, e.code) for e in shared.errors) == [
        ("aws.ec2.instance", "ec2:DescribeInstances", "UnauthorizedOperation"),
        ("aws.region", "ec2:DescribeInstances", "UnauthorizedOperation"),
    ]
    (region,) = [r for r in shared.resources if r.type == "aws.region"]
    assert "gpu_fleet" not in region.data  # unknown, never an empty fleet


@pytest.mark.usefixtures("aws")
def test_roles_and_users_share_the_managed_policy_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlguard.demo import moto_ext

    moto_ext.apply()  # moto 5.2 has no ListServiceSpecificCredentials (users' Bedrock API keys)
    iam = boto3.client("iam")
    iam.create_user(UserName="u1")
    admin = iam.create_policy(
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="u1", PolicyArn=admin)
    iam.create_role(RoleName="r1", AssumeRolePolicyDocument="{}")
    shared, shared_ops, each, each_ops = _both_ways({"aws.iam.role", "aws.iam.user"}, {}, monkeypatch)
    # Roles, users, groups, and the managed policies: once instead of once per type.
    assert each_ops["iam:GetAccountAuthorizationDetails"] == 5
    assert shared_ops["iam:GetAccountAuthorizationDetails"] == 4
    _same(shared, each)
    (user,) = [r for r in shared.resources if r.type == "aws.iam.user"]
    assert user.data["allows_admin"] is True
