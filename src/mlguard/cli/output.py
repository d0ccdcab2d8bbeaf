"""What the CLI writes where, so that it behaves in a pipeline.

- Global options (``-q``, ``-v``, ``--log-level``) are accepted before or after the subcommand.
- Progress goes to stderr (:mod:`mlguard.cli.progress`).
- ``--stdout FORMAT`` writes one report to stdout, for any format of the reporter registry;
  everything else (console summary, notes) then goes to stderr.
- ``--status`` lists only some results in the reports (the totals still cover every result).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from rich.console import Console

from mlguard.collect.secrets import mask_text
from mlguard.errors import MlguardError
from mlguard.model import ScanResult, Status
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.sanitize import terminal_safe

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("mlguard")

# --------------------------------------------------------------------------- global options

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
# Libraries whose debug log prints request and response bodies (credentials, secret values): they
# are never shown below INFO, whatever --log-level says.
CHATTY_LIBRARIES = ("botocore", "boto3", "urllib3", "s3transfer", "databricks", "requests")


@dataclass
class OutputSettings:
    """The global output options, wherever they were given on the command line."""

    quiet: bool = False
    verbose: int = 0
    log_level: str | None = None


def settings(ctx: click.Context) -> OutputSettings:
    root = ctx.find_root()
    found = root.meta.get("mlguard.output")
    if not isinstance(found, OutputSettings):
        found = OutputSettings()
        root.meta["mlguard.output"] = found
    return found


def _conflict(ctx: click.Context, out: OutputSettings) -> None:
    if out.quiet and out.verbose:
        raise click.UsageError("-q/--quiet and -v/--verbose cannot be used together", ctx)


def _set_quiet(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value:
        out = settings(ctx)
        out.quiet = True
        _conflict(ctx, out)


def _set_verbose(ctx: click.Context, _: click.Parameter, value: int) -> None:
    if value:
        out = settings(ctx)
        out.verbose += value
        _conflict(ctx, out)


def _set_log_level(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value:
        settings(ctx).log_level = value
        configure_logging(value)


class _MaskSecrets(logging.Filter):
    """Every log line passes the collectors' secret scrub and the terminal sanitiser."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = terminal_safe(mask_text(record.getMessage()))
        record.args = None
        return True


def configure_logging(level: str) -> None:
    """Log records of ``level`` and above to stderr (libraries' debug logs excepted, see
    :data:`CHATTY_LIBRARIES`)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_mlguard", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._mlguard = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("mlguard: %(levelname)s: %(name)s: %(message)s"))
    handler.addFilter(_MaskSecrets())
    numeric = getattr(logging, level.upper())
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(max(numeric, logging.INFO))


def global_params() -> list[click.Parameter]:
    """Fresh parameter objects for one command (click parameters are not shared)."""
    return [
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_set_quiet,
            help="No progress, no console summary, no 'wrote ...' lines (warnings and errors stay).",
        ),
        click.Option(
            ["-v", "--verbose"],
            count=True,
            expose_value=False,
            callback=_set_verbose,
            help="Per-family API calls, retries and timings while collecting, and totals by family.",
        ),
        click.Option(
            ["--log-level"],
            type=click.Choice(LOG_LEVELS, case_sensitive=False),
            expose_value=False,
            callback=_set_log_level,
            help="Log to stderr from this level (secrets masked; libraries never below info).",
        ),
    ]


def install_global_options(group: click.Group, root: bool = True) -> None:
    """The global options on ``group`` and, so that they are accepted after a subcommand too
    (``mlguard scan -q`` as well as ``mlguard -q scan``), on every command under it."""
    if root:
        group.params.extend(global_params())
    for command in group.commands.values():
        _add_global_options(command)


def _add_global_options(command: click.Command) -> None:
    names = {opt for p in command.params for opt in getattr(p, "opts", [])}
    command.params.extend(p for p in global_params() if not names.intersection(p.opts))
    if isinstance(command, click.Group):
        install_global_options(command, root=False)


@dataclass(frozen=True)
class LazyCommand:
    """A subcommand imported only when it runs or its own help is asked: ``target`` is
    ``module:attribute``; ``help`` is its docstring's first paragraph, for the group's command
    list (tests check that it is the command's own)."""

    target: str
    help: str


class LazyGroup(click.Group):
    """A group whose heavy subcommands (boto3, databricks-sdk, SQLAlchemy...) are imported on
    use, so that ``mlguard --help`` stays fast (the lazy loading of click's documentation)."""

    def __init__(self, *args: Any, lazy: dict[str, LazyCommand] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, LazyCommand] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            return self.load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def load(self, cmd_name: str) -> click.Command:
        """Import a lazy subcommand, give it the global options and keep it."""
        module_name, attr = self.lazy[cmd_name].target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[cmd_name].target} is not a click command")
        _add_global_options(command)
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but a lazy subcommand's short help comes from :attr:`lazy`, unimported."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if name in self.lazy and name not in self.commands:
                rows.append((name, click.Command(name, help=self.lazy[name].help)))
            elif (cmd := self.commands.get(name)) is not None and not cmd.hidden:
                rows.append((name, cmd))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])


# --------------------------------------------------------------------------- reports on stdout


def format_names() -> list[str]:
    return sorted(reporters())


def check_stdout_format(value: str | None, framework: str | None = None) -> str | None:
    """``--stdout FORMAT``: a file format of the reporter registry (or of the compliance export
    with ``--framework``)."""
    if value is None:
        return None
    fmt = value.strip().lower()
    if framework:
        from mlguard.report.framework_report import FRAMEWORK_REPORTERS

        known = sorted(FRAMEWORK_REPORTERS)
    else:
        known = format_names()
    if fmt not in known:
        raise click.BadParameter(
            f"unknown format {value!r} (known: {', '.join(known)})", param_hint="--stdout"
        )
    return fmt


def stdout_option(f: F) -> F:
    return click.option(
        "--stdout",
        "stdout_format",
        metavar="FORMAT",
        help="Write this report format to stdout (e.g. `--stdout sarif | jq`); nothing else goes to "
        "stdout. Without --format no file is written.",
    )(f)


def render_stdout(scan: ScanResult, fmt: str, options: ReportOptions) -> bytes:
    """One report for stdout, rendered before anything is written (a failure writes nothing)."""
    from mlguard.report.render import reporter_for

    reporter, _ = reporter_for(scan, fmt, options)
    data = reporter.render(scan, options)
    return data.encode("utf-8") if isinstance(data, str) else data


def emit_stdout(data: bytes) -> None:
    click.echo(data, nl=False)  # bytes: written to stdout's binary buffer as they are


# --------------------------------------------------------------------------- --status


def status_option(f: F) -> F:
    return click.option(
        "--status",
        "statuses",
        multiple=True,
        metavar="STATUS[,STATUS]",
        help="List only results of these statuses in the reports (FAIL, ERROR, WAIVED, PASS, SKIP); "
        "totals still cover every result and each report says it was filtered.",
    )(f)


def parse_statuses(raw: tuple[str, ...]) -> list[Status] | None:
    names = [v.strip().upper() for item in raw for v in item.split(",") if v.strip()]
    if not names:
        return None
    known = [s.value for s in Status]
    bad = [n for n in names if n not in known]
    if bad:
        raise click.BadParameter(
            f"unknown status {', '.join(bad)} (known: {', '.join(known)})", param_hint="--status"
        )
    return [Status(n) for n in dict.fromkeys(names)]


def filtered(scan: ScanResult, statuses: list[Status] | None) -> ScanResult:
    return scan if statuses is None else scan.only(statuses)


# --------------------------------------------------------------------------- help


class FormatsCommand(click.Command):
    """A command whose --help ends with the report formats of the registry (so a format another
    module registers is listed without touching the CLI)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        rows = [(name, f"{cls.filename}: {cls.description}") for name, cls in sorted(reporters().items())]
        rows.append(("console", "terminal: summary by severity, top failing policies and resources"))
        with formatter.section("Formats (--format, --stdout)"):
            formatter.write_dl(rows)


# --------------------------------------------------------------------------- errors


def print_error(exc: MlguardError) -> None:
    """A user error as one line on stderr: ``mlguard: error: ...`` (its exit code is the caller's)."""
    from rich.text import Text

    Console(stderr=True).print(
        Text.assemble(("mlguard: error: ", "bold red"), terminal_safe(exc.render())),
        highlight=False,
        soft_wrap=True,
    )
