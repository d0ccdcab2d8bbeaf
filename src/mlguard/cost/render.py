"""The cost section of the reports (console, Markdown, HTML), rendered from ``ScanResult.cost``.

Unknown is printed as unknown and an unpriced figure as "no price", never as 0; dollars from a
SAMPLE price file say so wherever they appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mlguard.cost.model import CostItem, CostSummary, CostTotal, FleetItem, FleetTotal, GpuFleet
from mlguard.report.sanitize import terminal_safe

ACTION_LABELS = {
    "stop": "stop",
    "scale_down": "scale down",
    "scale_to_zero": "enable scale-to-zero",
    "right_size": "move to a CPU type",
    "auto_stop": "set auto-termination",
    "bound_runtime": "bound the runtime or use spot",
}
GROUPS = (  # (CostSummary field, column title, section title)
    ("by_owner", "Owner", "By owner"),
    ("by_account", "AWS account", "By AWS account"),
    ("by_workspace", "Databricks workspace", "By Databricks workspace"),
    ("by_platform", "Platform", "By platform (provider/how priced)"),
)


def hours(value: float | None, at_least: bool = False) -> str:
    if value is None:
        return "unknown"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f">= {text}" if at_least and value else text


def dollars(value: float | None, at_least: bool = False, hours_known: bool = True) -> str:
    if value is None:
        return "no price" if hours_known else "unknown"
    return (">= " if at_least and value else "") + f"${value:,.0f}"


def headline(summary: CostSummary) -> str:
    """One sentence: what the failing cost findings waste a month, and how sure that is."""
    t = summary.total
    text = (
        f"{t.findings} failing cost finding(s) put {hours(t.gpu_hours_per_month)} GPU-hours and "
        f"{hours(t.node_hours_per_month)} instance-hours a month at risk"
    )
    if summary.pricing is None:
        text += "; no prices given (--pricing FILE), so no dollar figures"
    elif t.usd_per_month is None:
        text += f"; none of them priced by {summary.pricing}"
    else:
        text += f", {dollars(t.usd_per_month)} a month priced by {summary.pricing}"
        if t.unpriced:
            text += f" ({t.unpriced} finding(s) without a price are not in that sum)"
    if t.unknown:
        text += f"; {t.unknown} finding(s) have unknown GPU-hours (not in the sums: see each finding)"
    return text + "."


def scope_note() -> str:
    return (
        "Unwaived FAILs only, each resource counted once (its largest finding); per month = 730 h. "
        "Unknown means an input was not read or cannot be measured, never zero."
    )


def total_row(t: CostTotal) -> list[str]:
    return [
        t.key,
        str(t.findings),
        hours(t.gpu_hours_per_month) + (f" (+{t.unknown} unknown)" if t.unknown else ""),
        hours(t.node_hours_per_month),
        dollars(t.usd_per_month) + (f" (+{t.unpriced} unpriced)" if t.unpriced and t.usd_per_month else ""),
    ]


TOTAL_HEADER = ["", "Findings", "GPU-h / month", "Instance-h / month", "$ / month"]
TOP_HEADER = [
    "#",
    "Action",
    "Resource",
    "Account / workspace",
    "Owner",
    "GPU-h / month",
    "$ / month",
    "Policy",
]


def top_row(i: int, item: CostItem) -> list[str]:
    return [
        str(i),
        ACTION_LABELS.get(item.action, item.action),
        item.resource_name or item.resource_uid,
        item.scope or "",
        item.owner or "",
        hours(item.gpu_hours_per_month, item.at_least),
        dollars(item.usd_per_month, item.at_least, item.node_hours_per_month is not None),
        item.policy_id,
    ]


# --------------------------------------------------------------------------- GPU fleet

FLEET_TOTAL_HEADER = ["Kind", "Items", "Accelerators now", "GPU-h in window", "$ in window"]
FLEET_ITEM_HEADER = [
    "Kind",
    "Resource",
    "Account / workspace",
    "Owner",
    "State",
    "Type",
    "Accelerators",
    "Instances (range)",
    "Hours",
    "GPU-h",
    "Use",
    "$",
]
FLEET_MAX_ROWS = 200  # items listed in a report (the totals and the JSON cover all)


def _n(value: float | None) -> str:
    return "unknown" if value is None else hours(value)


def fleet_headline(fleet: GpuFleet) -> str:
    t = fleet.total
    text = (
        f"{t.items} accelerated item(s) on both platforms, {_n(t.accelerators)} accelerators running now"
        + (f" (+{t.unknown_accelerators} with an unknown count)" if t.unknown_accelerators else "")
        + f", {_n(t.gpu_hours)} GPU-hours in the {fleet.window_days:g}-day window "
        f"{fleet.window_start[:10]} to {fleet.window_end[:10]}"
        + (f" (+{t.unknown_gpu_hours} item(s) unknown)" if t.unknown_gpu_hours else "")
    )
    if fleet.pricing is None:
        text += "; no prices given, so no dollar figures"
    elif t.usd is None:
        text += f"; none of them priced by {fleet.pricing}"
    else:
        text += f"; {dollars(t.usd)} in the window priced by {fleet.pricing}"
        if t.unpriced:
            text += f" ({t.unpriced} item(s) without a dollar figure are not in that sum)"
    if fleet.not_collected:
        text += f"; not collected in this run: {', '.join(fleet.not_collected)}"
    if fleet.incomplete:
        text += f"; INCOMPLETE: {len(fleet.incomplete)} listing(s) failed ({'; '.join(fleet.incomplete[:3])})"
    return text + "."


def _partly(known: float, unknown: int, items: int) -> str:
    """A sum with the items it leaves out; all unknown is unknown, never 0."""
    if items and unknown == items:
        return "unknown"
    return _n(known) + (f" (+{unknown} unknown)" if unknown else "")


def fleet_total_row(t: FleetTotal) -> list[str]:
    return [
        t.key,
        str(t.items),
        _partly(t.accelerators, t.unknown_accelerators, t.items),
        _partly(t.gpu_hours, t.unknown_gpu_hours, t.items),
        ("no price" if t.usd is None else dollars(t.usd))
        + (f" (+{t.unpriced} unpriced)" if t.unpriced and t.usd is not None else ""),
    ]


def _use(item: FleetItem) -> str:
    parts = []
    for key, value in item.utilisation.items():
        if value is None or key == "metrics_days":
            continue
        shown = hours(value) if isinstance(value, float | int) and not isinstance(value, bool) else str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


def fleet_item_row(item: FleetItem) -> list[str]:
    per = "unknown" if item.accelerators_per_instance is None else hours(item.accelerators_per_instance)
    accel = f"{per} x {item.accelerator_model or 'unknown model'}"
    count = _n(item.instances)
    if item.instances_min is not None or item.instances_max is not None:
        count += f" ({_n(item.instances_min)}-{_n(item.instances_max)})"
    return [
        item.kind,
        item.name or item.resource_uid,
        item.scope or "",
        item.owner or "",
        item.state or "unknown",
        item.instance_type or "unknown",
        accel,
        count,
        _n(item.hours),
        _n(item.gpu_hours),
        _use(item),
        (
            "no price"
            if item.price_source is None and item.usd is None
            else dollars(item.usd, hours_known=False)
        ),
    ]


def fleet_html_context(fleet: GpuFleet | None) -> dict[str, Any] | None:
    if fleet is None:
        return None
    return {
        "fleet": fleet,
        "headline": fleet_headline(fleet),
        "total_header": FLEET_TOTAL_HEADER,
        "totals": [fleet_total_row(t) for t in [*fleet.by_kind, fleet.total]],
        "item_header": FLEET_ITEM_HEADER,
        "rows": [(fleet_item_row(i), i) for i in fleet.items[:FLEET_MAX_ROWS]],
        "more": max(len(fleet.items) - FLEET_MAX_ROWS, 0),
    }


def print_fleet(fleet: GpuFleet | None, console: Console) -> None:
    """The console's fleet block: one line and the totals per kind (the items are in the reports)."""
    if fleet is None or not fleet.items:
        return

    def esc(value: object) -> str:
        return escape(terminal_safe(value))

    console.print(f"[bold]GPU fleet[/]: {esc(fleet_headline(fleet))}")
    table = Table(title="GPU fleet by kind (every item, failing or not)", title_justify="left")
    for i, col in enumerate(FLEET_TOTAL_HEADER):
        table.add_column(col, justify="right" if i else "left", overflow="fold")
    for t in [*fleet.by_kind, fleet.total]:
        table.add_row(*(esc(c) for c in fleet_total_row(t)))
    console.print(table)


# --------------------------------------------------------------------------- HTML chart


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: float


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    bars: list[Bar]
    width: int
    height: int
    label_width: int


def owner_chart(summary: CostSummary, width: int = 640) -> Chart | None:
    """Horizontal bars of the monthly figure by owner: dollars when every owner is priced, else GPU-hours."""
    rows = summary.by_owner[:12]
    if not rows:
        return None
    priced = summary.pricing is not None and all(r.usd_per_month is not None for r in rows)
    values = [(r.key, (r.usd_per_month or 0.0) if priced else r.gpu_hours_per_month) for r in rows]
    top = max((v for _, v in values), default=0.0) or 1.0
    label_width, bar_room, row = 180, width - 180 - 110, 26
    bars = [
        Bar(
            label=key,
            value=v,
            text=dollars(v) if priced else f"{hours(v)} GPU-h",
            y=10 + i * row,
            width=round(bar_room * v / top, 1),
        )
        for i, (key, v) in enumerate(values)
    ]
    unit = "$ / month" if priced else "GPU-hours / month"
    return Chart(f"At risk by owner ({unit})", unit, bars, width, 20 + len(bars) * row, label_width)


def html_context(summary: CostSummary | None) -> dict[str, Any] | None:
    """What the HTML template's cost section renders (None: no cost policy ran)."""
    if summary is None:
        return None
    groups = [
        {
            "key": key,
            "title": section,
            "header": [title, *TOTAL_HEADER[1:]],
            "rows": [total_row(t) for t in getattr(summary, key)],
        }
        for key, title, section in GROUPS
        if getattr(summary, key)
    ]
    return {
        "summary": summary,
        "headline": headline(summary),
        "note": scope_note(),
        "total_header": TOTAL_HEADER,
        "groups": groups,
        "top_header": TOP_HEADER,
        "top": [top_row(i, item) for i, item in enumerate(summary.top, 1)],
        "chart": owner_chart(summary),
    }


# --------------------------------------------------------------------------- console


def print_cost(summary: CostSummary | None, console: Console) -> None:
    """The console's cost block: the headline, totals by owner, and what to stop first."""
    if summary is None:
        return

    def esc(value: object) -> str:
        return escape(terminal_safe(value))

    console.print(f"[bold]Cost[/]: {esc(headline(summary))}")
    if summary.sample_prices:
        console.print("[yellow]Dollar figures use SAMPLE prices, not real rates.[/]")
    if summary.by_owner:
        table = Table(
            title=f"Cost at risk by owner (tags: {esc(', '.join(summary.owner_tags))})", title_justify="left"
        )
        for i, col in enumerate(["Owner", *TOTAL_HEADER[1:]]):
            table.add_column(col, justify="right" if i else "left", overflow="fold")
        for t in summary.by_owner:
            table.add_row(*(esc(c) for c in total_row(t)))
        console.print(table)
    if summary.top:
        table = Table(title="Stop or scale down first", title_justify="left")
        keep = (0, 1, 2, 4, 5, 6)  # the terminal is narrow: no scope or policy id (see the reports)
        for i in keep:
            # fold, never "…": a resource name cut short cannot be found (and at 80 columns it would be)
            table.add_column(TOP_HEADER[i], justify="right" if i in (0, 5, 6) else "left", overflow="fold")
        for i, item in enumerate(summary.top, 1):
            row = top_row(i, item)
            table.add_row(*(esc(row[k]) for k in keep))
        console.print(table)
