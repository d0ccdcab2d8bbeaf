"""write_reports: every format in one go, compliance mode, nothing written on a bad request."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlguard.errors import InputError
from mlguard.model import ScanResult
from mlguard.report.base import ReportOptions
from mlguard.report.render import parse_formats, sha256_file, write_reports


def test_all_formats_written_with_documented_names(scan: ScanResult, tmp_path: Path) -> None:
    formats = parse_formats("sarif, html,json,junit,markdown,csv,sarif")
    assert formats == ["sarif", "html", "json", "junit", "markdown", "csv"]
    paths = write_reports(scan, formats, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == ["junit.xml", "report.html", "results.csv", "results.json", "results.sarif", "summary.md"]
    assert ScanResult.model_validate_json((tmp_path / "results.json").read_text()) == scan


def test_compliance_mode_carries_digest(scan: ScanResult, tmp_path: Path) -> None:
    results = write_reports(scan, ["json"], tmp_path)[0]
    digest = sha256_file(results)
    assert digest == hashlib.sha256(results.read_bytes()).hexdigest()
    options = ReportOptions(framework="soc2", results_sha256=digest)
    paths = write_reports(scan, ["html", "csv", "json"], tmp_path / "c", options)
    assert sorted(p.name for p in paths) == [
        "compliance-soc2.csv",
        "compliance-soc2.html",
        "compliance-soc2.json",
    ]
    assert json.loads((tmp_path / "c" / "compliance-soc2.json").read_text())["results_sha256"] == digest


def test_bad_requests_write_nothing(scan: ScanResult, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="choose from"):
        parse_formats("sarif,pdf")
    with pytest.raises(InputError, match="--framework supports"):
        write_reports(scan, ["json", "sarif"], tmp_path / "x", ReportOptions(framework="soc2"))
    with pytest.raises(InputError, match="not in this scan"):
        write_reports(scan, ["json"], tmp_path / "y", ReportOptions(framework="pci"))
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "y").exists()
