"""`mlguard scan` with a narrow policy selection reads only what its policies read; --all-fields and
--inventory-out read everything, as a full scan does, with the same results (issue 15)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlguard.cli import main
from mlguard.collect.aws.engine import ApiStats
from mlguard.policy.loader import builtin_policy_dir

REGION = "us-east-1"
SCAN = ["scan", "--provider", "aws", "--regions", REGION, "--fail-on", "never", "--format", "json"]
NOT_READ = {"s3:GetBucketAcl", "s3:GetBucketLogging", "s3:GetBucketVersioning", "s3:GetBucketPolicy"}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every API call the scan sends (the engine's own request hook), in order."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    calls: list[str] = []
    record = ApiStats.record

    def counted(self: ApiStats, service: str, operation: str) -> None:
        calls.append(f"{service}:{operation}")
        record(self, service, operation)

    monkeypatch.setattr(ApiStats, "record", counted)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="plain")
        s3.create_bucket(Bucket="sealed")
        s3.put_bucket_encryption(
            Bucket="sealed",
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        yield calls


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """Two built-in S3 policies as a pack of their own (loading the whole pack is slow)."""
    out = tmp_path / "pack"
    out.mkdir()
    for name in ("s3_bucket_default_encryption", "s3_bucket_versioning"):
        shutil.copy(builtin_policy_dir() / "aws" / "s3" / f"{name}.yaml", out)
    return out


def _scan(args: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[Any, ...]]:
    with pytest.raises(SystemExit) as exc:
        main(["-q", *SCAN, "--output-dir", str(out), *args])
    capsys.readouterr()
    assert exc.value.code == 0
    results = json.loads((out / "results.json").read_text())["results"]
    return sorted((r["policy_id"], r["resource_uid"], r["status"], r["message"]) for r in results)


def test_a_narrow_scan_leaves_out_the_calls_its_policy_does_not_read(
    sent: list[str], pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = ["--no-builtin", "--policies", str(pack), "--policy", "s3_bucket_default_encryption"]
    narrow = _scan(policy, tmp_path / "narrow", capsys)
    narrow_calls = set(sent)
    sent.clear()
    wide = _scan([*policy, "--all-fields"], tmp_path / "wide", capsys)
    wide_calls = set(sent)
    sent.clear()
    kept = _scan([*policy, "--inventory-out", str(tmp_path / "inv.json")], tmp_path / "kept", capsys)

    assert narrow == wide == kept
    assert [(uid.rsplit(":", 1)[1], status) for _, uid, status, _ in narrow] == [
        ("plain", "FAIL"),
        ("sealed", "PASS"),
    ]
    assert "s3:GetBucketEncryption" in narrow_calls
    assert narrow_calls.isdisjoint(NOT_READ)
    assert wide_calls >= NOT_READ
    assert set(sent) >= NOT_READ  # --inventory-out: the inventory holds every field
    inventory = json.loads((tmp_path / "inv.json").read_text())
    assert all("unread" not in c for c in inventory["coverage"])
    sent.clear()
    _scan(["--no-builtin", "--policies", str(pack)], tmp_path / "all", capsys)
    assert set(sent) >= NOT_READ  # every enabled policy selected: a full scan
