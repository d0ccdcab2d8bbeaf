"""deploy/aws-batch/mlguard-org-scan.yaml: cfn-lint finds nothing (errors, warnings or
informational), the job role's read-only statement is exactly `mlguard permissions aws`, the
state machine runs the array job then the merge (also after a failed shard), and the two job
definitions' commands, run by sh as written with the environment Batch gives them, shard and
merge through an S3 bucket (moto) like one single-process scan."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, decode_str, lint_file
from ruamel.yaml import YAML

from mlguard.collect.aws.permissions import permissions
from mlguard.collect.shard import parse_shard

from .conftest import (
    DEPLOY,
    ROOT,
    TEST_SELECTION,
    comparable,
    finish,
    mlguard_on_path,
    narrowed_config,
    single_scan,
    start,
)

TEMPLATE = DEPLOY / "aws-batch" / "mlguard-org-scan.yaml"


def _lint(path: Path) -> list[str]:
    return [str(m) for m in lint_file(path, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))]


@pytest.fixture(scope="module")
def template() -> Any:
    decoded, problems = decode_str(TEMPLATE.read_text())
    assert not problems
    return json.loads(json.dumps(decoded))


def _resources(template: Any) -> dict[str, Any]:
    resources: dict[str, Any] = template["Resources"]
    return resources


def _container(template: Any, name: str) -> dict[str, Any]:
    props: dict[str, Any] = _resources(template)[name]["Properties"]["ContainerProperties"]
    return props


def test_cfn_lint_finds_nothing() -> None:
    assert _lint(TEMPLATE) == []


def test_cfn_lint_is_really_checking(template: Any, tmp_path: Path) -> None:
    broken = copy.deepcopy(template)
    _container(broken, "ShardJobDefinition")["ResourceRequirements"][0]["Type"] = "CPU"
    broken["Resources"]["StateMachine"]["Properties"]["Definition"]["States"]["Merge"]["Next"] = "Nowhere"
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    problems = "\n".join(_lint(tmp_path / "broken.json"))
    assert "E3030" in problems  # a resource requirement Batch does not know
    assert "E3601" in problems  # the state machine's definition (Amazon States Language)


def test_the_scanner_role_allows_exactly_what_the_collectors_call(template: Any) -> None:
    role = _resources(template)["ScannerRole"]["Properties"]
    (read_only,) = [p for p in role["Policies"] if p["PolicyName"] == "mlguard-read-only"]
    (statement,) = read_only["PolicyDocument"]["Statement"]
    assert statement["Action"] == permissions()["Statement"][0]["Action"], (
        "the Batch job role is out of date: run `PYTHONPATH=src python scripts/sync-deploy-policy.py`"
    )
    (org,) = [p for p in role["Policies"] if p["PolicyName"] == "mlguard-org-and-parts"]
    assume = next(s for s in org["PolicyDocument"]["Statement"] if s["Sid"] == "AssumeMemberAccountRole")
    assert assume["Action"] == "sts:AssumeRole"
    assert "${OrgRoleName}" in assume["Resource"]["Fn::Sub"]
    write = next(s for s in org["PolicyDocument"]["Statement"] if s["Sid"] == "WriteParts")
    assert write["Action"] == "s3:PutObject"  # the shards write their parts and read nothing there
    # IAM's limit for a role's inline policies: 10,240 characters without whitespace
    size = sum(len(json.dumps(p["PolicyDocument"], separators=(",", ":"))) for p in role["Policies"])
    assert size < 10_240


def test_the_sync_script_keeps_the_template_as_it_is() -> None:
    spec = importlib.util.spec_from_file_location(
        "sync_deploy_policy", ROOT / "scripts" / "sync-deploy-policy.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = TEMPLATE.read_text()
    assert module.rewritten(text) == text
    stale = text.replace("                  - sts:GetCallerIdentity\n", "")
    assert stale != text
    assert module.rewritten(stale) == text


def test_the_state_machine_runs_the_array_then_the_merge_even_after_a_failed_shard(template: Any) -> None:
    params = template["Parameters"]
    assert params["ShardCount"]["MinValue"] == 2  # Batch array jobs have 2 to 10,000 children
    machine = _resources(template)["StateMachine"]["Properties"]
    states = machine["Definition"]["States"]
    assert machine["Definition"]["StartAt"] == "Settings"
    assert states["Settings"]["Parameters"]["shards.$"] == "States.StringToJson('${ShardCount}')"
    shards, merge = states["Shards"], states["Merge"]
    assert shards["Resource"] == merge["Resource"] == "arn:aws:states:::batch:submitJob.sync"
    assert shards["Parameters"]["ArrayProperties"] == {"Size.$": "$.settings.shards"}
    assert shards["Next"] == "Merge"
    assert shards["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.shardsFailed", "Next": "Merge"}
    ]
    assert "ArrayProperties" not in merge["Parameters"]
    for state in (shards, merge):  # one run id for both: the S3 prefix of the run
        (run_id,) = state["Parameters"]["ContainerOverrides"]["Environment"]
        assert run_id == {"Name": "MLGUARD_RUN_ID", "Value.$": "$$.Execution.Name"}
    subs = machine["DefinitionSubstitutions"]
    assert subs["ShardJobDefinition"] == {"Ref": "ShardJobDefinition"}
    assert subs["MergeJobDefinition"] == {"Ref": "MergeJobDefinition"}
    assert subs["ShardCount"] == {"Ref": "ShardCount"}
    shard_env = {e["Name"]: e["Value"] for e in _container(template, "ShardJobDefinition")["Environment"]}
    assert shard_env["MLGUARD_SHARDS"] == {"Ref": "ShardCount"}
    script = _container(template, "ShardJobDefinition")["Command"][2]
    assert '--shard "auto/$MLGUARD_SHARDS"' in script
    for k in range(3):
        shard = parse_shard("auto/3", {"AWS_BATCH_JOB_ARRAY_INDEX": str(k)})
        assert (shard.index, shard.count) == (k, 3)


def test_the_job_scripts_are_valid_sh(template: Any) -> None:
    for name in ("ShardJobDefinition", "MergeJobDefinition"):
        command = _container(template, name)["Command"]
        assert command[:2] == ["sh", "-c"]
        done = subprocess.run(["sh", "-n"], input=command[2], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{name}: {done.stderr}"


def _environment(container: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    """The job definition's environment with its references resolved to ``values``."""
    out = {}
    for entry in container["Environment"]:
        value = entry["Value"]
        out[entry["Name"]] = values[value["Ref"]] if isinstance(value, dict) else str(value)
    return out


@pytest.mark.e2e
def test_the_jobs_shard_and_merge_through_s3_like_one_scan(
    template: Any, estate: tuple[dict[str, str], list[str]], tmp_path: Path
) -> None:
    env, _ = estate
    env = mlguard_on_path(env)
    bucket = "mlguard-parts-test"
    boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    n = 3
    values = {
        **{k: str(p.get("Default", "")) for k, p in template["Parameters"].items()},
        "ShardCount": str(n),
        "PartsBucket": bucket,
        "Selection": " ".join(f"--resource-type {t}" for t in TEST_SELECTION),
    }
    shard_def = _container(template, "ShardJobDefinition")
    run = {"MLGUARD_RUN_ID": "execution-1"}  # what the state machine passes both jobs
    procs = []
    for k in range(n):
        tmp = tmp_path / f"task-{k}"
        tmp.mkdir()
        batch = {
            **_environment(shard_def, values),
            **run,
            "AWS_BATCH_JOB_ARRAY_INDEX": str(k),
            "TMPDIR": str(tmp),
            "HOME": str(tmp),
        }
        procs.append(start(shard_def["Command"], {**env, **batch}, tmp))
    for proc in procs:
        code, out = finish(proc)
        assert code == 0, out
    s3 = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="runs/")["Contents"])
    assert keys == [f"runs/execution-1/parts/inventory-shard-{k}-of-{n}.json" for k in range(n)]

    merge_def = _container(template, "MergeJobDefinition")
    tmp = tmp_path / "merge"
    tmp.mkdir()
    batch = {**_environment(merge_def, values), **run, "TMPDIR": str(tmp), "HOME": str(tmp)}
    code, out = finish(start(merge_def["Command"], {**env, **batch}, tmp))
    config = narrowed_config(
        YAML(typ="safe", pure=True).load(DEPLOY / "kubernetes" / "base" / "mlguard.yaml"),
        tmp_path / "mlguard.yaml",
    )
    single_code, single = single_scan(config, env, tmp_path)
    assert code == single_code, out
    report = tmp_path / "report.json"
    s3.download_file(bucket, "runs/execution-1/report/results.json", str(report))
    assert comparable(report) == comparable(single)
    assert comparable(single)["results"]
    listed = {
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="runs/execution-1/report/")["Contents"]
    }
    assert {f"runs/execution-1/report/{f}" for f in ("results.sarif", "report.html", "summary.md")} <= listed

    # a child that never uploaded its part: the merge still runs (the state machine's Catch) and exits 3
    s3.delete_object(Bucket=bucket, Key=keys[0])
    code, out = finish(start(merge_def["Command"], {**env, **batch}, tmp))
    assert code == 3, out
    s3.download_file(bucket, "runs/execution-1/report/results.json", str(report))
    assert any(e["code"] == "ShardMissing" for e in json.loads(report.read_text())["errors"])
