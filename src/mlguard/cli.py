"""The ``mlguard`` command line. A thin layer over :mod:`mlguard.pipeline`.

Every user error is an :class:`~mlguard.errors.MlguardError` (or a click usage error), printed as
one clean line with its exit code; see the README for the table of exit codes.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.text import Text

from mlguard import __version__
from mlguard.catalogue import CATALOGUE
from mlguard.cli_output import (
    FormatsCommand,
    LazyCommand,
    LazyGroup,
    OutputSettings,
    check_stdout_format,
    emit_stdout,
    filtered,
    install_global_options,
    parse_statuses,
    progress,
    render_stdout,
    settings,
    status_option,
    stdout_option,
)
from mlguard.collect.base import Progress, providers
from mlguard.collect.shard import Shard, parse_shard
from mlguard.cost.cli import cost_options, cost_run
from mlguard.cost.pricing import pricing_schema
from mlguard.errors import (
    EXIT_BAD_INPUT,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_SETUP,
    InputError,
    MlguardError,
    OutputError,
    PolicyError,
)
from mlguard.history.cli import history, record_options, recording, store_option
from mlguard.model import (
    Inventory,
    Provenance,
    ScanResult,
    Severity,
    Status,
    incomplete_note,
    iso,
    utcnow,
)
from mlguard.pipeline import (
    Collected,
    LoadedConfig,
    Selection,
    collect,
    config_schema,
    evaluate,
    exit_code,
    load_config,
    load_inventory,
    load_policies,
    load_results,
    load_waivers,
    nothing_collected,
    select_policies,
    waivers_schema,
)
from mlguard.policy.loader import Policy, PolicySet, builtin_policy_dir, load_policy_set
from mlguard.policy.schema import framework_schema, policy_schema
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.console import escape, print_summary, terminal_safe

if TYPE_CHECKING:
    from mlguard.history.store import Store
    from mlguard.merge import Merged

F = TypeVar("F", bound=Callable[..., Any])
EXIT_INTERNAL = 5


@dataclass
class State:
    config_path: Path | None
    out: OutputSettings  # -q, -v, --log-level: given before or after the subcommand
    console: Console
    err: Console

    @property
    def quiet(self) -> bool:
        return self.out.quiet

    def config(self) -> LoadedConfig:
        return load_config(self.config_path)


def _state(ctx: click.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


# --------------------------------------------------------------------------- shared options


def _stack(f: F, options: Sequence[Callable[[Any], Any]]) -> F:
    """Apply click option decorators in reading order (the first listed shows first in --help)."""
    for option in reversed(options):
        f = option(f)
    return f


def selection_options(f: F) -> F:
    opts = [
        click.option(
            "--policy",
            "include",
            multiple=True,
            help="Policy id or glob to run (repeatable, comma-separated).",
        ),
        click.option("--exclude-policy", "exclude", multiple=True, help="Policy id or glob to skip."),
        click.option(
            "--severity",
            "severities",
            multiple=True,
            help="Only policies of these severities (critical, high, medium, low, info).",
        ),
        click.option(
            "--category",
            "categories",
            multiple=True,
            help="Only these categories (security, cost, monitoring, ...).",
        ),
        click.option(
            "--framework", "frameworks", multiple=True, help="Only policies mapped to this framework id."
        ),
        click.option(
            "--resource-type", "resource_types", multiple=True, help="Only policies on these types (globs)."
        ),
        click.option(
            "--policies",
            "policy_dirs",
            multiple=True,
            type=click.Path(path_type=Path, file_okay=False),
            help="Extra policy directory (repeatable).",
        ),
        click.option("--no-builtin", is_flag=True, help="Do not load the built-in policy pack."),
    ]
    return _stack(f, opts)


def gate_options(f: F) -> F:
    opts = [
        click.option(
            "--fail-on",
            type=click.Choice([s.value for s in Severity] + ["never"]),
            default=None,
            help="Exit 1 when an unwaived FAIL of this severity or higher exists (default: high).",
        ),
        click.option(
            "--fail-on-error",
            is_flag=True,
            default=None,
            help="Exit 3 when collection was incomplete (errors recorded).",
        ),
        click.option("--waivers", type=click.Path(path_type=Path, dir_okay=False), help="Waivers YAML file."),
        click.option(
            "--baseline",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Earlier results.json: mark FAILs new or existing, list fixed ones.",
        ),
    ]
    return _stack(f, opts)


def output_options(default_formats: str) -> Callable[[F], F]:
    def deco(f: F) -> F:
        opts = [
            click.option(
                "--format",
                "formats",
                multiple=True,
                help=f"Output formats, comma-separated (default: {default_formats}). "
                "Run `mlguard report --help` for the list.",
            ),
            click.option(
                "--output-dir",
                type=click.Path(path_type=Path, file_okay=False),
                help="Where report files are written (default: ./mlguard-out).",
            ),
            click.option(
                "--sarif-category",
                callback=_sarif_category,
                help="GitHub code scanning category of the SARIF (default: one per provider and scope, "
                "e.g. mlguard/aws/<account>; with several providers: <category>/<provider>).",
            ),
            click.option(
                "--asff-region",
                envvar="MLGUARD_ASFF_REGION",
                help="asff: the Security Hub region the findings are imported into "
                "(default: the scan's region when it has exactly one).",
            ),
            click.option(
                "--asff-account",
                envvar="MLGUARD_ASFF_ACCOUNT",
                help="asff: the AWS account that files results without an AWS account of their own "
                "(Databricks, IaC); required when there are any.",
            ),
            stdout_option,
            status_option,
        ]
        return _stack(f, opts)

    return deco


def _sarif_category(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from mlguard.report.formats.sarif import clean_category

    try:
        return None if value is None else clean_category(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


shard_option = click.option(
    "--shard",
    "shard_spec",
    metavar="K/N|auto/N",
    help="Collect only shard K of N (0-based; auto: the index from $JOB_COMPLETION_INDEX, "
    "$AWS_BATCH_JOB_ARRAY_INDEX or $MLGUARD_SHARD_INDEX); `mlguard merge` evaluates the parts.",
)


def scope_options(f: F) -> F:
    opts = [
        click.option(
            "--provider",
            "provider_names",
            multiple=True,
            help="Providers to scan: aws, databricks (default: configured or detected).",
        ),
        click.option("--profile", help="AWS profile name."),
        click.option("--role-arn", help="AWS role to assume before scanning."),
        click.option("--org-role", help="Role name to assume in every account of the AWS Organization."),
        click.option(
            "--org-skip-management",
            is_flag=True,
            default=None,
            help="Org scan: leave out the management account (else scanned with your own credentials).",
        ),
        click.option(
            "--retry-mode",
            type=click.Choice(["standard", "adaptive"]),
            help="AWS retry mode (default: standard, with the SDK's retry quota).",
        ),
        click.option(
            "--max-attempts", type=click.IntRange(1, 20), help="AWS attempts per call, retries included."
        ),
        click.option("--regions", help="Comma-separated AWS regions (default: enabled regions)."),
        click.option("--databricks-profile", help="Profile in ~/.databrickscfg."),
        click.option("--databricks-host", help="Databricks workspace URL."),
        click.option(
            "--databricks-account", help="Account-level profile: scan every workspace of the account."
        ),
        click.option(
            "--timeout",
            type=Seconds(min=1),
            help="Stop collecting after this many seconds; keep what was read; exit 3 (incomplete).",
        ),
    ]
    return _stack(f, opts)


class Seconds(click.FloatRange):
    """A finite number of seconds: ``nan`` and ``inf`` pass a plain FloatRange (no comparison with
    nan is true), and would make ``--timeout`` no bound at all."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return rv


def _apply_scope(loaded: LoadedConfig, kw: dict[str, Any]) -> None:
    aws = loaded.config.scope.aws
    dbx = loaded.config.scope.databricks
    if kw.get("profile"):
        aws.profile = kw["profile"]
    if kw.get("role_arn"):
        aws.role_arn = kw["role_arn"]
    if kw.get("org_role"):
        aws.org_role = kw["org_role"]
    if kw.get("regions"):
        aws.regions = _split((kw["regions"],))
    if kw.get("org_skip_management"):
        aws.org_skip_management = True
    if kw.get("retry_mode"):
        aws.retry_mode = kw["retry_mode"]
    if kw.get("max_attempts"):
        aws.max_attempts = kw["max_attempts"]
    if kw.get("databricks_profile"):
        dbx.profile = kw["databricks_profile"]
    if kw.get("databricks_host"):
        dbx.host = kw["databricks_host"]
    if kw.get("databricks_account"):
        dbx.account_profile = kw["databricks_account"]


def _selection(kw: dict[str, Any]) -> Selection:
    return Selection(
        include=_split(kw["include"]),
        exclude=_split(kw["exclude"]),
        severities=_split(kw["severities"]),
        categories=_split(kw["categories"]),
        frameworks=_split(kw["frameworks"]),
        resource_types=_split(kw["resource_types"]),
    )


def _load_selected(loaded: LoadedConfig, kw: dict[str, Any]) -> tuple[PolicySet, list[Policy]]:
    policy_set = load_policies(
        loaded, kw.get("policy_dirs", ()), builtin=False if kw.get("no_builtin") else None
    )
    policies = select_policies(policy_set, loaded, _selection(kw))
    return policy_set, policies


def _formats(
    loaded: LoadedConfig, raw: tuple[str, ...], default: str, stdout_format: str | None = None
) -> list[str]:
    """The --format list; with a report on stdout and no format asked for, no file: only the
    console summary (on stderr)."""
    if stdout_format is not None and not _split(raw) and not loaded.config.outputs.formats:
        return ["console"]
    wanted = _split(raw) or loaded.config.outputs.formats or _split((default,))
    known = set(reporters()) | {"console"}
    for f in wanted:
        if f not in known:
            raise click.BadParameter(
                f"unknown format {f!r} (known: {', '.join(sorted(known))})", param_hint="--format"
            )
    return wanted


def _report_options(kw: dict[str, Any], **more: Any) -> ReportOptions:
    return ReportOptions(
        asff_region=kw.get("asff_region"),
        asff_account=kw.get("asff_account"),
        sarif_category=kw.get("sarif_category"),
        **more,
    )


def _report_plan(
    loaded: LoadedConfig, kw: dict[str, Any], default: str, framework: str | None = None
) -> ReportPlan:
    """The output options of scan, evaluate and report, checked before any work is done."""
    stdout = check_stdout_format(kw.get("stdout_format"), framework)
    return ReportPlan(
        formats=_formats(loaded, kw["formats"], default, stdout),
        out_dir=_output_dir(loaded, kw["output_dir"]),
        stdout=stdout,
        statuses=parse_statuses(kw.get("statuses") or ()),
    )


def _output_dir(loaded: LoadedConfig, raw: Path | None) -> Path:
    if raw is not None:
        return raw
    if loaded.config.outputs.dir:
        return loaded.config.resolve(loaded.config.outputs.dir)
    return Path("mlguard-out")


@dataclass(frozen=True)
class ReportPlan:
    """Where a command's reports go: files of ``formats`` in ``out_dir`` (``console``: the
    summary), ``stdout`` (one format on stdout), and which statuses they list (None: all)."""

    formats: list[str]
    out_dir: Path
    stdout: str | None = None
    statuses: list[Status] | None = None


def _write_reports(
    state: State, scan: ScanResult, plan: ReportPlan, options: ReportOptions | None = None
) -> list[Path]:
    """Render every file format first, write only if all rendered; then the report on stdout and
    the console summary (on stderr when stdout carries a report)."""
    options = options or ReportOptions()
    shown = filtered(scan, plan.statuses)
    on_stdout = render_stdout(shown, plan.stdout, options) if plan.stdout is not None else None
    from mlguard.report.render import write_reports  # jinja2 and the reporters

    written = write_reports(shown, [f for f in plan.formats if f != "console"], plan.out_dir, options)
    if on_stdout is not None:
        emit_stdout(on_stdout)
    if "console" in plan.formats and not state.quiet:
        print_summary(shown, state.err if on_stdout is not None else state.console)
    if not state.quiet:
        for path in written:
            state.err.print(f"wrote {path}", highlight=False, markup=False, soft_wrap=True)
        if shown.filter is not None:
            state.err.print(f"mlguard: {shown.filter.note()}", highlight=False, markup=False, soft_wrap=True)
    if scan.incomplete:  # even with -q: a reader must not take a partial scan for a whole one
        state.err.print(
            f"mlguard: {terminal_safe(scan.incomplete)}", highlight=False, markup=False, soft_wrap=True
        )
    return written


def _gate(
    state: State,
    loaded: LoadedConfig,
    kw: dict[str, Any],
    scan: ScanResult,
    inventory: Inventory,
    incomplete: bool = False,
) -> int:
    raw = kw.get("fail_on") or (loaded.config.fail_on.value if loaded.config.fail_on else "high")
    fail_on = None if raw == "never" else Severity(raw)
    fail_on_error = kw.get("fail_on_error") or loaded.config.fail_on_error
    uncollected = [] if incomplete else nothing_collected(inventory)  # cut short: exit 3 says why
    for provider in uncollected:
        n = sum(1 for e in inventory.errors if e.provider == provider)
        state.err.print(
            f"mlguard: nothing could be collected from {provider}: {n} collection error(s) and no resource "
            "(exit 4)",
            highlight=False,
            soft_wrap=True,
        )
    return exit_code(scan, fail_on, bool(fail_on_error), incomplete, uncollected)


def _command_line() -> str:
    return "mlguard " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@contextmanager
def _progress(state: State) -> Iterator[Progress]:
    with progress(state.err, state.out) as p:
        yield p


# --------------------------------------------------------------------------- commands


# subcommands of their own modules, imported on use: `mlguard --help` imports no boto3,
# databricks-sdk, SQLAlchemy or jinja2 (tests/test_cli_startup.py)
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


@cli.command("collect")
@scope_options
@selection_options
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=Path("inventory.json"),
    show_default=True,
    help="Inventory file; `-` writes it to stdout.",
)
@click.option(
    "--all-types",
    is_flag=True,
    help="Collect every resource type the providers know, not only what policies need.",
)
@shard_option
@click.option(
    "--record-part",
    metavar="RUN",
    help="With --shard: also keep the part in the results store under RUN (one name for all the "
    "run's shards, e.g. the job's name); `mlguard history finalize RUN` merges them. With a store "
    "the shards are balanced by the unit sizes of its latest run.",
)
@store_option
@click.pass_context
def collect_cmd(ctx: click.Context, /, output: Path, all_types: bool, **kw: Any) -> None:
    """Collect the inventory the selected policies need (or --all-types) and write it as JSON."""
    state = _state(ctx)
    loaded = state.config()
    _apply_scope(loaded, kw)
    shard = parse_shard(kw["shard_spec"]) if kw.get("shard_spec") else None
    part_store = _part_store(loaded, kw, shard is not None)
    if shard is not None:
        _balance(state, loaded, kw, shard)
    _, policies = _load_selected(loaded, kw)
    types = set().union(*(p.required_types() for p in policies)) if policies else set()
    if all_types:
        types = set().union(*(entry.types() for entry in providers().values()))
    with _progress(state) as progress:
        collected = collect(
            loaded,
            _split(kw["provider_names"]),
            types,
            progress,
            _command_line(),
            kw.get("timeout"),
            shard=shard,
        )
    inventory = collected.inventory
    if str(output) == "-":
        emit_stdout(inventory.model_dump_json(indent=1, exclude_none=True).encode("utf-8") + b"\n")
    else:
        _write_json(output, inventory)
    if not state.quiet:
        state.err.print(
            f"wrote {'the inventory to stdout' if str(output) == '-' else output}: "
            f"{len(inventory.resources)} resources, {len(inventory.errors)} collection errors",
            highlight=False,
        )
    if part_store is not None:
        from mlguard.history.parts import record_part

        state.err.print(record_part(part_store, kw["record_part"], inventory), highlight=False)
    _collect_exit(ctx, state, collected)


def _balance(state: State, loaded: LoadedConfig, kw: dict[str, Any], shard: Shard) -> None:
    """With a results store, place the units by the latest run's sizes (every shard reads the same
    run: one plan); see :mod:`mlguard.collect.shard`."""
    target = kw.get("store_target") or _config_store(loaded)
    if target:
        from mlguard.history.parts import balanced

        note = balanced(shard, target)
        if note and not state.quiet:
            state.err.print(note, highlight=False)


def _part_store(loaded: LoadedConfig, kw: dict[str, Any], sharded: bool) -> str | None:
    """The store `collect --record-part RUN` keeps its part in; checked before anything is read."""
    if not kw.get("record_part"):
        return None
    if not sharded:
        raise InputError("--record-part RUN needs --shard K/N: only a shard's part is recorded")
    target = kw.get("store_target") or _config_store(loaded)
    if not target:
        raise InputError(
            "--record-part needs a results store: give --store PATH|URL, set MLGUARD_STORE or store:"
        )
    from mlguard.history.store import open_store

    with open_store(target):  # a bad URL or an unreachable server fails now, not after the scan
        pass
    return target


def _collect_exit(ctx: click.Context, state: State, collected: Collected) -> None:
    """Exit 3 for a collection cut short, 4 for a provider that yielded nothing; else return."""
    inventory = collected.inventory
    note = incomplete_note(inventory.errors)
    if note:
        state.err.print(f"mlguard: {terminal_safe(note)}", highlight=False, markup=False, soft_wrap=True)
    if collected.timed_out:  # cut short: whatever was read is kept, and exit 3 says why
        ctx.exit(EXIT_INCOMPLETE)
    uncollected = nothing_collected(inventory)
    for provider in uncollected:
        state.err.print(f"mlguard: nothing could be collected from {provider} (exit 4)", highlight=False)
    if uncollected:
        ctx.exit(EXIT_SETUP)


def _write_json(path: Path, model: Inventory | ScanResult) -> None:
    from mlguard.report.render import write_files

    write_files([(path, model.model_dump_json(indent=1, exclude_none=True) + "\n")])


@cli.command("evaluate", cls=FormatsCommand)
@click.argument("inventory", type=click.Path(path_type=Path, dir_okay=False))
@selection_options
@gate_options
@output_options("console,json")
@cost_options
@click.pass_context
def evaluate_cmd(ctx: click.Context, /, inventory: Path, **kw: Any) -> None:
    """Evaluate the policies against a saved INVENTORY and write the results."""
    state = _state(ctx)
    loaded = state.config()
    plan = _report_plan(loaded, kw, "console,json")  # bad output options fail before any work
    policy_set, policies = _load_selected(loaded, kw)
    if not inventory.is_file():
        raise InputError("inventory file not found", file=str(inventory))
    inv = load_inventory(inventory)
    inv.provenance.sources.append(str(inventory))
    _warn_undeclared(state, inventory, inv)
    waivers = load_waivers(loaded, kw.get("waivers"))
    scan = evaluate(
        inv, policies, policy_set, waivers, kw.get("baseline"), _command_line(), cost=cost_run(loaded, kw)
    )
    _write_reports(state, scan, plan, _report_options(kw))
    ctx.exit(_gate(state, loaded, kw, scan, inv))


MAX_FIELD_WARNINGS = 20


def _warn_undeclared(state: State, path: Path, inv: Inventory) -> None:
    """An inventory's data checked against the declared fields: warnings on stderr, never an error
    (an inventory from another mlguard version may carry keys this one does not know)."""
    from mlguard.fields import inventory_field_warnings

    warnings = inventory_field_warnings(inv.resources)
    for line in warnings[:MAX_FIELD_WARNINGS]:
        state.err.print(
            f"mlguard: warning: {terminal_safe(path)}: {terminal_safe(line)}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if len(warnings) > MAX_FIELD_WARNINGS:
        state.err.print(
            f"mlguard: warning: {terminal_safe(path)}: ... and {len(warnings) - MAX_FIELD_WARNINGS} more",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@cli.command("scan", cls=FormatsCommand)
@scope_options
@selection_options
@gate_options
@output_options("console,json")
@record_options
@cost_options
@click.option("--demo", is_flag=True, help="Scan the embedded demo estate: no cloud account, no network.")
@click.option(
    "--iac",
    "iac_path",
    type=click.Path(path_type=Path, exists=True),
    help="Also scan Terraform/CloudFormation under this path with checkov (alone: IaC only).",
)
@click.option(
    "--checkov-bin",
    type=click.Path(path_type=Path),
    help="checkov executable or its venv's bin folder (else $MLGUARD_CHECKOV_BIN, else PATH).",
)
@click.option(
    "--iac-skip-path", multiple=True, help="Regular expression of paths checkov skips (repeatable)."
)
@click.option(
    "--inventory-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the collected inventory.",
)
@click.option(
    "--all-fields",
    is_flag=True,
    help="Read every field of the collected types. By default a scan whose --policy/--framework "
    "selection is narrower than every enabled policy skips the detail calls that supply no field "
    "its policies read (not with --inventory-out, --shard or --demo).",
)
@shard_option
@click.pass_context
def scan_cmd(
    ctx: click.Context,
    /,
    demo: bool,
    inventory_out: Path | None,
    iac_path: Path | None,
    checkov_bin: Path | None,
    iac_skip_path: tuple[str, ...],
    **kw: Any,
) -> None:
    """Collect, evaluate and report in one go (and record the run when a store is configured)."""
    state = _state(ctx)
    loaded = state.config()
    _apply_scope(loaded, kw)
    plan = _report_plan(loaded, kw, "console,json")  # bad output options fail before any work
    policy_set, policies = _load_selected(loaded, kw)
    if kw.get("shard_spec"):
        _scan_shard(
            ctx, state, loaded, kw, policies, inventory_out, demo, iac_path, checkov_bin, iac_skip_path
        )
    waivers = load_waivers(loaded, kw.get("waivers"))
    cost = cost_run(loaded, kw)  # a bad price file stops the run before any call
    types = set().union(*(p.required_types() for p in policies)) if policies else set()
    with recording(kw["record"], kw["store_target"], _config_store(loaded), kw["lock_timeout"]) as store:
        timed_out = False
        if demo:
            from mlguard.demo.scan import collect_demo

            with _progress(state) as progress:
                collected, about = collect_demo(loaded, types, progress, _command_line(), kw.get("timeout"))
            if not state.quiet:
                state.err.print(about, highlight=False, soft_wrap=True)
            inv, timed_out = collected.inventory, collected.timed_out
        elif iac_path is not None and not (_split(kw["provider_names"]) or loaded.config.scope.providers):
            inv = Inventory(provenance=Provenance(version=__version__, started_at=iso(utcnow())))  # IaC only
        else:
            from mlguard.collect.prune import scan_reads

            reads = (
                None
                if inventory_out
                else scan_reads(policies, policy_set.policies.values(), all_fields=kw["all_fields"])
            )
            with _progress(state) as progress:
                collected = collect(
                    loaded,
                    _split(kw["provider_names"]),
                    types,
                    progress,
                    _command_line(),
                    kw.get("timeout"),
                    reads=reads,
                )
            inv, timed_out = collected.inventory, collected.timed_out
        if inventory_out is not None:
            _write_json(inventory_out, inv)
        iac = None
        if iac_path is not None:
            from mlguard.iac.runner import DEFAULT_TIMEOUT
            from mlguard.iac.scan import scan_iac

            iac = scan_iac(
                iac_path, checkov_bin, kw.get("timeout") or DEFAULT_TIMEOUT, skip_paths=tuple(iac_skip_path)
            )
        scan = evaluate(
            inv, policies, policy_set, waivers, kw.get("baseline"), _command_line(), iac=iac, cost=cost
        )
        options = _report_options(kw)
        run_id = None
        if store is not None:  # record first, so the reports can show the diff and the trends
            run_id = store.record(scan, inv)
            state.err.print(f"recorded run {run_id}", highlight=False)
            from mlguard.history.report import report_history

            options = _report_options(kw, history=report_history(store, run_id))
        try:
            _write_reports(state, scan, plan, options)
        except OutputError:
            if store is not None:
                state.err.print(
                    f"mlguard: run {run_id} is recorded in {store.display}, but its reports were not written",
                    highlight=False,
                )
            raise
    ctx.exit(_gate(state, loaded, kw, scan, inv, incomplete=timed_out))


def _scan_shard(
    ctx: click.Context,
    state: State,
    loaded: LoadedConfig,
    kw: dict[str, Any],
    policies: list[Policy],
    inventory_out: Path | None,
    demo: bool,
    iac_path: Path | None,
    checkov_bin: Path | None = None,
    iac_skip_path: tuple[str, ...] = (),
) -> None:
    """``scan --shard K/N``: a shard only collects. It writes its partial inventory (to
    --inventory-out, else OUTPUT_DIR/inventory-shard-K-of-N.json) and exits; `mlguard merge`
    evaluates the parts once, so that policies joining resources see every related resource."""
    if demo:
        raise InputError("--shard cannot be combined with --demo")
    shard = parse_shard(kw["shard_spec"])
    _balance(state, loaded, kw, shard)
    types = set().union(*(p.required_types() for p in policies)) if policies else set()
    inventory, timed_out = None, False  # IaC only: with_iac_shard makes the part
    if iac_path is None or _split(kw["provider_names"]) or loaded.config.scope.providers:
        with _progress(state) as progress:
            collected = collect(
                loaded,
                _split(kw["provider_names"]),
                types,
                progress,
                _command_line(),
                kw.get("timeout"),
                shard=shard,
            )
        inventory, timed_out = collected.inventory, collected.timed_out
    if iac_path is not None:  # its IaC units too: a Terraform root module or a template each
        from mlguard.iac.scan import with_iac_shard

        inventory = with_iac_shard(
            inventory, shard, iac_path, checkov_bin, kw.get("timeout"), iac_skip_path, _command_line()
        )
    assert inventory is not None
    collected = Collected(inventory, timed_out)
    out = inventory_out or _output_dir(loaded, kw.get("output_dir")) / (
        f"inventory-shard-{shard.index}-of-{shard.count}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_json(out, collected.inventory)
    if not state.quiet:
        state.err.print(
            f"wrote shard {shard.index}/{shard.count}'s partial inventory to {out} "
            f"({len(collected.inventory.resources)} resources); evaluate the parts with `mlguard merge`",
            highlight=False,
        )
    _collect_exit(ctx, state, collected)
    ctx.exit(EXIT_OK)


@cli.command("merge", cls=FormatsCommand)
@click.argument("parts", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@selection_options
@gate_options
@output_options("console,json")
@cost_options
@click.option(
    "--inventory-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the merged inventory.",
)
@click.pass_context
def merge_cmd(ctx: click.Context, /, parts: tuple[Path, ...], inventory_out: Path | None, **kw: Any) -> None:
    """Merge the partial inventories of `collect --shard K/N` (PARTS) and evaluate them once.

    A resource in two parts, or two parts of one shard, is bad input (exit 2). A missing shard (or
    parts of different N) leaves its units unread: a collection error each, ERROR results, exit 3.
    """
    from mlguard.merge import merge_parts

    state = _state(ctx)
    loaded = state.config()
    plan = _report_plan(loaded, kw, "console,json")  # bad output options fail before any work
    policy_set, policies = _load_selected(loaded, kw)
    merged = merge_parts(parts, _command_line())
    _evaluate_merged(ctx, state, loaded, kw, plan, (policy_set, policies), merged, inventory_out)


def _evaluate_merged(
    ctx: click.Context,
    state: State,
    loaded: LoadedConfig,
    kw: dict[str, Any],
    plan: Any,
    selected: tuple[PolicySet, list[Policy]],
    merged: Merged,
    inventory_out: Path | None,
    store: Store | None = None,
) -> None:
    """Evaluate a merged inventory once, record it (``history finalize``), report, gate."""
    inv = merged.inventory
    if inventory_out is not None:
        _write_json(inventory_out, inv)
    if merged.missing:
        state.err.print(
            f"mlguard: shard(s) missing from the merge: {', '.join(merged.missing)} "
            "(their units are ERROR; exit 3)",
            highlight=False,
        )
    if merged.disagree:
        state.err.print(
            f"mlguard: the parts disagree on the shard count: {', '.join(map(str, merged.disagree))}",
            highlight=False,
        )
    waivers = load_waivers(loaded, kw.get("waivers"))
    policy_set, policies = selected
    scan = evaluate(
        inv, policies, policy_set, waivers, kw.get("baseline"), _command_line(), cost=cost_run(loaded, kw)
    )
    options = _report_options(kw)
    if store is not None:
        run_id = store.record(scan, inv)
        state.err.print(f"recorded run {run_id}", highlight=False)
        from mlguard.history.report import report_history

        options = _report_options(kw, history=report_history(store, run_id))
    _write_reports(state, scan, plan, options)
    ctx.exit(_gate(state, loaded, kw, scan, inv, incomplete=merged.incomplete))


@history.command("finalize", cls=FormatsCommand)
@click.argument("run")
@store_option
@selection_options
@gate_options
@output_options("console,json")
@cost_options
@click.option(
    "--inventory-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the merged inventory.",
)
@click.pass_context
def finalize_cmd(ctx: click.Context, /, run: str, inventory_out: Path | None, **kw: Any) -> None:
    """Merge the shard parts recorded under RUN (`collect --shard K/N --record-part RUN`), evaluate
    them once, record the result as one run and write the reports, as `mlguard merge` does.

    A missing shard leaves its units unread: a collection error each, ERROR results, exit 3.
    """
    from mlguard.history.cli import open_from_cli
    from mlguard.merge import merge_inventories

    state = _state(ctx)
    loaded = state.config()
    plan = _report_plan(loaded, kw, "console,json")
    selected = _load_selected(loaded, kw)
    with open_from_cli(kw.get("store_target")) as store:
        merged = merge_inventories(store.parts(run), _command_line())
        with store.lock():
            _evaluate_merged(ctx, state, loaded, kw, plan, selected, merged, inventory_out, store)


def _config_store(loaded: LoadedConfig) -> str | None:
    """The config's ``store:``: a database URL as written, a SQLite path relative to the file."""
    store = loaded.config.store
    if not store:
        return None
    return store if "://" in store else str(loaded.config.resolve(store))


def sample_inventory_path() -> Path:
    """A small hand-made inventory (the golden cases' resources), used by tests and examples."""
    return Path(__file__).parent / "data" / "sample-inventory.json"


@cli.command("report", cls=FormatsCommand)
@click.argument("results", type=click.Path(path_type=Path, dir_okay=False))
@output_options("console,json")
@click.option("--framework", help="Compliance export for one framework id.")
@click.option(
    "--store",
    "store_target",
    metavar="PATH|URL",
    help="Results store: if it recorded this results file's run, the reports show its history.",
)
@click.pass_context
def report_cmd(
    ctx: click.Context, /, results: Path, framework: str | None, store_target: str | None, **kw: Any
) -> None:
    """Re-render a saved RESULTS file (results.json) in other formats."""
    from mlguard.report.render import sha256_file

    state = _state(ctx)
    loaded = state.config()
    plan = _report_plan(loaded, kw, "console", framework)
    if not results.is_file():
        raise InputError("results file not found", file=str(results))
    scan = load_results(results)
    history = None
    if store_target is not None:
        if "://" not in store_target and not Path(store_target).is_file():
            raise InputError("results store not found", file=store_target)
        from mlguard.history.report import report_history
        from mlguard.history.store import open_store

        with open_store(store_target) as store:
            run_id = store.find(scan)
            if run_id is None:
                state.err.print(
                    f"{results} is not a run recorded in {store.display}: no history in the report",
                    highlight=False,
                )
            else:
                history = report_history(store, run_id)
    opts = ReportOptions(
        framework=framework,
        results_sha256=sha256_file(results),
        history=history,
        asff_region=kw.get("asff_region"),
        asff_account=kw.get("asff_account"),
        sarif_category=kw.get("sarif_category"),
    )
    _write_reports(state, scan, plan, opts)


# --------------------------------------------------------------------------- policies


@cli.group("policies")
def policies_group() -> None:
    """List, show and validate policies."""


@policies_group.command("list")
@selection_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def policies_list(ctx: click.Context, /, as_json: bool, **kw: Any) -> None:
    """List the selected policies."""
    state = _state(ctx)
    loaded = state.config()
    _, policies = _load_selected(loaded, kw)
    if as_json:
        click.echo(
            json.dumps(
                [p.info().model_dump(mode="json") | {"parameters": p.values} for p in policies], indent=1
            )
        )
        return
    from rich.table import Table

    t = Table(title=f"{len(policies)} policies")
    for col in ("id", "severity", "category", "resource", "frameworks"):
        t.add_column(col)
    for p in policies:
        t.add_row(p.id, p.severity.value, p.category.value, p.resource, str(len(p.compliance)))
    state.console.print(t)


@policies_group.command("show")
@click.argument("policy_id")
@selection_options
@click.pass_context
def policies_show(ctx: click.Context, /, policy_id: str, **kw: Any) -> None:
    """Show one policy: metadata, parameters, frameworks, the fields it reads, what absence means,
    and its file."""
    from mlguard.fields import fields_read
    from mlguard.policy.conditions import missing_rules, required_joins

    state = _state(ctx)
    loaded = state.config()
    policy_set = load_policies(
        loaded, kw.get("policy_dirs", ()), builtin=False if kw.get("no_builtin") else None
    )
    p = policy_set.policies.get(policy_id)
    if p is None:
        raise InputError(f"no policy with id {policy_id!r} (try `mlguard policies list`)")
    click.echo(f"{p.id}: {p.title}\n")
    click.echo(f"severity: {p.severity.value}  category: {p.category.value}  resource: {p.resource}")
    click.echo(f"file: {p.file}\n\n{p.description}\n")
    if p.parameters:
        click.echo("parameters:")
        for name, param in p.parameters.items():
            click.echo(f"  {name} ({param.type}, default {param.default!r}): {param.description}")
    if p.compliance:
        click.echo("frameworks: " + ", ".join(p.compliance))
    conds = [c for c in (p.where, p.assert_) if c is not None]
    click.echo("reads:")
    for rtype, names in fields_read(p.resource, conds).items():
        click.echo(f"  {rtype}: {', '.join(names) or '(no field)'}")
    rules = [rule for root in conds for rule in missing_rules(root)]
    if rules:
        click.echo("When absent (missing or null; an attribute that was not read is always ERROR):")
        for path, passes, why in rules:
            outcome = "holds (if_missing: pass)" if passes else "is false (if_missing: fail)"
            click.echo(f"  {path}: the condition {outcome}" + (f": {why}" if why else ""))
    for rtype, related, subject in (r for root in conds for r in required_joins(root)):
        click.echo(
            f"Every {subject} must name a collected {rtype} (by {related}); one the scan did not see is ERROR"
        )
    click.echo(f"\nremediation: {p.remediation}")
    if p.remediation_cli:
        click.echo(f"  cli: {p.remediation_cli}")


@policies_group.command("docs")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the catalogue here (the repository keeps it as policies/README.md).",
)
def policies_docs(output: Path | None) -> None:
    """Print the Markdown catalogue of the built-in policies and framework coverage."""
    from mlguard.policy.docs import render_catalogue

    text = render_catalogue(load_policy_set([(builtin_policy_dir(), "builtin")]))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@policies_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def policies_validate(ctx: click.Context, /, paths: tuple[Path, ...]) -> None:
    """Validate policy directories and policy or framework FILES (default: the built-in pack).

    Every problem of every file is listed, one `file:line: field: problem` line each; exit 2 if any.
    A framework file is one in a `frameworks/` folder; its policy ids may name the policies of
    its own policy directory."""
    from mlguard.policy.loader import check_policy_sources

    state = _state(ctx)
    for p in paths:
        if not p.exists():
            raise InputError(f"policy file or directory not found: {p}")
    dirs = [(p, str(p)) for p in paths if p.is_dir()]
    if not paths:
        dirs = [(builtin_policy_dir(), "builtin")]
    check = check_policy_sources(dirs, [p for p in paths if not p.is_dir()])
    for problem in check.problems:
        state.err.print(terminal_safe(problem.render()), highlight=False, markup=False, soft_wrap=True)
    if check.problems:
        bad = len({p.file for p in check.problems})
        raise PolicyError(f"{len(check.problems)} problem(s) in {bad} of {check.files} file(s)")
    state.err.print(
        f"ok: {len(check.policy_set.policies)} policies and {len(check.policy_set.frameworks)} frameworks "
        "are valid",
        highlight=False,
    )


cli.add_command(history)  # light: its commands import the store when they run


# --------------------------------------------------------------------------- permissions


@cli.group("permissions", cls=LazyGroup, lazy=LAZY_PERMISSIONS)
def permissions_group() -> None:
    """Print the least privilege the scanner needs, derived from what the collectors call."""


# --------------------------------------------------------------------------- schema


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "inventory": lambda: _model_schema(Inventory, "mlguard inventory"),
    "result": lambda: _model_schema(ScanResult, "mlguard scan result (results.json)"),
    "policy": policy_schema,
    "framework": framework_schema,
    "config": config_schema,
    "waivers": waivers_schema,
    "pricing": pricing_schema,
}


def _graph_schema() -> dict[str, Any]:  # the estate map's export (mlguard.graph)
    from mlguard.graph.cli import graph_schema

    return graph_schema()


SCHEMAS["graph"] = _graph_schema


def _model_schema(model: type[Inventory] | type[ScanResult], title: str) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema


@cli.command("schema")
@click.argument("name", type=click.Choice(sorted(SCHEMAS)))
def schema_cmd(name: str) -> None:
    """Print the JSON Schema of a file format."""
    click.echo(json.dumps(SCHEMAS[name](), indent=1, sort_keys=False))


@cli.command("types")
@click.argument("type_name", metavar="[TYPE]", required=False)
def types_cmd(type_name: str | None) -> None:
    """List the resource type catalogue, or the declared fields of one TYPE."""
    if type_name is None:
        for t in CATALOGUE.values():
            click.echo(f"{t.name:48} {t.description}")
        return
    from mlguard.fields import render_fields

    if type_name not in CATALOGUE:
        close = difflib.get_close_matches(type_name, list(CATALOGUE), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else " (see mlguard types)"
        raise click.BadParameter(f"unknown resource type {type_name!r}{hint}", param_hint="TYPE")
    click.echo(render_fields(type_name), nl=False)


# --------------------------------------------------------------------------- frameworks


@cli.command("frameworks")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--policies",
    "policy_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Extra policy directory (repeatable): its policies and frameworks count too.",
)
@click.option("--no-builtin", is_flag=True, help="Do not load the built-in policy pack.")
@click.pass_context
def frameworks_cmd(ctx: click.Context, /, fmt: str, policy_dirs: tuple[Path, ...], no_builtin: bool) -> None:
    """List the compliance frameworks and how many of their requirements the policies cover
    (the figures of the "Framework coverage" table in policies/README.md)."""
    from mlguard.policy.docs import framework_coverage

    state = _state(ctx)
    policy_set = load_policies(state.config(), policy_dirs, builtin=False if no_builtin else None)
    coverage = framework_coverage(policy_set)
    if fmt == "json":
        rows = [c.model_dump(mode="json") | {"percent": round(c.percent, 1)} for c in coverage]
        click.echo(json.dumps(rows, indent=1))
        return
    from rich.table import Table

    t = Table(
        title=f"{len(coverage)} frameworks",
        title_justify="left",
        box=None,
        padding=(0, 1),
        header_style="bold underline",
    )
    widest = max((len(c.framework) for c in coverage), default=9)
    t.add_column("framework", min_width=widest, no_wrap=True)  # never cut: the name wraps
    for col in ("reqs", "covered", "IaC", "open", "%"):
        t.add_column(col, justify="right")
    t.add_column("name (version)")
    for c in coverage:
        t.add_row(
            escape(c.framework),
            str(c.total),
            str(c.covered),
            str(len(c.iac_only)),
            str(len(c.uncovered)),
            f"{c.percent:.0f}%",
            escape(f"{c.name} ({c.version})" if c.version else c.name),
        )
    state.console.print(t)
    state.console.print(
        "reqs: requirements; covered: evidenced by a loaded policy; IaC: only by checkov checks; "
        "open: by nothing. Covered means that mlguard can check it, not that an account complies."
    )


# --------------------------------------------------------------------------- entry point


install_global_options(cli)  # last: every command above (and those added to it) accepts them


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps errors to exit codes; never a traceback for a user error."""
    try:
        code = cli.main(args=argv, prog_name="mlguard", standalone_mode=False)
    except MlguardError as exc:
        Console(stderr=True).print(
            Text.assemble(("mlguard: error: ", "bold red"), terminal_safe(exc.render())),
            highlight=False,
            soft_wrap=True,
        )
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
