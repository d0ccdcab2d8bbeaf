"""Trends per severity, category, provider and framework over recorded runs."""

from __future__ import annotations

import io

from rich.console import Console

from mlguard.history.render import sparkline, trend_view
from mlguard.history.store import Store
from mlguard.history.trend import compliance_percent, trend
from mlguard.model import CollectionError, Status
from tests.history import estates as e
from tests.history.factory import Check, Estate


def _record_three(store: Store) -> list[str]:
    week3 = Estate(
        started="2026-11-15T02:00:00Z",
        resources=e.week2().resources,
        checks=[
            Check(e.S3_ENC, e.BUCKET_RAW, Status.PASS, compliance=e.CIS),
            Check(e.S3_ENC, e.BUCKET_FEATURES, Status.ERROR, compliance=e.CIS),
            Check(e.NB_ROOT, e.NOTEBOOK, Status.WAIVED, compliance=e.NIST),
        ],
        errors=[
            CollectionError(
                provider="aws", operation="s3:GetBucketEncryption", code="AccessDenied", message="no"
            )
        ],
    )
    return [store.record(x.scan(), x.inventory()) for x in (e.week1(), e.week2(), week3)]


def test_failures_by_severity_category_and_provider(store: Store) -> None:
    ids = _record_three(store)
    sev = trend(store, "severity")
    assert [p.run_id for p in sev.points] == ids
    assert sev.unit == "failures"
    assert sev.keys == ["high", "medium", "low"]  # severity order, not alphabetical
    assert [p.values for p in sev.points] == [
        {"high": 1, "medium": 1, "low": 0},
        {"high": 1, "medium": 2, "low": 0},
        {"high": 0, "medium": 0, "low": 0},
    ]
    assert sev.points[2].counts["high"] == {"PASS": 1, "ERROR": 1, "WAIVED": 1}
    assert [p.complete for p in sev.points] == [True, True, False]

    cat = trend(store, "category")
    assert cat.keys == ["security", "cost", "monitoring"]
    assert [p.values["monitoring"] for p in cat.points] == [1, 2, 0]
    prov = trend(store, "provider")
    assert [p.values.get("aws") for p in prov.points] == [2, 3, 0]


def test_framework_compliance_counts_errors_against_it(store: Store) -> None:
    _record_three(store)
    fw = trend(store, "framework")
    assert fw.unit == "percent"
    assert fw.keys == ["cis-aws", "nist-ai-rmf"]
    # Week 3, CIS: one PASS, one ERROR -> 50%, not 100%: what was not seen is not compliant.
    assert [p.values["cis-aws"] for p in fw.points] == [50.0, 100.0, 50.0]
    # NIST week 3: the notebook's FAIL is waived -> counted as passing.
    assert [p.values["nist-ai-rmf"] for p in fw.points] == [50.0, 0.0, 100.0]


def test_last_limits_to_the_newest_runs(store: Store) -> None:
    ids = _record_three(store)
    assert [p.run_id for p in trend(store, "severity", last=2).points] == ids[1:]


def test_compliance_percent() -> None:
    assert compliance_percent({}) == 0.0
    assert compliance_percent({"PASS": 3, "SKIP": 10}) == 100.0
    assert compliance_percent({"PASS": 1, "FAIL": 1, "WAIVED": 1, "ERROR": 1}) == 50.0


def test_sparkline() -> None:
    assert sparkline([]) == ""
    assert sparkline([0, 0, 0]) == "▁▁▁"
    assert sparkline([0, 7]) == "▁█"
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([50.0, 100.0], 0.0, 100.0) == "▅█"


def test_chart_marks_incomplete_runs(store: Store) -> None:
    ids = _record_three(store)
    out = io.StringIO()
    Console(file=out, width=160, no_color=True).print(trend_view(trend(store, "severity")))
    text = out.getvalue()
    assert "Unwaived FAIL results by severity" in text
    for run_id in ids:
        assert run_id in text
    assert f"{ids[2]} (incomplete)" in text
    assert "collection errors" in text
    assert "█" in text


def test_report_history_of_a_run(store: Store) -> None:
    from mlguard.history.report import report_history

    ids = _record_three(store)
    ctx = report_history(store, ids[1])
    assert ctx.run.id == ids[1]
    assert ctx.previous is not None
    assert ctx.previous.id == ids[0]
    assert ctx.diff is not None
    assert [c.resource_uid for c in ctx.diff.fixed] == [e.BUCKET_RAW.uid]
    assert [t.dimension for t in ctx.trends] == ["severity", "category", "provider", "framework"]
    assert [p.run_id for p in ctx.trends[0].points] == ids[:2]  # nothing after the run itself
    first = report_history(store, ids[0])
    assert first.previous is None
    assert first.diff is None
    assert ctx.model_dump(mode="json")["diff"]["base"]["id"] == ids[0]


def test_cost_trend_over_runs_recorded_with_and_without_cost(store: Store) -> None:
    from mlguard.cost.model import CostSummary, CostTotal
    from mlguard.history.render import cost_trend_view
    from mlguard.history.trend import cost_trend

    def costed(scan_: object, gpu: float, usd: float | None, unknown: int) -> object:
        total = CostTotal(
            key="all",
            findings=3,
            gpu_hours_per_month=gpu,
            node_hours_per_month=730.4,
            usd_per_month=usd,
            unknown=unknown,
        )
        return scan_.model_copy(update={"cost": CostSummary(total=total)})  # type: ignore[attr-defined]

    w1, w2 = e.week1(), e.week2()
    ids = [
        store.record(w1.scan(), w1.inventory()),  # recorded before any cost policy ran: no figures
        store.record(costed(w2.scan(), 5840.0, None, 1), w2.inventory()),  # type: ignore[arg-type]
    ]
    later = Estate(started="2026-11-15T02:00:00Z", resources=w2.resources, checks=w2.checks)
    ids.append(store.record(costed(later.scan(), 2920.0, 4161.0, 0), later.inventory()))  # type: ignore[arg-type]
    points = cost_trend(store)
    assert [p.run_id for p in points] == ids
    assert [p.recorded for p in points] == [False, True, True]
    assert [p.gpu_hours_per_month for p in points] == [None, 5840.0, 2920.0]
    assert [p.node_hours_per_month for p in points] == [None, 730.0, 730.0]  # whole hours
    assert [p.usd_per_month for p in points] == [None, None, 4161.0]  # unpriced stays None, not 0
    assert [p.unknown for p in points] == [None, 1, 0]
    out = io.StringIO()
    Console(file=out, width=140).print(cost_trend_view(points))
    text = out.getvalue()
    assert "not recorded" in text
    assert "no price" in text
    assert "5,840" in text
