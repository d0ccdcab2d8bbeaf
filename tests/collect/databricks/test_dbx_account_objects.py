"""Account objects a workspace names (credential, storage and network configurations, customer-
managed keys, log delivery) and workspace instance profiles: the keys that join Databricks to AWS."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.databricks_harness import RecordingClock, collect_inventory

from mlguard.collect.databricks.instance_profiles import role_of
from mlguard.config import DatabricksScope, ScopeConfig
from mlguard.demo.databricks_fake import demo_state

ACCOUNT_TYPE = frozenset({"databricks.account_workspace"})
AWS = "arn:aws:iam::123456789012"


def _account_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, account: str, token: str
) -> ScopeConfig:
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(f"[acct]\nhost = {host}\naccount_id = {account}\ntoken = {token}\n", encoding="utf-8")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg))
    return ScopeConfig(databricks=DatabricksScope(account_profile="acct"))


def test_workspaces_carry_the_account_objects_they_name(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = demo_state()
    server = start_fake(state, env=False)
    scope = _account_scope(tmp_path, monkeypatch, server.host, str(state.account_id), server.token)
    inventory = collect_inventory(ACCOUNT_TYPE, clock=RecordingClock(), scope=scope)
    assert inventory.errors == []
    ws = {r.name: r.data for r in inventory.resources}
    prod, sandbox = ws["ml-prod"], ws["sandbox"]
    assert prod["credential_role_arn"] == f"{AWS}:role/databricks-cross-account"
    assert prod["root_bucket"] == "acme-ml-model-artifacts"
    assert prod["security_group_ids"] == ["sg-ml-private"]
    assert prod["subnet_ids"] == ["subnet-demo-a", "subnet-demo-b"]
    assert prod["vpc_id"] == "vpc-demo"
    assert prod["storage_cmk_key_arn"].endswith(":key/5f0c1d2e-storage")
    assert prod["managed_services_cmk_key_arn"].endswith(":key/6a1b2c3d-managed")
    assert prod["audit_log_delivery"] is True  # filtered to the prod workspace id
    assert sandbox["audit_log_delivery"] is False
    assert sandbox["billable_usage_delivery"] is True  # no filter: every workspace
    assert sandbox["storage_cmk_key_arn"] is None  # names no key
    assert sandbox["root_bucket"] == "acme-ml-public-datasets"
    routes = {r.route for r in server.fake.requests}
    assert {"account_credentials", "account_networks", "account_log_delivery"} <= routes


def test_a_denied_account_listing_leaves_only_its_facts_unknown(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = demo_state()
    server = start_fake(state, env=False, deny={"account_networks"})
    scope = _account_scope(tmp_path, monkeypatch, server.host, str(state.account_id), server.token)
    inventory = collect_inventory(ACCOUNT_TYPE, clock=RecordingClock(), scope=scope)
    prod = next(r for r in inventory.resources if r.name == "ml-prod")
    assert "security_group_ids" not in prod.data  # not read: unknown, never an empty list
    assert prod.data["root_bucket"] == "acme-ml-model-artifacts"
    errors = [e for e in inventory.errors if e.resource_uid == prod.uid]
    assert [(e.operation, e.code, e.attributes) for e in errors] == [
        (
            "GET /api/2.0/accounts/{account_id}/networks",
            "PERMISSION_DENIED",
            ["security_group_ids", "subnet_ids", "vpc_id"],
        )
    ]


def test_an_attached_object_missing_from_the_listing_is_unknown(
    start_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = demo_state()
    state.account_credentials = [c for c in state.account_credentials if c["credentials_id"] != "cred-2"]
    server = start_fake(state, env=False)
    scope = _account_scope(tmp_path, monkeypatch, server.host, str(state.account_id), server.token)
    inventory = collect_inventory(ACCOUNT_TYPE, clock=RecordingClock(), scope=scope)
    sandbox = next(r for r in inventory.resources if r.name == "sandbox")
    assert "credential_role_arn" not in sandbox.data
    assert [(e.code, e.attributes) for e in inventory.errors] == [("NotListed", ["credential_role_arn"])]


def test_instance_profiles_name_their_role(start_fake) -> None:
    start_fake()
    inventory = collect_inventory(frozenset({"databricks.instance_profile"}), clock=RecordingClock())
    profiles = {r.name: r.data for r in inventory.resources}
    assert profiles["gpu-training"]["iam_role_arn"] == f"{AWS}:role/GpuTrainingInstanceRole"
    assert profiles["gpu-training"]["iam_role_arn_derived"] is False
    assert profiles["databricks-etl-instance"]["iam_role_arn"] == f"{AWS}:role/databricks-etl-instance"
    assert profiles["databricks-etl-instance"]["iam_role_arn_derived"] is True


def test_a_denied_instance_profile_listing_is_a_type_error(start_fake) -> None:
    start_fake(deny={"instance_profiles"})
    inventory = collect_inventory(frozenset({"databricks.instance_profile"}), clock=RecordingClock())
    assert inventory.resources == []
    assert [(e.resource_type, e.code) for e in inventory.errors] == [
        ("databricks.instance_profile", "PERMISSION_DENIED")
    ]


@pytest.mark.parametrize(
    ("profile", "role", "expected"),
    [
        (f"{AWS}:instance-profile/etl", None, (f"{AWS}:role/etl", "etl", True)),
        (f"{AWS}:instance-profile/team/etl", None, (f"{AWS}:role/team/etl", "etl", True)),
        (f"{AWS}:instance-profile/etl", f"{AWS}:role/other", (f"{AWS}:role/other", "other", False)),
        ("not-an-arn", None, (None, None, False)),
    ],
)
def test_role_of(profile: str, role: str | None, expected: tuple[str | None, str | None, bool]) -> None:
    assert role_of(profile, role) == expected


def test_a_workspace_scan_with_its_account_collects_both(start_fake) -> None:
    """The demo's shape: one host serves the workspace and its account; the account's types are
    collected beside the workspace's, and a denied account listing is an error, not the end."""
    state = demo_state()
    server = start_fake(state, env=False)
    scope = ScopeConfig(databricks=DatabricksScope(host=server.host))
    types = frozenset({"databricks.account_workspace", "databricks.instance_profile"})
    inventory = collect_inventory(
        types, clock=RecordingClock(), scope=scope, token=server.token, account_id=state.account_id
    )
    assert sorted(r.type for r in inventory.resources).count("databricks.account_workspace") == 2
    assert inventory.errors == []

    denied = start_fake(state, env=False, deny={"account_workspaces"})
    scope = ScopeConfig(databricks=DatabricksScope(host=denied.host))
    inventory = collect_inventory(
        types, clock=RecordingClock(), scope=scope, token=denied.token, account_id=state.account_id
    )
    assert {r.type for r in inventory.resources} == {"databricks.instance_profile"}
    assert [(e.resource_type, e.code) for e in inventory.errors] == [
        ("databricks.account_workspace", "PERMISSION_DENIED")
    ]
