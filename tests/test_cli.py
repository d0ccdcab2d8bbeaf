"""The CLI end to end: through click's runner and as a real subprocess of the installed mlguard."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from mlguard.cli import SCHEMAS, cli, main, sample_inventory_path
from mlguard.model import ScanResult, Status

SAMPLE = sample_inventory_path()


def invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.output


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_command_prints_valid_json_schema(name: str) -> None:
    code, out = invoke(["schema", name])
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_evaluate_writes_results_valid_against_published_schema(tmp_path: Path) -> None:
    code, _ = invoke(["-q", "evaluate", str(SAMPLE), "--output-dir", str(tmp_path), "--fail-on", "never"])
    assert code == 0
    data = json.loads((tmp_path / "results.json").read_text())
    _, schema_text = invoke(["schema", "result"])
    jsonschema.Draft202012Validator(json.loads(schema_text)).validate(data)
    scan = ScanResult.model_validate(data)
    assert scan.summary.total == len(scan.results) > 0
    for r in scan.results:
        assert len(r.fingerprint) == 32
    statuses = {r.status for r in scan.results}
    assert {Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP} <= statuses
    assert any(r.compliance for r in scan.results)
    assert scan.provenance.finished_at
    assert scan.provenance.started_at


def test_inventory_schema_validates_sample() -> None:
    _, schema_text = invoke(["schema", "inventory"])
    jsonschema.Draft202012Validator(json.loads(schema_text)).validate(json.loads(SAMPLE.read_text()))


def test_fail_on_thresholds(tmp_path: Path) -> None:
    base = ["-q", "evaluate", str(SAMPLE), "--output-dir", str(tmp_path), "--policy", "sagemaker_notebook_*"]
    assert invoke(base)[0] == 1  # default: high, and the sample has high FAILs
    assert invoke([*base, "--fail-on", "never"])[0] == 0
    assert invoke([*base, "--fail-on", "critical"])[0] == 0
    # the sample has a collection error: --fail-on-error makes the scan exit 3 (incomplete)
    assert invoke([*base, "--fail-on", "never", "--fail-on-error"])[0] == 3


def test_selection_flags(tmp_path: Path) -> None:
    code, out = invoke(["policies", "list", "--json", "--category", "monitoring"])
    assert code == 0
    assert {p["category"] for p in json.loads(out)} == {"monitoring"}
    code, out = invoke(["policies", "list", "--json", "--framework", "aws-securityhub-sagemaker"])
    listed = json.loads(out)
    assert {
        "sagemaker_notebook_direct_internet_disabled",
        "sagemaker_notebook_in_vpc",
        "sagemaker_notebook_root_access_disabled",
    } <= {p["id"] for p in listed}
    assert all(any(c.startswith("aws-securityhub-sagemaker:") for c in p["compliance"]) for p in listed)
    code, out = invoke(["policies", "list", "--json"])
    every = {p["id"] for p in json.loads(out)}
    code, out = invoke(
        ["policies", "list", "--json", "--policy", "sagemaker_*", "--exclude-policy", "*_notebook_*"]
    )
    selected = {p["id"] for p in json.loads(out)}
    assert {"sagemaker_endpoint_has_alarm", "sagemaker_endpoint_variants_autoscaled"} <= selected
    assert selected == {i for i in every if i.startswith("sagemaker_") and "_notebook_" not in i}
    code, out = invoke(["policies", "list", "--json", "--resource-type", "aws.s3.*", "--severity", "high"])
    listed = json.loads(out)
    assert {"s3_account_public_access_block", "s3_bucket_public_access_blocked"} <= {p["id"] for p in listed}
    assert {p["severity"] for p in listed} == {"high"}
    assert all(p["resource"].startswith("aws.s3.") for p in listed)


def test_config_parameters_waivers_and_baseline(tmp_path: Path) -> None:
    first = tmp_path / "first"
    invoke(["-q", "evaluate", str(SAMPLE), "--output-dir", str(first), "--fail-on", "never"])
    waived_uid = "arn:aws:s3:::partly"
    config = tmp_path / "mlguard.yaml"
    config.write_text(
        "fail_on: critical\n"
        "policies:\n"
        "  include: [s3_bucket_public_access_blocked, 'sagemaker_notebook_*']\n"
        "waivers:\n"
        "  - policy: s3_bucket_public_access_blocked\n"
        f"    resource: '{waived_uid}'\n"
        "    reason: public dataset bucket, reviewed\n"
        "    owner: data-platform\n"
        "    expires: 2999-01-01\n"
        "    ticket: SEC-42\n"
        "  - policy: glue_*\n"
        "    reason: nothing matches this\n"
        "    owner: nobody\n"
        "    expires: 2999-01-01\n"
    )
    second = tmp_path / "second"
    code, _ = invoke(
        [
            "-q",
            "--config",
            str(config),
            "evaluate",
            str(SAMPLE),
            "--output-dir",
            str(second),
            "--baseline",
            str(first / "results.json"),
            "--exclude-policy",
            "s3_bucket_not_public",  # the one critical policy; the sample fails it
        ]
    )
    assert code == 0  # fail_on: critical from the config file
    scan = ScanResult.model_validate_json((second / "results.json").read_text())
    by = {(r.policy_id, r.resource_uid): r for r in scan.results}
    waived = by[("s3_bucket_public_access_blocked", waived_uid)]
    assert waived.status is Status.WAIVED
    assert waived.waiver
    assert waived.waiver.ticket == "SEC-42"
    assert [w.policy for w in scan.stale_waivers] == ["glue_*"]
    assert scan.baseline is not None
    assert scan.baseline.new == 0
    assert scan.baseline.fixed == []
    assert all(r.baseline == "existing" for r in scan.results if r.status is Status.FAIL)


def test_report_rerenders_a_past_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoke(["-q", "evaluate", str(SAMPLE), "--output-dir", str(tmp_path / "a"), "--fail-on", "never"])
    code, out, _ = run_main(
        [
            "report",
            str(tmp_path / "a" / "results.json"),
            "--format",
            "console,json",
            "--output-dir",
            str(tmp_path / "b"),
        ],
        capsys,
    )
    assert code == 0
    assert "Results by severity" in out
    a = json.loads((tmp_path / "a" / "results.json").read_text())
    b = json.loads((tmp_path / "b" / "results.json").read_text())
    assert a == b


def test_policies_validate_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["policies", "validate"], capsys)
    assert code == 0
    assert "are valid" in err
    code, out, _ = run_main(["policies", "show", "sagemaker_endpoint_has_alarm"], capsys)
    assert code == 0
    assert "remediation:" in out
    assert "monitoring" in out
    assert "aws.sagemaker.endpoint: " in out  # the fields it reads, per type
    assert "aws.cloudwatch.alarm: " in out


def test_policies_show_prints_what_absence_means_and_the_fields_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_main(["policies", "show", "sagemaker_notebook_root_access_disabled"], capsys)
    assert code == 0
    assert "aws.sagemaker.notebook_instance: root_access" in out
    assert "When absent" in out
    assert "root_access: the condition is false (if_missing: fail): SageMaker's default" in out
    code, out, _ = run_main(["policies", "show", "emr_cluster_no_internet_admin_ports"], capsys)
    assert "Every security_group_ids[] must name a collected aws.ec2.security_group (by group_id)" in out


def test_scan_demo_runs_offline(tmp_path: Path) -> None:
    code, _ = invoke(["-q", "scan", "--demo", "--output-dir", str(tmp_path), "--fail-on", "never"])
    assert code == 0
    assert (tmp_path / "results.json").is_file()


@pytest.mark.e2e
def test_installed_cli_as_subprocess(tmp_path: Path) -> None:
    exe = shutil.which("mlguard", path=str(Path(sys.executable).parent))
    assert exe, "the mlguard console script is not installed next to this interpreter"
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "mlguard" in done.stdout
    done = subprocess.run(
        [exe, "evaluate", str(SAMPLE), "--output-dir", str(tmp_path), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # high FAILs in the sample
    assert (tmp_path / "results.json").is_file()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.yaml").write_text("title: [unclosed\n")
    done = subprocess.run(
        [exe, "policies", "validate", str(bad)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert f"{bad / 'broken.yaml'}:" in done.stderr
    assert "Traceback" not in done.stderr
