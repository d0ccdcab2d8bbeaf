"""A local fake Databricks workspace for tests and ``mlguard scan --demo``.

>>> host, token, stop = start_fake_workspace("demo")   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mlguard.demo.databricks_fake.seeds import CANARIES, bulk_state, demo_state, seed
from mlguard.demo.databricks_fake.server import (
    Behaviour,
    FakeDatabricks,
    FakeWorkspaceServer,
    LoggedRequest,
)
from mlguard.demo.databricks_fake.state import WorkspaceState
from mlguard.errors import InputError

__all__ = [
    "CANARIES",
    "Behaviour",
    "FakeDatabricks",
    "FakeWorkspaceServer",
    "LoggedRequest",
    "WorkspaceState",
    "bulk_state",
    "demo_state",
    "load_state",
    "start_fake_workspace",
]


def load_state(seed_or_path: str) -> WorkspaceState:
    """A named seed (``demo``, ``empty``, ``bulk:N``) or a JSON file holding a WorkspaceState."""
    path = Path(seed_or_path)
    if path.suffix == ".json":
        try:
            return WorkspaceState.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot load fake workspace state: {exc}", file=str(path)) from None
    try:
        return seed(seed_or_path)
    except (KeyError, ValueError):
        raise InputError(
            f"unknown fake workspace seed {seed_or_path!r} (demo, empty, bulk:N or a .json)"
        ) from None


def start_fake_workspace(
    seed: str = "demo",
    *,
    behaviour: Behaviour | None = None,
    token: str = "dapi-fake-token",
    state: WorkspaceState | None = None,
) -> tuple[str, str, Callable[[], None]]:
    """Start the fake on a free local port: returns (host URL, token, stop function).
    ``state`` replaces the named seed."""
    workspace = state if state is not None else load_state(seed)
    server = FakeWorkspaceServer(workspace, token=token, behaviour=behaviour).start()
    return server.host, server.token, server.stop
