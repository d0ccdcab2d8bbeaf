"""Fixtures: a fake Databricks workspace on a local port, with DATABRICKS_* pointing at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlguard.demo.databricks_fake import Behaviour, FakeWorkspaceServer, WorkspaceState, demo_state

StartFake = Callable[..., FakeWorkspaceServer]


@pytest.fixture
def start_fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StartFake]:
    """Start a fake (demo seed unless a state is given); with env=True point DATABRICKS_* at it."""
    servers: list[FakeWorkspaceServer] = []
    for var in (
        "DATABRICKS_CONFIG_PROFILE",
        "DATABRICKS_CLIENT_ID",
        "DATABRICKS_CLIENT_SECRET",
        "DATABRICKS_ACCOUNT_ID",
        "DATABRICKS_AUTH_TYPE",
        "DATABRICKS_HOST",
        "DATABRICKS_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))

    def start(
        state: WorkspaceState | None = None, *, env: bool = True, **behaviour: Any
    ) -> FakeWorkspaceServer:
        server = FakeWorkspaceServer(state or demo_state(), behaviour=Behaviour(**behaviour)).start()
        servers.append(server)
        if env:
            monkeypatch.setenv("DATABRICKS_HOST", server.host)
            monkeypatch.setenv("DATABRICKS_TOKEN", server.token)
        return server

    yield start
    for server in servers:
        server.stop()
