"""One plan per run for every kind of unit: the previous run's IaC results per root module or
template and resources per Databricks workspace place those units too (not only AWS's), each kind
balanced on its own; every process computes the same plan from the same run; a unit the previous
run lacked keeps the hash."""

from __future__ import annotations

from pathlib import Path

from mlguard.collect.shard import (
    Shard,
    aws_unit,
    balance,
    databricks_account_unit,
    databricks_workspace_unit,
    shard_of,
)
from mlguard.history.parts import balanced, unit_weights
from mlguard.history.store import open_store
from mlguard.iac.findings import RESOURCE_TYPE
from mlguard.iac.scan import iac_units
from mlguard.model import (
    Category,
    Inventory,
    Provenance,
    Resource,
    Result,
    ScanResult,
    Severity,
    Status,
    Summary,
    fingerprint,
)

START = "2026-12-05T02:00:00Z"
LIGHT = ["iac/envs/dev", "iac/envs/test", "iac/stacks/bucket.yaml", "iac/stacks/topic.yaml"]


def _iac_result(file: str, address: str, check: str) -> Result:
    uid = f"iac://{file}#{address}"
    return Result(
        policy_id=check,
        resource_uid=uid,
        resource_type=RESOURCE_TYPE,
        resource_name=address,
        provider="iac",
        status=Status.FAIL,
        severity=Severity.HIGH,
        category=Category.SECURITY,
        title=check,
        message=f"{address} fails {check}",
        fingerprint=fingerprint(check, uid),
    )


def _workspace_resource(workspace: str, i: int, account: str = "acc-1") -> Resource:
    return Resource(
        uid=f"databricks://{workspace}/job/{i}",
        type="databricks.job",
        provider="databricks",
        id=str(i),
        account=account,
        workspace=workspace,
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _repo(tmp_path: Path) -> Path:
    """A repository whose IaC (under infra/) has one heavy root module, light ones, templates,
    and a local module the heavy root calls from outside its directory."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    infra = repo / "infra"
    _write(infra / "envs" / "prod" / "main.tf", 'module "net" {\n  source = "../../modules/net"\n}\n')
    _write(infra / "modules" / "net" / "main.tf", 'resource "aws_vpc" "v" {}\n')
    for env in ("dev", "test"):
        _write(infra / "envs" / env / "main.tf", 'resource "aws_sqs_queue" "q" {}\n')
    for name in ("bucket", "topic"):
        _write(infra / "stacks" / f"{name}.yaml", "Resources: {}\n")
    return infra


def _record(store_target: str, infra: Path) -> str:
    """The previous run: 40 IaC results in the heavy root (half in the module it calls), 2 in each
    light unit; a large Databricks workspace and three small ones, and an account's own types."""
    results = [_iac_result("infra/envs/prod/main.tf", f"aws_s3_bucket.b{i}", "CKV_1") for i in range(20)]
    results += [
        _iac_result("infra/modules/net/main.tf", f"module.net.aws_vpc.v{i}", "CKV_2") for i in range(20)
    ]
    for unit in LIGHT:
        file = unit[len("iac/") :] + ("" if unit.endswith(".yaml") else "/main.tf")
        results += [_iac_result(f"infra/{file}", f"r.{c}", c) for c in ("CKV_1", "CKV_2")]
    resources = [_workspace_resource("big.cloud.databricks.com", i) for i in range(60)]
    for ws in ("a", "b", "c"):
        resources += [_workspace_resource(f"{ws}.cloud.databricks.com", i) for i in range(5)]
    resources.append(
        Resource(
            uid="databricks://accounts/acc-1",
            type="databricks.account",
            provider="databricks",
            id="acc-1",
            account="acc-1",
        )
    )
    provenance = Provenance(version="t", started_at=START, finished_at=START, sources=["infra"])
    scan = ScanResult(
        provenance=provenance,
        results=results,
        summary=Summary.of(results, resources=len(resources), policies_run=2, errors=0),
    )
    with open_store(store_target) as store:
        return store.record(scan, Inventory(provenance=provenance, resources=resources))


def test_iac_and_databricks_units_are_weighed_by_the_previous_run(tmp_path: Path, store_target: str) -> None:
    infra = _repo(tmp_path)
    target = store_target
    run_id = _record(target, infra)
    with open_store(target) as store:
        found = unit_weights(store, infra)
    assert found is not None
    assert found[0] == run_id
    weights = found[1]
    # a root module weighs the results of the module it calls from outside its directory too
    assert {u: w for u, w in weights.items() if u.startswith("iac/")} == {
        "iac/envs/prod": 41,
        **dict.fromkeys(LIGHT, 3),
    }
    assert weights[databricks_workspace_unit("big.cloud.databricks.com")] == 61
    assert weights[databricks_workspace_unit("a.cloud.databricks.com")] == 6
    assert weights[databricks_account_unit("acc-1")] == 2
    with open_store(target) as store:  # without --iac, IaC units are not weighed
        no_iac = unit_weights(store)
    assert no_iac is not None
    assert not any(u.startswith("iac/") for u in no_iac[1])


def test_every_process_gets_one_plan_that_parts_the_heavy_units_from_the_light(
    tmp_path: Path, store_target: str
) -> None:
    infra = _repo(tmp_path)
    target = store_target
    run_id = _record(target, infra)
    _write(infra / "envs" / "new" / "main.tf", 'resource "aws_sns_topic" "t" {}\n')  # after that run
    shards = [Shard(k, 2) for k in range(2)]
    for shard in shards:
        assert balanced(shard, target, infra) == (
            f"shards balanced by the unit sizes of run {run_id} (10 known units)"
        )
    assert shards[0].plan == shards[1].plan
    units = list(iac_units(infra))
    workspaces = [databricks_workspace_unit(f"{w}.cloud.databricks.com") for w in ("big", "a", "b", "c")]
    # the hash puts light units beside each heavy one: the plan parts them
    assert shard_of("iac/envs/prod", 2) in {shard_of(u, 2) for u in LIGHT}
    assert shard_of(workspaces[0], 2) in {shard_of(u, 2) for u in workspaces[1:]}
    for shard in shards:
        for unit in [*units, *workspaces]:
            shard.owns(unit)
    heavy = next(s for s in shards if "iac/envs/prod" in s.units)
    light = next(s for s in shards if s is not heavy)
    assert set(light.info().units) >= set(LIGHT)
    big = next(s for s in shards if workspaces[0] in s.units)
    assert not set(workspaces[1:]) & set(big.units)
    # the unit the previous run lacked keeps the hash; both parts name the run that planned them
    assert "iac/envs/new" not in shards[0].plan
    assert [s.index for s in shards if "iac/envs/new" in s.units] == [shard_of("iac/envs/new", 2)]
    assert {s.info().balanced_by for s in shards} == {run_id}
    assert sorted(u for s in shards for u in s.units) == sorted([*units, *workspaces])


def test_each_kind_is_balanced_on_its_own() -> None:
    """An AWS unit's resources and an IaC unit's results are not of one scale: the IaC units are
    spread over the shards however heavy the AWS ones are (one greedy over both would put every
    IaC unit beside the lighter AWS unit), and the first goes beside the lighter AWS shard."""
    weights = {
        aws_unit("000000000001", "us-east-1"): 1000,
        aws_unit("000000000002", "us-east-1"): 10,
        "iac/a": 50,
        "iac/b": 50,
    }
    plan = balance(weights, 2)
    assert plan[aws_unit("000000000001", "us-east-1")] != plan[aws_unit("000000000002", "us-east-1")]
    assert plan["iac/a"] != plan["iac/b"]
    assert plan["iac/a"] == plan[aws_unit("000000000002", "us-east-1")]
    assert plan == balance(dict(reversed(list(weights.items()))), 2)
