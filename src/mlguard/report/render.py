"""What ``mlguard report`` and ``mlguard scan --format ... --output-dir`` call to write reports.

Outputs are all or nothing. :func:`write_reports` renders every requested format first, so a bad
format or framework name writes nothing; :func:`write_files` then writes each file to a temporary
beside its target and renames them all only when every one was written, so a full disk or an
unwritable directory leaves the previous set of reports intact and no temporary behind.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from mlguard.errors import InputError, OutputError
from mlguard.gc_pause import gc_paused
from mlguard.model import ScanResult
from mlguard.report.base import Content, Reporter, ReportOptions, reporters
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
    plan = [reporter_for(scan, fmt, options) for fmt in formats]
    with gc_paused():  # many small acyclic objects (elements, rows): see mlguard.gc_pause
        # The whole-file formats render here, before anything is written; the streamed ones
        # (results json, SARIF, CSV, JUnit, HTML, OCSF, ASFF) are written piece by piece into their
        # temporaries.
        rendered = [(output_dir / name, reporter.content(scan, options)) for reporter, name in plan]
        return write_files(rendered)


def reporter_for(scan: ScanResult, fmt: str, options: ReportOptions) -> tuple[Reporter, str]:
    """The reporter of ``--format fmt`` and its file name (the compliance export's with
    ``options.framework``); InputError naming the known formats otherwise."""
    if options.framework:
        fw = find_framework(scan, options.framework)
        return framework_reporter(fmt), output_name(fmt, fw.id)
    known = reporters()
    if fmt not in known:
        raise InputError(f"unknown --format {fmt!r}; choose from {', '.join(sorted(known))}")
    reporter = known[fmt]()
    return reporter, reporter.filename


def write_files(files: Sequence[tuple[Path, Content]]) -> list[Path]:
    """Write every file or none: temporaries first (same directory, so the rename is atomic), then
    rename them all. A file's content is its text or bytes, or an iterator of pieces (a streamed
    report), written as they come. On failure (or an error raised while a streamed report is
    produced) the temporaries are removed and the old files are left as they were; an OSError is
    :class:`OutputError` naming the path and the reason (exit 2)."""
    temps: list[tuple[Path, Path]] = []

    def remove_temps() -> None:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)

    def fail(path: Path, exc: OSError) -> OutputError:
        remove_temps()
        return OutputError(f"could not write the reports: {exc.strerror or exc}", file=str(path))

    for path, content in files:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            if path.is_dir():
                raise IsADirectoryError(21, "is a directory")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            temps.append((tmp, path))
            with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
                for piece in [content] if isinstance(content, str | bytes) else content:
                    fh.write(piece.encode("utf-8") if isinstance(piece, str) else piece)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise fail(path, exc) from None
        except BaseException:  # a streamed report that could not be produced: nothing is written
            remove_temps()
            raise
    for i, (tmp, path) in enumerate(temps):
        try:
            tmp.replace(path)
        except OSError as exc:
            temps = temps[i:]
            raise fail(path, exc) from None
    return [path for _, path in temps]
