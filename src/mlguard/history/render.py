"""Terminal rendering (rich) of run lists, diffs and trends.

Every value that came from a platform or a file (uids, scopes, policy ids, framework keys, notes)
passes the terminal sanitiser and enters rich as ``Text`` (never parsed as markup): a resource name
cannot colour, link (OSC 8), move the cursor or reorder the line it is printed on.
"""

from __future__ import annotations

import os

from rich import box
from rich.console import Console, Group, OverflowMethod, RenderableType
from rich.table import Table
from rich.text import Text

from mlguard.history.models import CostPoint, FindingChange, InventoryItem, RunDiff, RunInfo, Trend
from mlguard.report.sanitize import terminal_safe

SPARKS = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 36
CI_WIDTH = 160
_STYLES = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "bright_black",
}
_PALETTE = ("magenta", "blue", "green", "yellow", "cyan", "red", "bright_magenta", "bright_blue")


def _safe(value: object, style: str = "", overflow: OverflowMethod | None = None) -> Text:
    """A data value as rich Text: terminal controls and bidi overrides stripped, no markup."""
    return Text(terminal_safe(value), style=style, overflow=overflow)


def _style(key: str, index: int) -> str:
    return _STYLES.get(key, _PALETTE[index % len(_PALETTE)])


def sparkline(values: list[float], lo: float | None = None, hi: float | None = None) -> str:
    """One block character per value, scaled between ``lo`` and ``hi`` (default: min and max)."""
    if not values:
        return ""
    low = min(values) if lo is None else lo
    high = max(values) if hi is None else hi
    span = high - low
    if span <= 0:
        return SPARKS[0] * len(values) if high == 0 else SPARKS[len(SPARKS) // 2] * len(values)
    return "".join(SPARKS[round((min(max(v, low), high) - low) / span * (len(SPARKS) - 1))] for v in values)


def _fmt(value: float, percent: bool) -> str:
    return f"{value:.1f}%" if percent else f"{value:.0f}"


def runs_table(runs: list[RunInfo]) -> Table:
    table = Table(
        title="Recorded runs (id = start time UTC + digest)",
        box=box.SIMPLE_HEAVY,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("run", no_wrap=True)
    table.add_column("scope", overflow="fold", min_width=14)
    for name in ("resources", "results", "FAIL", "ERROR", "WAIVED"):
        table.add_column(name, justify="right", min_width=3)
    table.add_column("complete", justify="center")
    for r in runs:
        table.add_row(
            _safe(r.id),
            _safe("\n".join(r.scope) or "-", overflow="fold"),
            str(r.resources),
            str(r.counts.total),
            Text(str(r.counts.failed), style="red" if r.counts.failed else ""),
            Text(str(r.counts.errors), style="yellow" if r.counts.errors else ""),
            str(r.counts.waived),
            Text("yes", style="green")
            if r.complete
            else Text(f"no ({r.collection_errors} errors)", style="yellow"),
        )
    return table


def trend_view(tr: Trend) -> RenderableType:
    percent = tr.unit == "percent"
    if not tr.points:
        return Text("No runs recorded yet.")
    title = (
        f"Compliance by {tr.dimension} (% of judged results that pass or are waived)"
        if percent
        else f"Unwaived FAIL results by {tr.dimension}"
    )
    table = Table(title=title, box=box.SIMPLE_HEAVY, show_footer=True)
    table.add_column("run", footer="trend", no_wrap=True)
    table.add_column("started (UTC)")
    for i, key in enumerate(tr.keys):
        series = [p.values[key] for p in tr.points if key in p.values]
        spark = sparkline(series, 0.0, 100.0) if percent else sparkline(series, 0.0)
        table.add_column(
            _safe(key), justify="right", header_style=_style(key, i), footer=Text(spark, style=_style(key, i))
        )
    if not percent:
        table.add_column("total", justify="right")
        table.add_column("chart", no_wrap=True, min_width=BAR_WIDTH)
    peak = max((sum(p.values.values()) for p in tr.points), default=0.0)
    for p in tr.points:
        run = _safe(p.run_id)
        if not p.complete:
            run.append(" (incomplete)", style="yellow")
        cells: list[RenderableType] = [run, _safe(p.started_at[:16].replace("T", " "))]
        for key in tr.keys:
            cells.append(_fmt(p.values[key], percent) if key in p.values else "-")
        if not percent:
            total = sum(p.values.values())
            bar = Text()
            for i, key in enumerate(tr.keys):
                width = round(p.values.get(key, 0.0) / peak * BAR_WIDTH) if peak else 0
                bar.append("█" * width, style=_style(key, i))
            cells += [_fmt(total, False), bar]
        table.add_row(*cells)
    note = Text(
        "Runs marked incomplete had collection errors: fewer failures there may mean less was seen.",
        style="dim",
    )
    return Group(table, note) if any(not p.complete for p in tr.points) else table


def _changes_table(title: str, rows: list[FindingChange], style: str) -> Table:
    table = Table(title=f"{title} ({len(rows)})", title_style=style, box=box.SIMPLE, title_justify="left")
    table.add_column("severity", no_wrap=True)
    table.add_column("policy", no_wrap=True)
    table.add_column("resource", overflow="fold")
    table.add_column("before → after", no_wrap=True)
    table.add_column("note")
    for c in rows:
        table.add_row(
            _safe(c.severity, style=_STYLES.get(c.severity, "")),
            _safe(c.policy_id),
            _safe(c.resource_uid, overflow="fold"),
            _safe(f"{c.before or '-'} → {c.after or '-'}"),
            _safe(c.reason or ""),
        )
    return table


def _items_table(title: str, rows: list[InventoryItem], style: str) -> Table:
    table = Table(title=f"{title} ({len(rows)})", title_style=style, box=box.SIMPLE, title_justify="left")
    table.add_column("type")
    table.add_column("resource")
    table.add_column("where")
    for i in rows:
        table.add_row(
            _safe(i.type),
            _safe(i.uid, overflow="fold"),
            _safe("/".join(x for x in (i.account, i.region, i.workspace) if x) or "-"),
        )
    return table


def diff_view(d: RunDiff, *, show_still_failing: bool = False) -> RenderableType:
    head = Text.assemble(
        ("Changes from ", ""),
        (terminal_safe(d.base.id), "bold"),
        (" to ", ""),
        (terminal_safe(d.head.id), "bold"),
        "\n",
        f"new {len(d.new)} · regressed {len(d.regressed)} · fixed {len(d.fixed)} · "
        f"still failing {len(d.still_failing)} · waived {len(d.waived)} · unknown {len(d.unknown)} · "
        f"resources +{len(d.appeared)} -{len(d.disappeared)} (unseen {len(d.unseen)})",
    )
    parts: list[RenderableType] = [head]
    if not d.head.complete:
        parts.append(
            Text("The newer run had collection errors: some findings could not be judged.", style="yellow")
        )
    for title, rows, style in (
        ("New failures", d.new, "bold red"),
        ("Regressed", d.regressed, "bold red"),
        ("Fixed", d.fixed, "bold green"),
        ("Now waived", d.waived, "bold blue"),
        ("Unknown now (not counted as fixed)", d.unknown, "bold yellow"),
    ):
        if rows:
            parts.append(_changes_table(title, rows, style))
    if show_still_failing and d.still_failing:
        parts.append(_changes_table("Still failing", d.still_failing, "red"))
    for title, items, style in (
        ("Resources appeared", d.appeared, "bold cyan"),
        ("Resources disappeared", d.disappeared, "bold magenta"),
        ("Resources not seen by the newer run (out of scope or collection error)", d.unseen, "bold yellow"),
    ):
        if items:
            parts.append(_items_table(title, items, style))
    if not d.changed:
        parts.append(Text("No changes.", style="green"))
    return Group(*parts)


def make_console(no_color: bool = False) -> Console:
    """A console for stdout; not a terminal (CI logs, pipes) and no COLUMNS: 160 columns wide."""
    console = Console(no_color=no_color, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = CI_WIDTH
    return console


def cost_trend_view(points: list[CostPoint]) -> RenderableType:
    """Cost at risk per month over the runs (``history trend --metric cost``)."""
    if not points:
        return Text("No runs recorded yet.")
    table = Table(
        title="Cost at risk per month (unwaived failing cost findings)",
        box=box.SIMPLE_HEAVY,
        show_footer=True,
    )
    table.add_column("run", footer="trend", no_wrap=True)
    table.add_column("started (UTC)")
    columns = (
        ("GPU-h / month", "gpu_hours_per_month"),
        ("instance-h / month", "node_hours_per_month"),
        ("$ / month", "usd_per_month"),
    )
    for header, key in columns:
        series = [v for p in points if (v := getattr(p, key)) is not None]
        table.add_column(header, justify="right", footer=sparkline(series, 0.0))
    table.add_column("unknown", justify="right")
    for p in points:
        run = _safe(p.run_id)
        if not p.complete:
            run.append(" (incomplete)", style="yellow")
        cells: list[RenderableType] = [run, _safe(p.started_at[:16].replace("T", " "))]
        if not p.recorded:
            cells += [Text("not recorded", style="dim"), "", "", ""]
        else:
            for _, key in columns:
                v = getattr(p, key)
                cells.append(
                    "no price"
                    if v is None and key == "usd_per_month"
                    else f"{v:,.0f}"
                    if v is not None
                    else "unknown"
                )
            cells.append(str(p.unknown or 0))
        table.add_row(*cells)
    return table
