"""IaC paths as shard units (`scan --shard K/N --iac PATH`): a Terraform module directory or a
template file is one unit, read by exactly one shard; `mlguard merge` of the parts reports like
the unsharded scan, and a missing shard's IaC units are ERROR (ShardMissing, exit 3)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlguard.collect.shard import Shard, balance, shard_of
from mlguard.errors import InputError
from mlguard.history.parts import unit_weights
from mlguard.history.store import open_store
from mlguard.iac.findings import RESOURCE_TYPE
from mlguard.iac.runner import FRAMEWORKS, batch_supported
from mlguard.iac.scan import combine, iac_units, scan_iac, scan_iac_shard, with_iac_shard
from mlguard.merge import merge_inventories, merge_parts
from mlguard.model import (
    Category,
    Evidence,
    IacScan,
    Inventory,
    PolicyInfo,
    Provenance,
    Result,
    Severity,
    ShardInfo,
    Status,
    fingerprint,
)

FIXTURES = Path(__file__).parent / "fixtures"
EXE = shutil.which("mlguard", path=str(Path(sys.executable).parent)) or "mlguard"
START = "2026-12-06T00:00:00Z"


def _write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _tree(root: Path) -> Path:
    """Root modules (one with a local child module), templates, and what checkov never reads."""
    _write(root / "envs" / "prod" / "main.tf", 'module "net" {\n  source = "./modules/net"\n}\n')
    _write(root / "envs" / "prod" / "modules" / "net" / "main.tf", 'resource "aws_vpc" "v" {}\n')
    _write(root / "envs" / "prod" / "stack.yaml", "Resources: {}\n")  # inside a module: part of it
    _write(
        root / "envs" / "dev" / "main.tf.json", '{"module": {"data": {"source": "../../modules/bucket"}}}\n'
    )
    # a local module other roots call: judged with each caller (as checkov reports it), not alone
    _write(root / "modules" / "bucket" / "main.tf", 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n')
    _write(root / "modules" / "bucket" / "examples" / "basic" / "main.tf", CALL.format("../.."))
    _write(root / "envs" / "qa" / "main.tf", '# module "x" {\n#  source = "../../orphan"\n# }\n')
    _write(root / "orphan" / "main.tf", 'resource "aws_sqs_queue" "q" {}\n')
    _write(root / "cfn" / "stack.yaml", "Resources: {}\n")
    _write(root / "cfn" / "legacy.template", "{}\n")
    _write(root / "plan" / "tfplan.json", "{}\n")
    _write(root / "README.md", "not IaC\n")
    _write(root / ".hidden" / "main.tf")
    _write(root / "node_modules" / "pkg" / "main.tf")
    _write(root / "envs" / "prod" / ".terraform" / "modules" / "x" / "main.tf")
    return root


CALL = 'module "data" {{\n  source = "{}"\n  tags = {{ a = "}}" }}\n}}\n'
EXPECTED = [
    "iac/cfn/legacy.template",
    "iac/cfn/stack.yaml",
    "iac/envs/dev",
    "iac/envs/prod",
    "iac/envs/qa",
    "iac/modules/bucket/examples/basic",
    "iac/orphan",
    "iac/plan/tfplan.json",
]


def test_a_module_directory_or_a_template_file_is_one_unit(tmp_path: Path) -> None:
    units = iac_units(_tree(tmp_path / "a"))
    assert list(units) == EXPECTED
    assert units["iac/envs/prod"] == (tmp_path / "a" / "envs" / "prod").resolve()
    # keys are relative: the same tree checked out elsewhere has the same units, so the same shards
    assert list(iac_units(_tree(tmp_path / "elsewhere" / "b"))) == EXPECTED
    # a module at the top: the whole path is one unit; a file is its own unit
    assert list(iac_units(tmp_path / "a" / "envs" / "prod")) == ["iac/."]
    assert list(iac_units(tmp_path / "a" / "cfn" / "stack.yaml")) == ["iac/stack.yaml"]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_every_unit_is_read_by_exactly_one_shard(tmp_path: Path, count: int) -> None:
    keys = list(iac_units(_tree(tmp_path)))
    shards = [Shard(k, count) for k in range(count)]
    for key in keys:
        owners = [s.index for s in shards if s.owns(key)]
        assert owners == [shard_of(key, count)], key
    assert sorted(u for s in shards for u in s.info().units) == keys
    assert all(s.info().all_units == keys for s in shards)


def test_a_shard_that_owns_no_iac_unit_writes_a_part_that_loads_and_names_what_it_saw(tmp_path: Path) -> None:
    """No checkov run at all (none is needed here): the part still records the unit it saw, and
    written as the CLI writes it (None fields left out) it loads again."""
    tree = tmp_path / "infra"
    _write(tree / "cfn" / "stack.yaml", "Resources: {}\n")
    (key,) = iac_units(tree)
    idle = 1 - shard_of(key, 2)
    part = with_iac_shard(None, Shard(idle, 2), tree, checkov_bin=tmp_path / "no-checkov-here")
    assert part.provenance.shard is not None
    assert (part.provenance.shard.units, part.provenance.shard.all_units) == ([], [key])
    written = tmp_path / "part.json"
    written.write_text(part.model_dump_json(exclude_none=True))
    merged = merge_parts([written])
    assert merged.inventory.iac is not None
    assert merged.inventory.iac.results == []
    (error,) = merged.inventory.errors
    assert error.message == f"shard {1 - idle}/2 is missing from the merge: unit {key} was not read"


def _result(unit_file: str, check: str, status: Status) -> Result:
    uid = f"iac://{unit_file}#aws_s3_bucket.b"
    return Result(
        policy_id=check,
        resource_uid=uid,
        resource_type=RESOURCE_TYPE,
        resource_name="aws_s3_bucket.b",
        provider="iac",
        status=status,
        severity=Severity.HIGH,
        category=Category.SECURITY,
        title=check,
        message=f"{check} {status}",
        evidence=Evidence(values={}, collected_at=START),
        fingerprint=fingerprint(check, uid),
    )


def _iac(results: list[Result], path: str = "infra") -> IacScan:
    policies = [
        PolicyInfo(
            id=r.policy_id,
            title=r.title,
            description=r.title,
            severity=r.severity,
            category=r.category,
            resource=RESOURCE_TYPE,
            provider="iac",
        )
        for r in results
    ]
    return IacScan(
        path=path,
        repo_root="/repo",
        checkov_version="3.3.30",
        frameworks=["terraform"],
        started_at=START,
        finished_at=START,
        duration_seconds=1.0,
        results=results,
        policies=policies,
    )


def _part(
    index: int, count: int, units: list[str], everything: list[str], iac: IacScan
) -> tuple[str, Inventory]:
    info = ShardInfo(index=index, count=count, units=units, all_units=everything)
    inv = Inventory(provenance=Provenance(version="test", started_at=START, shard=info), iac=iac)
    return f"part-{index}", inv


def test_the_merge_joins_the_parts_iac_findings_and_errors_a_missing_shards_units() -> None:
    everything = ["iac/a", "iac/b", "iac/c.yaml", "iac/d"]
    count = 2
    gone = shard_of("iac/c.yaml", count)
    kept = 1 - gone
    mine = [u for u in everything if shard_of(u, count) == kept]
    scan = _iac([_result(f"infra/{u[4:]}/main.tf", f"CKV_{i}", Status.FAIL) for i, u in enumerate(mine)])
    merged = merge_inventories([_part(kept, count, mine, everything, scan)])
    assert merged.inventory.iac is not None
    assert _comparable_results(merged.inventory.iac.results) == _comparable_results(scan.results)
    assert [p.id for p in merged.inventory.iac.policies] == [p.id for p in scan.policies]
    assert merged.missing == [f"{gone}/{count}"]
    assert merged.incomplete
    lost = sorted(set(everything) - set(mine))
    assert [e.message for e in merged.inventory.errors] == [
        f"shard {gone}/{count} is missing from the merge: unit {u} was not read" for u in lost
    ]
    assert {(e.provider, e.code, e.operation) for e in merged.inventory.errors} == {
        ("iac", "ShardMissing", "shard")
    }


def test_a_unit_in_two_parts_or_parts_of_two_paths_are_refused() -> None:
    everything = ["iac/a", "iac/b"]
    a = _iac([_result("infra/a/main.tf", "CKV_1", Status.FAIL)])
    with pytest.raises(InputError, match="iac/a was read by two parts"):
        merge_inventories(
            [_part(0, 2, ["iac/a"], everything, a), _part(1, 2, ["iac/a", "iac/b"], everything, a)]
        )
    with pytest.raises(InputError, match="different IaC paths"):
        merge_inventories(
            [_part(0, 2, ["iac/a"], everything, a), _part(1, 2, ["iac/b"], everything, _iac([], "other"))]
        )


def test_a_check_reported_by_two_units_counts_once_failing_if_either_failed() -> None:
    """A local module two root modules call: each unit's checkov reports it, as one run's would
    report a module called twice; the merge keeps one result, the failing one."""
    shared = "infra/modules/bucket/main.tf"
    one = _iac([_result(shared, "CKV_1", Status.PASS)])
    two = _iac([_result(shared, "CKV_1", Status.FAIL)])
    (kept,) = combine([one, two]).results
    assert kept.status is Status.FAIL


# --------------------------------------------------------------------------- the real checkov


def _comparable_results(results: list[Result]) -> list[str]:
    return sorted(
        r.model_copy(
            update={"evidence": r.evidence.model_copy(update={"collected_at": None})}
        ).model_dump_json()
        for r in results
    )


@pytest.fixture(scope="module")
def estate_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture modules (Terraform roots, a CloudFormation template, a plan) plus a root module
    calling a local child module twice: several units of each kind, in a git work tree."""
    root = tmp_path_factory.mktemp("iac-repo")
    (root / ".git").mkdir()
    tree = root / "infra"
    shutil.copytree(FIXTURES, tree, ignore=shutil.ignore_patterns("expected.yaml"))
    shutil.copytree(FIXTURES / "sagemaker_endpoint", tree / "twice" / "modules" / "sm")
    # a local module two roots call from outside their directories: judged with each caller
    shutil.copytree(FIXTURES / "databricks_workspace", tree / "modules" / "workspace")
    for env in ("prod", "dev"):
        (tree / "envs" / env).mkdir(parents=True)
        (tree / "envs" / env / "main.tf").write_text(
            'module "ws" {\n  source = "../../modules/workspace"\n}\n'
        )
    (tree / "twice" / "main.tf").write_text(
        'module "a" {\n  source = "./modules/sm"\n}\nmodule "b" {\n  source = "./modules/sm"\n}\n'
    )
    return tree


def test_two_shards_merge_to_the_unsharded_scan(estate_tree: Path, checkov_bin: Path) -> None:
    whole = scan_iac(estate_tree, checkov_bin=checkov_bin)
    units = iac_units(estate_tree)
    assert len(units) >= 5
    parts = []
    for k in range(2):
        shard = Shard(k, 2)
        parts.append((f"part-{k}", with_iac_shard(None, shard, estate_tree, checkov_bin)))
    read = [u for _, inv in parts for u in (inv.provenance.shard.units if inv.provenance.shard else [])]
    assert sorted(read) == sorted(units)  # every unit read once
    merged = merge_inventories(parts)
    assert not merged.incomplete
    iac = merged.inventory.iac
    assert iac is not None
    assert iac.path == whole.path == "infra"
    assert len(whole.results) > 50
    assert _comparable_results(iac.results) == _comparable_results(whole.results)
    assert [p.id for p in iac.policies] == [p.id for p in whole.policies]
    assert iac.errors == whole.errors


def _mlguard(args: list[str], cwd: Path, checkov_bin: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "MLGUARD_CHECKOV_BIN": str(checkov_bin)}
    return subprocess.run(
        [EXE, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=900
    )


def _comparable(results: Path) -> dict[str, object]:
    doc = json.loads(results.read_text())
    rows = sorted(
        json.dumps(
            {k: v for k, v in r.items() if k != "evidence"} | {"values": r["evidence"]["values"]},
            sort_keys=True,
        )
        for r in doc["results"]
    )
    return {
        "results": rows,
        "errors": doc["errors"],
        "summary": doc["summary"],
        "not_run": doc.get("not_run"),
    }


def test_three_shard_processes_and_mlguard_merge_report_like_one_scan(
    estate_tree: Path, checkov_bin: Path
) -> None:
    """The CLI end to end: `scan --iac PATH --shard K/3` per shard, `mlguard merge`, against one
    `scan --iac PATH`; then a shard's part removed: its IaC units are ERROR, exit 3."""
    work = estate_tree.parent
    single = _mlguard(
        ["scan", "--iac", "infra", "--format", "json", "--output-dir", "single", "-q"], work, checkov_bin
    )
    assert single.returncode == 1, single.stderr  # the fixtures fail checks
    for k in range(3):
        done = _mlguard(
            ["scan", "--iac", "infra", "--shard", f"{k}/3", "--output-dir", "parts", "-q"], work, checkov_bin
        )
        assert done.returncode == 0, done.stderr
    parts = sorted((work / "parts").glob("inventory-shard-*-of-3.json"))
    assert len(parts) == 3
    merge = ["merge", "--format", "json", "--output-dir", "merged", "-q"]
    done = _mlguard([*merge, *map(str, parts)], work, checkov_bin)
    assert done.returncode == single.returncode, done.stderr
    assert _comparable(work / "merged" / "results.json") == _comparable(work / "single" / "results.json")

    owned = {p: json.loads(p.read_text())["provenance"]["shard"]["units"] for p in parts}
    gone = next(p for p, units in owned.items() if units)
    (work / "merged" / "results.json").unlink()
    done = _mlguard([*merge, *(str(p) for p in parts if p != gone)], work, checkov_bin)
    assert done.returncode == 3, done.stderr
    errors = json.loads((work / "merged" / "results.json").read_text())["errors"]
    missing = {e["message"].split("unit ")[1].split(" ")[0] for e in errors if e["code"] == "ShardMissing"}
    assert missing == set(owned[gone])


def test_collect_iac_then_evaluate_judges_like_one_scan(estate_tree: Path, checkov_bin: Path) -> None:
    """`collect --iac PATH` keeps checkov's findings in the inventory; `evaluate` judges them as
    `scan --iac PATH` does (same results, errors, summary and policies not run; same exit code)."""
    work = estate_tree.parent
    single = _mlguard(
        ["scan", "--iac", "infra", "--format", "json", "--output-dir", "single-c", "-q"], work, checkov_bin
    )
    collected = _mlguard(["collect", "--iac", "infra", "-o", "iac-inventory.json", "-q"], work, checkov_bin)
    assert collected.returncode == 0, collected.stderr
    assert json.loads((work / "iac-inventory.json").read_text())["iac"]["path"] == "infra"
    evaluate = ["evaluate", "iac-inventory.json", "--format", "json", "--output-dir", "evaluated", "-q"]
    evaluated = _mlguard(evaluate, work, checkov_bin)
    assert evaluated.returncode == single.returncode == 1, evaluated.stderr
    assert _comparable(work / "evaluated" / "results.json") == _comparable(work / "single-c" / "results.json")


def _counting(checkov_bin: Path, tmp: Path) -> tuple[Path, Path]:
    """A checkov that logs each start (its -d/-f targets) and runs the real one."""
    log = tmp / "checkov-starts.log"
    wrapper = tmp / "checkov"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{checkov_bin}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


@pytest.mark.skipif(not batch_supported(FRAMEWORKS), reason="checkov forks its runners only on Linux")
def test_one_checkov_process_reads_all_of_a_shards_units(
    estate_tree: Path, checkov_bin: Path, tmp_path: Path
) -> None:
    """A shard's units, root modules and templates alike, are read by one checkov process, and
    judged as one process per unit judges them (the parts merge to the unsharded scan above)."""
    wrapper, log = _counting(checkov_bin, tmp_path)
    units = iac_units(estate_tree)
    assert any(p.is_file() for p in units.values())
    assert any(p.is_dir() for p in units.values())
    whole = with_iac_shard(None, Shard(0, 1), estate_tree, wrapper)
    (start,) = log.read_text().splitlines()
    assert start.count("-d ") == len(units)
    one_each = [
        scan_iac_shard(estate_tree, Shard(0, 1, plan={u: 0 if u == key else 1 for u in units}), checkov_bin)
        for key in units
    ]
    assert len(log.read_text().splitlines()) == 1  # the real checkov, unwrapped, ran the others
    assert whole.iac is not None
    each = combine(one_each)
    assert _comparable_results(whole.iac.results) == _comparable_results(each.results)
    assert whole.iac.errors == each.errors
    assert [p.id for p in whole.iac.policies] == [p.id for p in each.policies]


def test_scan_shards_with_a_store_place_iac_units_by_the_previous_runs_results(
    estate_tree: Path, checkov_bin: Path
) -> None:
    """`scan --iac PATH --record` keeps the IaC results; `scan --iac PATH --shard K/2 --store S`
    then places the IaC units by them, in every shard alike (the part names the run), and the
    parts still merge to the unsharded scan."""
    work = estate_tree.parent
    store = work / "plan-history.sqlite"
    recorded = _mlguard(
        ["scan", "--iac", "infra", "--store", str(store), "--format", "json", "--output-dir", "rec", "-q"],
        work,
        checkov_bin,
    )
    assert recorded.returncode == 1, recorded.stderr
    with open_store(str(store)) as opened:
        found = unit_weights(opened, estate_tree)
    assert found is not None
    run_id, weights = found
    units = iac_units(estate_tree)
    assert set(weights) == set(units)  # every unit of the fixtures has results
    plan = balance(weights, 2)
    for k in range(2):
        done = _mlguard(
            ["scan", "--iac", "infra", "--shard", f"{k}/2", "--store", str(store), "--output-dir", "bal"],
            work,
            checkov_bin,
        )
        assert done.returncode == 0, done.stderr
        assert f"shards balanced by the unit sizes of run {run_id}" in done.stderr
    parts = [work / "bal" / f"inventory-shard-{k}-of-2.json" for k in range(2)]
    infos = [json.loads(p.read_text())["provenance"]["shard"] for p in parts]
    assert [i["balanced_by"] for i in infos] == [run_id, run_id]
    assert [sorted(i["units"]) for i in infos] == [
        sorted(u for u, s in plan.items() if s == k) for k in range(2)
    ]
    done = _mlguard(
        ["merge", "--format", "json", "--output-dir", "bal-merged", "-q", *map(str, parts)], work, checkov_bin
    )
    assert done.returncode == 1, done.stderr
    assert _comparable(work / "bal-merged" / "results.json") == _comparable(work / "rec" / "results.json")
