"""SDK configuration from the scope: short explicit timeouts, and an explicit host + token (demo)."""

from __future__ import annotations

from tests.support.databricks_harness import RecordingClock

from mlguard.collect.base import InventorySink, NullProgress
from mlguard.collect.databricks import DatabricksCollector
from mlguard.collect.databricks.provider import _sdk_config
from mlguard.config import DatabricksScope, ScopeConfig
from mlguard.demo.databricks_fake import demo_state, start_fake_workspace


def test_timeouts_come_from_the_scope(start_fake) -> None:
    server = start_fake(env=False)
    scope = DatabricksScope(http_timeout_seconds=7, retry_timeout_seconds=9)
    cfg = _sdk_config(scope, None, host=server.host, token=server.token)
    assert (cfg.http_timeout_seconds, cfg.retry_timeout_seconds) == (7, 9)


def test_demo_wiring_with_explicit_host_and_token(start_fake) -> None:
    start_fake(env=False)  # only for its clean DATABRICKS_* environment
    host, token, stop = start_fake_workspace("demo")
    try:
        sink = InventorySink()
        scope = ScopeConfig(databricks=DatabricksScope(host=host))
        collector = DatabricksCollector(
            scope, token=token, clock=RecordingClock(), workspace_name="demo.cloud.databricks.com"
        )
        collector.collect(frozenset({"databricks.serving_endpoint"}), sink, NullProgress())
    finally:
        stop()
    inventory = sink.to_inventory(started_at="2026-01-01T00:00:00Z")
    assert len(inventory.resources) == len(demo_state().serving_endpoints)
    assert {r.workspace for r in inventory.resources} == {"demo.cloud.databricks.com"}
    assert inventory.resources[0].uid.startswith("databricks://demo.cloud.databricks.com/serving_endpoint/")
    assert inventory.errors == []
