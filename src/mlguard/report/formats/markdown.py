"""Markdown summary for CI job summaries (``$GITHUB_STEP_SUMMARY``).

Bounded: GitHub accepts at most 1 MiB per step summary, so the text is kept under ``MAX_CHARS``
(sections are cut to fit, and a note says so). All data is escaped so resource names cannot inject
markup, links (bare URLs are broken up), bidi overrides or table cells.
"""

from __future__ import annotations

import re
from collections import Counter
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from mlguard.cost import render as cost_render
from mlguard.cost.model import CostSummary, GpuFleet
from mlguard.model import ScanResult, Severity, Status
from mlguard.report.base import Reporter, ReportOptions, register
from mlguard.report.compliance import all_frameworks
from mlguard.report.history_view import FINDING_GROUPS, RESOURCE_GROUPS, coerce_history
from mlguard.report.sanitize import markdown_neutral, terminal_safe

if TYPE_CHECKING:
    from mlguard.history.report import ReportHistory

MAX_CHARS = 60_000
TOP_POLICIES = 10
MAX_ERRORS = 20
MAX_CHANGES = 10  # new / regressed / fixed findings listed in "Since the previous run"
STATUSES = [Status.FAIL, Status.ERROR, Status.WAIVED, Status.PASS, Status.SKIP]
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>&~])")


def md(text: object) -> str:
    """Escape a value for a Markdown table cell (no markup, links, HTML or line breaks)."""
    flat = " ".join(terminal_safe(text).split())
    return _SPECIAL.sub(r"\\\1", markdown_neutral(flat))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def since_previous(history: ReportHistory) -> list[str]:
    """The "Since the previous run" block: counts, then the first new, regressed and fixed findings."""
    lines = ["### Since the previous run", ""]
    diff = history.diff
    if diff is None or history.previous is None:
        lines.append(f"First recorded run (`{md(history.run.id)}`): nothing to compare with yet.")
        return lines
    lines.append(f"Run `{md(history.run.id)}` compared with `{md(history.previous.id)}`.")
    lines.append("")
    header = [f"{label} findings" for _, label, _ in FINDING_GROUPS]
    header += [f"{label} resources" for _, label, _ in RESOURCE_GROUPS]
    keys = [key for key, _, _ in (*FINDING_GROUPS, *RESOURCE_GROUPS)]
    lines += _table(header, [[str(len(getattr(diff, key))) for key in keys]])
    for key, label, _ in FINDING_GROUPS[:3]:
        changes = getattr(diff, key)
        if not changes:
            continue
        lines += ["", f"**{label}** ({len(changes)}):", ""]
        for c in changes[:MAX_CHANGES]:
            lines.append(f"- {md(c.severity)} · {md(c.policy_id)} · {md(c.resource_uid)}")
        if len(changes) > MAX_CHANGES:
            lines.append(f"- _and {len(changes) - MAX_CHANGES} more (see the HTML report)_")
    return lines


def cost_section(summary: CostSummary) -> list[str]:
    """Where the GPU money goes: the headline, totals by owner, account, workspace and platform,
    and the items to stop or scale down first."""
    lines = [
        "### Cost at risk per month",
        "",
        md(cost_render.headline(summary)),
        "",
        f"_{md(cost_render.scope_note())}_",
    ]
    if summary.sample_prices:
        lines += ["", "**Dollar figures use SAMPLE prices, not real rates.**"]
    if summary.top:
        lines += ["", "**Stop or scale down first**", ""]
        rows = [[md(c) for c in cost_render.top_row(i, item)] for i, item in enumerate(summary.top, 1)]
        lines += _table(cost_render.TOP_HEADER, rows)
    for key, title, section in cost_render.GROUPS:
        totals = getattr(summary, key)
        if totals:
            lines += ["", f"**{section}**", ""]
            header = [title, *cost_render.TOTAL_HEADER[1:]]
            lines += _table(header, [[md(c) for c in cost_render.total_row(t)] for t in totals])
    return lines


def fleet_section(fleet: GpuFleet) -> list[str]:
    """All accelerated capacity, failing or not: totals per kind, then each item."""
    lines = ["### GPU fleet", "", md(cost_render.fleet_headline(fleet))]
    if fleet.sample_prices:
        lines += ["", "**Dollar figures use SAMPLE prices, not real rates.**"]
    if not fleet.items:
        return lines
    lines += [""]
    totals = [*fleet.by_kind, fleet.total]
    rows = [[md(c) for c in cost_render.fleet_total_row(t)] for t in totals]
    lines += _table(cost_render.FLEET_TOTAL_HEADER, rows)
    lines += ["", "<details><summary>Every item</summary>", ""]
    shown = fleet.items[: cost_render.FLEET_MAX_ROWS]
    rows = [[md(c) for c in cost_render.fleet_item_row(i)] for i in shown]
    lines += _table(cost_render.FLEET_ITEM_HEADER, rows)
    if len(fleet.items) > cost_render.FLEET_MAX_ROWS:
        lines += ["", f"_{len(fleet.items) - cost_render.FLEET_MAX_ROWS} more in results.json (gpu_fleet)_"]
    return [*lines, "", "</details>"]


_STATUS, _SEVERITY, _POLICY_ID = attrgetter("status"), attrgetter("severity"), attrgetter("policy_id")


def render_markdown(
    scan: ScanResult, max_chars: int = MAX_CHARS, history: ReportHistory | dict[str, Any] | None = None
) -> str:
    prov = scan.provenance
    counts = Counter(map(_STATUS, scan.results))
    if scan.filter:  # --status: the list is filtered, the totals are the summary's (every result)
        counts = Counter({Status(k): v for k, v in scan.summary.by_status.items()})
    fails = [r for r in scan.results if r.status is Status.FAIL]
    lines = ["## mlguard scan", ""]
    if scan.incomplete:
        lines += [f"> **{md(scan.incomplete)}**", ""]
    if scan.filter:
        lines += [f"> {md(scan.filter.note())}", ""]
    scope = ", ".join(md(x) for x in (*prov.accounts, *prov.workspaces)) or "none"
    total = scan.filter.total if scan.filter else len(scan.results)
    lines.append(
        f"mlguard {md(prov.version)} · started {md(prov.started_at)} · {total} results · scope: {scope}"
    )
    lines.append("")
    verdict = f"**{counts[Status.FAIL]} failing**" if counts[Status.FAIL] else "**No failing results**"
    if counts[Status.ERROR] or scan.errors:
        verdict += (
            f", **{counts[Status.ERROR]} could not be evaluated** ({len(scan.errors)} collection errors)"
        )
    lines += [verdict, ""]
    lines += _table([s.value for s in STATUSES], [[str(counts[s]) for s in STATUSES]])
    lines.append("")
    h = coerce_history(history)
    if h is not None:
        lines += [*since_previous(h), ""]

    lines += ["### Failures by severity", ""]
    sev = Counter(map(_SEVERITY, fails))
    if scan.filter:
        sev = Counter({Severity(k): row.get("FAIL", 0) for k, row in scan.summary.by_severity.items()})
    order = sorted(Severity, key=lambda s: -s.rank)
    lines += _table([s.value for s in order], [[str(sev[s]) for s in order]])
    lines.append("")

    body: list[list[str]] = []
    by_policy = Counter(map(_POLICY_ID, fails))
    if by_policy:
        info = {p.id: p for p in scan.policies}
        top = sorted(
            by_policy.items(),
            key=lambda kv: (-info[kv[0]].severity.rank if kv[0] in info else 0, -kv[1], kv[0]),
        )
        rows = []
        for pid, n in top[:TOP_POLICIES]:
            p = info.get(pid)
            rows.append([md(pid), md(p.severity.value if p else ""), str(n), md(p.title if p else "")])
        section = [f"### Top failing policies ({min(TOP_POLICIES, len(top))} of {len(top)})", ""]
        section += _table(["Policy", "Severity", "Failing", "Title"], rows)
        body.append(section)

    if scan.cost is not None:
        body.append(cost_section(scan.cost))
    if scan.gpu_fleet is not None:
        body.append(fleet_section(scan.gpu_fleet))

    frameworks = all_frameworks(scan)
    if frameworks:
        rows = []
        for fs in frameworks:
            t = fs.totals()
            rows.append(
                [
                    md(fs.framework.name),
                    str(len(fs.requirements)),
                    str(t["pass"]),
                    str(t["fail"]),
                    str(t["error"]),
                    str(t["uncovered"]),
                    f"{fs.coverage_percent}%",
                ]
            )
        section = ["### Compliance", ""]
        section += _table(
            ["Framework", "Requirements", "Pass", "Fail", "Error", "Uncovered", "Evaluated"], rows
        )
        body.append(section)

    if scan.errors:
        rows = [
            [
                md(e.scope.label()),
                md(e.resource_type or "all types"),
                md(e.operation),
                md(e.code),
                md(e.message),
            ]
            for e in scan.errors[:MAX_ERRORS]
        ]
        section = [f"### Collection errors ({len(scan.errors)})", ""]
        section += _table(["Scope", "Resource type", "Operation", "Code", "Message"], rows)
        if len(scan.errors) > MAX_ERRORS:
            section.append(f"\n_{len(scan.errors) - MAX_ERRORS} more in the full report._")
        body.append(section)

    if counts[Status.WAIVED]:
        body.append([f"_{counts[Status.WAIVED]} failing results are waived (see the HTML report)._"])

    text = "\n".join(lines)
    cut = 0
    for section in body:
        chunk = "\n" + "\n".join(section) + "\n"
        if len(text) + len(chunk) + 200 > max_chars:
            cut += 1
            continue
        text += chunk
    if cut:
        text += f"\n_{cut} section(s) left out to keep this summary under {max_chars} characters._\n"
    return text.rstrip("\n") + "\n"


@register
class MarkdownReporter(Reporter):
    name = "markdown"
    filename = "summary.md"
    description = "Markdown summary for CI job summaries ($GITHUB_STEP_SUMMARY); bounded size."

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return render_markdown(scan, history=options.history)
