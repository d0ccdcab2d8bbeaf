"""An account scan split over shards: each workspace, and the account's own types, read by one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import AccountClient, WorkspaceClient
from tests.collect.databricks.test_dbx_account import _profile
from tests.support.databricks_harness import RecordingClock

from mlguard.collect.base import InventorySink, NullProgress
from mlguard.collect.databricks import DatabricksCollector
from mlguard.collect.shard import Shard, databricks_account_unit
from mlguard.config import DatabricksScope, ScopeConfig
from mlguard.demo.databricks_fake import bulk_state, demo_state

TYPES = frozenset({"databricks.account_workspace", "databricks.cluster"})


def _two_workspaces(
    start_fake: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Any, dict[str, Any]]:
    """An account profile with two workspaces (the demo's, and a bulk one), each on its fake server."""
    prod_state, sandbox_state = demo_state(), bulk_state(5)
    prod = start_fake(prod_state, env=False)
    sandbox = start_fake(sandbox_state, env=False)
    _profile(tmp_path, monkeypatch, prod.host, str(prod_state.account_id), prod.token)
    return prod_state, sandbox_state, {"ml-prod": prod, "ml-sandbox": sandbox}


@pytest.mark.parametrize("count", [2, 3])
def test_each_workspace_and_the_account_types_are_read_by_one_shard(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    prod_state, sandbox_state, servers = _two_workspaces(start_fake, tmp_path, monkeypatch)

    def factory(acct: AccountClient, ws: Any) -> WorkspaceClient:
        server = servers[ws.deployment_name]
        return WorkspaceClient(host=server.host, token=server.token)

    scope = ScopeConfig(databricks=DatabricksScope(account_profile="acct"))

    def run(shard: Shard | None) -> InventorySink:
        sink = InventorySink(shard=shard)
        collector = DatabricksCollector(scope, clock=RecordingClock(), workspace_client_factory=factory)
        collector.collect(TYPES, sink, NullProgress())
        return sink

    whole = run(None)
    parts = [run(Shard(i, count)) for i in range(count)]
    uids = sorted(r.uid for p in parts for r in p.resources)
    assert uids == sorted(r.uid for r in whole.resources)  # each resource once, none lost
    assert len(whole.resources) == 2 + len(prod_state.clusters) + len(sandbox_state.clusters)
    account_unit = databricks_account_unit(str(prod_state.account_id))
    owners = [p for p in parts if p.shard is not None and account_unit in p.shard.units]
    assert len(owners) == 1
    assert {r.type for p in parts if p not in owners for r in p.resources} <= {"databricks.cluster"}
    for p in parts:  # every shard saw the account and both workspaces
        assert p.shard is not None
        assert len(p.shard.seen) == 3


class _Granted:
    """Claims of a ``--jobs`` process granted ``granted`` (another process took the rest)."""

    def __init__(self, granted: set[str]) -> None:
        self.granted = granted
        self.asked: list[str] = []

    def claim(self, key: str) -> bool:
        self.asked.append(key)
        return key in self.granted


def test_with_claims_only_the_claimed_workspaces_are_read(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prod_state, sandbox_state, servers = _two_workspaces(start_fake, tmp_path, monkeypatch)
    hosts: dict[str, str] = {}

    def factory(acct: AccountClient, ws: Any) -> WorkspaceClient:
        server = servers[ws.deployment_name]
        hosts[ws.deployment_name] = server.host
        return WorkspaceClient(host=server.host, token=server.token)

    scope = ScopeConfig(databricks=DatabricksScope(account_profile="acct"))
    account_unit = databricks_account_unit(str(prod_state.account_id))
    claims = _Granted({account_unit})
    sink = InventorySink(shard=Shard(0, 2, claims=claims))
    collector = DatabricksCollector(scope, clock=RecordingClock(), workspace_client_factory=factory)
    collector.collect(TYPES, sink, NullProgress())
    assert {r.type for r in sink.resources} == {"databricks.account_workspace"}  # no workspace granted
    assert hosts == {}  # not even a client made for a workspace another process took
    assert len(claims.asked) == 3  # the account, then each workspace as its turn came
    assert claims.asked[0] == account_unit
    (sandbox_unit,) = [u for u in claims.asked if "sandbox" in u]
    claims = _Granted({sandbox_unit})
    sink = InventorySink(shard=Shard(1, 2, claims=claims))
    collector = DatabricksCollector(scope, clock=RecordingClock(), workspace_client_factory=factory)
    collector.collect(TYPES, sink, NullProgress())
    assert {r.type for r in sink.resources} == {"databricks.cluster"}
    assert len(sink.resources) == len(sandbox_state.clusters)
    assert sink.shard is not None
    assert sorted(sink.shard.units) == [sandbox_unit]
    assert len(sink.shard.seen) == 3
