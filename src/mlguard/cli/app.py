"""The ``mlguard`` group and the entry point: the commands of the modules of this package (and
the lazily imported ones of other packages) gathered under one group; every user error mapped to
its exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from mlguard import __version__
from mlguard.cli.context import State
from mlguard.cli.history import finalize_cmd
from mlguard.cli.output import LazyCommand, LazyGroup, install_global_options, print_error, settings
from mlguard.cli.policies import frameworks_cmd, policies_group
from mlguard.cli.scan import collect_cmd, evaluate_cmd, merge_cmd, report_cmd, scan_cmd
from mlguard.cli.schema import schema_cmd, types_cmd
from mlguard.errors import EXIT_BAD_INPUT, EXIT_OK, MlguardError
from mlguard.history.cli import history
from mlguard.report.console import terminal_safe

EXIT_INTERNAL = 5

# subcommands of their own modules, imported on use: `mlguard --help` imports no boto3,
# databricks-sdk, SQLAlchemy or jinja2 (tests/cli/test_startup.py)
LAZY_COMMANDS = {
    "graph": LazyCommand(
        "mlguard.graph.cli:graph_command",
        "Export the estate graph of a RESULTS file (or an inventory): data -> training -> models -> "
        "serving, each resource with its findings, each link with why it exists.",
    ),
    "iac": LazyCommand(
        "mlguard.iac.cli:iac_command",
        "Scan Terraform (HCL and plan JSON) and CloudFormation under PATH with checkov.",
    ),
}
LAZY_PERMISSIONS = {
    "aws": LazyCommand(
        "mlguard.collect.aws.commands:permissions_command",
        "Print the least-privilege IAM policy the AWS collector needs (derived from its API calls).",
    ),
    "databricks": LazyCommand(
        "mlguard.collect.databricks.commands:permissions_databricks",
        "The minimal workspace and account entitlements the Databricks scan needs, per resource "
        "type, the API calls it makes, and what is lost without admin.",
    ),
}


@click.group(
    cls=LazyGroup,
    lazy=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.version_option(__version__, prog_name="mlguard")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: ./mlguard.yaml if present).",
)
@click.pass_context
def cli(ctx: click.Context, /, config_path: Path | None) -> None:
    """Governance and compliance scanner for ML infrastructure on AWS and Databricks.

    \b
    mlguard scan --demo            scan the embedded demo estate (no cloud account needed)
    mlguard scan                   collect, evaluate and report in one go
    mlguard collect -o inv.json    inventory only
    mlguard evaluate inv.json      evaluate policies against a saved inventory
    mlguard report results.json    re-render a past scan in other formats
    """
    ctx.obj = State(config_path, settings(ctx), Console(), Console(stderr=True))
    if ctx.invoked_subcommand == "history":  # history reads the config's store: setting
        store = ctx.obj.config().config.store
        if store:
            ctx.meta["mlguard.store"] = (
                store if "://" in store else str(ctx.obj.config().config.resolve(store))
            )


# --------------------------------------------------------------------------- permissions


@click.group("permissions", cls=LazyGroup, lazy=LAZY_PERMISSIONS)
def permissions_group() -> None:
    """Print the least privilege the scanner needs, derived from what the collectors call."""


# --------------------------------------------------------------------------- entry point


for command in (collect_cmd, evaluate_cmd, scan_cmd, merge_cmd, report_cmd, policies_group):
    cli.add_command(command)
history.add_command(finalize_cmd)
cli.add_command(history)  # light: its commands import the store when they run
for command in (permissions_group, schema_cmd, types_cmd, frameworks_cmd):
    cli.add_command(command)
install_global_options(cli)  # last: every command above (and those added to it) accepts them


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps errors to exit codes; never a traceback for a user error."""
    try:
        code = cli.main(args=argv, prog_name="mlguard", standalone_mode=False)
    except MlguardError as exc:
        print_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code else EXIT_BAD_INPUT)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_OK)
    except Exception as exc:  # a bug in mlguard, not a user error
        if os.environ.get("MLGUARD_DEBUG"):
            raise
        Console(stderr=True).print(
            Text(
                f"mlguard: internal error: {type(exc).__name__}: {terminal_safe(exc)} "
                "(MLGUARD_DEBUG=1 shows the traceback)"
            ),
            highlight=False,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
