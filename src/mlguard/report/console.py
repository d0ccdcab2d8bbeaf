"""The rich console summary printed at the end of evaluate/scan/report."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from mlguard.model import ScanResult, Severity, Status

_STYLE = {
    "PASS": "green",
    "FAIL": "bold red",
    "ERROR": "yellow",
    "SKIP": "dim",
    "WAIVED": "cyan",
}


def print_summary(scan: ScanResult, console: Console, top: int = 10) -> None:
    s = scan.summary
    head = Table(title="mlguard scan summary", show_lines=False)
    head.add_column("severity")
    for st in Status:
        head.add_column(st.value, justify="right", style=_STYLE[st.value])
    for level in Severity:
        row = s.by_severity.get(level.value)
        if row:
            head.add_row(level.value, *(str(row.get(st.value, 0)) for st in Status))
    head.add_row("total", *(str(s.by_status.get(st.value, 0)) for st in Status), style="bold")
    console.print(head)
    console.print(
        f"{s.resources} resources, {s.policies_run} policies run, {s.total} results, "
        f"{s.collection_errors} collection errors"
    )
    failing = Counter(r.policy_id for r in scan.results if r.status is Status.FAIL)
    if failing:
        titles = {p.id: (p.title, p.severity.value) for p in scan.policies}
        t = Table(title="Top failing policies")
        t.add_column("policy")
        t.add_column("severity")
        t.add_column("failing", justify="right")
        t.add_column("title")
        for pid, n in failing.most_common(top):
            title, sev = titles.get(pid, ("", ""))
            t.add_row(pid, sev, str(n), title)
        console.print(t)
    if scan.errors:
        e = Table(title="Collection errors (affected policies are ERROR, not PASS)")
        for col in ("scope", "type", "operation", "code", "message"):
            e.add_column(col)
        for err in scan.errors[:top]:
            e.add_row(err.scope.label(), err.resource_type or "*", err.operation, err.code, err.message[:100])
        console.print(e)
        if len(scan.errors) > top:
            console.print(f"... and {len(scan.errors) - top} more collection errors (see results.json)")
    if scan.not_run:
        console.print(f"{len(scan.not_run)} selected policies not run (resource type not collected).")
    if scan.stale_waivers:
        console.print(
            f"[yellow]{len(scan.stale_waivers)} stale waiver(s):[/] "
            + ", ".join(w.id for w in scan.stale_waivers)
        )
