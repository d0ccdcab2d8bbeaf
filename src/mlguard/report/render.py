"""What ``mlguard report`` and ``mlguard scan --format ... --output-dir`` call to write reports.

:func:`write_reports` renders every requested format first and writes only when all rendered, so
a bad format or framework name leaves no partial output behind.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlguard.errors import InputError
from mlguard.model import ScanResult
from mlguard.report.base import Reporter, ReportOptions, reporters
from mlguard.report.compliance import find_framework
from mlguard.report.framework_report import framework_reporter, output_name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_formats(value: str) -> list[str]:
    """``"sarif,html"`` -> ``["sarif", "html"]``; InputError naming the known formats otherwise."""
    known = reporters()
    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in known]
    if unknown or not formats:
        raise InputError(
            f"unknown --format {', '.join(unknown) or value!r}; choose from {', '.join(sorted(known))}"
        )
    return list(dict.fromkeys(formats))


def write_reports(
    scan: ScanResult, formats: list[str], output_dir: Path, options: ReportOptions | None = None
) -> list[Path]:
    """Render each format into ``output_dir`` under its documented file name; return the paths.

    With ``options.framework`` set, each format is the compliance export of that framework
    (html, csv or json; file ``compliance-<framework>.<ext>``).
    """
    options = options or ReportOptions()
    plan: list[tuple[Reporter, Path]] = []
    if options.framework:
        fw = find_framework(scan, options.framework)
        for fmt in formats:
            plan.append((framework_reporter(fmt), output_dir / output_name(fmt, fw.id)))
    else:
        known = reporters()
        for fmt in formats:
            if fmt not in known:
                raise InputError(f"unknown --format {fmt!r}; choose from {', '.join(sorted(known))}")
            reporter = known[fmt]()
            plan.append((reporter, output_dir / reporter.filename))
    rendered = [(path, reporter.render(scan, options)) for reporter, path in plan]
    written = []
    output_dir.mkdir(parents=True, exist_ok=True)
    for path, content in rendered:
        tmp = path.with_name(path.name + ".tmp")
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written
