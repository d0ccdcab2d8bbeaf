"""Results history: record scans, compare runs, follow trends, keep unattended runs apart.

- :class:`Store` / :func:`open_store` / :func:`open_for_run`: the SQLite or PostgreSQL store.
- :func:`diff_runs`, :func:`trend`, :func:`report_history`: what changed, over time.
- :class:`Deadline`: the ``--timeout`` budget of a run.
- ``mlguard.history.cli.history``: the ``mlguard history`` click group.
"""

from mlguard.history.diff import diff_runs
from mlguard.history.errors import DeadlineExceeded, StoreError, StoreLockTimeout
from mlguard.history.lock import Deadline
from mlguard.history.models import InventoryItem, InventorySummary, RunDiff, RunInfo, Trend
from mlguard.history.report import ReportHistory, report_history
from mlguard.history.store import ENV_STORE, Store, open_for_run, open_store, store_url
from mlguard.history.trend import trend

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
    "trend",
]
