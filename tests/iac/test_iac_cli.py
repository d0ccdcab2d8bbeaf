"""The `mlguard iac` click command and the ScanResult helpers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlguard.iac import IacScan, build_scan_result
from mlguard.iac.cli import iac_command
from mlguard.iac.runner import ENV_CHECKOV_BIN
from mlguard.model import Provenance, ScanResult, Severity
from mlguard.pipeline import exit_code

FIXTURES = Path(__file__).parent / "fixtures"


def test_iac_command_writes_results_and_fails_on_findings(tmp_path: Path, checkov_bin: Path) -> None:
    src = tmp_path / "repo" / "infra"
    shutil.copytree(FIXTURES / "databricks_workspace", src)
    (tmp_path / "repo" / ".git").mkdir()  # paths are reported relative to the enclosing git work tree
    out = tmp_path / "out"
    res = CliRunner().invoke(
        iac_command, [str(src), "--checkov-bin", str(checkov_bin), "--output-dir", str(out)]
    )
    assert res.exit_code == 1, res.output
    assert "iac: " in res.output
    assert "FAIL" in res.output
    scan = ScanResult.model_validate_json((out / "results.json").read_text())
    assert scan.summary.total == len(scan.results) > 0
    assert scan.summary.by_provider["iac"]["FAIL"] == sum(r.status == "FAIL" for r in scan.results)
    assert scan.provenance.sources == ["infra"]
    assert {r.source.file for r in scan.results if r.source} == {"infra/main.tf"}
    assert all(r.resource_uid.startswith("iac://infra/main.tf#") for r in scan.results)
    assert {p.id for p in scan.policies} == {r.policy_id for r in scan.results}


def test_fail_on_threshold(fixture_scan: IacScan) -> None:
    scan = build_scan_result(fixture_scan)
    assert exit_code(scan, None, False) == 0  # --fail-on never
    # The fixtures have a critical failure (ALL_PRIVILEGES to account users)...
    assert exit_code(scan, Severity.CRITICAL, False) == 1
    # ...and without it, nothing critical is left.
    rest = scan.model_copy(update={"results": [r for r in scan.results if r.policy_id != "MLG_DBX_8"]})
    assert exit_code(rest, Severity.CRITICAL, False) == 0
    assert exit_code(rest, Severity.HIGH, False) == 1


def test_missing_checkov_exits_2_with_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_CHECKOV_BIN, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    res = CliRunner().invoke(iac_command, [str(FIXTURES), "--output-dir", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "pip install 'checkov==3.3.*'" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "out").exists()


def test_unknown_format_is_bad_input_before_checkov_runs(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        iac_command,
        [
            str(FIXTURES / "cloudformation"),
            "--checkov-bin",
            str(tmp_path / "no-checkov"),
            "--format",
            "json,nope",
            "--output-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 2
    assert "unknown format 'nope'" in res.output
    assert not list(tmp_path.iterdir())


def test_merge_into_a_live_scan(fixture_scan: IacScan) -> None:
    """scan --iac: the IaC findings join the live results before waivers, with compliance."""
    from datetime import date

    from mlguard.config import WaiverSpec
    from mlguard.model import Inventory, Status
    from mlguard.pipeline import evaluate
    from mlguard.policy.loader import builtin_policy_dir, load_policy_set

    policy_set = load_policy_set([(builtin_policy_dir(), "builtin")])
    live = Inventory(
        provenance=Provenance(version="0", started_at="2026-01-01T00:00:00Z", sources=["inv.json"])
    )
    failing = next(r for r in fixture_scan.results if r.status is Status.FAIL)
    waiver = WaiverSpec(
        policy=failing.policy_id,
        resource=failing.resource_uid,
        reason="accepted",
        owner="me",
        expires=date(2999, 1, 1),
    )
    merged = evaluate(live, [], policy_set, [waiver], iac=fixture_scan)
    alone = build_scan_result(fixture_scan)
    assert [r.fingerprint for r in merged.results] == [r.fingerprint for r in alone.results]
    assert merged.summary.resources == fixture_scan.resources
    assert merged.summary.policies_run == len(fixture_scan.policies)
    assert merged.provenance.sources == ["inv.json", fixture_scan.path]
    by_fp = {r.fingerprint: r for r in merged.results}
    assert by_fp[failing.fingerprint].status is Status.WAIVED
    assert any(r.compliance for r in merged.results)


def test_unparsed_file_exits_3_with_fail_on_error(tmp_path: Path) -> None:
    """A parse error is reported; with --fail-on-error it makes the run incomplete (exit 3)."""
    (tmp_path / "broken.tf").write_text("resource {\n")
    report = {
        "check_type": "terraform",
        "results": {"failed_checks": [], "parsing_errors": [str(tmp_path / "broken.tf")]},
        "summary": {"parsing_errors": 1, "checkov_version": "3.3.30"},
    }
    fake = tmp_path / "checkov"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(report)}\nEOF\n")
    fake.chmod(0o755)
    args = [str(tmp_path), "--checkov-bin", str(fake), "--output-dir", str(tmp_path / "out")]
    plain = CliRunner().invoke(iac_command, args)
    assert plain.exit_code == 0, plain.output
    assert "could not parse broken.tf" in plain.output, plain.output
    assert CliRunner().invoke(iac_command, [*args, "--fail-on-error"]).exit_code == 3


def test_a_checkov_report_over_the_limit_exits_4_naming_the_path_and_the_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As when checkov crashes: no result is reported (no PASS, no SKIP), a one-line error."""
    monkeypatch.setenv("MLGUARD_MAX_CHECKOV_BYTES", "1000")
    report = {"check_type": "terraform", "results": {"failed_checks": []}, "url": "x" * 2000}
    fake = tmp_path / "checkov"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(report)}\nEOF\n")
    fake.chmod(0o755)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        iac_command, [str(tmp_path), "--checkov-bin", str(fake), "--output-dir", str(out)]
    )
    assert res.exit_code == 4, res.output
    assert f"checkov's report of {tmp_path} is larger than the 1000 bytes limit" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()
