"""deploy/github/mlguard-org-scan.yml: valid against SchemaStore's github-workflow schema (the
copy check-jsonschema vendors), the matrix index reaches `--shard auto/N` through
MLGUARD_SHARD_INDEX, and the shard and merge steps' scripts, run by bash as written against a moto
organisation, give the results of one single-process scan."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from mlguard.collect.shard import parse_shard
from tests.github.test_workflows import _check, _load

from .conftest import DEPLOY, comparable, finish, mlguard_on_path, narrowed_config, single_scan, start

WORKFLOW = DEPLOY / "github" / "mlguard-org-scan.yml"


@pytest.fixture(scope="module")
def workflow() -> Any:
    return _load(WORKFLOW)


def _step(job: dict[str, Any], prefix: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if str(s.get("name", s.get("uses", ""))).startswith(prefix)]
    return step


def test_the_workflow_validates_against_the_workflow_schema() -> None:
    done = _check("github-workflows", WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_refuses_a_broken_copy(workflow: Any, tmp_path: Path) -> None:
    broken = json.loads(json.dumps(workflow))
    broken["jobs"]["merge"]["needs"] = {"job": "shard"}  # needs: a string or a list
    (tmp_path / "broken.yml").write_text(json.dumps(broken))
    done = _check("github-workflows", tmp_path / "broken.yml")
    assert done.returncode == 1, done.stdout + done.stderr


def test_the_matrix_index_is_the_shard_index(workflow: Any) -> None:
    n = int(workflow["env"]["MLGUARD_SHARDS"])
    job = workflow["jobs"]["shard"]
    assert job["strategy"]["matrix"]["shard"] == list(range(n))
    assert job["strategy"]["fail-fast"] is False
    assert job["env"]["MLGUARD_SHARD_INDEX"] == "${{ matrix.shard }}"
    collect = _step(job, "Collect shard")["run"]
    assert '--shard "auto/$MLGUARD_SHARDS"' in collect
    for k in range(n):  # what mlguard reads from the matrix job's environment
        shard = parse_shard(f"auto/{n}", {"MLGUARD_SHARD_INDEX": str(k)})
        assert (shard.index, shard.count) == (k, n)
    upload = _step(job, "Keep the part")
    assert upload["with"]["name"] == "mlguard-part-${{ matrix.shard }}"
    assert job["permissions"]["id-token"] == "write"


def test_the_merge_job_runs_after_every_shard_and_uploads_sarif(workflow: Any) -> None:
    job = workflow["jobs"]["merge"]
    assert job["needs"] == "shard"
    assert job["if"] == "${{ !cancelled() }}"  # after a failed shard too: the merge reports it
    download = _step(job, "Download the parts")
    assert download["uses"].startswith("actions/download-artifact@")
    assert download["with"] == {"pattern": "mlguard-part-*", "path": "parts", "merge-multiple": True}
    merge = _step(job, "Merge and evaluate")
    assert "mlguard --config" in merge["run"]
    assert " merge " in merge["run"]
    sarif = _step(job, "Upload the SARIF")
    assert sarif["uses"] == "github/codeql-action/upload-sarif@v4"
    assert sarif["with"]["sarif_file"] == "mlguard-out/results.sarif"
    assert job["permissions"]["security-events"] == "write"
    gate = job["steps"][-1]
    assert gate["run"] == 'exit "${{ steps.merge.outputs.exit-code }}"'


def test_every_run_script_is_valid_bash(workflow: Any) -> None:
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if "run" in step:
                plain = re.sub(r"\$\{\{.*?\}\}", "EXPR", step["run"])
                done = subprocess.run(
                    ["bash", "-n"], input=plain, capture_output=True, text=True, check=False
                )
                assert done.returncode == 0, f"{name}/{step.get('name')}: {done.stderr}"


@pytest.mark.e2e
def test_the_steps_shard_and_merge_like_one_scan(
    workflow: Any, estate: tuple[dict[str, str], list[str]], tmp_path: Path
) -> None:
    """The shard step's script in N concurrent bash processes (one per matrix entry), the parts
    gathered as download-artifact's merge-multiple does, then the merge step's script."""
    env, _ = estate
    env = mlguard_on_path(env)
    config = narrowed_config(
        YAML(typ="safe", pure=True).load(DEPLOY / "kubernetes" / "base" / "mlguard.yaml"),
        tmp_path / "mlguard.yaml",
    )
    wf_env = {**workflow["env"], "MLGUARD_CONFIG": str(config)}
    n = int(wf_env["MLGUARD_SHARDS"])
    collect = _step(workflow["jobs"]["shard"], "Collect shard")["run"]
    procs = []
    for k in range(n):
        runner = tmp_path / f"runner-{k}"
        runner.mkdir()
        procs.append(
            start(["bash", "-e", "-c", collect], {**env, **wf_env, "MLGUARD_SHARD_INDEX": str(k)}, runner)
        )
    for proc in procs:
        code, out = finish(proc)
        assert code == 0, out
    merger = tmp_path / "merger"
    (merger / "parts").mkdir(parents=True)
    for k in range(n):
        for part in (tmp_path / f"runner-{k}" / "parts").iterdir():
            shutil.copy(part, merger / "parts" / part.name)
    script = _step(workflow["jobs"]["merge"], "Merge and evaluate")["run"]
    outputs, summary = merger / "github-output", merger / "step-summary"
    gh = {**env, **wf_env, "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    code, out = finish(start(["bash", "-e", "-c", script], gh, merger))
    assert code == 0, out  # the step itself succeeds; the gate step exits with mlguard's code
    single_code, single = single_scan(config, env, tmp_path)
    assert outputs.read_text() == f"exit-code={single_code}\n", out
    assert comparable(merger / "mlguard-out" / "results.json") == comparable(single)
    assert comparable(single)["results"]
    sarif = json.loads((merger / "mlguard-out" / "results.sarif").read_text())
    assert {r["automationDetails"]["id"].rsplit("/", 1)[0] for r in sarif["runs"]} == {"mlguard/org-scan"}
    assert summary.read_text().strip()

    # a shard job that failed uploaded nothing: the merge runs and its exit code says incomplete
    sorted((merger / "parts").iterdir())[0].unlink()
    outputs.write_text("")
    code, out = finish(start(["bash", "-e", "-c", script], gh, merger))
    assert code == 0, out
    assert outputs.read_text() == "exit-code=3\n", out
