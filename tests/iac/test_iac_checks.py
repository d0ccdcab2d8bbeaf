"""Golden tests: every mlguard checkov check FAILs and PASSes on real fixture files, via real checkov."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mlguard.iac import CHECKS_DIR, IacScan
from mlguard.iac.findings import load_mapping
from mlguard.model import Status

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED: dict[str, dict[str, list[str]]] = YAML(typ="safe").load(FIXTURES / "expected.yaml")
CHECK_ID = re.compile(r'\bid="(MLG_[A-Z]+_\d+)"')
MLG_IDS = sorted({m for f in CHECKS_DIR.glob("*.py") for m in CHECK_ID.findall(f.read_text())})


def outcomes(scan: IacScan, check_id: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"PASS": set(), "FAIL": set(), "SKIP": set()}
    for r in scan.results:
        if r.policy_id == check_id:
            found[r.status.value].add(r.resource_uid.removeprefix("iac://"))
    return found


def test_every_mlguard_check_is_covered() -> None:
    assert len(MLG_IDS) == 13
    assert set(MLG_IDS) <= set(EXPECTED), "each MLG check needs golden PASS and FAIL cases"
    for check_id in MLG_IDS:
        assert EXPECTED[check_id]["PASS"], check_id
        assert EXPECTED[check_id]["FAIL"], check_id


@pytest.mark.parametrize("check_id", MLG_IDS)
def test_mlguard_check_golden(fixture_scan: IacScan, check_id: str) -> None:
    found = outcomes(fixture_scan, check_id)
    assert found["PASS"] == set(EXPECTED[check_id]["PASS"])
    assert found["FAIL"] == set(EXPECTED[check_id]["FAIL"])


@pytest.mark.parametrize("check_id", sorted(k for k in EXPECTED if not k.startswith("MLG_")))
def test_builtin_check_outcomes(fixture_scan: IacScan, check_id: str) -> None:
    found = outcomes(fixture_scan, check_id)
    for status in ("PASS", "FAIL"):
        assert set(EXPECTED[check_id].get(status, [])) <= found[status], status


def test_every_mlguard_check_has_a_mapping_entry() -> None:
    mapping = load_mapping()
    for check_id in MLG_IDS:
        assert check_id in mapping.checks, check_id


def test_cpu_resources_are_not_judged_by_gpu_checks(fixture_scan: IacScan) -> None:
    # Not applicable is not reported, rather than reported as compliant.
    judged = {r.resource_uid for r in fixture_scan.results if r.policy_id in {"MLG_DBX_4", "MLG_SM_2"}}
    assert "iac://databricks_workspace/main.tf#databricks_cluster.cpu_no_policy" not in judged
    assert "iac://sagemaker_endpoint/main.tf#aws_sagemaker_endpoint_configuration.cpu" not in judged


def test_values_known_only_at_apply_time_are_not_judged(fixture_scan: IacScan) -> None:
    judged = [
        (r.policy_id, r.resource_name, r.status.value)
        for r in fixture_scan.results
        if r.policy_id.startswith("MLG_") and r.resource_uid.startswith("iac://unresolved/")
    ]
    assert judged == []
    # ...while checkov's own checks did see those resources.
    assert any(r.resource_uid.startswith("iac://unresolved/") for r in fixture_scan.results)


def test_cross_resource_check_only_sees_its_module(scenario_scan: IacScan) -> None:
    """With the alarm and autoscaling target in another module, the good endpoint FAILs."""
    status = {
        (r.policy_id, r.resource_name): r.status
        for r in scenario_scan.results
        if r.source and r.source.file == "split/sagemaker_endpoint/main.tf"
    }
    assert status[("MLG_SM_3", "aws_sagemaker_endpoint.good")] is Status.FAIL
    assert status[("MLG_SM_2", "aws_sagemaker_endpoint_configuration.good")] is Status.FAIL
    assert status[("MLG_SM_1", "aws_sagemaker_endpoint_configuration.good")] is Status.PASS


def test_module_called_twice_gives_one_result_per_instance(scenario_scan: IacScan) -> None:
    assert len({r.fingerprint for r in scenario_scan.results}) == len(scenario_scan.results)
    status = {
        r.resource_uid: r.status
        for r in scenario_scan.results
        if r.policy_id == "MLG_SM_3" and r.resource_uid.startswith("iac://twice/")
    }
    assert status == {
        "iac://twice/modules/sm/main.tf#module.a.aws_sagemaker_endpoint.good": Status.PASS,
        "iac://twice/modules/sm/main.tf#module.a.aws_sagemaker_endpoint.bad": Status.FAIL,
        "iac://twice/modules/sm/main.tf#module.b.aws_sagemaker_endpoint.good": Status.PASS,
        "iac://twice/modules/sm/main.tf#module.b.aws_sagemaker_endpoint.bad": Status.FAIL,
    }
