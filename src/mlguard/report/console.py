"""Rich console summary the CLI prints after a scan: by severity, top failing policies and
resources, errors. Ids are never cut, whatever the width: titles wrap instead."""

from __future__ import annotations

__all__ = ["escape", "print_summary", "terminal_safe"]

from collections import Counter

from rich import box
from rich.console import Console
from rich.markup import escape as _escape
from rich.table import Table
from rich.text import Text

from mlguard.cost.render import print_cost, print_fleet
from mlguard.model import ScanResult, Severity, Status
from mlguard.report.sanitize import terminal_safe

TOP_POLICIES = 10
TOP_RESOURCES = 10
# The top failing policies table beside its id column: severity and failing columns, padding.
_FIXED_WIDTH = 8 + 7 + 6
MAX_ERRORS = 15
_STYLE = {"FAIL": "bold red", "ERROR": "yellow", "WAIVED": "magenta", "PASS": "green", "SKIP": "dim"}
_STATUSES = ["FAIL", "ERROR", "WAIVED", "PASS", "SKIP"]


def escape(value: object) -> str:
    """A data value for the terminal: controls and bidi overrides stripped, markup escaped."""
    return _escape(terminal_safe(value))


def print_summary(scan: ScanResult, console: Console) -> None:
    """Print the scan summary. Every data value is escaped: no resource name can inject markup,
    terminal controls (colours, OSC 8 links, cursor moves) or bidi overrides."""
    if scan.incomplete:
        console.print(f"[bold yellow]{escape(scan.incomplete)}[/]")
    # A filtered scan (--status) lists only some results: the totals come from its summary.
    counts: dict[str, int] = (
        scan.summary.by_status if scan.filter else Counter(r.status.value for r in scan.results)
    )
    total = scan.filter.total if scan.filter else len(scan.results)
    console.print(
        f"[bold]mlguard[/] {escape(scan.provenance.version)}: {total} results, "
        f"{scan.summary.resources} resources, {len(scan.errors)} collection errors"
    )
    console.print("  ".join(f"[{_STYLE[s]}]{s} {counts.get(s, 0)}[/]" for s in _STATUSES), highlight=False)
    if scan.filter:
        console.print(f"[yellow]{escape(scan.filter.note())}[/]")

    sev = Table(title="Results by severity", title_justify="left")
    sev.add_column("Severity")
    for s in _STATUSES:
        sev.add_column(s, justify="right", style=_STYLE[s])
    by_sev: dict[str, dict[str, int]] = {}
    if scan.filter:
        by_sev = scan.summary.by_severity
    else:
        for r in scan.results:
            by_sev.setdefault(r.severity.value, Counter())[r.status.value] += 1
    for level in sorted(Severity, key=lambda s: -s.rank):
        row = by_sev.get(level.value)
        if row:
            sev.add_row(level.value, *(str(row.get(s, 0)) for s in _STATUSES))
    console.print(sev)

    fails = Counter(r.policy_id for r in scan.results if r.status is Status.FAIL)
    if fails:
        info = {p.id: p for p in scan.policies}
        ranked = sorted(
            fails.items(),
            key=lambda kv: (-(info[kv[0]].severity.rank if kv[0] in info else 0), -kv[1], kv[0]),
        )[:TOP_POLICIES]
        rows = [
            (pid, info[pid].severity.value if pid in info else "", n, info[pid].title if pid in info else "")
            for pid, n in ranked
        ]
        _top_policies(rows, console)
        _top_resources(scan, console)

    print_cost(scan.cost, console)
    print_fleet(scan.gpu_fleet, console)

    if scan.errors:
        err = Table(title=f"Collection errors ({len(scan.errors)})", title_justify="left")
        for col in ("Scope", "Resource type", "Operation", "Code", "Message"):
            err.add_column(col, overflow="fold")  # nothing is cut: long ids fold onto more lines
        for e in scan.errors[:MAX_ERRORS]:
            err.add_row(
                escape(e.scope.label()),
                escape(e.resource_type or "all types"),
                escape(e.operation),
                escape(e.code),
                escape(e.message),
            )
        console.print(err)
        if len(scan.errors) > MAX_ERRORS:
            console.print(f"... and {len(scan.errors) - MAX_ERRORS} more (see the HTML or JSON report)")
        console.print("[yellow]Policies that needed this data are ERROR for those scopes, not PASS.[/]")

    if scan.not_run:
        console.print(
            f"{len(scan.not_run)} selected policies were not run (their resource type was not collected); "
            "see not_run in results.json."
        )
    if scan.stale_waivers:
        names = ", ".join(escape(w.id) for w in scan.stale_waivers)
        console.print(
            f"[yellow]{len(scan.stale_waivers)} stale waiver(s)[/] (matched no failing result): {names}"
        )


def _top_resources(scan: ScanResult, console: Console) -> None:
    """The resources with the most severe, then the most, unwaived FAILs. A resource id can be
    longer than the terminal is wide: each is printed on one line the terminal may wrap (a table
    would cut or fold it), so that it can be copied whole."""
    worst: dict[str, int] = {}
    count: Counter[str] = Counter()
    for r in scan.results:
        if r.status is Status.FAIL:
            count[r.resource_uid] += 1
            worst[r.resource_uid] = max(worst.get(r.resource_uid, 0), r.severity.rank)
    ranked = sorted(count, key=lambda uid: (-worst[uid], -count[uid], uid))[:TOP_RESOURCES]
    level = {s.rank: s.value for s in Severity}
    console.print("[italic]Top failing resources[/]")
    console.print(f"  {'Worst':<9}{'Failing':>7}  Resource", style="bold", highlight=False)
    for uid in ranked:
        console.print(
            f"  {level[worst[uid]]:<9}{count[uid]:>7}  {escape(uid)}", highlight=False, soft_wrap=True
        )
    if len(count) > TOP_RESOURCES:
        console.print(f"  ... and {len(count) - TOP_RESOURCES} more failing resources")


def _top_policies(rows: list[tuple[str, str, int, str]], console: Console) -> None:
    """Each policy's id on a line of its own, never cut, with its title wrapped below it; when an
    id is wider than the console, one line per policy for the terminal to wrap."""
    widest = max(len(terminal_safe(pid)) for pid, *_ in rows)
    if widest + _FIXED_WIDTH <= console.width:
        top = Table(title="Top failing policies", title_justify="left", box=box.SIMPLE_HEAD)
        top.add_column("Severity", no_wrap=True)
        top.add_column("Failing", justify="right", no_wrap=True)
        top.add_column("Policy / title", min_width=widest)
        for pid, severity, n, title in rows:
            cell = Text(terminal_safe(pid), style="bold")
            if title:
                cell.append("\n" + terminal_safe(title), style="dim")
            top.add_row(severity, str(n), cell)
        console.print(top)
        return
    console.print("[italic]Top failing policies[/]")
    console.print(f"  {'Severity':<9}{'Failing':>7}  Policy: title", style="bold", highlight=False)
    for pid, severity, n, title in rows:
        console.print(
            f"  {severity:<9}{n:>7}  {escape(pid)}: {escape(title)}", highlight=False, soft_wrap=True
        )
