"""Cost figures of the training-job, EMR GPU-cluster and Bedrock provisioned-throughput policies,
measured on their golden cases and priced from a price file, with the assumptions in the evidence."""

from __future__ import annotations

from pathlib import Path

from mlguard.cost.figures import CostOptions, attach_costs, fleet_of
from mlguard.cost.model import Cost
from mlguard.cost.pricing import load_price_file
from mlguard.policy.evaluator import InventoryIndex, evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from mlguard.testing.golden import GOLDEN_NOW, load_case_inventory

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
TITAN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"


def _cost(policy_id: str, uid: str, prices: Path | None = None) -> Cost:
    policy = load_policy_set([(builtin_policy_dir(), "builtin")]).policies[policy_id]
    inventory, _ = load_case_inventory(GOLDEN / policy_id)
    results = evaluate_inventory([policy], inventory, now=GOLDEN_NOW).results
    options = CostOptions(prices=load_price_file(prices) if prices else None)
    (r,) = [r for r in attach_costs(results, [policy], inventory, options) if r.resource_uid == uid]
    assert r.cost is not None
    return r.cost


def _prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(
        "instances:\n"
        "  - {platform: ec2, instance_type: g5.12xlarge, usd_per_hour: 6}\n"
        "  - {platform: sagemaker, instance_type: ml.p4d.24xlarge, usd_per_hour: 40}\n"
        f"  - {{platform: bedrock, instance_type: '{TITAN}', usd_per_hour: 20}}\n"
    )
    return path


def test_idle_bedrock_throughput_costs_its_model_unit_hours(tmp_path: Path) -> None:
    uid = "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/idle"
    cost = _cost("bedrock_provisioned_throughput_idle", uid)
    assert (cost.node_hours_per_month, cost.gpu_hours_per_month) == (1460, None)
    assert any("Bedrock does not expose the hardware" in u for u in cost.unknown)
    assert "invocations: 0" in cost.assumptions
    assert _cost("bedrock_provisioned_throughput_idle", uid, _prices(tmp_path)).usd_per_month == 1460 * 20


def test_an_unscaled_emr_gpu_group_costs_its_instances_above_one(tmp_path: Path) -> None:
    uid = "arn:aws:elasticmapreduce:us-east-1:111122223333:cluster/j-FIXED"
    cost = _cost("emr_gpu_cluster_managed_scaling", uid, _prices(tmp_path))
    (line,) = cost.lines  # the MASTER group is not GPU: no line
    assert (line.instance_type, line.instances, line.accelerators_per_instance) == ("g5.12xlarge", 2, 4)
    assert (cost.node_hours_per_month, cost.gpu_hours_per_month, cost.usd_per_month) == (1460, 5840, 8760)
    assert any("EMR per-instance fee is not included" in a for a in cost.assumptions)


def test_a_runaway_training_job_gives_its_exposure_per_hour(tmp_path: Path) -> None:
    uid = "arn:aws:sagemaker:us-east-1:111122223333:training-job/runaway"
    cost = _cost("sagemaker_training_job_gpu_spot_or_bounded", uid, _prices(tmp_path))
    assert (cost.node_hours_per_month, cost.gpu_hours_per_month, cost.usd_per_month) == (None, None, None)
    assert "each such hour: 2 instance-hours, 16 GPU-hours" in cost.assumptions
    assert "max runtime in seconds: 2,419,200" in cost.assumptions
    assert any("each such hour costs $80.00" in u for u in cost.unknown)
    assert cost.action == "bound_runtime"


def test_costs_and_the_fleet_read_with_the_evaluators_index_are_those_of_a_new_one() -> None:
    policies = [p for p in load_policy_set([(builtin_policy_dir(), "builtin")]).policies.values() if p.cost]
    costs = fleet_items = 0
    for policy in policies:
        inventory, _ = load_case_inventory(GOLDEN / policy.id)
        evaluated = evaluate_inventory([policy], inventory, now=GOLDEN_NOW)
        assert evaluated.index is not None
        assert evaluated.index.inventory is inventory
        shared = attach_costs(evaluated.results, [policy], inventory, index=evaluated.index)
        own = attach_costs(evaluated.results, [policy], inventory)
        assert [r.model_dump_json() for r in shared] == [r.model_dump_json() for r in own]
        fleet, own_fleet = fleet_of(inventory, [policy], index=evaluated.index), fleet_of(inventory, [policy])
        assert fleet is not None
        assert own_fleet is not None
        assert fleet.model_dump_json() == own_fleet.model_dump_json()
        costs += sum(1 for r in shared if r.cost is not None)
        fleet_items += len(fleet.items)
        # the documents it read are not kept, and an index of another inventory is not used
        assert not evaluated.index._docs
        other, _ = load_case_inventory(GOLDEN / policies[0].id)
        again = attach_costs(evaluated.results, [policy], inventory, index=InventoryIndex(other))
        assert [r.model_dump_json() for r in again] == [r.model_dump_json() for r in own]
    assert costs > len(policies)
    assert fleet_items
