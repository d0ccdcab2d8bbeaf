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
import secrets
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import jinja2
import orjson

from mlguard.cost.render import fleet_html_context
from mlguard.cost.render import html_context as cost_html_context
from mlguard.model import CollectionError, Evidence, Result, ScanResult, Severity, Status, Summary
from mlguard.report.base import (
    PerObject,
    Reporter,
    ReportOptions,
    joined,
    json_array_chunks,
    json_dumper,
    register,
)
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
    """Distinct values (by their JSON text) in first-seen order, each given its index; with
    ``keep_origin``, what is kept of each is the ``origin`` given with it (a result's index, from
    which the value is built again when dumped) rather than the value."""

    def __init__(self, keep_origin: bool = False) -> None:
        self.values: list[Any] = []
        self.keep_origin = keep_origin
        self._index: dict[str, int] = {}

    def __call__(self, value: Any, origin: int = -1) -> int:
        key = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.values)
            self.values.append(origin if self.keep_origin else value)
        return found

    def done(self) -> None:
        """Every value is in: the lookup (a text per distinct value) is no longer needed."""
        self._index = {}


def _scope(r: Result) -> str:
    return r.account or r.workspace or ""


ROW_BATCH = 2000  # rows per piece of the streamed data block
_INTERNED = ("status", "severity", "category", "provider", "scope", "region", "type", "policy")


class _Payload:
    """The data block, built in two passes over the results: the first interns every table value
    (the tables come before the rows in the block, in first-seen order) and keeps each row's table
    indices in one flat int array; the second builds the rows, a batch at a time, from them."""

    def __init__(self, scan: ScanResult) -> None:
        self.scan = scan
        self.tables = {name: _Interner() for name in _INTERNED}
        self.messages = _Interner()
        self.evidence = _Interner(keep_origin=True)  # each result's evidence is built when dumped
        self.waivers = _Interner()
        self.compliance = _Interner()
        self.indices = array("q")  # per row: the 8 tables, message, evidence, waiver, compliance
        interners = [self.tables[name] for name in _INTERNED]
        seen: dict[tuple[str, ...], tuple[int, ...]] = {}
        # The message and evidence tables take a value per result: looked up here, not through
        # a call of their interner each (the same first-seen order and keys).
        messages, message_index = self.messages.values, self.messages._index
        evidence, evidence_index = self.evidence.values, self.evidence._index
        evidence_key = json_dumper(sort_keys=True)  # the _Interner's key of a non-text value
        # A policy's equal evidence is one object (see the evaluator): its key is made once.
        shared_key: PerObject[Evidence] = PerObject(
            lambda e: evidence_key(ev) if (ev := _of_evidence(e)) else ""
        )
        extend = self.indices.extend
        compliance = self.compliance
        # A policy's results share their compliance list: each distinct list is joined once.
        compliance_index: dict[tuple[str, ...], int] = {}
        for i, r in enumerate(scan.results):
            # str enums: equal to their values (and hashed alike), so the same keys as the values
            keys = (
                r.status,
                r.severity,
                r.category,
                r.provider,
                r.account or r.workspace or "",  # _scope
                r.region or "",
                r.resource_type,
                r.policy_id,
            )
            # Few distinct combinations (a policy's results share all but the scope): each one's
            # indices are looked up once. A value is first seen with a combination not seen
            # before, so the tables keep their first-seen order.
            ix = seen.get(keys)
            if ix is None:
                values = (r.status.value, r.severity.value, r.category.value, *keys[3:])
                ix = seen[keys] = tuple(intern(key) for intern, key in zip(interners, values, strict=True))
            m = message_index.get(r.message)
            if m is None:
                m = message_index[r.message] = len(messages)
                messages.append(r.message)
            if r.cost is None:
                key = shared_key(r.evidence)
            else:
                ev = _evidence(r)
                key = evidence_key(ev) if ev else ""
            if key:
                e = evidence_index.get(key)
                if e is None:
                    e = evidence_index[key] = len(evidence)
                    evidence.append(i)
            else:
                e = -1
            if r.compliance:
                listed = tuple(r.compliance)
                c = compliance_index.get(listed)
                if c is None:
                    c = compliance_index[listed] = compliance(" ".join(sorted(listed)))
            else:
                c = -1
            extend((*ix, m, e, self.waivers(r.waiver.model_dump(exclude_none=True)) if r.waiver else -1, c))
        for interner in (*interners, self.messages, self.evidence, self.waivers, self.compliance):
            interner.done()

    def head(self) -> dict[str, Any]:
        """Everything but the rows (``rows`` is empty), in the block's key order; ``evidence`` is
        an iterator (each value built as it is dumped)."""
        scan = self.scan
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
            "tables": {name: t.values for name, t in self.tables.items()},
            "messages": self.messages.values,
            "evidence": (_evidence(scan.results[i]) for i in self.evidence.values),
            "waivers": self.waivers.values,
            "compliance": self.compliance.values,
            "requirements": requirements,
            "policies": policies,
            "rows": [],
        }

    def rows(self, start: int, stop: int) -> list[list[Any]]:
        """The rows of results ``start`` to ``stop`` (a slice of the results)."""
        out: list[list[Any]] = []
        width = len(_INTERNED) + 4
        tables, last = len(_INTERNED), width - 1
        flat = self.indices[start * width : stop * width].tolist()  # ints: sliced as a list, once
        for k, r in zip(range(0, len(flat), width), self.scan.results[start:stop], strict=True):
            row: list[Any] = flat[k : k + tables]
            row += (r.resource_uid, r.resource_name or "")
            row += flat[k + tables : k + last]
            src = r.source
            row += (f"{src.file}:{src.start_line}" if src else "", flat[k + last], r.fingerprint)
            out.append(row)
        return out


def _of_evidence(evidence: Evidence) -> dict[str, Any]:
    ev: dict[str, Any] = {}
    if evidence.values:
        ev["values"] = evidence.values
    if evidence.collected_at:
        ev["collected_at"] = evidence.collected_at
    if evidence.related:
        ev["related"] = evidence.related
    return ev


def _evidence(r: Result) -> dict[str, Any]:
    ev = _of_evidence(r.evidence)
    if r.cost is not None:  # the finding's waste with its assumptions, in the details view
        ev["cost"] = r.cost.model_dump(exclude_none=True, mode="json")
    return ev


def payload(scan: ScanResult) -> dict[str, Any]:
    """The compact, JSON-ready data the page's script renders the tables from (whole)."""
    built = _Payload(scan)
    head = built.head()
    return {**head, "evidence": list(head["evidence"]), "rows": built.rows(0, len(scan.results))}


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _dumps_plain(data: Any) -> str:
    """``_dumps(data)`` for data of ints, texts, bools, lists and dicts with text or int keys, and
    no float (the rows, the estate map): orjson writes the same text for these (the same escapes,
    ``str`` of an int key), five times faster; what it refuses (a lone surrogate in a text, an int
    beyond 64 bits) is written by ``json``."""
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return _dumps(data)


def _escape(text: str) -> str:
    # No "</script>", "<!--" or entity can appear inside the element; JSON.parse reads \u escapes.
    # Each character is replaced on its own, so escaping pieces is escaping their concatenation.
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _embed(data: dict[str, Any]) -> str:
    return _escape(_dumps(data))


# The tables that may hold a value per result: dumped a batch at a time.
_LARGE_TABLES = ("messages", "evidence")


def embed_chunks(scan: ScanResult) -> Iterator[str]:
    """``_embed(payload(scan))`` in pieces: the small tables whole, the large ones (messages,
    evidence) and the rows a batch at a time, so neither the block nor a table is held as text."""
    built = _Payload(scan)
    head = built.head()
    assert list(head)[-1] == "rows"
    yield "{"
    for n, (key, value) in enumerate(head.items()):
        prefix = ("," if n else "") + _dumps(key) + ":"
        if key == "rows":
            yield prefix + "["
        elif key not in _LARGE_TABLES:
            yield _escape(prefix + _dumps(value))
        else:  # compact JSON of a list: the same text in batches
            yield _escape(prefix)
            for piece in json_array_chunks(value, batch=ROW_BATCH):
                yield _escape(piece)
    for start in range(0, len(scan.results), ROW_BATCH):
        rows = _dumps_plain(built.rows(start, start + ROW_BATCH))  # ints and texts
        yield ("," if start else "") + _escape(rows[1:-1])
        del rows
    yield "]}"


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
    """The summary recounted from the results (``Summary.of``, with the scan's own figures)."""
    return Summary.of(
        scan.results,
        resources=scan.summary.resources,
        policies_run=scan.summary.policies_run,
        errors=len(scan.errors),
    )


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


def html_chunks(
    scan: ScanResult,
    frameworks: list[FrameworkStatus],
    title: str,
    template: str,
    history: dict[str, Any] | None = None,
    estate_map: dict[str, Any] | None = None,
) -> Iterator[str]:
    """Render ``template`` in pieces; ``history`` is :func:`history_context` of the run's history,
    if any; ``estate_map`` is :func:`~mlguard.report.estate_map.map_payload` of the scan, if drawn.

    The page is rendered around a placeholder for the results' data block (a fresh random token,
    so no value in the page can imitate it), then the block is streamed into its place a batch of
    rows at a time (:func:`embed_chunks`): the block is never held whole, as a string or a dict."""
    # Recount from the results: the page must agree with results.json even if a summary is stale.
    # A filtered scan (--status) lists some results only: its totals are the summary's.
    summary = scan.summary if scan.filter else recount(scan)
    by_status = {st: summary.by_status.get(st, 0) for st in STATUS_ORDER}
    placeholder = f"mlguard-data-{secrets.token_hex(16)}"
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
        "data": placeholder,
        "script": (files("mlguard.report") / "templates" / "report.js").read_text("utf-8"),
        "estate": _escape(_dumps_plain(estate_map)) if estate_map else None,  # no float in it
        "estate_script": (files("mlguard.report") / "templates" / "estate_map.js").read_text("utf-8")
        if estate_map
        else "",
    }
    page = template_environment().get_template(template).render(**context)
    head, sep, tail = page.partition(placeholder)
    if not sep or placeholder in tail:
        raise ValueError(f"template {template} must place the results' data block exactly once")
    del page
    yield head
    yield from embed_chunks(scan)
    yield tail


def render_html(
    scan: ScanResult,
    frameworks: list[FrameworkStatus],
    title: str,
    template: str,
    history: dict[str, Any] | None = None,
    estate_map: dict[str, Any] | None = None,
) -> str:
    """:func:`html_chunks` as one string."""
    return joined(html_chunks(scan, frameworks, title, template, history, estate_map))


@register
class HtmlReporter(Reporter):
    name = "html"
    filename = "report.html"
    description = "Self-contained HTML report (works offline): summary, charts, frameworks, findings."
    streams = True

    def chunks(self, scan: ScanResult, options: ReportOptions) -> Iterator[str | bytes]:
        yield from html_chunks(
            scan,
            all_frameworks(scan),
            "mlguard scan report",
            "report.html.j2",
            history_context(options.history, scan),
            map_payload(scan),
        )

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return joined(self.chunks(scan, options))
