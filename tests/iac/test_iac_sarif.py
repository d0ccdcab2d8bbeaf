"""The SARIF of an IaC scan passes the same checks as the live SARIF and points at the real files.

Uses the SARIF reporter and its checker (``tests.support.sarif_checks``); skips where they are
not installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlguard.iac import IacScan, build_scan_result
from mlguard.report.base import ReportOptions, reporters

sarif_checks = pytest.importorskip("tests.support.sarif_checks", reason="SARIF checker not installed")
FIXTURES = Path(__file__).parent / "fixtures"


def test_iac_sarif_is_valid_and_points_at_files(fixture_scan: IacScan) -> None:
    if "sarif" not in reporters():
        pytest.skip("SARIF reporter not installed")
    doc = json.loads(reporters()["sarif"]().render(build_scan_result(fixture_scan), ReportOptions()))
    assert sarif_checks.schema_problems(doc) == []
    assert sarif_checks.github_problems(doc) == []
    results = [res for run in doc["runs"] for res in run["results"]]
    assert results
    for res in results:
        location = res["locations"][0]["physicalLocation"]
        path = FIXTURES / location["artifactLocation"]["uri"]
        assert path.is_file(), path
        assert 1 <= location["region"]["startLine"] <= len(path.read_text().splitlines())
