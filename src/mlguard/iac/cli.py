"""``mlguard iac PATH``: ``mlguard scan --iac PATH`` with IaC only (the pre-commit hook's and the
GitHub action's command).

One code path with ``scan`` (:func:`mlguard.cli.scan.run_scan`): the same report options
(``--format``, ``--output-dir``, ``--stdout``, ``--status``, ``--sarif-category``...), the same
gate (``--fail-on``, ``--fail-on-error``, waivers and baseline, from the flags or the config file),
the same results store and the same exit codes: 0 ok, 1 an unwaived FAIL at or above ``--fail-on``,
2 bad input or checkov missing, 3 checkov timed out (or a file could not be parsed, with
``--fail-on-error``), 4 checkov crashed. What differs: PATH is an argument, the default format is
``json``, ``--timeout`` bounds checkov (default: 600 s), and nothing live is collected or evaluated,
whatever providers the config names.
"""

from __future__ import annotations

from pathlib import Path

import click

from mlguard.cli.options import (
    CostFlags,
    GateOptions,
    OutputOptions,
    RecordFlags,
    ScopeOptions,
    Seconds,
    SelectionOptions,
    gate_options,
    output_options,
    record_flags,
)
from mlguard.cli.output import FormatsCommand, print_error
from mlguard.cli.scan import IacOptions, ScanRun, iac_flags, run_scan
from mlguard.errors import MlguardError
from mlguard.iac.runner import DEFAULT_TIMEOUT


@click.command("iac", cls=FormatsCommand)
@click.argument("iac_path", metavar="PATH", type=click.Path(path_type=Path))
@gate_options
@output_options("json")
@record_flags
@iac_flags(path_option=False)
@click.option(
    "--timeout",
    type=Seconds(min=1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds before checkov is stopped (exit 3).",
)
@click.pass_context
def iac_command(
    ctx: click.Context,
    /,
    gate: GateOptions,
    output: OutputOptions,
    record: RecordFlags,
    iac: IacOptions,
    timeout: float,
) -> None:
    """Scan Terraform (HCL and plan JSON) and CloudFormation under PATH with checkov."""
    run = ScanRun(
        scope=ScopeOptions(timeout=timeout),
        selection=SelectionOptions(),
        gate=gate,
        output=output,
        record=record,
        cost=CostFlags(),
        iac=iac,
        iac_only=True,
    )
    try:
        run_scan(ctx, run)
    except MlguardError as exc:  # as `mlguard` prints it, also when this command runs on its own
        print_error(exc)
        raise click.exceptions.Exit(exc.exit_code) from None
