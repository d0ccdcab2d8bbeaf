"""``mlguard iac PATH``: scan Terraform and CloudFormation with checkov, write reports.

The lead's main CLI adds this command with ``main.add_command(iac_command)``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from mlguard.errors import EXIT_FINDINGS, EXIT_OK, InputError, MlguardError
from mlguard.iac.runner import DEFAULT_TIMEOUT, ENV_CHECKOV_BIN
from mlguard.iac.scan import IacScan, build_scan_result, scan_iac
from mlguard.model import ScanResult, Severity, Status
from mlguard.report.base import ReportOptions, reporters

FAIL_ON_CHOICES = [s.value for s in Severity] + ["none"]


def should_fail(scan: ScanResult, fail_on: str) -> bool:
    """True if an unwaived FAIL at or above ``fail_on`` exists (``none``: never)."""
    if fail_on == "none":
        return False
    threshold = Severity(fail_on).rank
    return any(r.status is Status.FAIL and r.severity.rank >= threshold for r in scan.results)


def check_formats(formats: tuple[str, ...]) -> None:
    """Reject an unknown --format before anything runs."""
    available = reporters()
    unknown = [f for f in formats if f not in available]
    if unknown:
        raise InputError(f"unknown --format {', '.join(unknown)}; available: {', '.join(sorted(available))}")


def write_reports(scan: ScanResult, formats: tuple[str, ...], output_dir: Path) -> list[Path]:
    check_formats(formats)
    available = reporters()
    written = []
    for name in dict.fromkeys(formats):
        reporter = available[name]()
        written.append(reporter.write(scan, output_dir / reporter.filename, ReportOptions()))
    return written


def _summary_line(iac: IacScan) -> str:
    counts = dict.fromkeys((Status.FAIL, Status.PASS, Status.SKIP), 0)
    for r in iac.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    files = len({r.source.file for r in iac.results if r.source})
    return (
        f"iac: {len(iac.results)} results on {iac.resources} resources in {files} files "
        f"({counts[Status.FAIL]} FAIL, {counts[Status.PASS]} PASS, {counts[Status.SKIP]} SKIP), "
        f"{len(iac.errors)} unparsed files; "
        f"checkov {iac.checkov_version or '?'} took {iac.duration_seconds:.1f} s"
    )


@click.command("iac")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--checkov-bin",
    type=click.Path(path_type=Path),
    default=None,
    help=f"checkov executable (default: ${ENV_CHECKOV_BIN}, then checkov on PATH).",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    default=("json",),
    show_default=True,
    help="Report format; repeat for several (json, sarif, html... as installed).",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("mlguard-out"),
    show_default=True,
    help="Directory the reports are written to.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    default="low",
    show_default=True,
    help="Exit 1 when a FAIL at or above this severity is found.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds before checkov is stopped (exit 3).",
)
def iac_command(  # noqa: PLR0917  (click passes every option positionally by name)
    path: Path,
    checkov_bin: Path | None,
    formats: tuple[str, ...],
    output_dir: Path,
    fail_on: str,
    timeout: float,
) -> None:
    """Scan Terraform (HCL and plan JSON) and CloudFormation under PATH with checkov."""
    try:
        check_formats(formats)
        iac = scan_iac(path, checkov_bin=checkov_bin, timeout=timeout)
        command = "mlguard " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "mlguard iac"
        result = build_scan_result(iac, command=command)
        written = write_reports(result, formats, output_dir)
    except MlguardError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        raise SystemExit(exc.exit_code) from None
    click.echo(_summary_line(iac), err=True)
    for error in iac.errors:
        click.echo(f"warning: {error.message}", err=True)
    for file in written:
        click.echo(f"wrote {file}", err=True)
    raise SystemExit(EXIT_FINDINGS if should_fail(result, fail_on) else EXIT_OK)
