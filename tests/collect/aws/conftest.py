"""Shared fixtures: in-process moto, a collector wired to it, a helper that runs a collection."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from mlguard.collect.aws import AwsCollector
from mlguard.collect.base import Calls, InventorySink
from mlguard.config import AwsScope, ScopeConfig
from mlguard.model import Inventory, Resource

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@dataclass
class Run:
    inventory: Inventory
    collector: AwsCollector

    def of(self, type_name: str) -> list[Resource]:
        return [r for r in self.inventory.resources if r.type == type_name]

    def one(self, type_name: str, name: str) -> Resource:
        (found,) = [r for r in self.of(type_name) if name in (r.name, r.id)]
        return found


class NullProgress:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []

    def start(self, key: str, description: str) -> None:
        self.started.append(key)

    def finish(self, key: str, resources: int, errors: int, calls: Calls | None = None) -> None:
        self.finished.append(key)


def collect(
    types: set[str] | frozenset[str],
    regions: tuple[str, ...] = (REGION,),
    progress: NullProgress | None = None,
    **scope: object,
) -> Run:
    collector = AwsCollector(
        ScopeConfig(aws=AwsScope(regions=list(regions), max_workers=4, **scope)),  # type: ignore[arg-type]
        max_attempts=1,
        retry_mode="standard",
    )
    sink = InventorySink()
    collector.collect(frozenset(types), sink, progress or NullProgress())
    return Run(inventory=sink.to_inventory(started_at="2026-01-01T00:00:00Z"), collector=collector)


@pytest.fixture
def session() -> boto3.Session:
    return boto3.Session(region_name=REGION)


def moto_ext_applied() -> set[str]:
    """Gaps mlguard's moto extension has patched in this process (moto patches are process-wide:
    once the demo tests apply them, moto no longer lacks those listings)."""
    from mlguard.demo import moto_ext

    return set(moto_ext._applied)
