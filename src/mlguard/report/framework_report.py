"""Compliance export: an auditor-facing report for ONE framework, as HTML, CSV or JSON.

``mlguard report results.json --framework NAME --format html|csv|json`` renders, for the framework
named by ``ReportOptions.framework`` (id or display name, from ``scan.frameworks``): the scope and
provenance, the SHA-256 of the results file it was rendered from (``ReportOptions.results_sha256``),
every requirement with its status, counts and evidence (policy, resource, status, message, values
read and when), uncovered requirements (no policy, or no result: never shown as compliant),
waivers (owner, reason, expiry) and collection errors.

These reporters are not in the ``--format`` registry: the CLI picks one with
:func:`framework_reporter` when ``--framework`` is given.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlguard.errors import InputError
from mlguard.model import CollectionError, NotRun, Provenance, ScanResult
from mlguard.report.base import Reporter, ReportOptions
from mlguard.report.compliance import FrameworkStatus, find_framework, framework_status
from mlguard.report.formats.csv_report import write_csv
from mlguard.report.formats.html import template_environment

_STATUS_ORDER = {"FAIL": 0, "ERROR": 1, "WAIVED": 2, "PASS": 3, "SKIP": 4}  # evidence: failures first
MAX_HTML_EVIDENCE = 200  # per requirement in the HTML; CSV and JSON carry every result


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EvidenceItem(_Model):
    policy_id: str
    resource_uid: str
    resource_name: str | None
    resource_type: str
    scope: str
    status: str
    severity: str
    message: str
    values: dict[str, Any]
    collected_at: str | None
    waiver_id: str | None = None


class RequirementExport(_Model):
    id: str
    title: str
    description: str | None
    status: str
    counts: dict[str, int]
    policies: list[str]
    not_run: list[NotRun]
    evidence: list[EvidenceItem]


class WaiverItem(_Model):
    id: str
    requirements: list[str]
    policy_id: str
    resource_uid: str
    owner: str
    reason: str
    expires: str
    ticket: str | None
    expired: bool


class FrameworkHeader(_Model):
    id: str
    name: str
    version: str | None
    url: str | None


class ComplianceSummary(_Model):
    requirements: int
    by_status: dict[str, int]
    coverage_percent: float
    pass_percent: float


class ComplianceExport(_Model):
    """The JSON compliance export (also the data behind the HTML and CSV forms)."""

    kind: Literal["mlguard.compliance"] = "mlguard.compliance"
    schema_version: Literal["1.0"] = "1.0"
    framework: FrameworkHeader
    incomplete: str | None = Field(default=None, description="Set when collection errors were recorded.")
    results_sha256: str | None
    provenance: Provenance
    summary: ComplianceSummary
    requirements: list[RequirementExport]
    uncovered: list[str]
    waivers: list[WaiverItem]
    collection_errors: list[CollectionError]


def _scope(r: Any) -> str:
    return "/".join(p for p in (r.provider, r.account, r.region, r.workspace) if p)


def build_export(scan: ScanResult, options: ReportOptions) -> tuple[ComplianceExport, FrameworkStatus]:
    if not options.framework:
        raise InputError("a compliance export needs --framework NAME")
    fs = framework_status(scan, find_framework(scan, options.framework))
    requirements = []
    waivers: dict[str, dict[str, Any]] = {}
    for rs in fs.requirements:
        evidence = []
        for r in rs.results:
            evidence.append(
                EvidenceItem(
                    policy_id=r.policy_id,
                    resource_uid=r.resource_uid,
                    resource_name=r.resource_name,
                    resource_type=r.resource_type,
                    scope=_scope(r),
                    status=r.status.value,
                    severity=r.severity.value,
                    message=r.message,
                    values=r.evidence.values,
                    collected_at=r.evidence.collected_at,
                    waiver_id=r.waiver.id if r.waiver else None,
                )
            )
            if r.waiver:
                key = f"{r.waiver.id}\x00{r.fingerprint}"
                entry = waivers.setdefault(
                    key,
                    {
                        **r.waiver.model_dump(
                            include={"id", "owner", "reason", "expires", "ticket", "expired"}
                        ),
                        "policy_id": r.policy_id,
                        "resource_uid": r.resource_uid,
                        "requirements": [],
                    },
                )
                entry["requirements"].append(rs.requirement.id)
        evidence.sort(key=lambda e: (_STATUS_ORDER[e.status], e.policy_id, e.resource_uid))
        requirements.append(
            RequirementExport(
                id=rs.requirement.id,
                title=rs.requirement.title,
                description=rs.requirement.description,
                status=rs.status,
                counts=rs.counts,
                policies=rs.requirement.policies,
                not_run=rs.not_run,
                evidence=evidence,
            )
        )
    fw = fs.framework
    export = ComplianceExport(
        framework=FrameworkHeader(id=fw.id, name=fw.name, version=fw.version, url=fw.url),
        incomplete=scan.incomplete,
        results_sha256=options.results_sha256,
        provenance=scan.provenance,
        summary=ComplianceSummary(
            requirements=len(fs.requirements),
            by_status=fs.totals(),
            coverage_percent=fs.coverage_percent,
            pass_percent=fs.pass_percent,
        ),
        requirements=requirements,
        uncovered=[r.id for r in requirements if r.status == "uncovered"],
        waivers=[WaiverItem(**w) for w in waivers.values()],
        collection_errors=scan.errors,
    )
    return export, fs


class FrameworkJsonReporter(Reporter):
    name = "json"
    filename = "compliance-{framework}.json"
    description = "Compliance export for one framework (JSON)."

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        export, _ = build_export(scan, options)
        return export.model_dump_json(indent=1) + "\n"


CSV_COLUMNS = (
    "framework",
    "requirement_id",
    "requirement_title",
    "requirement_status",
    "policy_id",
    "resource_uid",
    "resource_name",
    "resource_type",
    "scope",
    "result_status",
    "severity",
    "message",
    "evidence",
    "collected_at",
    "waiver_id",
    "scan_started_at",
    "results_sha256",
)


class FrameworkCsvReporter(Reporter):
    name = "csv"
    filename = "compliance-{framework}.csv"
    description = "Compliance export for one framework (CSV: a row per requirement x result)."

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        export, _ = build_export(scan, options)
        fw = export.framework.id
        started = export.provenance.started_at
        digest = export.results_sha256 or ""
        rows: list[list[object]] = []
        for req in export.requirements:
            head = [fw, req.id, req.title, req.status]
            if not req.evidence:
                reason = "; ".join(f"{n.policy_id} not run: {n.reason}" for n in req.not_run)
                rows.append([*head, "", "", "", "", "", "", "", reason, "", "", "", started, digest])
            for e in req.evidence:
                values = json.dumps(e.values, sort_keys=True, ensure_ascii=False) if e.values else ""
                rows.append(
                    [
                        *head,
                        e.policy_id,
                        e.resource_uid,
                        e.resource_name,
                        e.resource_type,
                        e.scope,
                        e.status,
                        e.severity,
                        e.message,
                        values,
                        e.collected_at,
                        e.waiver_id,
                        started,
                        digest,
                    ]
                )
        return write_csv(CSV_COLUMNS, rows)


class FrameworkHtmlReporter(Reporter):
    name = "html"
    filename = "compliance-{framework}.html"
    description = "Compliance export for one framework (self-contained, printable HTML)."

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        export, fs = build_export(scan, options)
        return (
            template_environment()
            .get_template("compliance.html.j2")
            .render(export=export, fs=fs, prov=export.provenance, max_evidence=MAX_HTML_EVIDENCE)
        )


FRAMEWORK_REPORTERS: dict[str, type[Reporter]] = {
    "json": FrameworkJsonReporter,
    "csv": FrameworkCsvReporter,
    "html": FrameworkHtmlReporter,
}


def framework_reporter(fmt: str) -> Reporter:
    """The compliance reporter for ``--format fmt`` (html, csv or json); InputError otherwise."""
    cls = FRAMEWORK_REPORTERS.get(fmt)
    if cls is None:
        raise InputError(
            f"--framework supports --format {', '.join(sorted(FRAMEWORK_REPORTERS))}, not {fmt!r}"
        )
    return cls()


def output_name(fmt: str, framework_id: str) -> str:
    """Default file name of a compliance export, e.g. ``compliance-soc2.html``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in framework_id)
    return framework_reporter(fmt).filename.format(framework=safe)
