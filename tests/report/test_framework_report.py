"""Compliance export for one framework: JSON, CSV and HTML agree with the scan, never overstate."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from mlguard.errors import InputError
from mlguard.model import ScanResult, Status
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.compliance import framework_status
from mlguard.report.framework_report import ComplianceExport, framework_reporter, output_name
from tests.support.results_factory import HOSTILE_NAME


@pytest.fixture(scope="module")
def options(scan: ScanResult, tmp_path_factory: pytest.TempPathFactory) -> ReportOptions:
    path: Path = reporters()["json"]().write(
        scan, tmp_path_factory.mktemp("fw") / "results.json", ReportOptions()
    )
    return ReportOptions(framework="soc2", results_sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def render(fmt: str, scan: ScanResult, options: ReportOptions) -> str:
    out = framework_reporter(fmt).render(scan, options)
    assert isinstance(out, str)
    return out


def test_json_export_requirements_and_digest(scan: ScanResult, options: ReportOptions) -> None:
    export = ComplianceExport.model_validate_json(render("json", scan, options))
    assert export.results_sha256 == options.results_sha256
    assert export.framework.id == "soc2"
    soc2 = next(f for f in scan.frameworks if f.id == "soc2")
    assert [r.id for r in export.requirements] == [r.id for r in soc2.requirements]
    for req, info in zip(export.requirements, soc2.requirements, strict=True):
        expected = [r for r in scan.results if r.policy_id in info.policies]
        assert len(req.evidence) == len(expected)
        assert sum(req.counts.values()) == len(expected)
        if any(r.status is Status.FAIL for r in expected):
            assert req.status == "fail"
    assert export.uncovered == ["A1.2"]
    assert export.summary.by_status["uncovered"] == 1
    assert export.summary.requirements == len(soc2.requirements)
    waived = [
        r
        for r in scan.results
        if r.status is Status.WAIVED and r.compliance and any(c.startswith("soc2:") for c in r.compliance)
    ]
    assert {w.resource_uid for w in export.waivers} == {r.resource_uid for r in waived}


def test_not_run_policy_leaves_requirement_uncovered(scan: ScanResult) -> None:
    mlops = next(f for f in scan.frameworks if f.id == "mlops-baseline")
    status = {r.requirement.id: r for r in framework_status(scan, mlops).requirements}
    assert status["ML-4"].status == "uncovered"
    assert [n.policy_id for n in status["ML-4"].not_run] == ["ML-LINEAGE-001"]


def test_error_only_requirement_is_error_not_pass(scan: ScanResult) -> None:
    soc2 = next(f for f in scan.frameworks if f.id == "soc2")
    pids = set(soc2.requirements[0].policies)
    # Every result of the requirement's policies becomes ERROR: no FAIL and no PASS is seen.
    only_errors = [
        r.model_copy(update={"status": Status.ERROR}) if r.policy_id in pids else r for r in scan.results
    ]
    fs = framework_status(scan.model_copy(update={"results": only_errors}), soc2)
    assert fs.requirements[0].status == "error"


def test_csv_export_rows(scan: ScanResult, options: ReportOptions) -> None:
    rows = list(csv.DictReader(io.StringIO(render("csv", scan, options))))
    soc2 = next(f for f in scan.frameworks if f.id == "soc2")
    mapped = sum(1 for req in soc2.requirements for r in scan.results if r.policy_id in req.policies)
    uncovered = [r for r in rows if r["requirement_status"] == "uncovered"]
    assert len(rows) == mapped + len(uncovered)
    assert {r["requirement_id"] for r in uncovered} == {"A1.2"}
    assert {r["results_sha256"] for r in rows} == {options.results_sha256}


def test_html_export_escaped_and_complete(scan: ScanResult, options: ReportOptions) -> None:
    text = render("html", scan, options)
    assert str(options.results_sha256) in text
    assert 'id="req-A1.2" data-status="uncovered"' in text
    assert HOSTILE_NAME not in text
    assert "<script" not in text
    assert "Risk <b>accepted</b>" not in text
    assert "Risk &lt;b&gt;accepted&lt;/b&gt;" in text


def test_unknown_framework_and_format_are_input_errors(scan: ScanResult) -> None:
    with pytest.raises(InputError, match="soc2"):
        framework_reporter("json").render(scan, ReportOptions(framework="nist-800-53"))
    with pytest.raises(InputError, match="--framework"):
        framework_reporter("json").render(scan, ReportOptions())
    with pytest.raises(InputError, match="sarif"):
        framework_reporter("sarif")
    assert output_name("html", "SOC 2/x") == "compliance-SOC_2_x.html"


def test_framework_matched_by_display_name(scan: ScanResult) -> None:
    doc = json.loads(render("json", scan, ReportOptions(framework="mlops baseline")))
    assert doc["framework"]["id"] == "mlops-baseline"
