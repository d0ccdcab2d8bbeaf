"""The Databricks workspace-security and Unity Catalog policies read only what the collector
really produces: every data key a policy reads (on its own type, and on the types it joins) is
present in the inventory the real collector builds from the demo workspace through the SDK."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlguard.model import Inventory
from mlguard.policy.conditions import AllOf, AnyOf, Condition, Join, Leaf, Not, Quantifier, root_field
from mlguard.policy.loader import Policy, builtin_policy_dir, load_policy_set
from mlguard.testing.databricks_fake import FakeWorkspaceServer, demo_state
from mlguard.testing.databricks_fake.harness import collect_inventory

POLICY_IDS = (
    "databricks_token_max_lifetime_set",
    "databricks_token_expiry",
    "databricks_ip_access_lists_enabled",
    "databricks_results_download_disabled",
    "databricks_notebook_export_disabled",
    "databricks_table_clipboard_disabled",
    "databricks_dbfs_browser_disabled",
    "databricks_filestore_endpoint_disabled",
    "databricks_verbose_audit_logs",
    "databricks_imdsv2_enforced",
    "databricks_results_in_customer_account",
    "databricks_workspace_acls_enforced",
    "databricks_uc_metastore_assigned",
    "databricks_uc_metastore_owner_group",
    "databricks_uc_catalog_owner_group",
    "databricks_uc_catalog_no_broad_grants",
    "databricks_uc_schema_no_broad_grants",
    "databricks_uc_external_location_no_broad_grants",
    "databricks_uc_storage_credential_no_broad_grants",
    "databricks_uc_external_location_owner_group",
    "databricks_uc_storage_credential_owner_group",
    "databricks_uc_delta_sharing_token_lifetime",
    "databricks_uc_system_schemas_enabled",
    "databricks_models_in_unity_catalog",
)
ENVELOPE = {"uid", "type", "provider", "id", "name", "account", "region", "workspace", "tags"}
POLICIES = load_policy_set([(builtin_policy_dir(), "builtin")]).policies


def reads(cond: Condition | None, rtype: str) -> Iterator[tuple[str, str]]:
    """(resource type, path) for every path a condition reads outside quantifier elements."""
    if cond is None:
        return
    if isinstance(cond, Leaf):
        yield rtype, cond.path
    elif isinstance(cond, AllOf | AnyOf):
        for item in cond.items:
            yield from reads(item, rtype)
    elif isinstance(cond, Not):
        yield from reads(cond.item, rtype)
    elif isinstance(cond, Quantifier):
        yield rtype, cond.path
    elif isinstance(cond, Join):
        for on in cond.on:
            yield rtype, on.subject
            yield cond.resource, on.related
        yield from reads(cond.where, cond.resource)


def policy_reads(policy: Policy) -> set[tuple[str, str]]:
    return set(reads(policy.where, policy.resource)) | set(reads(policy.assert_, policy.resource))


@pytest.fixture(scope="module")
def demo_inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inventory]:
    types = frozenset(t for p in POLICY_IDS for t, _ in policy_reads(POLICIES[p]))
    server = FakeWorkspaceServer(demo_state()).start()
    saved = {k: os.environ.get(k) for k in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_FILE")}
    for var in ("DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"):
        os.environ.pop(var, None)
    os.environ.update(
        DATABRICKS_HOST=server.host,
        DATABRICKS_TOKEN=server.token,
        DATABRICKS_CONFIG_FILE=str(Path(tmp_path_factory.mktemp("cfg")) / "none"),
    )
    try:
        yield collect_inventory(types)
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_every_path_is_produced_by_the_collector(policy_id: str, demo_inventory: Inventory) -> None:
    assert demo_inventory.errors == []
    for rtype, path in sorted(policy_reads(POLICIES[policy_id])):
        key = root_field(path)
        assert key is not None, f"{policy_id}: cannot tell the data key of {path!r}"
        resources = [r for r in demo_inventory.resources if r.type == rtype]
        assert resources, f"{policy_id}: the demo has no {rtype} to check {path!r} against"
        if key not in ENVELOPE:
            missing = [r.uid for r in resources if key not in r.data]
            assert not missing, f"{policy_id}: {rtype} data has no {key!r} (read by {path!r}): {missing}"
