"""The GPU fleet: every accelerated item on both platforms, with hours in the look-back window
derived from start/stop/end times, and unknown (never zero) where a value was not read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlguard.cost.fleet import gpu_fleet
from mlguard.cost.model import FleetItem, GpuFleet
from mlguard.cost.pricing import load_price_file
from mlguard.cost.render import fleet_item_row, fleet_total_row
from mlguard.model import CollectionError, Inventory, Provenance, Resource

END = "2026-12-01T00:00:00Z"  # the window is the 14 days before
ACCT = "123456789012"
WS = "dbc-1.cloud.databricks.com"
TITAN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"


def _aws(rtype: str, rid: str, data: dict[str, Any], **kw: Any) -> Resource:
    return Resource(
        uid=f"arn:aws:{rtype}:{rid}",
        type=rtype,
        provider="aws",
        id=rid,
        name=rid,
        account=ACCT,
        region="us-east-1",
        data={"metrics_days": 14, **data},
        **kw,
    )


def _dbx(rtype: str, rid: str, data: dict[str, Any]) -> Resource:
    return Resource(
        uid=f"databricks://{WS}/{rtype}/{rid}",
        type=rtype,
        provider="databricks",
        id=rid,
        name=rid,
        workspace=WS,
        data=data,
    )


def _node(node: str, gpus: int, model: str | None) -> dict[str, Any]:
    return {"node_type_id": node, "known": True, "num_gpus": gpus, "is_gpu": gpus > 0, "gpu_model": model}


def _inventory(errors: list[CollectionError] | None = None) -> Inventory:
    ec2_gpu = {"gpu_count": 1, "gpu_model": "A10G", "is_gpu": True, "accelerator": "gpu"}
    resources = [
        _aws(
            "aws.ec2.instance",
            "i-run",
            {
                "instance_type": "g5.2xlarge",
                "state": "running",
                "gpu": ec2_gpu,
                "launch_time": "2026-11-28T00:00:00Z",
                "cpu_utilization_avg": 2.5,
                "gpu_utilization_avg": 64.0,
                "gpu_utilization_max": 99.0,
                "gpu_utilization_reason": None,
            },
            tags={"team": "vision"},
        ),
        _aws(
            "aws.ec2.instance",
            "i-stopped-long-ago",
            {
                "instance_type": "g5.2xlarge",
                "state": "stopped",
                "gpu": ec2_gpu,
                "launch_time": "2026-10-01T00:00:00Z",
                "state_transition_time": "2026-10-02T00:00:00Z",
            },
        ),
        _aws(
            "aws.ec2.instance",
            "i-stopped-in-window",
            {
                "instance_type": "p4d.24xlarge",
                "state": "stopped",
                "gpu": {"gpu_count": 8, "gpu_model": "A100", "is_gpu": True, "accelerator": "gpu"},
                "launch_time": "2026-11-30T00:00:00Z",
                "state_transition_time": "2026-11-30T10:00:00Z",
                "gpu_utilization_avg": None,
                "gpu_utilization_reason": "not measured: no agent metrics",
            },
        ),
        _aws(
            "aws.ec2.instance",
            "i-cpu",
            {
                "instance_type": "m5.large",
                "state": "running",
                "gpu": {"gpu_count": 0, "is_gpu": False, "accelerator": None},
                "launch_time": "2026-11-01T00:00:00Z",
            },
        ),
        _aws(
            "aws.ec2.instance",
            "i-blocked",
            {
                "instance_type": "g4dn.xlarge",
                "state": "running",
                "gpu": {"gpu_count": 1, "gpu_model": "T4", "is_gpu": True, "accelerator": "gpu"},
            },
        ),
        _aws(
            "aws.sagemaker.endpoint",
            "ep",
            {
                "endpoint_status": "InService",
                "creation_time": "2026-10-01T00:00:00Z",
                "variants": [
                    {
                        "variant_name": "gpu",
                        "instance_type": "ml.g5.xlarge",
                        "is_gpu": True,
                        "accelerator": "gpu",
                        "gpu_count": 1,
                        "gpu_model": "A10G",
                        "current_instance_count": 2,
                        "serverless": False,
                        "invocations_sum": 0.0,
                    },
                    {
                        "variant_name": "cpu",
                        "instance_type": "ml.m5.large",
                        "is_gpu": False,
                        "accelerator": None,
                        "gpu_count": 0,
                        "current_instance_count": 1,
                        "serverless": False,
                    },
                ],
            },
        ),
        _aws(
            "aws.applicationautoscaling.scalable_target",
            "endpoint/ep/variant/gpu",
            {"endpoint_name": "ep", "variant_name": "gpu", "min_capacity": 1, "max_capacity": 4},
        ),
        _aws(
            "aws.sagemaker.training_job",
            "train",
            {
                "instance_type": "ml.p4d.24xlarge",
                "is_gpu": True,
                "accelerator": "gpu",
                "gpu_count": 8,
                "gpu_model": "A100",
                "instance_count": 2,
                "training_job_status": "Completed",
                "training_start_time": "2026-11-20T00:00:00Z",
                "training_end_time": "2026-11-20T10:00:00Z",
            },
        ),
        _aws(
            "aws.bedrock.provisioned_throughput",
            "pt",
            {
                "status": "InService",
                "model_units": 2,
                "creation_time": "2026-11-01T00:00:00Z",
                "commitment_duration": "OneMonth",
                "foundation_model_arn": TITAN,
                "invocations_sum": 0,
            },
        ),
        _dbx(
            "databricks.cluster",
            "fixed",
            {
                "state": "RUNNING",
                "gpu": _node("g5.12xlarge", 4, "A10G"),
                "driver_gpu": _node("g5.12xlarge", 4, "A10G"),
                "node_type_id": "g5.12xlarge",
                "num_workers": 2,
                "autoscale": None,
                "started_at": "2026-11-30T00:00:00Z",
            },
        ),
        _dbx(
            "databricks.cluster",
            "autoscaling",
            {
                "state": "RUNNING",
                "gpu": _node("g5.xlarge", 1, "A10G"),
                "driver_gpu": _node("g5.xlarge", 1, "A10G"),
                "node_type_id": "g5.xlarge",
                "autoscale": {"min_workers": 1, "max_workers": 4},
                "started_at": "2026-11-30T00:00:00Z",
            },
        ),
        _dbx(
            "databricks.cluster",
            "cpu",
            {
                "state": "RUNNING",
                "gpu": _node("m5.xlarge", 0, None),
                "driver_gpu": _node("m5.xlarge", 0, None),
                "node_type_id": "m5.xlarge",
                "num_workers": 1,
            },
        ),
        _dbx(
            "databricks.instance_pool",
            "pool",
            {
                "state": "ACTIVE",
                "gpu": _node("g5.12xlarge", 4, "A10G"),
                "node_type_id": "g5.12xlarge",
                "min_idle_instances": 3,
                "max_capacity": 10,
            },
        ),
        _dbx(
            "databricks.serving_endpoint",
            "srv",
            {
                "created_at": "2026-11-24T00:00:00Z",
                "served_entities": [
                    {
                        "name": "big",
                        "gpu": True,
                        "workload_type": "MULTIGPU_MEDIUM",
                        "workload_size": "Small",
                        "scale_to_zero_enabled": False,
                    },
                    {"name": "cpu", "gpu": False, "workload_type": "CPU", "scale_to_zero_enabled": True},
                ],
            },
        ),
    ]
    return Inventory(
        provenance=Provenance(version="t", started_at="2026-11-30T23:50:00Z", finished_at=END),
        resources=resources,
        errors=errors or [],
    )


def _blocked_launch_time() -> CollectionError:
    return CollectionError(
        provider="aws",
        account=ACCT,
        region="us-east-1",
        resource_type="aws.ec2.instance",
        operation="DescribeInstances",
        code="AccessDenied",
        message="denied",
        resource_uid="arn:aws:aws.ec2.instance:i-blocked",
        attributes=["launch_time"],
    )


@pytest.fixture(scope="module")
def fleet() -> GpuFleet:
    return gpu_fleet(_inventory([_blocked_launch_time()]))


def _item(fleet: GpuFleet, name: str) -> FleetItem:
    (item,) = [i for i in fleet.items if i.name == name]
    return item


def test_the_fleet_lists_every_accelerated_item_and_no_cpu_one(fleet: GpuFleet) -> None:
    names = {i.name for i in fleet.items}
    assert names == {
        "i-run",
        "i-stopped-long-ago",
        "i-stopped-in-window",
        "i-blocked",
        "ep / gpu",
        "train",
        "pt",
        "fixed",
        "autoscaling",
        "pool",
        "srv / big",
    }
    assert fleet.window_days == 14
    assert fleet.window_start == "2026-11-17T00:00:00Z"
    assert fleet.window_end == END
    # a provider in the inventory whose fleet types were not collected says so
    assert "aws.sagemaker.processing_job" in fleet.not_collected


def test_hours_come_from_start_stop_and_end_times(fleet: GpuFleet) -> None:
    run = _item(fleet, "i-run")
    assert (run.hours, run.gpu_hours, run.accelerator_model, run.owner) == (72.0, 72.0, "A10G", "vision")
    assert run.utilisation["cpu_utilization_avg_pct"] == 2.5
    # GPU utilisation from the CloudWatch agent where it was measured; the reason where it was not
    assert (run.utilisation["gpu_utilization_avg_pct"], run.utilisation["gpu_utilization_max_pct"]) == (
        64.0,
        99.0,
    )
    assert "gpu_utilization" not in run.utilisation
    unmeasured = _item(fleet, "i-stopped-in-window").utilisation
    assert unmeasured["gpu_utilization"] == "not measured: no agent metrics"
    assert "gpu_utilization_avg_pct" not in unmeasured
    assert _item(fleet, "i-stopped-long-ago").hours == 0.0  # stopped before the window
    stopped = _item(fleet, "i-stopped-in-window")
    assert (stopped.hours, stopped.gpu_hours, stopped.instances) == (10.0, 80.0, 0.0)
    job = _item(fleet, "train")  # 10 h x 2 instances x 8 GPUs
    assert (job.hours, job.instances, job.gpu_hours) == (10.0, 2.0, 160.0)
    ep = _item(fleet, "ep / gpu")  # in service the whole window, 2 instances, range from its target
    assert (ep.hours, ep.instances, ep.instances_min, ep.instances_max, ep.gpu_hours) == (
        336.0,
        2,
        1,
        4,
        672.0,
    )
    assert ep.utilisation["invocations"] == 0.0
    fixed = _item(fleet, "fixed")  # 2 workers + the driver, 4 GPUs each, for 24 h
    assert (fixed.instances, fixed.accelerators, fixed.hours, fixed.gpu_hours) == (3, 12, 24.0, 288.0)
    srv = _item(fleet, "srv / big")  # no scale-to-zero: at least one 4-GPU replica since creation
    assert (srv.hours, srv.gpu_hours, srv.instances_min) == (168.0, 672.0, 1.0)
    assert any("lower bound" in n for n in srv.notes)


def test_what_was_not_read_is_unknown_never_zero(fleet: GpuFleet) -> None:
    blocked = _item(fleet, "i-blocked")
    assert blocked.hours is None
    assert blocked.gpu_hours is None
    assert any("AccessDenied" in u for u in blocked.unknown)
    auto = _item(fleet, "autoscaling")
    assert (auto.instances, auto.accelerators, auto.gpu_hours) == (None, None, None)
    assert (auto.instances_min, auto.instances_max) == (2, 5)
    pt = _item(fleet, "pt")
    assert (pt.instances, pt.hours, pt.accelerators, pt.gpu_hours) == (2, 336.0, None, None)
    pool = _item(fleet, "pool")
    assert (pool.instances, pool.accelerators, pool.hours, pool.gpu_hours) == (3, 12, None, None)
    assert "unknown" in fleet_item_row(pool)
    bedrock = next(t for t in fleet.by_kind if t.key == "Bedrock provisioned throughput")
    assert fleet_total_row(bedrock)[2:4] == ["unknown", "unknown"]  # none known: unknown, not "0"
    t = fleet.total
    assert t.unknown_gpu_hours == 4  # i-blocked, autoscaling, pt, pool
    assert t.gpu_hours == sum(i.gpu_hours or 0 for i in fleet.items)
    assert t.gpu_hours == 72 + 0 + 80 + 160 + 672 + 288 + 672


def test_dollars_from_a_price_file_only_and_unknown_hours_stay_unpriced(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(
        "instances:\n"
        "  - {platform: ec2, instance_type: g5.2xlarge, usd_per_hour: 1.5}\n"
        "  - {platform: ec2, instance_type: g5.12xlarge, usd_per_hour: 6}\n"
        "  - {platform: sagemaker, instance_type: ml.p4d.24xlarge, usd_per_hour: 40}\n"
    )
    fleet = gpu_fleet(_inventory(), load_price_file(prices))
    assert _item(fleet, "i-run").usd == 108.0  # 72 h x 1.5
    assert _item(fleet, "i-stopped-long-ago").usd == 0.0
    assert _item(fleet, "train").usd == 800.0  # 10 h x 2 x 40
    fixed = _item(fleet, "fixed")  # a cluster node-hour is its VM plus its DBUs: no DBU rate, no dollars
    assert fixed.usd is None
    assert any("has no databricks_compute (its DBUs)" in u for u in fixed.unknown)
    pool = _item(fleet, "pool")
    assert pool.usd is None
    assert pool.usd_per_hour == 6
    assert _item(fleet, "ep / gpu").usd is None  # ml.g5.xlarge not priced
    assert fleet.total.usd == 108 + 800
    assert fleet.total.unpriced == sum(1 for i in fleet.items if i.usd is None)


def test_a_failed_listing_makes_the_fleet_incomplete() -> None:
    err = CollectionError(
        provider="databricks",
        workspace=WS,
        resource_type="databricks.cluster",
        operation="clusters/list",
        code="PERMISSION_DENIED",
        message="no",
    )
    fleet = gpu_fleet(_inventory([err]))
    assert fleet.incomplete
    assert "databricks.cluster" in fleet.incomplete[0]


def test_no_fleet_when_no_cost_policy_is_selected() -> None:
    from mlguard.cost.figures import fleet_of

    assert fleet_of(_inventory(), []) is None


def test_a_cluster_is_priced_as_its_vm_plus_its_dbus(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(
        "instances:\n"
        "  - {platform: ec2, instance_type: g5.12xlarge, usd_per_hour: 6}\n"
        "  - {platform: databricks_compute, instance_type: g5.12xlarge, dbu_per_hour: 10, sku: JOBS}\n"
        "databricks: {dbu_prices: {JOBS: 0.5}}\n"
    )
    fleet = gpu_fleet(_inventory(), load_price_file(prices))
    fixed = _item(fleet, "fixed")
    assert fixed.usd_per_hour == 11.0  # 6 $/h VM + 10 DBU/h x 0.5 $/DBU
    assert fixed.usd == 792.0  # 24 h x 3 nodes x 11 $/h
    assert fixed.price_source == "VM prices.yaml: 6 $/h + DBUs prices.yaml: 10 DBU/h x 0.5 $/DBU (JOBS)"
    assert _item(fleet, "pool").usd_per_hour == 6.0  # idle pool instances bill the VM only
