"""Results history: record scans, compare runs, follow trends, keep unattended runs apart.

- :class:`Store` / :func:`open_store` / :func:`open_for_run`: the SQLite or PostgreSQL store.
- :func:`diff_runs`, :func:`report_history`, ``mlguard.history.trend.trend``: what changed, over
  time (``trend`` is also the submodule's name, so it is not re-exported here).
- :class:`Deadline`: the ``--timeout`` budget of a run.
- ``mlguard.history.cli.history``: the ``mlguard history`` click group.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlguard.history.defaults import ENV_STORE
    from mlguard.history.diff import diff_runs
    from mlguard.history.errors import DeadlineExceeded, StoreError, StoreLockTimeout
    from mlguard.history.lock import Deadline
    from mlguard.history.models import InventoryItem, InventorySummary, RunDiff, RunInfo, Trend
    from mlguard.history.report import ReportHistory, report_history
    from mlguard.history.store import Store, open_for_run, open_store, store_url

# where each name lives: imported on first use, so that importing mlguard.history.cli (the CLI's
# --store options) does not load SQLAlchemy and alembic
_HOMES = {
    "diff_runs": "diff",
    "DeadlineExceeded": "errors",
    "StoreError": "errors",
    "StoreLockTimeout": "errors",
    "Deadline": "lock",
    "InventoryItem": "models",
    "InventorySummary": "models",
    "RunDiff": "models",
    "RunInfo": "models",
    "Trend": "models",
    "ReportHistory": "report",
    "report_history": "report",
    "ENV_STORE": "defaults",
    "Store": "store",
    "open_for_run": "store",
    "open_store": "store",
    "store_url": "store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "ENV_STORE",
    "Deadline",
    "DeadlineExceeded",
    "InventoryItem",
    "InventorySummary",
    "ReportHistory",
    "RunDiff",
    "RunInfo",
    "Store",
    "StoreError",
    "StoreLockTimeout",
    "Trend",
    "diff_runs",
    "open_for_run",
    "open_store",
    "report_history",
    "store_url",
]
