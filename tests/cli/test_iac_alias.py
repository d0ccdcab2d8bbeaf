"""`mlguard iac PATH` is `mlguard scan --iac PATH` with IaC only (issue 17): the same options, the
config file's gate and waivers, the same results and exit codes. A fake checkov prints a fixed
report, so these run without checkov."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from mlguard.cli import cli
from mlguard.model import ScanResult, Status

REPORT = {
    "check_type": "terraform",
    "results": {
        "failed_checks": [
            {
                "check_id": "CKV_AWS_122",
                "check_name": "direct internet access",
                "check_result": {"result": "FAILED"},
                "file_path": "/main.tf",
                "file_line_range": [3, 9],
                "resource": "aws_sagemaker_notebook_instance.open",
            }
        ],
        "parsing_errors": [],
    },
    "summary": {"checkov_version": "3.3.30"},
}


def _repo(tmp_path: Path) -> tuple[Path, Path]:
    """A Terraform folder and a fake checkov that reports one high FAIL in it."""
    infra = tmp_path / "infra"
    infra.mkdir()
    (infra / "main.tf").write_text('resource "aws_sagemaker_notebook_instance" "open" {\n}\n')
    fake = tmp_path / "checkov"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(REPORT)}\nEOF\n")
    fake.chmod(0o755)
    return infra, fake


def _run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_iac_and_scan_iac_give_the_same_results_and_exit_code(tmp_path: Path) -> None:
    infra, fake = _repo(tmp_path)
    common = ["--checkov-bin", str(fake), "--format", "json"]
    alias = _run(tmp_path, "iac", str(infra), *common, "--output-dir", str(tmp_path / "a"))
    scan = _run(tmp_path, "scan", "--iac", str(infra), *common, "--output-dir", str(tmp_path / "b"))
    assert alias.exit_code == scan.exit_code == 1, alias.output + scan.output
    a = ScanResult.model_validate_json((tmp_path / "a" / "results.json").read_text())
    b = ScanResult.model_validate_json((tmp_path / "b" / "results.json").read_text())
    assert [(r.fingerprint, r.status) for r in a.results] == [(r.fingerprint, r.status) for r in b.results]
    assert [r.status for r in a.results] == [Status.FAIL]
    assert {p.id for p in a.policies} == {r.policy_id for r in a.results}  # IaC only: no live policy


def test_iac_reads_the_config_s_gate_and_waivers(tmp_path: Path) -> None:
    infra, fake = _repo(tmp_path)
    args = ["iac", str(infra), "--checkov-bin", str(fake), "--output-dir", str(tmp_path / "out")]
    config = tmp_path / "mlguard.yaml"
    config.write_text("fail_on: critical\n")
    assert _run(tmp_path, "--config", str(config), *args).exit_code == 0  # high < critical
    config.write_text(
        "waivers:\n  - policy: CKV_AWS_122\n    reason: lab only\n    owner: ml-platform\n"
        "    expires: 2999-01-01\n"
    )
    res = _run(tmp_path, "--config", str(config), *args)
    assert res.exit_code == 0, res.output
    scan = ScanResult.model_validate_json((tmp_path / "out" / "results.json").read_text())
    assert [r.status for r in scan.results] == [Status.WAIVED]


def test_iac_takes_scan_s_report_options(tmp_path: Path) -> None:
    infra, fake = _repo(tmp_path)
    res = _run(
        tmp_path,
        "iac",
        str(infra),
        "--checkov-bin",
        str(fake),
        "--stdout",
        "json",
        "--status",
        "PASS",
        "--fail-on",
        "never",
    )
    assert res.exit_code == 0, res.output
    shown = ScanResult.model_validate_json(res.stdout)
    assert shown.results == []
    assert shown.summary.by_status.get("FAIL") == 1


def test_the_console_format_lists_each_fail_as_file_and_line(tmp_path: Path) -> None:
    infra, fake = _repo(tmp_path)
    out = tmp_path / "out"
    res = _run(
        tmp_path,
        "iac",
        str(infra),
        "--checkov-bin",
        str(fake),
        "--format",
        "console",
        "--output-dir",
        str(out),
    )
    assert res.exit_code == 1
    assert "main.tf:3: high CKV_AWS_122: " in res.stdout
    assert "iac: 1 results on 1 resources" in res.stderr
    assert not out.exists()  # console only: no file
