"""The dated offline tables: accelerator facts and runtime end of support."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlguard.collect import facts
from mlguard.model import Status
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from mlguard.testing.golden import load_case_inventory

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_tables_are_dated_and_sourced() -> None:
    acc = facts.accelerator_table()
    eos = facts.end_of_support_table()
    assert acc.as_of.year >= 2025
    assert eos.as_of.year >= 2025
    assert acc.sources
    for lifecycle in (eos.lambda_, eos.databricks_runtime, eos.sagemaker_notebook_platform):
        assert lifecycle.sources
        assert lifecycle.versions


def test_every_sagemaker_type_has_the_facts_of_its_ec2_type() -> None:
    table = facts.accelerator_table()
    for name in table.sagemaker:
        assert name.removeprefix("ml.") in table.ec2, name
        assert facts.instance_type_facts(name) == facts.instance_type_facts(name.removeprefix("ml."))


@pytest.mark.parametrize(
    ("name", "count", "model", "memory_mib", "nvme_gb"),
    [
        ("p3.2xlarge", 1, "V100", 16384, None),
        ("p3dn.24xlarge", 8, "V100", 262144, 1800),
        ("p4d.24xlarge", 8, "A100", 327680, 8000),
        ("p4de.24xlarge", 8, "A100", 655360, 8000),
        ("p5.48xlarge", 8, "H100", 655360, 30400),
        ("g4dn.xlarge", 1, "T4", 16384, 125),
        ("g5.48xlarge", 8, "A10G", 183104, 7600),
        ("g6e.xlarge", 1, "L40S", 45776, 250),
        ("g4ad.16xlarge", 4, "Radeon Pro V520", 32768, 2400),
        ("g6f.large", 0.125, "L4", 2861, 100),  # a GPU partition
    ],
)
def test_gpu_facts_of_known_types(
    name: str, count: float, model: str, memory_mib: int, nvme_gb: int | None
) -> None:
    f = facts.instance_type_facts(name)
    assert f is not None
    assert f["is_gpu"] is True
    assert (f["gpu_count"], f["gpu_model"], f["gpu_memory_mib"], f["nvme_gb"]) == (
        count,
        model,
        memory_mib,
        nvme_gb,
    )


@pytest.mark.parametrize(
    ("name", "is_gpu", "accelerator"),
    [
        ("inf2.48xlarge", False, "neuron"),
        ("trn1n.32xlarge", False, "neuron"),
        ("dl1.24xlarge", False, "gaudi"),
        ("dl2q.24xlarge", False, "inference"),
        ("m5.large", False, None),
        ("c7i-flex.large", False, None),
        ("r6gd.xlarge", False, None),
        ("t3.micro", False, None),
    ],
)
def test_accelerators_that_are_not_gpus_and_families_without_any(
    name: str, is_gpu: bool, accelerator: str | None
) -> None:
    f = facts.instance_type_facts(name)
    assert f is not None
    assert (f["is_gpu"], f["accelerator"]) == (is_gpu, accelerator)


@pytest.mark.parametrize("name", ["zz9.large", "Standard_NC6s_v3", "ml.eia1.medium", "", None])
def test_unknown_types_are_unknown(name: str | None) -> None:
    assert facts.instance_type_facts(name) is None


def test_runtime_lookups() -> None:
    assert facts.runtime_support("lambda", "python3.8") == {
        "runtime": "python3.8",
        "end_of_support": "2024-10-14",
        "as_of": facts.end_of_support_table().as_of.isoformat(),
    }
    ml = facts.runtime_support("databricks_runtime", "15.4.x-gpu-ml-scala2.12")
    assert ml is not None
    assert (ml["version"], ml["end_of_support"], ml["lts"]) == ("15.4", "2027-08-19", True)
    assert facts.runtime_support("databricks_runtime", "custom:my-image") is None
    assert facts.runtime_support("lambda", "python9.9") is None
    platform = facts.runtime_support("sagemaker_notebook_platform", "notebook-al1-v1")
    assert platform is not None
    assert platform["end_of_support"] == "2023-12-31"


def test_end_of_support_is_judged_at_the_evaluation_date_not_collection_time() -> None:
    policy = load_policy_set([(builtin_policy_dir(), "builtin")]).policies[
        "lambda_function_supported_runtime"
    ]
    inventory, _ = load_case_inventory(GOLDEN / "lambda_function_supported_runtime")
    closing = "arn:aws:lambda:us-east-1:111122223333:function:closing"  # python3.11: ends 2026-06-30

    def status(now: datetime) -> Status:
        results = evaluate_inventory([policy], inventory, now=now).results
        return next(r.status for r in results if r.resource_uid == closing)

    assert status(datetime(2026, 6, 29, tzinfo=UTC)) == Status.PASS
    assert status(datetime(2026, 7, 1, tzinfo=UTC)) == Status.FAIL
