"""CSV of every result, one row each, spreadsheet-safe.

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@`` or their
full-width forms, or with whitespace such as a tab or carriage return) are prefixed with ``'``:
resource names and tags come from the cloud, not from us.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence

from mlguard.model import Result, ScanResult
from mlguard.report.base import Reporter, ReportOptions, joined, register

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
        yield from csv_chunks(COLUMNS, (result_row(r) for r in scan.results))

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return joined(self.chunks(scan, options))
