"""The canonical results.json."""

from __future__ import annotations

from mlguard.model import ScanResult
from mlguard.report.base import Reporter, ReportOptions, register


@register
class JsonReporter(Reporter):
    name = "json"
    filename = "results.json"
    description = "The canonical scan result (stable, schema-versioned; see `mlguard schema result`)."

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return scan.model_dump_json(indent=1, exclude_none=True) + "\n"
