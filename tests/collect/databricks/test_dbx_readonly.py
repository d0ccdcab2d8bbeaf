"""Read-only: only GET (and the documented read-only search POST) ever reach the workspace."""

from __future__ import annotations

import re

import pytest
from databricks.sdk import WorkspaceClient

from mlguard.collect.databricks import ALL_TYPES
from mlguard.collect.databricks._common import READ_ONLY_POSTS, ReadOnlyViolation, guard_read_only
from mlguard.testing.databricks_fake.harness import RecordingClock, collect_inventory

WORKSPACE_TYPES = frozenset(ALL_TYPES - {"databricks.account_workspace"})


def test_full_scan_sends_only_reads(start_fake) -> None:
    fake = start_fake(page_size=2)
    collect_inventory(WORKSPACE_TYPES, clock=RecordingClock())
    sent = fake.fake.requests
    assert sent
    assert {r.method for r in sent} <= {"GET", "POST"}
    assert {r.path for r in sent if r.method == "POST"} <= READ_ONLY_POSTS


def test_guard_refuses_mutations_before_they_leave(start_fake) -> None:
    fake = start_fake()
    client = WorkspaceClient(host=fake.host, token=fake.token)
    guard_read_only(client.api_client)
    fake.fake.reset_log()
    with pytest.raises(ReadOnlyViolation, match=re.escape("POST /api/2.1/clusters/delete")):
        client.clusters.delete("0101-gpu-train-a1")
    with pytest.raises(ReadOnlyViolation, match=re.escape("DELETE /api/2.0/token-management/tokens/tok-1")):
        client.token_management.delete("tok-1")
    with pytest.raises(ReadOnlyViolation):
        client.api_client.do("PATCH", "/api/2.0/workspace-conf", body={"enableTokensConfig": "false"})
    assert fake.fake.requests == []
    # Reads still work through the guarded client.
    assert len(list(client.clusters.list())) == 6
