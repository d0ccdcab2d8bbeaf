"""workspace-conf keys the workspace security policies read, through the real SDK and the fake."""

from __future__ import annotations

from tests.support.databricks_harness import collect_inventory

from mlguard.demo.databricks_fake import demo_state

WS = frozenset({"databricks.workspace"})


def test_workspace_view_acls_key_is_read_as_a_boolean(start_fake) -> None:
    state = demo_state()
    state.workspace_conf["enforceWorkspaceViewAcls"] = "false"
    start_fake(state)

    (ws,) = collect_inventory(WS).resources

    assert ws.data["enforceWorkspaceViewAcls"] is False
    assert ws.data["enableWorkspaceAclsConfig"] is True


def test_a_key_the_workspace_rejects_costs_only_that_attribute(start_fake) -> None:
    state = demo_state()
    del state.workspace_conf["enforceWorkspaceViewAcls"]  # "Invalid keys" on this tier
    start_fake(state)

    inventory = collect_inventory(WS)

    (ws,) = inventory.resources
    (error,) = inventory.errors
    assert error.resource_uid == ws.uid
    assert error.attributes == ["enforceWorkspaceViewAcls", "plaintext_secret_paths"]
    assert "enforceWorkspaceViewAcls" not in ws.data
    assert ws.data["storeInteractiveNotebookResultsInCustomerAccount"] is False
    assert ws.data["enableEnforceImdsV2"] is True
