"""GPU facts of EC2 instances survive an instance type that DescribeInstanceTypes does not know.

moto's DescribeInstanceTypes, like EC2's, fails a whole batch with InvalidInstanceType when one
name in it is unknown; its copy of the type list also lacks retired families such as p2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlguard.collect.aws.ec2 import instance_type_facts
from mlguard.model import Inventory
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from tests.collect.aws.conftest import collect

pytestmark = pytest.mark.usefixtures("aws")

IMAGE = "ami-12c6146b"  # one of moto's built-in AMIs


def _run(instance_type: str, name: str) -> str:
    ec2 = boto3.client("ec2")
    out: dict[str, Any] = ec2.run_instances(
        ImageId=IMAGE,
        InstanceType=instance_type,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
    )
    return str(out["Instances"][0]["InstanceId"])


def test_unknown_instance_type_does_not_wipe_the_region() -> None:
    _run("g5.xlarge", "live")  # described by EC2
    # EC2 (moto, with or without the demo's extension) no longer describes it: the table knows it
    _run("p2.xlarge", "retired")
    _run("m5.large", "cpu")
    _run("zz9.large", "mystery")  # nobody knows it
    run = collect({"aws.ec2.instance"})

    live = run.one("aws.ec2.instance", "live").data
    assert live["is_gpu"] is True
    assert live["gpu"]["gpu_model"] == "A10G"
    assert live["gpu"]["source"] == "DescribeInstanceTypes"
    retired = run.one("aws.ec2.instance", "retired").data
    assert retired["is_gpu"] is True
    assert (retired["gpu"]["gpu_count"], retired["gpu"]["gpu_model"]) == (1, "K80")
    assert retired["gpu"]["source"].startswith("table ")
    assert run.one("aws.ec2.instance", "cpu").data["is_gpu"] is False

    mystery = run.one("aws.ec2.instance", "mystery")
    assert "is_gpu" not in mystery.data
    assert "gpu" not in mystery.data
    errors = run.inventory.errors
    assert [(e.resource_uid, e.attributes, e.code) for e in errors] == [
        (mystery.uid, ["gpu", "is_gpu"], "InvalidInstanceType")
    ]
    assert "zz9.large" in errors[0].message
    assert errors[0].operation == "ec2:DescribeInstanceTypes"

    # The GPU policies judge every instance: ERROR for the unknown one, never a quiet SKIP.
    policies = load_policy_set([(builtin_policy_dir(), "builtin")]).policies
    policy = policies["ec2_gpu_instance_cost_tags"]
    inventory = Inventory.model_validate(run.inventory.model_dump())
    results = {r.resource_uid: r for r in evaluate_inventory([policy], inventory).results}
    assert results[mystery.uid].status.value == "ERROR"
    assert results[run.one("aws.ec2.instance", "retired").uid].status.value != "SKIP"
    assert results[run.one("aws.ec2.instance", "cpu").uid].status.value == "SKIP"


class _DeniedCaller:
    """Our Caller protocol over an account whose role may not call DescribeInstanceTypes."""

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        raise AssertionError("not used")

    def pages(self, service: str, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        raise ClientError(
            {"Error": {"Code": "UnauthorizedOperation", "Message": "not allowed"}}, "DescribeInstanceTypes"
        )

    call_shared = call
    pages_shared = pages


def test_denied_describe_instance_types_falls_back_to_the_table() -> None:
    facts = instance_type_facts(_DeniedCaller(), ["p4d.24xlarge", "t3.micro", "g5.96xlarge", "zz9.large"])
    assert facts.known["p4d.24xlarge"]["gpu_count"] == 8
    assert facts.known["t3.micro"]["is_gpu"] is False
    # A size the table lacks: GPU by its family, count unknown.
    assert facts.known["g5.96xlarge"]["is_gpu"] is True
    assert facts.known["g5.96xlarge"]["gpu_count"] is None
    assert list(facts.unknown) == ["zz9.large"]
    assert facts.unknown["zz9.large"][0] == "UnauthorizedOperation"


def test_a_gpu_partition_is_a_gpu() -> None:
    # g6f reports Count 0 with GpuPartitionSize 0.125: an eighth of an L4, still a GPU instance.
    _run("g6f.large", "slice")
    run = collect({"aws.ec2.instance"})
    data = run.one("aws.ec2.instance", "slice").data
    assert data["is_gpu"] is True
    assert (data["gpu"]["gpu_count"], data["gpu"]["gpu_model"]) == (0.125, "L4")
    assert data["gpu"]["source"] == "DescribeInstanceTypes"
    assert run.inventory.errors == []
