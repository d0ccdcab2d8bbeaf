"""One self-contained HTML report (no CDN, no network fetch; inline CSS and JS).

The summary, charts, framework view, collection errors and provenance are rendered on the server
side by a Jinja2 template (autoescaped), so they read without JavaScript and print well. The
results are embedded once, as compact JSON (strings interned into tables, rows as arrays) inside a
``<script type="application/json">`` element, with ``<``, ``>`` and ``&`` escaped so no data can
close the element; the page's script renders the findings and waivers tables from it with
``textContent`` only (never ``innerHTML`` with data), with filters, sorting and paging, so the page
stays interactive at 100,000 results.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import jinja2

from mlguard.cost.render import fleet_html_context
from mlguard.cost.render import html_context as cost_html_context
from mlguard.model import CollectionError, Result, ScanResult, Severity, Status, Summary
from mlguard.report.base import Reporter, ReportOptions, register
from mlguard.report.compliance import FrameworkStatus, all_frameworks
from mlguard.report.estate_map import map_payload
from mlguard.report.history_view import history_context

STATUS_ORDER = [s.value for s in (Status.FAIL, Status.ERROR, Status.WAIVED, Status.PASS, Status.SKIP)]
SEVERITY_ORDER = [s.value for s in sorted(Severity, key=lambda s: -s.rank)]
STATUS_COLOURS = {
    "FAIL": "#b3261e",
    "ERROR": "#8a5300",
    "WAIVED": "#5b4a9e",
    "PASS": "#1e6b34",
    "SKIP": "#5f6368",
}
# Row layout of the embedded results (documented for anyone reading the file's data).
COLUMNS = [
    "status",
    "severity",
    "category",
    "provider",
    "scope",
    "region",
    "type",
    "policy",
    "uid",
    "name",
    "message",
    "evidence",
    "waiver",
    "source",
    "compliance",
    "fingerprint",
]


class _Interner:
    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[str, int] = {}

    def __call__(self, value: Any) -> int:
        key = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.values)
            self.values.append(value)
        return found


def _scope(r: Result) -> str:
    return r.account or r.workspace or ""


def payload(scan: ScanResult) -> dict[str, Any]:
    """The compact, JSON-ready data the page's script renders the tables from."""
    tables = {
        name: _Interner()
        for name in ("status", "severity", "category", "provider", "scope", "region", "type", "policy")
    }
    messages = _Interner()
    evidence = _Interner()
    waivers = _Interner()
    compliance = _Interner()
    rows: list[list[Any]] = []
    for r in scan.results:
        ev: dict[str, Any] = {}
        if r.evidence.values:
            ev["values"] = r.evidence.values
        if r.evidence.collected_at:
            ev["collected_at"] = r.evidence.collected_at
        if r.evidence.related:
            ev["related"] = r.evidence.related
        if r.cost is not None:  # the finding's waste with its assumptions, in the details view
            ev["cost"] = r.cost.model_dump(exclude_none=True, mode="json")
        rows.append(
            [
                tables["status"](r.status.value),
                tables["severity"](r.severity.value),
                tables["category"](r.category.value),
                tables["provider"](r.provider),
                tables["scope"](_scope(r)),
                tables["region"](r.region or ""),
                tables["type"](r.resource_type),
                tables["policy"](r.policy_id),
                r.resource_uid,
                r.resource_name or "",
                messages(r.message),
                evidence(ev) if ev else -1,
                waivers(r.waiver.model_dump(exclude_none=True)) if r.waiver else -1,
                f"{r.source.file}:{r.source.start_line}" if r.source else "",
                compliance(" ".join(sorted(r.compliance))) if r.compliance else -1,
                r.fingerprint,
            ]
        )
    policies = {
        p.id: p.model_dump(
            include={
                "title",
                "description",
                "severity",
                "category",
                "resource",
                "remediation",
                "remediation_cli",
                "remediation_terraform",
                "references",
            },
            exclude_none=True,
            mode="json",
        )
        for p in scan.policies
    }
    requirements = sorted(
        {f"{fw.id}:{req.id}": req.title for fw in scan.frameworks for req in fw.requirements}.items()
    )
    return {
        "columns": COLUMNS,
        "tables": {name: t.values for name, t in tables.items()},
        "messages": messages.values,
        "evidence": evidence.values,
        "waivers": waivers.values,
        "compliance": compliance.values,
        "requirements": requirements,
        "policies": policies,
        "rows": rows,
    }


def _embed(data: dict[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    # No "</script>", "<!--" or entity can appear inside the element; JSON.parse reads \u escapes.
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@dataclass(frozen=True)
class ErrorImpact:
    error: CollectionError
    unevaluable: int  # ERROR results inside the error's scope and resource type
    policies: list[str]


def error_impacts(scan: ScanResult) -> list[ErrorImpact]:
    """Each collection error with the ERROR results (and policies) it plausibly made unevaluable."""
    errored = [r for r in scan.results if r.status is Status.ERROR]
    out = []
    for e in scan.errors:
        hits = [
            r
            for r in errored
            if r.provider == e.provider
            and e.scope.contains(r.account, r.region, r.workspace)
            and (e.resource_type is None or e.resource_type == r.resource_type)
            and (e.resource_uid is None or e.resource_uid == r.resource_uid)
        ]
        out.append(ErrorImpact(e, len(hits), sorted({r.policy_id for r in hits})))
    return out


def _breakdown(table: dict[str, dict[str, int]], order: list[str] | None = None) -> list[dict[str, Any]]:
    keys = order if order else sorted(table)
    rows = []
    for key in keys:
        if key not in table:
            continue
        counts = table[key]
        total = sum(counts.values())
        rows.append(
            {
                "key": key,
                "counts": [(st, counts.get(st, 0)) for st in STATUS_ORDER],
                "total": total,
            }
        )
    return rows


def recount(scan: ScanResult) -> Summary:
    """The summary recounted from the results (same shape as ``Summary.of``, one pass, no copies)."""
    counts = Counter((r.status.value, r.severity.value, r.category.value, r.provider) for r in scan.results)
    summary = Summary(
        total=len(scan.results),
        resources=scan.summary.resources,
        policies_run=scan.summary.policies_run,
        collection_errors=len(scan.errors),
        by_status={st.value: 0 for st in Status},
    )
    tables = (summary.by_severity, summary.by_category, summary.by_provider)
    for (status, *keys), n in counts.items():
        summary.by_status[status] += n
        for table, key in zip(tables, keys, strict=True):
            row = table.setdefault(key, {st.value: 0 for st in Status})
            row[status] += n
    return summary


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: (files("mlguard.report") / "templates" / name).read_text("utf-8")
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda part, whole: 0.0 if not whole else round(100.0 * part / whole, 1)
    return env


def render_html(
    scan: ScanResult,
    frameworks: list[FrameworkStatus],
    title: str,
    template: str,
    history: dict[str, Any] | None = None,
    estate_map: dict[str, Any] | None = None,
) -> str:
    """Render ``template``; ``history`` is :func:`history_context` of the run's history, if any;
    ``estate_map`` is :func:`~mlguard.report.estate_map.map_payload` of the scan, if drawn."""
    # Recount from the results: the page must agree with results.json even if a summary is stale.
    # A filtered scan (--status) lists some results only: its totals are the summary's.
    summary = scan.summary if scan.filter else recount(scan)
    by_status = {st: summary.by_status.get(st, 0) for st in STATUS_ORDER}
    context = {
        "title": title,
        "scan": scan,
        "prov": scan.provenance,
        "total": scan.filter.total if scan.filter else len(scan.results),
        "by_status": by_status,
        "status_colours": STATUS_COLOURS,
        "status_order": STATUS_ORDER,
        "summary": summary,
        "severity": _breakdown(summary.by_severity, SEVERITY_ORDER),
        "category": _breakdown(summary.by_category),
        "provider": _breakdown(summary.by_provider),
        "frameworks": frameworks,
        "history": history,
        "errors": error_impacts(scan),
        "cost": cost_html_context(scan.cost),
        "fleet": fleet_html_context(scan.gpu_fleet),
        "data": _embed(payload(scan)),
        "script": (files("mlguard.report") / "templates" / "report.js").read_text("utf-8"),
        "estate": _embed(estate_map) if estate_map else None,
        "estate_script": (files("mlguard.report") / "templates" / "estate_map.js").read_text("utf-8")
        if estate_map
        else "",
    }
    return template_environment().get_template(template).render(**context)


@register
class HtmlReporter(Reporter):
    name = "html"
    filename = "report.html"
    description = "Self-contained HTML report (works offline): summary, charts, frameworks, findings."

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return render_html(
            scan,
            all_frameworks(scan),
            "mlguard scan report",
            "report.html.j2",
            history_context(options.history, scan),
            map_payload(scan),
        )
