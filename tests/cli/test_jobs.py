"""`mlguard scan|collect --jobs N` end to end: N forked collector processes against one moto server
holding an AWS Organization give the results of one process's scan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_shard_merge import GATE, REGIONS, SCOPE, SELECT, comparable, estate, run, single

__all__ = ["estate", "single"]

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("jobs", [2, 3])
def test_a_scan_in_n_processes_equals_one_process_scan(
    estate: tuple[dict[str, str], list[str]], single: Path, tmp_path: Path, jobs: int
) -> None:
    env, accounts = estate
    done = run(
        ["scan", *SCOPE, *SELECT, *GATE, "--jobs", str(jobs), "--format", "json", "--output-dir", "out"],
        env,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    results = tmp_path / "out" / "results.json"
    assert comparable(results) == comparable(single)
    assert comparable(single)["results"]  # the comparison compares something
    prov = json.loads(results.read_text())["provenance"]
    assert [(s["index"], s["count"], s["source"]) for s in prov["shards"]] == [
        (k, jobs, f"--jobs {jobs}: process {k}") for k in range(jobs)
    ]
    read = sorted(u for s in prov["shards"] for u in s["units"])
    assert read == sorted(f"aws/{a}/{r}" for a in accounts for r in ["global", *REGIONS])
    assert not prov.get("sources")  # no part file was read
    for account in accounts:  # every process's units reach the one progress display (stderr)
        for region in ["global", *REGIONS]:
            assert f"AWS {account} {region} " in done.stderr, (account, region)


def test_collect_in_processes_writes_the_inventory_of_one_process(
    estate: tuple[dict[str, str], list[str]], tmp_path: Path
) -> None:
    env, _ = estate
    one = run(["collect", *SCOPE, *SELECT, "-o", "one.json"], env, tmp_path)
    two = run(["collect", *SCOPE, *SELECT, "--jobs", "2", "-o", "two.json"], env, tmp_path)
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    docs = [json.loads((tmp_path / name).read_text()) for name in ("one.json", "two.json")]
    resources = [
        sorted(json.dumps({**r, "collected_at": None}, sort_keys=True) for r in d["resources"]) for d in docs
    ]
    assert resources[0] == resources[1]
    assert len(resources[0]) >= 9
    assert sorted(map(json.dumps, docs[0]["coverage"])) == sorted(map(json.dumps, docs[1]["coverage"]))
    assert "2 collection errors" not in two.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "--jobs", "2", "--shard", "0/2"], "--jobs cannot be combined with --shard"),
        (["collect", "--jobs", "2", "--shard", "0/2"], "--jobs cannot be combined with --shard"),
        (["scan", "--jobs", "2", "--demo"], "--jobs cannot be combined with --demo"),
        (["scan", "--jobs", "0"], "0 is not in the range 1..64 (or auto)"),
        (["scan", "--jobs", "65"], "65 is not in the range 1..64 (or auto)"),
        (["scan", "--jobs", "x"], "'x' is not a number of processes (1..64) or auto"),
    ],
)
def test_bad_jobs_are_usage_errors(
    estate: tuple[dict[str, str], list[str]], tmp_path: Path, args: list[str], message: str
) -> None:
    env, _ = estate
    done = run(args, env, tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
