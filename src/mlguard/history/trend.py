"""Findings over time: per severity, category, provider or framework, over the recorded runs."""

from __future__ import annotations

from mlguard.history.models import CostPoint, Dimension, Trend, TrendPoint
from mlguard.history.store import Store
from mlguard.model import Category, Severity, Status, iso

_ORDER: dict[str, list[str]] = {
    "severity": [s.value for s in Severity],
    "category": [c.value for c in Category],
}


def compliance_percent(statuses: dict[str, int]) -> float:
    """(PASS + WAIVED) / (PASS + FAIL + WAIVED + ERROR), in percent; 0 when nothing was judged."""
    good = statuses.get(Status.PASS.value, 0) + statuses.get(Status.WAIVED.value, 0)
    judged = good + statuses.get(Status.FAIL.value, 0) + statuses.get(Status.ERROR.value, 0)
    return round(100.0 * good / judged, 1) if judged else 0.0


def trend(store: Store, dimension: Dimension, last: int | None = 20, until: str | None = None) -> Trend:
    """The newest ``last`` runs (all with ``None``), up to run ``until`` if given, oldest first."""
    runs = store.runs(limit=last, until=until)
    stats = store.stats([r.id for r in runs], dimension)
    seen = {key for per_run in stats.values() for key in per_run}
    order = _ORDER.get(dimension)
    keys = [k for k in order if k in seen] + sorted(seen - set(order)) if order else sorted(seen)
    points = []
    for run in runs:
        counts = {k: stats[run.id].get(k, {}) for k in keys}
        if dimension == "framework":
            values = {k: compliance_percent(c) for k, c in counts.items() if c}
        else:
            values = {k: float(c.get(Status.FAIL.value, 0)) for k, c in counts.items()}
        points.append(
            TrendPoint(
                run_id=run.id,
                started_at=iso(run.started_at),
                complete=run.complete,
                values=values,
                counts={k: c for k, c in counts.items() if c},
            )
        )
    return Trend(
        dimension=dimension,
        unit="percent" if dimension == "framework" else "failures",
        keys=keys,
        points=points,
    )


def cost_trend(store: Store, last: int | None = 20, until: str | None = None) -> list[CostPoint]:
    """The cost totals of the newest ``last`` runs, oldest first (from the stats recorded with each run)."""
    runs = store.runs(limit=last, until=until)
    stats = store.stats([r.id for r in runs], "cost")
    points = []
    for run in runs:
        got = {k: float(v.get(Status.FAIL.value, 0)) for k, v in stats[run.id].items()}
        points.append(
            CostPoint(
                run_id=run.id,
                started_at=iso(run.started_at),
                complete=run.complete,
                recorded=bool(got),
                findings=int(got["findings"]) if "findings" in got else None,
                gpu_hours_per_month=got.get("gpu_hours_per_month"),
                node_hours_per_month=got.get("node_hours_per_month"),
                usd_per_month=got.get("usd_per_month"),
                unknown=int(got["unknown"]) if "unknown" in got else None,
            )
        )
    return points
