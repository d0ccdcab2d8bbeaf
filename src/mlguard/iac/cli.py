"""``mlguard iac PATH``: scan Terraform and CloudFormation with checkov, write reports.

The main CLI adds this command with ``cli.add_command(iac_command)``. Exit codes as everywhere:
0 ok, 1 a FAIL at or above ``--fail-on``, 2 bad input or checkov missing, 3 checkov timed out (or
a file could not be parsed, with ``--fail-on-error``), 4 checkov crashed.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from mlguard.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, InputError, MlguardError
from mlguard.iac.runner import DEFAULT_TIMEOUT, ENV_CHECKOV_BIN
from mlguard.iac.scan import IacScan, build_scan_result, scan_iac, with_compliance
from mlguard.model import ScanResult, Severity, Status
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.formats.sarif import clean_category
from mlguard.report.render import write_reports

FAIL_ON_CHOICES = [s.value for s in Severity] + ["never"]
DEFAULT_FORMATS = ("json",)


def should_fail(scan: ScanResult, fail_on: str) -> bool:
    """True if an unwaived FAIL at or above ``fail_on`` exists (``never``: never)."""
    if fail_on == "never":
        return False
    threshold = Severity(fail_on).rank
    return any(r.status is Status.FAIL and r.severity.rank >= threshold for r in scan.results)


def parse_formats(raw: tuple[str, ...]) -> list[str]:
    """``--format`` values, repeated and/or comma-separated, checked before anything runs."""
    formats = list(dict.fromkeys(f.strip() for value in raw for f in value.split(",") if f.strip()))
    formats = formats or list(DEFAULT_FORMATS)
    available = set(reporters()) | {"console"}
    unknown = [f for f in formats if f not in available]
    if unknown:
        raise InputError(f"unknown --format {', '.join(unknown)}; available: {', '.join(sorted(available))}")
    return formats


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


def _print_console(result: ScanResult, fail_on: str) -> None:
    """The console summary, then one ``file:line: severity check: title (resource)`` line for each
    FAIL at or above ``--fail-on`` (what a pre-commit hook or an editor shows)."""
    from rich.console import Console

    from mlguard.report.console import print_summary, terminal_safe

    print_summary(result, Console())
    threshold = -1 if fail_on == "never" else Severity(fail_on).rank
    fails = [r for r in result.results if r.status is Status.FAIL and r.severity.rank >= threshold]
    for r in sorted(
        fails, key=lambda r: (r.source.file if r.source else "", r.source.start_line if r.source else 0)
    ):
        where = f"{r.source.file}:{r.source.start_line}: " if r.source else ""
        click.echo(terminal_safe(f"{where}{r.severity.value} {r.policy_id}: {r.title} ({r.resource_uid})"))


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
    help="Output formats, comma-separated or repeated (default: json); see `mlguard report --help`; "
    "`console` prints the summary and each FAIL as file:line (no file written).",
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
    default="high",
    show_default=True,
    help="Exit 1 when a FAIL of this severity or higher exists.",
)
@click.option(
    "--fail-on-error",
    is_flag=True,
    help="Exit 3 when a file could not be parsed (its resources were not checked).",
)
@click.option(
    "--skip-path",
    "skip_paths",
    multiple=True,
    help="Regular expression of paths checkov skips (repeatable), e.g. 'tests/.*/fixtures'.",
)
@click.option(
    "--sarif-category",
    help="GitHub code scanning category of the SARIF (default: mlguard/iac).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds before checkov is stopped (exit 3).",
)
def iac_command(
    *,
    path: Path,
    checkov_bin: Path | None,
    formats: tuple[str, ...],
    output_dir: Path,
    fail_on: str,
    fail_on_error: bool,
    skip_paths: tuple[str, ...],
    sarif_category: str | None,
    timeout: float,
) -> None:
    """Scan Terraform (HCL and plan JSON) and CloudFormation under PATH with checkov."""
    try:
        chosen = parse_formats(formats)
        iac = scan_iac(path, checkov_bin=checkov_bin, timeout=timeout, skip_paths=skip_paths)
        command = "mlguard " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "mlguard iac"
        iac = with_compliance(iac, load_policy_set([(builtin_policy_dir(), "builtin")]))
        result = build_scan_result(iac, command=command)
        try:
            category = None if sarif_category is None else clean_category(sarif_category)
        except ValueError as exc:
            raise InputError(f"--sarif-category: {exc}") from None
        options = ReportOptions(sarif_category=category)
        files = [f for f in chosen if f != "console"]
        written = write_reports(result, files, output_dir, options) if files else []  # render all, then write
    except MlguardError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        raise SystemExit(exc.exit_code) from None
    if "console" in chosen:
        _print_console(result, fail_on)
    click.echo(_summary_line(iac), err=True)
    for error in iac.errors:
        click.echo(f"warning: {error.message}", err=True)
    for file in written:
        click.echo(f"wrote {file}", err=True)
    # As for live scans: an incomplete scan cannot be trusted, so exit 3 wins over findings.
    if fail_on_error and iac.errors:
        raise SystemExit(EXIT_INCOMPLETE)
    raise SystemExit(EXIT_FINDINGS if should_fail(result, fail_on) else EXIT_OK)
