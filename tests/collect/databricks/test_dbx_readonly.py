"""Read-only: only GET (and the documented read-only search POST) ever reach the workspace."""

from __future__ import annotations

import re

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from tests.support.databricks_harness import RecordingClock, collect_inventory

from mlguard.collect.databricks import ALL_TYPES
from mlguard.collect.databricks._common import declared_routes, guard_read_only
from mlguard.collect.databricks.permissions import ME_ROUTE, permissions
from mlguard.collect.errors import ReadOnlyViolation

READ_ONLY_POSTS = {"/api/2.0/mlflow/experiments/search"}
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


def test_full_scan_sends_only_declared_routes(start_fake) -> None:
    fake = start_fake(page_size=2)
    collect_inventory(WORKSPACE_TYPES, clock=RecordingClock())
    table = declared_routes()
    sent = [r for r in fake.fake.requests if r.path != "/.well-known/databricks-config"]
    assert sent
    assert [r for r in sent if table.refusal(r.method, f"http://h{r.path}", None)] == []


def _guarded(fake) -> WorkspaceClient:
    client = WorkspaceClient(host=fake.host, token=fake.token)
    guard_read_only(client.api_client)
    fake.fake.reset_log()
    return client


@pytest.mark.parametrize(
    "call",
    [
        # Undeclared reads: secrets, notebooks and files are never mlguard's business.
        lambda c, h: c.api_client.do("GET", "/api/2.0/secrets/get", query={"scope": "s", "key": "k"}),
        lambda c, h: c.secrets.get_secret("prod", "db-password"),
        lambda c, h: c.workspace.export("/Users/alice/notebook"),
        lambda c, h: c.dbfs.read("/tmp/data.csv"),
        # A mutation sent through ``url=``, with an innocent ``path`` beside it.
        lambda c, h: c.api_client.do(
            "POST", "/api/2.0/mlflow/experiments/search", url=f"{h}/api/2.1/clusters/delete"
        ),
        lambda c, h: c.api_client.do("POST", url=f"{h}/api/2.1/clusters/permanent-delete", body={}),
        lambda c, h: c.api_client.do("POST", "/api/2.1/clusters/list"),
        # Traversal and encoded paths that a proxy or server may decode into another route.
        lambda c, h: c.api_client.do("GET", "/api/2.0/serving-endpoints/..%2f..%2fsecrets%2fget"),
        lambda c, h: c.api_client.do("GET", "/api/2.0/serving-endpoints/%2e%2e"),
        lambda c, h: c.api_client.do("GET", "/api/2.1/clusters/list/../../2.0/secrets/get"),
        lambda c, h: c.api_client.do("GET", "/api/2.0/serving-endpoints/x;/../../secrets/get"),
        lambda c, h: c.api_client.do("GET", "/api/2.0//serving-endpoints"),
        # Query-string and header tricks.
        lambda c, h: c.api_client.do("GET", "/api/2.0/secrets/get?next=/api/2.1/clusters/list"),
        lambda c, h: c.api_client.do(
            "GET", "/api/2.1/clusters/list", headers={"X-HTTP-Method-Override": "DELETE"}
        ),
        lambda c, h: c.api_client.do("GET", "/api/2.1/clusters/list", headers={"X-Method-Override": "POST"}),
    ],
)
def test_probes_never_reach_the_workspace(start_fake, call) -> None:
    fake = start_fake()
    client = _guarded(fake)
    with pytest.raises(ReadOnlyViolation, match="mlguard is read-only: refusing"):
        call(client, fake.host)
    assert fake.fake.requests == []


def test_url_to_another_host_is_refused(start_fake) -> None:
    fake = start_fake()
    other = start_fake(env=False)
    client = _guarded(fake)
    other.fake.reset_log()
    with pytest.raises(ReadOnlyViolation, match="is not the workspace's"):
        client.api_client.do("GET", url=f"{other.host}/api/2.1/clusters/list")
    assert other.fake.requests == []
    assert fake.fake.requests == []


def test_declared_reads_with_encoded_names_still_pass(start_fake) -> None:
    fake = start_fake()
    client = _guarded(fake)
    with pytest.raises(NotFound):
        client.api_client.do("GET", "/api/2.0/serving-endpoints/name%20with%20space")
    assert [r.path for r in fake.fake.requests] == ["/api/2.0/serving-endpoints/name%20with%20space"]


def test_permissions_command_lists_exactly_the_allowlist() -> None:
    """What ``mlguard permissions databricks`` prints is the table the guard enforces."""
    printed = {r for row in permissions() for r in row["routes"]} | {ME_ROUTE}
    assert set(declared_routes().routes) == printed
