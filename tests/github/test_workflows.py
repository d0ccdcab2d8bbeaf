"""The composite action and every workflow validate against SchemaStore's JSON Schemas.

check-jsonschema (a test dependency) ships vendored copies of SchemaStore's github-action.json
and github-workflow.json (``--builtin-schema vendor.github-actions`` / ``vendor.github-workflows``):
the validation runs offline, with the same schemas GitHub users' editors use.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / ".github" / "actions" / "mlguard" / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").rglob("*.yml"))
EXAMPLES = ROOT / ".github" / "workflows" / "examples"
CHECK_JSONSCHEMA = [sys.executable, "-m", "check_jsonschema"]


def _load(path: Path) -> Any:
    # YAML 1.2 (ruamel): `on:` stays the string "on", as GitHub reads it.
    return json.loads(json.dumps(YAML(typ="safe", pure=True).load(path.read_text())))


def _check(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHECK_JSONSCHEMA, "--builtin-schema", f"vendor.{schema}", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_action_validates_against_the_action_schema() -> None:
    done = _check("github-actions", ACTION)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_validate_against_the_workflow_schema() -> None:
    assert len(WORKFLOWS) >= 4
    done = _check("github-workflows", *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_three_example_workflows_exist() -> None:
    names = {p.name for p in EXAMPLES.glob("*.yml")}
    assert {"mlguard-pr-iac.yml", "mlguard-nightly-audit.yml", "mlguard-monthly-compliance.yml"} <= names


def test_schemas_reject_broken_files(tmp_path: Path) -> None:
    """The validation is real: a job without runs-on, an action of an unknown kind, are refused."""
    workflow = _load(EXAMPLES / "mlguard-pr-iac.yml")
    del workflow["jobs"]["iac"]["runs-on"]
    (tmp_path / "workflow.yml").write_text(json.dumps(workflow))
    done = _check("github-workflows", tmp_path / "workflow.yml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "runs-on" in done.stdout
    action = _load(ACTION)
    action["runs"]["using"] = "docker-compose"
    (tmp_path / "action.yml").write_text(json.dumps(action))
    done = _check("github-actions", tmp_path / "action.yml")
    assert done.returncode == 1, done.stdout + done.stderr


def _steps_using(steps: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [s for s in steps if str(s.get("uses", "")).startswith(prefix)]


def test_action_uploads_sarif_summary_and_html() -> None:
    action = _load(ACTION)
    steps = action["runs"]["steps"]
    (sarif,) = _steps_using(steps, "github/codeql-action/upload-sarif@v4")
    assert "category" not in sarif["with"]  # the category is written into the SARIF by mlguard
    (artifact,) = _steps_using(steps, "actions/upload-artifact@v7")
    assert artifact["with"]["path"] == "${{ inputs.output-dir }}"
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in steps)
    scan = next(s for s in steps if s.get("id") == "scan")
    for flag in ("mlguard scan", "--format", "--output-dir", "--fail-on", "--record --store", "--timeout"):
        assert flag in scan["run"]
    assert "--sarif-category" in scan["run"]
    for fmt in ("sarif", "html", "markdown"):
        assert fmt in action["inputs"]["formats"]["default"]


def test_nightly_audit_uses_oidc_a_service_principal_and_a_category_per_scope() -> None:
    wf = _load(EXAMPLES / "mlguard-nightly-audit.yml")
    assert wf["permissions"]["id-token"] == "write"
    job = wf["jobs"]["audit"]
    (aws,) = _steps_using(job["steps"], "aws-actions/configure-aws-credentials@v4")
    assert "role-to-assume" in aws["with"]
    (scan,) = _steps_using(job["steps"], "./.github/actions/mlguard")
    assert {"DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"} <= set(scan["env"])
    assert "sarif-category" not in scan["with"]  # mlguard's default: one per provider and scope
    scopes = [m["scope"] for m in job["strategy"]["matrix"]["include"]]
    assert len(scopes) == len(set(scopes)) == 2
    assert _steps_using(job["steps"], "actions/cache/restore@v5")
    assert _steps_using(job["steps"], "actions/cache/save@v5")


def test_local_action_references_exist() -> None:
    for path in WORKFLOWS:
        for job in _load(path)["jobs"].values():
            for step in job.get("steps", []):
                uses = str(step.get("uses", ""))
                if uses.startswith("./"):
                    assert (ROOT / uses / "action.yml").is_file(), f"{path.name}: {uses}"


def _run_blocks() -> list[Any]:
    blocks = [(f"action:{s.get('name')}", s["run"]) for s in _load(ACTION)["runs"]["steps"] if "run" in s]
    for path in WORKFLOWS:
        for job in _load(path)["jobs"].values():
            blocks += [(f"{path.name}:{s.get('name')}", s["run"]) for s in job.get("steps", []) if "run" in s]
    return [pytest.param(where, script, id=where) for where, script in blocks]


@pytest.mark.parametrize(("where", "script"), _run_blocks())
def test_run_scripts_are_valid_bash(where: str, script: str) -> None:
    plain = re.sub(r"\$\{\{.*?\}\}", "EXPR", script)
    proc = subprocess.run(["bash", "-n"], input=plain, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{where}: {proc.stderr}"


def _readme_block(after: str) -> Any:
    text = (ROOT / "README.md").read_text()
    start = text.index("```yaml\n", text.index(after)) + len("```yaml\n")
    return text[start : text.index("```\n", start)]


def test_readme_workflow_is_valid_and_uses_the_action_as_declared(tmp_path: Path) -> None:
    """The README's workflow can be copied unchanged: schema-valid, and every `with:` an input."""
    block = _readme_block("saved\nas `.github/workflows/mlguard.yml`")
    (tmp_path / "mlguard.yml").write_text(block)
    done = _check("github-workflows", tmp_path / "mlguard.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = _load(tmp_path / "mlguard.yml")
    (step,) = _steps_using(workflow["jobs"]["iac"]["steps"], "mlguard/mlguard/.github/actions/mlguard@")
    assert set(step["with"]) <= set(_load(ACTION)["inputs"])
    assert workflow["permissions"]["security-events"] == "write"


def test_readme_pre_commit_snippet_names_hooks_of_the_manifest(tmp_path: Path) -> None:
    config = YAML(typ="safe", pure=True).load(_readme_block("PATH instead of installing one:"))
    ids = {hook["id"] for hook in YAML(typ="safe", pure=True).load(ROOT / ".pre-commit-hooks.yaml")}
    (repo,) = config["repos"]
    assert {hook["id"] for hook in repo["hooks"]} <= ids
    (tmp_path / ".pre-commit-config.yaml").write_text(_readme_block("PATH instead of installing one:"))
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(tmp_path / ".pre-commit-config.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
