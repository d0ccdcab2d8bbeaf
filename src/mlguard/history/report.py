"""What a report shows about history: the diff against the previous run and the trends.

The HTML (or Markdown) reporter calls :func:`report_history` when a store is available and embeds
``ReportHistory.model_dump(mode="json")``.
"""

from __future__ import annotations

from typing import get_args

from pydantic import BaseModel, ConfigDict

from mlguard.history.diff import diff_runs
from mlguard.history.models import Dimension, RunDiff, RunInfo, Trend
from mlguard.history.store import Store
from mlguard.history.trend import trend


class ReportHistory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: RunInfo
    previous: RunInfo | None
    diff: RunDiff | None
    trends: list[Trend]


def report_history(store: Store, run_id: str, last: int = 20) -> ReportHistory:
    """History context of ``run_id``: its diff against the run before it, and trends up to it."""
    run = store.resolve(run_id)
    previous = store.previous(run.id)
    return ReportHistory(
        run=run,
        previous=previous,
        diff=diff_runs(store, previous.id, run.id) if previous else None,
        trends=[trend(store, d, last, until=run.id) for d in get_args(Dimension)],
    )
