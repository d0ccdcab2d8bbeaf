"""What the HTML and Markdown reports show of a run's history (``ReportOptions.history``).

The history layer computes the data (:func:`mlguard.history.report.report_history`: the diff
against the previous run and the trends up to this run); this module shapes it for the reports:
bounded lists of changed findings (each marked when it can be shown in the findings table of this
report) and the geometry of small inline SVG line charts (no script, no external asset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlguard.model import ScanResult, Severity

if TYPE_CHECKING:
    from mlguard.history.models import FindingChange, InventoryItem, RunDiff, Trend
    from mlguard.history.report import ReportHistory

MAX_LISTED = 50  # changed findings or resources listed per group; the counts are always complete
SEVERITY_COLOURS = {
    Severity.CRITICAL.value: "#6d0a1f",
    Severity.HIGH.value: "#b3261e",
    Severity.MEDIUM.value: "#8a5300",
    Severity.LOW.value: "#0b57d0",
    Severity.INFO.value: "#5f6368",
}
# Categorical colours with at least 4.5:1 contrast on white; series also differ by dash pattern.
PALETTE = ["#0b57d0", "#1e6b34", "#b3261e", "#5b4a9e", "#8a5300", "#00687a", "#9c2a7c", "#3c3c43"]
DASHES = ["", "6 3", "2 3", "8 3 2 3"]
CHART_W, CHART_H = 640, 220
PAD_L, PAD_R, PAD_T, PAD_B = 44, 16, 12, 34


def coerce_history(value: ReportHistory | dict[str, Any] | None) -> ReportHistory | None:
    """``ReportOptions.history`` as the model (a dict is validated), or ``None``."""
    if value is None:
        return None
    from mlguard.history.report import ReportHistory

    if isinstance(value, ReportHistory):
        return value
    return ReportHistory.model_validate(value)


@dataclass(frozen=True)
class Listed:
    """One changed finding as the report lists it."""

    change: FindingChange
    in_report: bool  # the finding is a row of this report's findings table


@dataclass(frozen=True)
class ChangeGroup:
    key: str  # new, regressed, fixed, ...
    label: str
    help: str
    total: int
    items: list[Listed]


@dataclass(frozen=True)
class ResourceGroup:
    key: str
    label: str
    help: str
    total: int
    items: list[InventoryItem]


# (RunDiff field, label, explanation) in the order the report shows them.
FINDING_GROUPS = [
    ("new", "New", "failing now; not failing or not evaluated in the previous run"),
    ("regressed", "Regressed", "failing now; passing or waived in the previous run"),
    ("fixed", "Fixed", "failing before; passing now, or the resource is confirmed gone"),
    ("waived", "Waived", "failing before; covered by a waiver now"),
    ("unknown", "Unknown", "failing before; could not be evaluated now (never counted as fixed)"),
    ("still_failing", "Still failing", "failing in both runs"),
]
RESOURCE_GROUPS = [
    ("appeared", "Appeared", "resources collected now, not in the previous run"),
    ("disappeared", "Disappeared", "resources of the previous run confirmed gone"),
    ("unseen", "Unseen", "resources of the previous run this scan could not see"),
]


def finding_groups(diff: RunDiff, scan: ScanResult, limit: int = MAX_LISTED) -> list[ChangeGroup]:
    present = {r.fingerprint for r in scan.results}
    out = []
    for key, label, why in FINDING_GROUPS:
        changes: list[FindingChange] = getattr(diff, key)
        items = [Listed(c, c.fingerprint in present) for c in changes[:limit]]
        out.append(ChangeGroup(key, label, why, len(changes), items))
    return out


def resource_groups(diff: RunDiff, limit: int = MAX_LISTED) -> list[ResourceGroup]:
    out = []
    for key, label, why in RESOURCE_GROUPS:
        items: list[InventoryItem] = getattr(diff, key)
        out.append(ResourceGroup(key, label, why, len(items), items[:limit]))
    return out


@dataclass(frozen=True)
class Series:
    key: str
    colour: str
    dash: str
    points: str  # SVG polyline points
    dots: list[tuple[float, float, str]]  # x, y, tooltip
    last: str  # the newest value, formatted


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    unit: str
    width: int
    height: int
    y_ticks: list[tuple[float, str]]  # y, label
    x_labels: list[tuple[float, str, str]]  # x, label, text-anchor
    series: list[Series]
    runs: list[str]  # run ids, oldest first
    table: list[tuple[str, list[str]]]  # key -> formatted value per run (the accessible fallback)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:g}%" if unit == "percent" else f"{value:g}"


def _nice_max(peak: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if peak <= step * 4:
            return float(step * 4)
    return float(int(peak) + 1)


def line_chart(trend: Trend, chart_id: str, title: str, colours: dict[str, str] | None = None) -> Chart:
    """Geometry of a small line chart of one trend: one series per key, one point per run."""
    unit = trend.unit
    runs = [p.run_id for p in trend.points]
    top = (
        100.0
        if unit == "percent"
        else _nice_max(max((v for p in trend.points for v in p.values.values()), default=0))
    )
    inner_w = CHART_W - PAD_L - PAD_R
    inner_h = CHART_H - PAD_T - PAD_B
    n = len(trend.points)

    def x(i: int) -> float:
        return round(PAD_L + (inner_w / 2 if n == 1 else inner_w * i / (n - 1)), 1)

    def y(v: float) -> float:
        return round(PAD_T + inner_h * (1 - v / top), 1)

    series = []
    table = []
    for k, key in enumerate(trend.keys):
        colour = (colours or {}).get(key) or PALETTE[k % len(PALETTE)]
        dash = DASHES[k % len(DASHES)]  # colour is never the only cue
        dots = []
        coords = []
        for i, p in enumerate(trend.points):
            v = p.values.get(key)
            if v is None:  # not judged in that run: a gap, never a zero
                continue
            coords.append(f"{x(i)},{y(v)}")
            dots.append((x(i), y(v), f"{key}, run {p.run_id} ({p.started_at}): {_fmt(v, unit)}"))
        if not dots:
            continue
        values = [trend.points[i].values.get(key) for i in range(n)]
        series.append(Series(key, colour, dash, " ".join(coords), dots, _fmt(values[-1], unit)))
        table.append((key, [_fmt(v, unit) for v in values]))
    ticks = [(y(top * f), _fmt(round(top * f, 1), unit)) for f in (0, 0.25, 0.5, 0.75, 1)]
    every = max(1, -(-n // 6))  # at most ~6 date labels
    x_labels = [
        (
            x(i),
            p.started_at[:10],
            "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle",
        )
        for i, p in enumerate(trend.points)
        if i == n - 1 or (i % every == 0 and n - 1 - i >= every)  # the newest run always has its date
    ]
    return Chart(chart_id, title, unit, CHART_W, CHART_H, ticks, x_labels, series, runs, table)


def charts(history: ReportHistory) -> list[Chart]:
    """Unwaived FAILs by severity and framework compliance %, over the runs up to this one."""
    by_dim = {t.dimension: t for t in history.trends}
    out = []
    if "severity" in by_dim and by_dim["severity"].points:
        out.append(
            line_chart(
                by_dim["severity"], "trend-severity", "Unwaived failures by severity", SEVERITY_COLOURS
            )
        )
    if "framework" in by_dim and by_dim["framework"].points and by_dim["framework"].keys:
        out.append(line_chart(by_dim["framework"], "trend-framework", "Framework compliance (%)"))
    return out


def history_context(value: ReportHistory | dict[str, Any] | None, scan: ScanResult) -> dict[str, Any] | None:
    """The template context of the history sections, or ``None`` without history."""
    h = coerce_history(value)
    if h is None:
        return None
    return {
        "run": h.run,
        "previous": h.previous,
        "diff": h.diff,
        "findings": finding_groups(h.diff, scan) if h.diff else [],
        "resources": resource_groups(h.diff) if h.diff else [],
        "charts": charts(h),
        "runs": len(h.trends[0].points) if h.trends else 1,
    }
