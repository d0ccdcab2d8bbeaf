"""GPU utilisation of EC2 GPU instances from the CloudWatch agent's NVIDIA metrics (issue 14):
measured where the agent publishes ``nvidia_smi_utilization_gpu`` by InstanceId, null with a
reason (never 0) where it publishes nothing, unknown (ERROR) where ListMetrics was denied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from mlguard.model import Inventory
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from tests.collect.aws.conftest import collect
from tests.collect.aws.test_engine import failing, run_with_hooks

pytestmark = pytest.mark.usefixtures("aws")

POLICY = load_policy_set([(builtin_policy_dir(), "builtin")]).policies["ec2_gpu_instance_gpu_idle"]


def _status(inventory: Inventory) -> dict[str, str]:
    return {
        r.resource_uid.rsplit("/", 1)[1]: r.status.value
        for r in evaluate_inventory([POLICY], inventory).results
    }


def _instances(count: int) -> list[str]:
    ec2 = boto3.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    out = ec2.run_instances(ImageId=image, InstanceType="g4dn.12xlarge", MinCount=count, MaxCount=count)
    return [i["InstanceId"] for i in out["Instances"]]


def _agent(instance: str, index: str, values: list[float], namespace: str = "CWAgent") -> None:
    now = datetime.now(UTC)
    boto3.client("cloudwatch").put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "nvidia_smi_utilization_gpu",
                "Dimensions": [
                    {"Name": "InstanceId", "Value": instance},
                    {"Name": "index", "Value": index},
                    {"Name": "name", "Value": "Tesla T4"},
                ],
                "Value": v,
                "Timestamp": now - timedelta(days=day, hours=1),
            }
            for day, v in enumerate(values)
        ],
    )


def test_gpu_utilisation_is_read_per_gpu_and_unmeasured_is_null_with_a_reason() -> None:
    busy, idle, bare = _instances(3)
    _agent(busy, "0", [2.0, 3.0, 1.0, 4.0])  # one GPU nearly idle ...
    _agent(busy, "1", [90.0, 70.0, 80.0, 60.0])  # ... the other busy: the instance is busy
    _agent(idle, "0", [0.0, 0.0, 1.0])
    _agent(bare, "0", [95.0], namespace="Custom/GPU")  # not the agent's namespace: not measured

    run = collect({"aws.ec2.instance"})
    assert run.inventory.errors == []
    data = {r.id: r.data for r in run.of("aws.ec2.instance")}
    assert data[busy]["gpu_utilization_max"] == 90.0
    assert data[busy]["gpu_utilization_avg"] == 90.0  # highest daily average over the GPUs
    assert (data[busy]["gpu_devices_measured"], data[busy]["gpu_metrics_datapoints"]) == (2, 4)
    assert data[busy]["gpu_utilization_reason"] is None
    assert data[idle]["gpu_utilization_max"] == 1.0
    assert data[idle]["gpu_metrics_datapoints"] == 3
    unmeasured = data[bare]
    assert unmeasured["gpu_utilization_max"] is None
    assert unmeasured["gpu_utilization_avg"] is None
    assert (unmeasured["gpu_devices_measured"], unmeasured["gpu_metrics_datapoints"]) == (0, 0)
    assert "nvidia_smi_utilization_gpu" in unmeasured["gpu_utilization_reason"]
    # measured and busy PASS, measured and idle FAIL, not measured is neither: SKIP
    assert _status(run.inventory) == {busy: "PASS", idle: "FAIL", bare: "SKIP"}


def test_a_denied_list_metrics_leaves_gpu_utilisation_unknown_error_never_skip() -> None:
    (instance,) = _instances(1)
    _agent(instance, "0", [0.0, 0.0, 0.0])
    sink, _ = run_with_hooks(
        {"aws.ec2.instance"}, {"before-call.cloudwatch.ListMetrics": failing("AccessDenied")}
    )
    inventory = sink.to_inventory("2026-06-01T00:00:00Z")
    assert {e.operation for e in inventory.errors} == {"cloudwatch:ListMetrics"}
    assert "gpu_metrics_datapoints" not in inventory.resources[0].data
    assert _status(inventory) == {instance: "ERROR"}
