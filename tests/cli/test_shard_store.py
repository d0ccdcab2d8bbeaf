"""Shards recording into the results store (`collect --shard auto/N --record-part RUN --store S`,
N processes at once against one SQLite store) and `history finalize RUN`: one recorded run whose
results equal the single-process scan; a missing shard is exit 3 with ShardMissing errors; a
shard recorded twice is exit 2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mlguard.collect.shard import balance
from mlguard.history.parts import unit_weights
from mlguard.history.store import open_store
from tests.cli.test_shard_merge import EXE, GATE, SCOPE, SELECT, comparable, estate, run, single

__all__ = ["estate", "single"]

pytestmark = pytest.mark.e2e


def _record_shards(
    env: dict[str, str], store: Path, name: str, indexes: list[int], count: int, tmp: Path
) -> None:
    procs = [
        subprocess.Popen(
            [
                EXE,
                "collect",
                *SCOPE,
                *SELECT,
                "--shard",
                f"auto/{count}",
                "-o",
                str(tmp / f"{name}-{k}.json"),
                "--record-part",
                name,
                "--store",
                str(store),
            ],
            env={**env, "JOB_COMPLETION_INDEX": str(k)},
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in indexes
    ]
    for k, proc in zip(indexes, procs, strict=True):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert f"recorded shard {k}/{count} of run {name}" in err


def test_finalize_merges_the_recorded_parts_like_one_scan(
    estate: tuple[dict[str, str], list[str]], single: Path, tmp_path: Path
) -> None:
    env, _ = estate
    store = tmp_path / "history.sqlite"
    _record_shards(env, store, "nightly-1", [0, 1, 2], 3, tmp_path)
    done = run(
        [
            "history",
            "finalize",
            "nightly-1",
            "--store",
            str(store),
            *SELECT,
            *GATE,
            "--format",
            "json",
            "--output-dir",
            "out",
        ],
        env,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "recorded run" in done.stderr
    merged = tmp_path / "out" / "results.json"
    assert comparable(merged) == comparable(single)
    assert comparable(single)["results"]
    shards = json.loads(merged.read_text())["provenance"]["shards"]
    assert [(s["index"], s["count"]) for s in shards] == [(0, 3), (1, 3), (2, 3)]
    assert all("#nightly-1/shard-" in s["source"] for s in shards)
    listed = run(["history", "list", "--store", str(store), "--json"], env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    (recorded,) = json.loads(listed.stdout)
    assert recorded["resources"] == json.loads(single.read_text())["summary"]["resources"]

    # the next run is balanced by this one's unit sizes: every shard computes the same plan
    with open_store(str(store)) as opened:
        found = unit_weights(opened)
    assert found is not None
    run_id, weights = found
    assert run_id == recorded["id"]
    plan = balance(weights, 3)
    procs = [
        subprocess.Popen(
            [
                EXE,
                "collect",
                *SCOPE,
                *SELECT,
                "--shard",
                f"{k}/3",
                "-o",
                str(tmp_path / f"b{k}.json"),
                "--store",
                str(store),
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert f"shards balanced by the unit sizes of run {run_id}" in err
    infos = [json.loads((tmp_path / f"b{k}.json").read_text())["provenance"]["shard"] for k in range(3)]
    assert {i["balanced_by"] for i in infos} == {run_id}
    for k, info in enumerate(infos):
        assert {u for u in info["units"] if u in plan} == {u for u, s in plan.items() if s == k}
    done = run(
        [
            "merge",
            *(str(tmp_path / f"b{k}.json") for k in range(3)),
            *SELECT,
            *GATE,
            "--format",
            "json",
            "--output-dir",
            "balanced",
        ],
        env,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert comparable(tmp_path / "balanced" / "results.json") == comparable(single)

    # the same shard of the same run twice: refused, like two files of one shard in `merge`
    again = run(
        [
            "collect",
            *SCOPE,
            *SELECT,
            "--shard",
            "1/3",
            "-o",
            "again.json",
            "--record-part",
            "nightly-1",
            "--store",
            str(store),
        ],
        env,
        tmp_path,
    )
    assert again.returncode == 2, again.stderr
    assert "shard 1/3 of run 'nightly-1' is already in the store" in again.stderr


def test_finalize_with_a_missing_shard_is_incomplete(
    estate: tuple[dict[str, str], list[str]], tmp_path: Path
) -> None:
    env, _ = estate
    store = tmp_path / "history.sqlite"
    _record_shards(env, store, "nightly-2", [0], 2, tmp_path)
    done = run(
        [
            "history",
            "finalize",
            "nightly-2",
            "--store",
            str(store),
            *SELECT,
            *GATE,
            "--format",
            "json",
            "--output-dir",
            "out",
        ],
        env,
        tmp_path,
    )
    assert done.returncode == 3, done.stderr
    assert "shard(s) missing from the merge: 1/2" in done.stderr
    errors = json.loads((tmp_path / "out" / "results.json").read_text())["errors"]
    assert any(e["code"] == "ShardMissing" for e in errors)
    unknown = run(["history", "finalize", "no-such-run", "--store", str(store)], env, tmp_path)
    assert unknown.returncode == 2, unknown.stderr
    assert "no shard parts of run 'no-such-run'" in unknown.stderr


def test_record_part_needs_a_shard_and_a_store(
    estate: tuple[dict[str, str], list[str]], tmp_path: Path
) -> None:
    env, _ = estate
    env = {k: v for k, v in env.items() if k != "MLGUARD_STORE"}
    done = run(
        ["collect", *SCOPE, "--record-part", "r", "--store", str(tmp_path / "s.sqlite")], env, tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "--record-part RUN needs --shard K/N" in done.stderr
    done = run(["collect", *SCOPE, "--shard", "0/2", "--record-part", "r"], env, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "--record-part needs a results store" in done.stderr
    assert not (tmp_path / "inventory.json").exists()  # refused before anything was read
