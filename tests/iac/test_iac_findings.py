"""checkov records -> mlguard results: locations, severities, suppressions, fingerprints, parsing."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from mlguard.errors import PolicyError
from mlguard.iac import CheckovFailedError, IacScan, scan_iac, with_compliance
from mlguard.iac.findings import convert, load_mapping, parse_mapping
from mlguard.iac.runner import parse_output
from mlguard.model import Provider, Severity, Status
from mlguard.policy.loader import builtin_policy_dir, load_policy_set

FIXTURES = Path(__file__).parent / "fixtures"
SRC = Path(__file__).resolve().parents[2] / "src" / "mlguard"


def test_results_point_at_the_resource_block(fixture_scan: IacScan) -> None:
    assert fixture_scan.results
    for r in fixture_scan.results:
        assert r.provider == Provider.IAC
        assert r.resource_type == "iac.resource"
        assert r.source is not None
        assert r.resource_uid == f"iac://{r.source.file}#{r.resource_name}"
        lines = (FIXTURES / r.source.file).read_text().splitlines()
        assert r.source.end_line is not None
        assert 1 <= r.source.start_line <= r.source.end_line <= len(lines)
        if r.source.file.endswith(".tf"):
            kind, name = r.resource_name.rsplit(".", 1) if r.resource_name else ("", "")
            assert lines[r.source.start_line - 1].startswith(f'resource "{kind}" "{name}"')


def test_severity_and_category_come_from_the_mapping(fixture_scan: IacScan) -> None:
    mapping = load_mapping()
    for r in fixture_scan.results:
        entry = mapping.get(r.policy_id)
        assert (r.severity, r.category) == (entry.severity, entry.category)
    grants = next(r for r in fixture_scan.results if r.policy_id == "MLG_DBX_8" and r.status is Status.FAIL)
    assert grants.severity is Severity.CRITICAL


def test_compliance_comes_from_the_framework_files_and_the_mirrored_policies(fixture_scan: IacScan) -> None:
    policy_set = load_policy_set([(builtin_policy_dir(), "builtin")])
    scan = with_compliance(fixture_scan, policy_set)
    by_check = {r.policy_id: r for r in scan.results}
    # CKV_AWS_122 is listed under SageMaker.1 itself
    assert "aws-securityhub-sagemaker:SageMaker.1" in by_check["CKV_AWS_122"].compliance
    # MLG_DBX_3 is listed nowhere: it inherits the requirements of the live policy it mirrors
    live = policy_set.policies["databricks_cluster_uc_access_mode"].compliance
    assert live
    assert set(live) <= set(by_check["MLG_DBX_3"].compliance)
    assert {p.id: p.compliance for p in scan.policies}["MLG_DBX_3"] == by_check["MLG_DBX_3"].compliance


def test_policy_infos_cover_every_check_seen(fixture_scan: IacScan) -> None:
    infos = {p.id: p for p in fixture_scan.policies}
    assert {r.policy_id for r in fixture_scan.results} == set(infos)
    assert infos["MLG_SM_3"].source == "mlguard"
    assert infos["CKV_AWS_98"].source == "checkov"
    assert infos["MLG_DBX_7"].remediation
    assert all(p.resource == "iac.resource" for p in infos.values())


def test_suppression_comment_becomes_skip(fixture_scan: IacScan) -> None:
    skipped = [r for r in fixture_scan.results if r.status is Status.SKIP]
    assert [(r.policy_id, r.resource_name) for r in skipped] == [("CKV_AWS_144", "aws_s3_bucket.capture")]
    assert skipped[0].evidence.values["suppress_comment"].startswith("Cross-region replication")
    assert "suppressed in code" in skipped[0].message


def test_failure_evidence_names_keys_and_details(fixture_scan: IacScan) -> None:
    conf = next(r for r in fixture_scan.results if r.policy_id == "MLG_DBX_9" and r.status is Status.FAIL)
    assert conf.evidence.values["resource_address"] == "databricks_workspace_conf.bad"
    assert "custom_config/[0]/enableIpAccessLists" in conf.evidence.values["evaluated_keys"]
    assert "enableIpAccessLists must be true" in conf.evidence.values["details"]
    assert conf.evidence.collected_at


def test_fingerprints_are_unique_and_stable_across_runs_and_line_moves(
    fixture_scan: IacScan, module_copy: Path, checkov_bin: Path
) -> None:
    main = module_copy / "main.tf"
    main.write_text("# moved down\n\n\n\n\n" + main.read_text())
    moved = scan_iac(module_copy, checkov_bin=checkov_bin, repo_root=module_copy.parent)
    before = {
        r.fingerprint: r
        for r in fixture_scan.results
        if r.source and r.source.file == "sagemaker_endpoint/main.tf"
    }
    after = {r.fingerprint: r for r in moved.results}
    assert len(after) == len(moved.results)
    assert set(before) == set(after)
    for fp, r in before.items():
        assert r.source is not None
        assert after[fp].source is not None
        assert after[fp].source.start_line == r.source.start_line + 5


def test_no_attribute_values_reach_the_results(scenario_scan: IacScan, canary: str) -> None:
    leaky = {r.policy_id for r in scenario_scan.results if r.resource_uid.startswith("iac://canary/")}
    assert leaky >= {"MLG_DBX_1", "MLG_DBX_4"}
    assert canary not in scenario_scan.model_dump_json()


def test_unparsable_file_is_an_error_not_a_pass(scenario_scan: IacScan) -> None:
    assert not [r for r in scenario_scan.results if r.resource_uid.startswith("iac://broken/")]
    assert len(scenario_scan.errors) == 1
    assert scenario_scan.errors[0].code == "ParseError"
    assert scenario_scan.errors[0].resource_uid == "iac://broken/broken.tf"


def test_skip_path_excludes_files(scenario_scan: IacScan) -> None:
    assert [r for r in scenario_scan.results if r.resource_uid.startswith("iac://skipped/")] == []
    assert any(r.resource_uid.startswith("iac://canary/") for r in scenario_scan.results)


def test_empty_directory_gives_nothing(tmp_path: Path, checkov_bin: Path) -> None:
    scan = scan_iac(tmp_path, checkov_bin=checkov_bin)
    assert (scan.results, scan.errors, scan.policies) == ([], [], [])


def test_single_file_scan(checkov_bin: Path) -> None:
    scan = scan_iac(
        FIXTURES / "cloudformation" / "sagemaker.yaml", checkov_bin=checkov_bin, repo_root=FIXTURES
    )
    assert {r.source.file for r in scan.results if r.source} == {"cloudformation/sagemaker.yaml"}
    assert scan.path == "cloudformation/sagemaker.yaml"


# ----------------------------------------------------------------- checkov JSON shapes


def _record(check_id: str, result: str) -> dict[str, object]:
    return {
        "check_id": check_id,
        "check_name": "a check",
        "check_result": {"result": result, "evaluated_keys": None},
        "file_path": "/main.tf",
        "file_line_range": [3, 9],
        "resource": "aws_s3_bucket.b",
        "details": None,
        "code_block": [[3, 'resource "aws_s3_bucket" "b" {\n']],
    }


def _report(check_type: str) -> dict[str, object]:
    return {
        "check_type": check_type,
        "results": {
            "passed_checks": [_record("CKV_AWS_21", "PASSED")],
            "failed_checks": [_record("CKV_AWS_19", "FAILED")],
            "skipped_checks": [],
            "parsing_errors": [],
        },
        "summary": {"passed": 1, "failed": 1, "checkov_version": "3.3.30"},
    }


def test_parse_output_list_dict_and_empty_summary() -> None:
    several = parse_output(json.dumps([_report("terraform"), _report("cloudformation")]))
    assert [r.check_type for r in several] == ["terraform", "cloudformation"]
    one = parse_output(json.dumps(_report("terraform")))
    assert [(r.check_id, r.check_result.result) for r in one[0].records] == [
        ("CKV_AWS_19", "FAILED"),
        ("CKV_AWS_21", "PASSED"),
    ]
    assert one[0].checkov_version == "3.3.30"
    assert parse_output(json.dumps({"passed": 0, "failed": 0, "resource_count": 0})) == []


def test_evaluated_keys_are_the_same_whatever_order_checkov_lists_them_in() -> None:
    """checkov builds them from a set: two runs over the same code (a shard's and the unsharded
    scan's) list them in different orders; the evidence must not differ."""
    orders = [["resource_type", "acl", "policy"], ["policy", "resource_type", "acl", "acl"]]
    keys = []
    for order in orders:
        record = _record("CKV_AWS_19", "FAILED")
        record["check_result"] = {"result": "FAILED", "evaluated_keys": order}
        report = parse_output(json.dumps({**_report("terraform"), "results": {"failed_checks": [record]}}))
        (result,), _, _ = convert(report, scan_root=Path("/repo"), repo_root=Path("/repo"), collected_at="t")
        keys.append(result.evidence.values["evaluated_keys"])
    assert keys == [["acl", "policy", "resource_type"]] * 2


@pytest.mark.parametrize(
    "text",
    [
        "Traceback (most recent call last):",
        json.dumps(["not a report"]),
        json.dumps({"results": {}}),
        json.dumps({"check_type": "terraform", "results": {"failed_checks": [{"check_id": "X"}]}}),
    ],
)
def test_parse_output_rejects_what_it_cannot_read(text: str) -> None:
    with pytest.raises(CheckovFailedError):
        parse_output(text)


# ----------------------------------------------------------------- mapping and import contract


def test_invalid_mapping_names_the_file() -> None:
    with pytest.raises(PolicyError, match=r"m\.yaml") as info:
        parse_mapping("default: {severity: severe, category: security}\n", "m.yaml")
    assert "severity" in info.value.message
    with pytest.raises(PolicyError) as bad_yaml:
        parse_mapping("default: [\n", "m.yaml")
    assert bad_yaml.value.file == "m.yaml"


def test_mlguard_never_imports_checkov() -> None:
    checks_dir = SRC / "iac" / "checks"
    for path in SRC.rglob("*.py"):
        if checks_dir in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n == "checkov" or n.startswith("checkov.") for n in names), path
            assert not any(n.startswith("mlguard.iac.checks") for n in names), path
