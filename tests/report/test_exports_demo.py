"""OCSF and ASFF from a real demo scan of both estates: valid for their consumers, and no planted
secret (the demo estates' canaries) in either file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from click.testing import CliRunner

from mlguard.cli import cli
from mlguard.demo.aws_estate import CANARIES as AWS_CANARIES
from mlguard.demo.databricks_fake.seeds import CANARIES as DATABRICKS_CANARIES
from mlguard.report.formats.asff import MAX_BATCH
from mlguard.report.formats.ocsf import OcsfComplianceFinding

pytestmark = pytest.mark.e2e
CANARIES = (*AWS_CANARIES, *DATABRICKS_CANARIES)
DEMO_ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("exports")
    run = CliRunner().invoke(
        cli,
        [
            *("-q", "scan", "--demo", "--format", "json,ocsf,asff", "--output-dir", str(d)),
            *("--asff-region", "eu-west-1", "--asff-account", DEMO_ACCOUNT, "--fail-on", "never"),
        ],
        catch_exceptions=False,
    )
    assert run.exit_code == 0, run.output
    return d


def _load(path: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_no_planted_secret_in_either_export(out: Path) -> None:
    assert len(set(CANARIES)) >= 20
    for name in ("results.ocsf.json", "results.asff.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert [c for c in CANARIES if c in text] == [], name


def test_demo_exports_are_valid_and_complete(out: Path) -> None:
    results = json.loads((out / "results.json").read_text())["results"]
    events = _load(out / "results.ocsf.json")
    findings = _load(out / "results.asff.json")
    assert len(events) == len(findings) == len(results) > 500
    for event in events:
        OcsfComplianceFinding.model_validate(event)
    assert {e["cloud"]["provider"] for e in events} == {"AWS", "Databricks"}
    shape = (
        botocore.session.get_session()
        .get_service_model("securityhub")
        .operation_model("BatchImportFindings")
        .input_shape
    )
    for i in range(0, len(findings), MAX_BATCH):
        report = ParamValidator().validate({"Findings": findings[i : i + MAX_BATCH]}, shape)
        assert not report.has_errors(), report.generate_report()
    assert {f["AwsAccountId"] for f in findings} == {DEMO_ACCOUNT}
    assert {f["Compliance"]["Status"] for f in findings} >= {"PASSED", "FAILED"}
