"""Account scan: the account's workspaces are listed, then each is scanned concurrently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import AccountClient, WorkspaceClient
from tests.support.databricks_harness import RecordingClock, collect_inventory, counts_by_type

from mlguard.config import DatabricksScope, ScopeConfig
from mlguard.demo.databricks_fake import bulk_state, demo_state
from mlguard.errors import CollectionSetupError


def _profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, account_id: str, token: str) -> None:
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(f"[acct]\nhost = {host}\naccount_id = {account_id}\ntoken = {token}\n", encoding="utf-8")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg))


def test_account_scan_covers_every_workspace(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prod_state = demo_state()
    sandbox_state = bulk_state(60)
    prod = start_fake(prod_state, env=False, page_size=2)
    sandbox = start_fake(sandbox_state, env=False, page_size=2)
    _profile(tmp_path, monkeypatch, prod.host, str(prod_state.account_id), prod.token)
    servers = {"ml-prod": prod, "ml-sandbox": sandbox}

    def factory(acct: AccountClient, ws: Any) -> WorkspaceClient:
        server = servers[ws.deployment_name]
        return WorkspaceClient(host=server.host, token=server.token)

    scope = ScopeConfig(databricks=DatabricksScope(account_profile="acct"))
    types = frozenset({"databricks.account_workspace", "databricks.cluster", "databricks.uc.catalog"})
    inventory = collect_inventory(
        types, clock=RecordingClock(), scope=scope, workspace_client_factory=factory
    )

    assert inventory.errors == []
    assert counts_by_type(inventory) == {
        "databricks.account_workspace": 2,
        "databricks.cluster": len(prod_state.clusters) + len(sandbox_state.clusters),
        "databricks.uc.catalog": len(prod_state.catalogs) + len(sandbox_state.catalogs),
    }
    acct_ws = {r.id: r for r in inventory.resources if r.type == "databricks.account_workspace"}
    prod_ws = acct_ws[str(prod_state.workspace_id)]
    assert prod_ws.workspace == "ml-prod.cloud.databricks.com"
    assert prod_ws.data["private_link"] is True
    assert prod_ws.data["storage_cmk"] is True
    assert acct_ws["2234567890123456"].data["private_link"] is False
    assert inventory.provenance.accounts == [prod_state.account_id]
    assert len({r.workspace for r in inventory.resources if r.type == "databricks.cluster"}) == 2
    assert {r.account for r in inventory.resources} == {prod_state.account_id}
    assert {c.account for c in inventory.coverage} == {prod_state.account_id}
    assert {r.method for s in servers.values() for r in s.fake.requests} <= {"GET"}


def test_workspace_filter(start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = demo_state()
    server = start_fake(state, env=False)
    _profile(tmp_path, monkeypatch, server.host, str(state.account_id), server.token)
    scope = ScopeConfig(databricks=DatabricksScope(account_profile="acct", workspaces=["sandbox"]))
    inventory = collect_inventory(
        frozenset({"databricks.account_workspace"}), clock=RecordingClock(), scope=scope
    )
    assert [r.name for r in inventory.resources] == ["sandbox"]


def test_denied_account_api_is_a_setup_error(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = demo_state()
    server = start_fake(state, env=False, deny={"account_workspaces"})
    _profile(tmp_path, monkeypatch, server.host, str(state.account_id), server.token)
    scope = ScopeConfig(databricks=DatabricksScope(account_profile="acct"))
    with pytest.raises(CollectionSetupError, match="cannot list workspaces"):
        collect_inventory(frozenset({"databricks.account_workspace"}), clock=RecordingClock(), scope=scope)


def test_account_profile_without_account_id(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_fake(env=False)
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(f"[acct]\nhost = {server.host}\ntoken = {server.token}\n", encoding="utf-8")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg))
    scope = ScopeConfig(databricks=DatabricksScope(account_profile="acct"))
    with pytest.raises(CollectionSetupError, match="no account_id"):
        collect_inventory(frozenset({"databricks.account_workspace"}), clock=RecordingClock(), scope=scope)


def test_unknown_profile_is_a_setup_error(start_fake) -> None:
    start_fake(env=False)
    scope = ScopeConfig(databricks=DatabricksScope(profile="does-not-exist"))
    with pytest.raises(CollectionSetupError, match="Databricks configuration"):
        collect_inventory(frozenset({"databricks.cluster"}), clock=RecordingClock(), scope=scope)


def test_one_unusable_workspace_does_not_stop_the_account_scan(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = demo_state()
    prod = start_fake(state, env=False)
    _profile(tmp_path, monkeypatch, prod.host, str(state.account_id), prod.token)

    def factory(acct: AccountClient, ws: Any) -> WorkspaceClient:
        token = prod.token if ws.deployment_name == "ml-prod" else "dapi-revoked"
        return WorkspaceClient(host=prod.host, token=token)

    scope = ScopeConfig(databricks=DatabricksScope(account_profile="acct"))
    inventory = collect_inventory(
        frozenset({"databricks.cluster"}),
        clock=RecordingClock(),
        scope=scope,
        workspace_client_factory=factory,
    )
    assert counts_by_type(inventory) == {"databricks.cluster": len(state.clusters)}
    assert [(e.code, e.account, e.resource_type) for e in inventory.errors] == [
        ("UNAUTHENTICATED", state.account_id, None)
    ]


def test_account_policies_fail_and_pass_on_the_collected_account(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account-workspace policies read what the account collector emits: the prod workspace
    has PrivateLink and customer-managed keys, the sandbox neither (the demo scans no account)."""
    from mlguard.policy.evaluator import evaluate_inventory
    from mlguard.policy.loader import builtin_policy_dir, load_policy_set

    prod_state = demo_state()
    prod = start_fake(prod_state, env=False)
    _profile(tmp_path, monkeypatch, prod.host, str(prod_state.account_id), prod.token)

    def factory(acct: AccountClient, ws: Any) -> WorkspaceClient:
        return WorkspaceClient(host=prod.host, token=prod.token)

    scope = ScopeConfig(databricks=DatabricksScope(account_profile="acct"))
    inventory = collect_inventory(
        frozenset({"databricks.account_workspace"}),
        clock=RecordingClock(),
        scope=scope,
        workspace_client_factory=factory,
    )
    policies = load_policy_set([(builtin_policy_dir(), "builtin")]).policies
    ids = ("databricks_account_workspace_private_link", "databricks_account_workspace_cmk")
    results = evaluate_inventory([policies[i] for i in ids], inventory).results
    statuses = {(r.policy_id, r.resource_uid.rsplit("/", 1)[-1]): str(r.status) for r in results}
    prod_id, sandbox_id = str(prod_state.workspace_id), "2234567890123456"
    assert statuses == {
        (ids[0], prod_id): "PASS",
        (ids[0], sandbox_id): "FAIL",
        (ids[1], prod_id): "PASS",
        (ids[1], sandbox_id): "FAIL",
    }


def test_private_link_requires_public_access_disabled(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = demo_state()
    state.account_workspaces[1]["private_access_settings_id"] = "pas-open"  # public access enabled
    server = start_fake(state, env=False)
    _profile(tmp_path, monkeypatch, server.host, str(state.account_id), server.token)
    scope = ScopeConfig(databricks=DatabricksScope(account_profile="acct"))
    inventory = collect_inventory(
        frozenset({"databricks.account_workspace"}), clock=RecordingClock(), scope=scope
    )
    assert inventory.errors == []
    ws = {r.name: r.data for r in inventory.resources}
    assert (ws["ml-prod"]["private_link"], ws["ml-prod"]["public_access_enabled"]) == (True, False)
    assert (ws["sandbox"]["private_link"], ws["sandbox"]["public_access_enabled"]) == (False, True)
    pas_calls = [r for r in server.fake.requests if r.path.endswith("/private-access-settings")]
    assert len(pas_calls) == 1


def test_unreadable_private_access_settings_leave_private_link_unknown(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = demo_state()
    server = start_fake(state, env=False, deny={"account_private_access_settings"})
    _profile(tmp_path, monkeypatch, server.host, str(state.account_id), server.token)
    scope = ScopeConfig(databricks=DatabricksScope(account_profile="acct"))
    inventory = collect_inventory(
        frozenset({"databricks.account_workspace"}), clock=RecordingClock(), scope=scope
    )
    ws = {r.name: r for r in inventory.resources}
    assert "private_link" not in ws["ml-prod"].data  # settings attached, but unreadable
    assert ws["sandbox"].data["private_link"] is False  # no settings at all: known
    (error,) = inventory.errors
    assert (error.resource_uid, error.code) == (ws["ml-prod"].uid, "PERMISSION_DENIED")
    assert error.operation == "GET /api/2.0/accounts/{account_id}/private-access-settings"
    assert "private_link" in error.attributes
