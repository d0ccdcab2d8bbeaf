"""The composite action and the example workflows validate against SchemaStore's JSON Schemas.

The schemas are vendored under tests/schemas/ (copied from check-jsonschema's vendored copies of
SchemaStore's github-action.json and github-workflow.json, Apache-2.0, see LICENSE.schemastore).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "schemas"
ACTION = ROOT / ".github" / "actions" / "mlguard" / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").rglob("*.yml"))
EXAMPLES = ROOT / ".github" / "workflows" / "examples"


def _load(path: Path) -> Any:
    # YAML 1.2 (ruamel): `on:` stays the string "on", as GitHub reads it.
    return json.loads(json.dumps(YAML(typ="safe", pure=True).load(path.read_text())))


def _validator(name: str) -> Draft7Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def _errors(validator: Draft7Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_action_validates_against_the_action_schema() -> None:
    assert _errors(_validator("github-actions.json"), _load(ACTION)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_validates_against_the_workflow_schema(path: Path) -> None:
    assert _errors(_validator("github-workflows.json"), _load(path)) == []


def test_the_three_example_workflows_exist() -> None:
    names = {p.name for p in EXAMPLES.glob("*.yml")}
    assert {"mlguard-pr-iac.yml", "mlguard-nightly-audit.yml", "mlguard-monthly-compliance.yml"} <= names


def test_schemas_reject_broken_files() -> None:
    """The validation is real: a job without runs-on, an action without runs, are refused."""
    workflow = _load(EXAMPLES / "mlguard-pr-iac.yml")
    del workflow["jobs"]["iac"]["runs-on"]
    assert _errors(_validator("github-workflows.json"), workflow)
    action = _load(ACTION)
    action["runs"]["using"] = "docker-compose"
    assert _errors(_validator("github-actions.json"), action)


def _steps_using(steps: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [s for s in steps if str(s.get("uses", "")).startswith(prefix)]


def test_action_uploads_sarif_summary_and_html() -> None:
    action = _load(ACTION)
    steps = action["runs"]["steps"]
    (sarif,) = _steps_using(steps, "github/codeql-action/upload-sarif@v3")
    assert sarif["with"]["category"] == "${{ inputs.sarif-category }}"
    (artifact,) = _steps_using(steps, "actions/upload-artifact@v4")
    assert artifact["with"]["path"] == "${{ inputs.output-dir }}"
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in steps)
    scan = next(s for s in steps if s.get("id") == "scan")
    for flag in ("mlguard scan", "--format", "--output-dir", "--fail-on", "--record --store", "--timeout"):
        assert flag in scan["run"]
    assert "sarif" in action["inputs"]["formats"]["default"]
    assert "html" in action["inputs"]["formats"]["default"]
    assert "markdown" in action["inputs"]["formats"]["default"]


def test_nightly_audit_uses_oidc_a_service_principal_and_a_category_per_scope() -> None:
    wf = _load(EXAMPLES / "mlguard-nightly-audit.yml")
    assert wf["permissions"]["id-token"] == "write"
    job = wf["jobs"]["audit"]
    (aws,) = _steps_using(job["steps"], "aws-actions/configure-aws-credentials@v4")
    assert "role-to-assume" in aws["with"]
    (scan,) = _steps_using(job["steps"], "./.github/actions/mlguard")
    assert {"DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"} <= set(scan["env"])
    assert scan["with"]["sarif-category"] == "mlguard-audit-${{ matrix.scope }}"
    scopes = [m["scope"] for m in job["strategy"]["matrix"]["include"]]
    assert len(scopes) == len(set(scopes)) == 2
    assert _steps_using(job["steps"], "actions/cache/restore@v4")
    assert _steps_using(job["steps"], "actions/cache/save@v4")


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
