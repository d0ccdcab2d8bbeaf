"""Sharded collection end to end: `mlguard collect --shard auto/N` processes (index from
JOB_COMPLETION_INDEX, as in a Kubernetes Indexed Job) against one moto server holding an AWS
Organization, then `mlguard merge`: the same results as one `mlguard scan` of the whole estate."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from mlguard.collect.shard import aws_unit, shard_of
from mlguard.demo import s3control_host

pytestmark = pytest.mark.e2e

ROLE = "MlguardAudit"
REGIONS = ["us-east-1", "eu-west-1"]
EXE = shutil.which("mlguard", path=str(Path(sys.executable).parent)) or "mlguard"
SELECT = ["--resource-type", "aws.kms.key", "--resource-type", "aws.iam.role"]
GATE = ["--fail-on", "never"]
SCOPE = ["--provider", "aws", "--org-role", ROLE, "--regions", ",".join(REGIONS)]


@pytest.fixture(scope="module")
def estate() -> Iterator[tuple[dict[str, str], list[str]]]:
    """A moto server with an organisation of the management account and two members, each with a
    KMS key per region and an IAM role; yields the subprocess environment and the account ids."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    # moto's backends live in the process, not in the server: another module's organisation (this
    # fixture is shared by tests/cli/test_shard_store.py and tests/deploy) would still be there
    requests.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()
    try:
        org = boto3.client("organizations", endpoint_url=url, region_name="us-east-1", **creds)
        org.create_organization(FeatureSet="ALL")
        members = [
            str(
                org.create_account(AccountName=f"ml-{i}", Email=f"ml-{i}@example.com")["CreateAccountStatus"][
                    "AccountId"
                ]
            )
            for i in range(2)
        ]
        sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1", **creds)
        sessions = [creds]
        for member in members:
            c = sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/{ROLE}", RoleSessionName="seed")[
                "Credentials"
            ]
            sessions.append(
                {
                    "aws_access_key_id": c["AccessKeyId"],
                    "aws_secret_access_key": c["SecretAccessKey"],
                    "aws_session_token": c["SessionToken"],
                }
            )
        for i, kw in enumerate(sessions):
            for region in REGIONS:
                boto3.client("kms", endpoint_url=url, region_name=region, **kw).create_key(
                    Description=f"k{i}"
                )
            boto3.client("iam", endpoint_url=url, region_name="us-east-1", **kw).create_role(
                RoleName=f"ml-{i}",
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
            )
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") and k not in ("JOB_COMPLETION_INDEX",)
        }
        env.update(
            AWS_ENDPOINT_URL=url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            NO_COLOR="1",
        )
        env[s3control_host.PLUGIN_ENV] = s3control_host.PLUGIN_SPEC
        yield env, ["123456789012", *members]
    finally:
        server.stop()


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


_PARTS: dict[tuple[str, int], list[Path]] = {}


def shards(env: dict[str, str], count: int, tmp: Path) -> list[Path]:
    """N collect processes at once, each told its index the way a Kubernetes Indexed Job does
    (once per server and N: the tests only read the parts)."""
    key = (env["AWS_ENDPOINT_URL"], count)
    if key not in _PARTS:
        _PARTS[key] = _run_shards(env, count, tmp)
    return _PARTS[key]


def _run_shards(env: dict[str, str], count: int, tmp: Path) -> list[Path]:
    procs = []
    for k in range(count):
        out = tmp / f"part-{k}-of-{count}.json"
        procs.append(
            (
                out,
                subprocess.Popen(
                    [EXE, "collect", *SCOPE, *SELECT, "--shard", f"auto/{count}", "-o", str(out)],
                    env={**env, "JOB_COMPLETION_INDEX": str(k)},
                    cwd=tmp,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    for _out, proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    return [out for out, _ in procs]


def comparable(results: Path) -> dict[str, Any]:
    """A results file without what differs between runs (times, durations, provenance)."""
    doc = json.loads(results.read_text())
    rows = sorted(
        (
            r["fingerprint"],
            r["policy_id"],
            r["resource_uid"],
            r["status"],
            r["message"],
            json.dumps(r.get("evidence", {}).get("values", {}), sort_keys=True),
        )
        for r in doc["results"]
    )
    errors = sorted(json.dumps(e, sort_keys=True) for e in doc.get("errors", []))
    return {"results": rows, "errors": errors, "summary": doc["summary"], "not_run": doc.get("not_run")}


@pytest.fixture(scope="module")
def single(estate: tuple[dict[str, str], list[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    env, _ = estate
    tmp = tmp_path_factory.mktemp("single")
    done = run(
        ["scan", *SCOPE, *SELECT, "--format", "json", "--output-dir", "out", "--fail-on", "never"], env, tmp
    )
    assert done.returncode == 0, done.stderr
    return tmp / "out" / "results.json"


@pytest.mark.parametrize("count", [2, 3])
def test_merged_shards_equal_one_scan(
    estate: tuple[dict[str, str], list[str]], single: Path, tmp_path: Path, count: int
) -> None:
    env, accounts = estate
    parts = shards(env, count, tmp_path)
    docs = [json.loads(p.read_text()) for p in parts]
    read = [u for d in docs for u in d["provenance"]["shard"]["units"]]
    expected_units = {aws_unit(a, r) for a in accounts for r in [None, *REGIONS]}
    assert sorted(read) == sorted(expected_units)  # every unit read by exactly one shard
    uids = [r["uid"] for d in docs for r in d["resources"]]
    assert len(uids) == len(set(uids)) == json.loads(single.read_text())["summary"]["resources"]
    assert len(uids) >= 9  # 3 accounts x (2 keys + 1 role), and the roles moto makes for the org
    done = run(
        ["merge", *map(str, parts), *SELECT, *GATE, "--format", "json,sarif", "--output-dir", "out"],
        env,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    merged = tmp_path / "out" / "results.json"
    assert comparable(merged) == comparable(single)
    assert comparable(single)["results"]  # the comparison compares something
    prov = json.loads(merged.read_text())["provenance"]
    assert [(s["index"], s["count"]) for s in prov["shards"]] == [(k, count) for k in range(count)]
    assert (tmp_path / "out" / "results.sarif").is_file()
    again = run(["report", str(merged), "--format", "html", "--output-dir", "rep"], env, tmp_path)
    assert again.returncode == 0, again.stderr  # reports render from the merged file as from a scan


def test_a_missing_shard_is_incomplete_and_its_units_error(
    estate: tuple[dict[str, str], list[str]], tmp_path: Path
) -> None:
    env, _ = estate
    parts = shards(env, 3, tmp_path)
    lost = json.loads(parts[1].read_text())["provenance"]["shard"]["units"]
    assert lost  # shard 1 of 3 reads something here
    done = run(
        [
            "merge",
            str(parts[0]),
            str(parts[2]),
            *SELECT,
            "--format",
            "json",
            "--output-dir",
            "out",
            "--fail-on",
            "never",
        ],
        env,
        tmp_path,
    )
    assert done.returncode == 3, done.stderr
    assert "1/3" in done.stderr
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    missing = [e for e in doc["errors"] if e["code"] == "ShardMissing"]
    assert {(e["account"], e.get("region")) for e in missing} == {
        (u.split("/")[1], None if u.endswith("/global") else u.split("/")[2]) for u in lost
    }
    for unit in lost:  # every policy on a lost unit's resources is ERROR, never PASS
        _, account, region = unit.split("/")
        assert shard_of(unit, 3) == 1
        mine = [
            r
            for r in doc["results"]
            if r["account"] == account
            and (r["resource_type"] == "aws.iam.role" if region == "global" else r.get("region") == region)
        ]
        assert all(r["status"] == "ERROR" for r in mine), unit


def test_a_part_given_twice_or_a_resource_in_two_parts_is_bad_input(
    estate: tuple[dict[str, str], list[str]], tmp_path: Path
) -> None:
    env, _ = estate
    parts = shards(env, 2, tmp_path)
    done = run(["merge", str(parts[0]), str(parts[0]), "--output-dir", "out"], env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.count(str(parts[0])) >= 2
    # a copy of part 1 relabelled as shard 0 of another run: its resources are in two parts
    doc = json.loads(parts[1].read_text())
    doc["provenance"]["shard"]["count"] = 3
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps(doc))
    done = run(["merge", str(parts[1]), str(copy), "--output-dir", "out"], env, tmp_path)
    assert done.returncode == 2
    assert str(parts[1]) in done.stderr
    assert str(copy) in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_shard_values_are_usage_errors(estate: tuple[dict[str, str], list[str]], tmp_path: Path) -> None:
    env, _ = estate
    for spec, extra in (("2/2", {}), ("0/0", {}), ("auto/2", {})):
        done = run(["collect", *SCOPE, "--shard", spec, "-o", "x.json"], {**env, **extra}, tmp_path)
        assert done.returncode == 2, (spec, done.stderr)
        assert "--shard" in done.stderr
        assert not (tmp_path / "x.json").exists()


def test_scan_with_a_shard_only_collects_its_part(
    estate: tuple[dict[str, str], list[str]], single: Path, tmp_path: Path
) -> None:
    env, _ = estate
    done = run(["scan", *SCOPE, *SELECT, *GATE, "--shard", "0/1", "--output-dir", "out"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    part = tmp_path / "out" / "inventory-shard-0-of-1.json"
    assert not (tmp_path / "out" / "results.json").exists()  # evaluation is merge's, once
    done = run(["merge", str(part), *SELECT, *GATE, "--format", "json", "--output-dir", "m"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert comparable(tmp_path / "m" / "results.json") == comparable(single)
    demo = run(["scan", "--demo", "--shard", "0/2", "--output-dir", "d"], env, tmp_path)
    assert demo.returncode == 2
    assert "--shard cannot be combined with --demo" in demo.stderr
