"""Meta-tests over every Databricks type: in the catalogue, described in permissions, registered."""

from __future__ import annotations

import pytest

from mlguard.catalogue import CATALOGUE
from mlguard.collect.base import providers
from mlguard.collect.databricks import ALL_TYPES, PERMISSIONS, DatabricksCollector, permissions
from mlguard.config import DatabricksScope, ScopeConfig


def test_every_type_is_in_the_catalogue_and_described() -> None:
    assert set(CATALOGUE) >= ALL_TYPES
    assert {p.resource_type for p in PERMISSIONS} == ALL_TYPES
    for row in permissions():
        assert row["sdk_calls"]
        assert row["routes"]
        assert row["requires"]
        assert row["without_admin"]
        assert all(r.split(" ", 1)[0] in {"GET", "POST"} for r in row["routes"])
    assert [r["resource_type"] for r in permissions(frozenset({"databricks.token"}))] == ["databricks.token"]


def test_provider_is_registered() -> None:
    entry = providers()["databricks"]
    assert entry.types() == ALL_TYPES


def test_detect(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DATABRICKS_HOST", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    assert not DatabricksCollector.detect(ScopeConfig())
    assert DatabricksCollector.detect(ScopeConfig(databricks=DatabricksScope(profile="dev")))
    monkeypatch.setenv("DATABRICKS_HOST", "https://dbc-1.cloud.databricks.com")
    assert DatabricksCollector.detect(ScopeConfig())


def test_permissions_table_names_every_route_the_scan_sends(start_fake) -> None:
    """The documented calls do not drift from what the collector really sends."""
    import re

    from tests.support.databricks_harness import RecordingClock, collect_inventory

    fake = start_fake(page_size=2)
    collect_inventory(frozenset(ALL_TYPES - {"databricks.account_workspace"}), clock=RecordingClock())
    documented = [
        re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^?]+", re.escape(route)) + "$")
        for p in PERMISSIONS
        for route in p.routes
    ] + [re.compile("^GET /api/2.0/preview/scim/v2/Me$")]
    sent = {f"{r.method} {r.path}" for r in fake.fake.requests if not r.path.startswith("/.well-known")}
    assert len(sent) > 40
    undocumented = sorted(s for s in sent if not any(d.match(s) for d in documented))
    assert undocumented == []
