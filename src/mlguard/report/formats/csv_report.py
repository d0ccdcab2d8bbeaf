"""CSV of every result, one row each, spreadsheet-safe.

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@`` or their
full-width forms, or with whitespace such as a tab or carriage return) are prefixed with ``'``:
resource names and tags come from the cloud, not from us.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from mlguard.model import Result, ScanResult
from mlguard.report.base import PerObject, Reporter, ReportOptions, joined, json_dumper, register

COLUMNS = (
    "status",
    "severity",
    "category",
    "provider",
    "account",
    "region",
    "workspace",
    "resource_type",
    "resource_uid",
    "resource_name",
    "policy_id",
    "title",
    "message",
    "evidence",
    "collected_at",
    "compliance",
    "waiver_id",
    "waiver_owner",
    "waiver_expires",
    "waiver_reason",
    "source_file",
    "source_line",
    "baseline",
    "fingerprint",
)
_FORMULA = "=+-@\uff1d\uff0b\uff0d\uff20"  # and their full-width forms, which spreadsheets also run


def safe_cell(value: object) -> str:
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    # "  =cmd" and "\t=cmd" run too: any leading whitespace (a tab or CR alone too) is prefixed, so
    # the first character decides (every formula lead is one character).
    if text and (text[0].isspace() or text[0] in _FORMULA):
        return "'" + text
    return text


def safe_cells(row: Sequence[object]) -> list[str]:
    """``[safe_cell(v) for v in row]``, with a plain text (most cells) checked in place."""
    return [
        v if type(v) is str and not (v and (v[0] in _FORMULA or v[0].isspace())) else safe_cell(v)
        for v in row
    ]


def result_row(r: Result) -> list[object]:
    w = r.waiver
    return [
        r.status.value,
        r.severity.value,
        r.category.value,
        r.provider,
        r.account,
        r.region,
        r.workspace,
        r.resource_type,
        r.resource_uid,
        r.resource_name,
        r.policy_id,
        r.title,
        r.message,
        json.dumps(r.evidence.values, sort_keys=True, ensure_ascii=False) if r.evidence.values else "",
        r.evidence.collected_at,
        ";".join(r.compliance),
        w.id if w else None,
        w.owner if w else None,
        w.expires if w else None,
        w.reason if w else None,
        r.source.file if r.source else None,
        r.source.start_line if r.source else None,
        r.baseline,
        r.fingerprint,
    ]


# What ``csv.writer`` (QUOTE_MINIMAL, lineterminator "\r\n") quotes a field for: the delimiter, the
# quote character (doubled inside) and a character of the line terminator.
_QUOTED = re.compile('[,"\r\n]')
# A text that is its own field: no formula lead or whitespace first (``\s`` is ``str.isspace``, the
# test of ``safe_cell``), nothing to quote.
_PLAIN = re.compile(f'(?![{re.escape(_FORMULA)}\\s])[^,"\r\n]*\\Z')


def csv_field(value: object) -> str:
    """``safe_cell(value)`` as ``csv.writer`` writes it in a row of :func:`csv_chunks`."""
    if type(value) is str and _PLAIN.match(value):
        return value
    text = safe_cell(value)
    if _QUOTED.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def result_lines(results: Iterable[Result], batch: int = 2000) -> Iterator[str]:
    """The CSV rows of :func:`result_row` (the text ``csv_chunks`` writes for them, without the
    header) in pieces of ``batch`` rows, each line built from fields written once per distinct
    value where a column has few: the status to resource type, the policy and message, the
    compliance list (a result's own values, such as its uid, are checked one by one)."""
    dumps = json_dumper(sort_keys=True, ensure_ascii=False)
    evidence: PerObject[dict[str, Any]] = PerObject(
        lambda values: csv_field(dumps(values))
    )  # shared by a policy's results
    heads: dict[tuple[Any, ...], str] = {}  # status ... resource_type
    middles: dict[tuple[str, str, str], str] = {}  # policy_id, title, message
    fields: dict[str, str] = {}  # collected_at, compliance, baseline (few values each)
    field = csv_field
    lines: list[str] = []
    for r in results:
        key: tuple[Any, ...] = (r.status, r.severity, r.category, r.provider, r.account, r.region)
        key += (r.workspace, r.resource_type)
        head = heads.get(key)
        if head is None:  # a str enum is its value as a field (str() of it)
            head = heads[key] = ",".join(map(field, key))
        mkey = (r.policy_id, r.title, r.message)
        middle = middles.get(mkey)
        if middle is None:
            if len(middles) > 10_000:  # messages that differ by result: keep the cache small
                middles.clear()
            middle = middles[mkey] = ",".join(map(field, mkey))
        ev = r.evidence
        values = ev.values
        compliance = ";".join(r.compliance)
        rest = fields.get(compliance)
        if rest is None:
            if len(fields) > 10_000:
                fields.clear()
            rest = fields[compliance] = field(compliance)
        w = r.waiver
        src = r.source
        lines.append(
            ",".join(
                (
                    head,
                    field(r.resource_uid),
                    field(r.resource_name),
                    middle,
                    evidence(values) if values else "",
                    "" if ev.collected_at is None else field(ev.collected_at),
                    rest,
                    ",,," if w is None else ",".join(map(field, (w.id, w.owner, w.expires, w.reason))),
                    "," if src is None else f"{field(src.file)},{field(src.start_line)}",
                    "" if r.baseline is None else field(r.baseline),
                    field(r.fingerprint),
                )
            )
        )
        if len(lines) == batch:
            lines.append("")
            yield "\r\n".join(lines)
            lines.clear()
    if lines:
        lines.append("")
        yield "\r\n".join(lines)


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]], batch: int = 2000) -> Iterator[str]:
    """The CSV text in pieces of ``batch`` rows (the header first)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow(safe_cells(row))
        pending += 1
        if pending == batch:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
            pending = 0
    yield buf.getvalue()


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    return "".join(csv_chunks(header, rows))


@register
class CsvReporter(Reporter):
    name = "csv"
    filename = "results.csv"
    description = "CSV of every result (one row per policy x resource; formula-safe)."
    streams = True

    def chunks(self, scan: ScanResult, options: ReportOptions) -> Iterator[str | bytes]:
        yield from csv_chunks(COLUMNS, ())  # the header
        yield from result_lines(scan.results)

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return joined(self.chunks(scan, options))
