"""``mlguard scan --demo``: the real collectors against a local, seeded estate on both platforms.

AWS runs against the seeded moto server (:func:`mlguard.demo.demo_environment`), Databricks
against the fake workspace server seeded with the ``demo`` workspace. Both listen on 127.0.0.1
only; nothing leaves the machine.
"""

from __future__ import annotations

import time

from mlguard.collect.base import Progress, providers
from mlguard.collect.databricks.provider import DatabricksCollector
from mlguard.config import ScopeConfig
from mlguard.demo import demo_environment
from mlguard.pipeline import Collected, LoadedConfig, collect
from mlguard.testing.databricks_fake import demo_state, start_fake_workspace
from mlguard.testing.databricks_fake.seeds import rebase_times

DEMO_WORKSPACE = "demo.cloud.databricks.com"


def collect_demo(
    loaded: LoadedConfig,
    types: set[str],
    progress: Progress,
    command: str | None = None,
    timeout: float | None = None,
) -> tuple[Collected, str]:
    """Collect the demo estate (within ``timeout`` seconds, like any scan); returns what was
    collected and a one-line description."""
    with demo_environment() as demo:
        now_ms = int(time.time() * 1000)
        host, token, stop = start_fake_workspace(state=rebase_times(demo_state(), now_ms))
        try:
            scope = loaded.config.scope
            scope.aws = demo.aws_scope
            scope.databricks.host = host
            scope.databricks.profile = None
            scope.databricks.account_profile = None

            def databricks(s: ScopeConfig) -> DatabricksCollector:
                return DatabricksCollector(s, token=token, workspace_name=DEMO_WORKSPACE)

            available = [p for p in ("aws", "databricks") if p in providers()]
            collected = collect(
                loaded, available, types, progress, command, timeout, factories={"databricks": databricks}
            )
        finally:
            stop()
        about = (
            f"{demo.describe()} Demo Databricks workspace {DEMO_WORKSPACE} served by a local fake at {host}."
        )
    return collected, about
