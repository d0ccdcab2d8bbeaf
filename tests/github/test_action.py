"""The composite action, run end to end offline by a small interpreter (tests/github/composite.py).

mlguard runs for real on the demo estate; only the ``uses:`` steps (setup-python, upload-sarif,
upload-artifact) are not run: their ``with:`` values are checked instead. ``package: none`` (the
action's switch for "mlguard is already installed") keeps pip off the network.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.github.composite import ActionRun, Context, load_action, read_outputs, run_action
from tests.github.tools import checkov_or_skip

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / ".github" / "actions" / "mlguard" / "action.yml"
IAC_FIXTURE = ROOT / "tests" / "iac" / "fixtures" / "sagemaker_endpoint"


def _env(**extra: str) -> dict[str, str]:
    """The test's environment with the mlguard under test first on PATH (its venv's bin)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLGUARD_CHECKOV"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _categories(path: Path) -> dict[str, str]:
    runs = json.loads(path.read_text())["runs"]
    return {r["properties"]["mlguard/provider"]: r["automationDetails"]["id"].rsplit("/", 1)[0] for r in runs}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[ActionRun, Path]:
    work = tmp_path_factory.mktemp("demo")
    # Quoted words stay whole and nothing is expanded or run: the inventory goes to one file whose
    # name holds a space, a $(...) and backquotes, literally.
    args = """--demo
      --inventory-out 'inv $(touch pwned) `touch pwned2` $HOME.json'
      --exclude-policy 'sagemaker_*' """
    run = run_action(ACTION, {"args": args, "package": "none", "artifact-name": "audit"}, work, _env())
    return run, work


def test_demo_scan_runs_every_step_and_fails_on_findings(demo_run: tuple[ActionRun, Path]) -> None:
    run, _ = demo_run
    scan = run.step("Scan")
    assert scan.returncode == 0, scan.stderr  # the scan step records the code, the last step fails
    assert run.outputs["exit-code"] == "1", scan.stderr  # the demo has unwaived high FAILs
    assert run.failed is not None
    assert run.failed.name == "Exit with the scan's code"
    assert run.failed.returncode == 1
    assert run.step("Set up Python").skipped  # package: none
    assert "mlguard" in run.step("Install mlguard").stdout
    checkov = run.step("Install checkov (IaC scans)")
    assert "not needed (no --iac)" in checkov.stdout
    assert checkov.outputs == {}


def test_quoted_arguments_are_words_not_code(demo_run: tuple[ActionRun, Path]) -> None:
    run, work = demo_run
    literal = work / "inv $(touch pwned) `touch pwned2` $HOME.json"
    assert literal.is_file(), run.step("Scan").stderr
    assert json.loads(literal.read_text())["resources"]
    assert not (work / "pwned").exists()
    assert not (work / "pwned2").exists()


def test_sarif_category_outputs_and_summary(demo_run: tuple[ActionRun, Path]) -> None:
    run, work = demo_run
    assert run.outputs["output-dir"] == "mlguard-out"
    assert run.outputs["sarif-file"] == "mlguard-out/results.sarif"
    # Default: one category per provider and scope, so AWS and Databricks jobs never close each other.
    assert _categories(work / "mlguard-out" / "results.sarif") == {
        "aws": "mlguard/aws/123456789012",
        "databricks": "mlguard/databricks/demo.cloud.databricks.com",
    }
    summary = (work / "mlguard-out" / "summary.md").read_text()
    assert summary.strip()
    assert run.summary == summary
    upload = run.step("Upload SARIF to code scanning")
    assert upload.uses == "github/codeql-action/upload-sarif@v4"
    assert upload.with_ == {"sarif_file": "mlguard-out/results.sarif"}  # the category is in the file
    artifact = run.step("Keep the reports")
    assert artifact.uses == "actions/upload-artifact@v7"
    assert artifact.with_["name"] == "audit"
    assert artifact.with_["path"] == "mlguard-out"
    assert artifact.with_["retention-days"] == "30"


def test_given_category_and_no_uploads(tmp_path: Path) -> None:
    inputs = {
        "args": "--demo",
        "package": "none",
        "sarif-category": "nightly/",
        "fail-on": "never",
        "upload-sarif": "false",
        "artifact-name": "",
        "output-dir": "reports dir",
    }
    run = run_action(ACTION, inputs, tmp_path, _env())
    assert run.failed is None, run.step("Scan").stderr
    assert run.outputs["exit-code"] == "0"
    assert _categories(tmp_path / "reports dir" / "results.sarif") == {
        "aws": "nightly/aws",
        "databricks": "nightly/databricks",
    }
    assert run.step("Upload SARIF to code scanning").skipped
    assert run.step("Keep the reports").skipped


def test_iac_scan_uses_the_named_checkov_and_installs_none(tmp_path: Path) -> None:
    """``auto`` installs checkov only for an IaC scan that names none: here $MLGUARD_CHECKOV_BIN
    names one (a missing file, so the scan itself ends in exit 2, "checkov not found")."""
    missing = str(tmp_path / "no-checkov" / "checkov")
    inputs = {"args": f"--iac {IAC_FIXTURE}", "package": "none", "upload-sarif": "false", "artifact-name": ""}
    run = run_action(ACTION, inputs, tmp_path, _env(MLGUARD_CHECKOV_BIN=missing))
    checkov = run.step("Install checkov (IaC scans)")
    assert checkov.returncode == 0
    assert "named by --checkov-bin or $MLGUARD_CHECKOV_BIN" in checkov.stdout
    assert checkov.outputs == {}
    assert not (tmp_path / "_runner_temp" / "mlguard-checkov-venv").exists()
    assert run.outputs["exit-code"] == "2"
    assert "checkov" in run.step("Scan").stderr

    inputs["args"] = f"--iac={IAC_FIXTURE} --checkov-bin {missing}"
    run = run_action(ACTION, inputs, tmp_path, _env())
    assert "named by --checkov-bin" in run.step("Install checkov (IaC scans)").stdout
    assert run.outputs["exit-code"] == "2"


@pytest.mark.slow
def test_iac_scan_with_the_real_checkov(tmp_path: Path) -> None:
    checkov = str(checkov_or_skip())
    inputs = {"args": f"--iac '{IAC_FIXTURE}'", "package": "none", "formats": "sarif,markdown"}
    run = run_action(ACTION, inputs, tmp_path, _env(MLGUARD_CHECKOV_BIN=checkov))
    assert run.outputs["exit-code"] == "1", run.step("Scan").stderr  # high FAILs in the fixture
    assert _categories(tmp_path / "mlguard-out" / "results.sarif") == {"iac": "mlguard/iac"}
    sarif = json.loads((tmp_path / "mlguard-out" / "results.sarif").read_text())
    assert any(r["ruleId"] == "MLG_SM_2" for r in sarif["runs"][0]["results"])
    assert run.summary.strip()


@pytest.mark.parametrize(
    ("inputs", "step", "message"),
    [
        ({"args": '--demo "unclosed'}, "Read the arguments", "::error::args: No closing quotation"),
        ({"args": "--demo", "install-checkov": "maybe"}, "Install checkov (IaC scans)", "must be auto"),
    ],
)
def test_bad_inputs_stop_the_action(inputs: dict[str, str], step: str, message: str, tmp_path: Path) -> None:
    run = run_action(ACTION, {**inputs, "package": "none"}, tmp_path, _env())
    assert run.failed is not None
    assert run.failed.name == step
    assert message in run.failed.stdout + run.failed.stderr
    assert run.step("Scan").skipped


def test_package_none_needs_mlguard_on_path(tmp_path: Path) -> None:
    env = _env()
    env["PATH"] = "/usr/bin:/bin"
    run = run_action(ACTION, {"args": "--demo", "package": "none"}, tmp_path, env)
    assert run.failed is not None
    assert run.failed.name == "Install mlguard"
    assert "mlguard is not on PATH" in run.failed.stdout


def test_run_scripts_take_inputs_only_through_env() -> None:
    """No ``${{ }}`` inside a ``run:`` script: an input is never pasted into shell code."""
    for step in load_action(ACTION)["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


def test_interpreter_expressions() -> None:
    ctx = Context({"a": "true", "b": ""}, {"ref": "refs/heads/main"}, {"X": "1"})
    ctx.steps["s"] = {"outputs": {"o": "yes"}}
    assert ctx.evaluate("inputs.a == 'true' && steps.s.outputs.o != ''") is True
    assert ctx.evaluate("inputs.b != '' || github.ref == 'refs/heads/MAIN'") is True
    assert ctx.evaluate("!(inputs.a == 'true')") is False
    assert ctx.substitute("${{ env.X }}-${{ steps.s.outputs.missing }}-${{ inputs.a }}") == "1--true"
    with pytest.raises(KeyError):
        ctx.evaluate("inputs.nope")


def test_output_file_reader(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("a=1\nb=x=y\nc<<EOF\nline 1\nline 2\nEOF\nd=\n")
    assert read_outputs(path) == {"a": "1", "b": "x=y", "c": "line 1\nline 2", "d": ""}
