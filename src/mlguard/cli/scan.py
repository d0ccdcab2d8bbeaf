"""collect, evaluate, scan, merge and report: the commands that collect and evaluate."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlguard import __version__
from mlguard.cli.context import State, collecting, command_line, state_of
from mlguard.cli.options import (
    CostFlags,
    F,
    GateOptions,
    OutputOptions,
    RecordFlags,
    ReportPlan,
    ScopeOptions,
    SelectionOptions,
    bundle,
    cost_flags,
    gate_options,
    output_options,
    record_flags,
    scope_options,
    selection_options,
    shard_option,
    stack,
)
from mlguard.cli.output import FormatsCommand, emit_stdout, filtered, render_stdout
from mlguard.collect.base import providers
from mlguard.collect.jobs import check_jobs
from mlguard.collect.shard import Shard, parse_shard
from mlguard.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_SETUP, InputError, OutputError
from mlguard.history.cli import recording, store_option
from mlguard.model import Inventory, Provenance, ScanResult, Severity, Status, incomplete_note, iso, utcnow
from mlguard.pipeline import (
    Collected,
    LoadedConfig,
    collect,
    collect_live,
    evaluate,
    exit_code,
    load_inventory,
    load_results,
    nothing_collected,
)
from mlguard.policy.loader import Policy, PolicySet
from mlguard.report.base import ReportOptions
from mlguard.report.console import print_summary, terminal_safe

if TYPE_CHECKING:
    from mlguard.history.store import Store
    from mlguard.iac.scan import IacScan
    from mlguard.merge import Merged


def write_scan_reports(
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


def exit_code_of(
    state: State,
    loaded: LoadedConfig,
    options: GateOptions,
    scan: ScanResult,
    inventory: Inventory,
    incomplete: bool = False,
) -> int:
    """The exit code of an evaluated scan (see :func:`mlguard.pipeline.exit_code`)."""
    uncollected = [] if incomplete else nothing_collected(inventory)  # cut short: exit 3 says why
    for provider in uncollected:
        n = sum(1 for e in inventory.errors if e.provider == provider)
        state.err.print(
            f"mlguard: nothing could be collected from {provider}: {n} collection error(s) and no resource "
            "(exit 4)",
            highlight=False,
            soft_wrap=True,
        )
    return exit_code(scan, options.threshold(loaded), options.errors_fail(loaded), incomplete, uncollected)


@dataclass(frozen=True)
class IacOptions:
    """``--iac PATH`` and how checkov runs (``mlguard iac PATH``: the same, IaC only)."""

    iac_path: Path | None = None
    checkov_bin: Path | None = None
    iac_skip_path: tuple[str, ...] = ()


def iac_flags(path_option: bool = True) -> Callable[[F], F]:
    """The IaC options of ``scan`` (``--iac PATH``, ``--checkov-bin``, ``--iac-skip-path``): the
    command receives ``iac: IacOptions``; without ``path_option`` the command has a PATH argument
    named ``iac_path`` of its own (``mlguard iac``)."""

    def deco(f: F) -> F:
        opts: list[Callable[[Any], Any]] = []
        if path_option:
            opts.append(
                click.option(
                    "--iac",
                    "iac_path",
                    type=click.Path(path_type=Path, exists=True),
                    help="Also scan Terraform/CloudFormation under this path with checkov (alone: IaC only).",
                )
            )
        opts += [
            click.option(
                "--checkov-bin",
                type=click.Path(path_type=Path),
                help="checkov executable or its venv's bin folder (else $MLGUARD_CHECKOV_BIN, else PATH).",
            ),
            click.option(
                "--iac-skip-path",
                *(() if path_option else ("--skip-path",)),
                "iac_skip_path",
                multiple=True,
                help="Regular expression of paths checkov skips (repeatable).",
            ),
        ]
        return stack(bundle(IacOptions, "iac")(f), opts)

    return deco


@click.command("collect")
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
@iac_flags()
@click.pass_context
def collect_cmd(
    ctx: click.Context,
    /,
    scope: ScopeOptions,
    selection: SelectionOptions,
    output: Path,
    all_types: bool,
    shard_spec: str | None,
    record_part: str | None,
    store_target: str | None,
    iac: IacOptions,
) -> None:
    """Collect the inventory the selected policies need (or --all-types) and write it as JSON.
    With --iac PATH the inventory also carries checkov's findings (with --shard: those of the
    shard's Terraform root modules and templates), which `evaluate` and `merge` judge with it."""
    state = state_of(ctx)
    loaded = state.config()
    scope.apply(loaded)
    scope = dataclasses.replace(scope, jobs=check_jobs(scope.jobs, shard=shard_spec))
    shard = parse_shard(shard_spec) if shard_spec else None
    part_store = record_part_store(loaded, record_part, store_target, shard is not None)
    if shard is not None:
        balance(state, loaded, store_target, shard, iac.iac_path)
    _, policies = selection.load(loaded)
    types = set().union(*(p.required_types() for p in policies)) if policies else set()
    if all_types:
        types = set().union(*(entry.types() for entry in providers().values()))
    collected = collect_with_iac(state, loaded, scope, types, shard, iac)
    inventory = collected.inventory
    if str(output) == "-":
        emit_stdout(inventory.model_dump_json(indent=1, exclude_none=True).encode("utf-8") + b"\n")
    else:
        write_json(output, inventory)
    if not state.quiet:
        state.err.print(
            f"wrote {'the inventory to stdout' if str(output) == '-' else output}: "
            f"{len(inventory.resources)} resources, {len(inventory.errors)} collection errors",
            highlight=False,
        )
    if part_store is not None and record_part is not None:
        from mlguard.history.parts import record_part as keep_part

        state.err.print(keep_part(part_store, record_part, inventory), highlight=False)
    collect_exit(ctx, state, collected)


def collect_with_iac(
    state: State,
    loaded: LoadedConfig,
    scope: ScopeOptions,
    types: set[str],
    shard: Shard | None,
    iac: IacOptions,
) -> Collected:
    """What ``collect`` and ``scan --shard`` write: the providers' inventory (none is collected for
    an IaC-only run) and, with ``--iac PATH``, checkov's findings in ``inventory.iac`` (a shard's:
    those of the Terraform root modules and templates it owns)."""
    inventory, timed_out = None, False
    if iac.iac_path is None or scope.providers or loaded.config.scope.providers:
        if shard is None:
            collected = collect_live(
                loaded,
                scope.providers,
                types,
                lambda: collecting(state),
                command_line(),
                scope.timeout,
                jobs=scope.jobs,
            )
        else:
            with collecting(state) as progress:
                collected = collect(
                    loaded, scope.providers, types, progress, command_line(), scope.timeout, shard=shard
                )
        inventory, timed_out = collected.inventory, collected.timed_out
    if iac.iac_path is not None:
        from mlguard.iac.runner import DEFAULT_TIMEOUT
        from mlguard.iac.scan import scan_iac, with_iac_shard

        if shard is not None:
            inventory = with_iac_shard(
                inventory,
                shard,
                iac.iac_path,
                iac.checkov_bin,
                scope.timeout,
                iac.iac_skip_path,
                command_line(),
            )
        else:
            found = scan_iac(
                iac.iac_path,
                iac.checkov_bin,
                scope.timeout or DEFAULT_TIMEOUT,
                skip_paths=tuple(iac.iac_skip_path),
            )
            if inventory is None:
                inventory = Inventory(
                    provenance=Provenance(
                        version=__version__, started_at=found.started_at, command=command_line()
                    )
                )
            inventory = inventory.model_copy(update={"iac": found})
    assert inventory is not None
    return Collected(inventory, timed_out)


def balance(
    state: State, loaded: LoadedConfig, store_target: str | None, shard: Shard, iac_path: Path | None
) -> None:
    """With a results store, place the units (and ``--iac`` ones) by the latest run's sizes (every
    shard reads the same run: one plan); see :mod:`mlguard.collect.shard`."""
    target = store_target or config_store(loaded)
    if target:
        from mlguard.history.parts import balanced

        note = balanced(shard, target, iac_path)
        if note and not state.quiet:
            state.err.print(note, highlight=False)


def record_part_store(
    loaded: LoadedConfig, record_part: str | None, store_target: str | None, sharded: bool
) -> str | None:
    """The store `collect --record-part RUN` keeps its part in; checked before anything is read."""
    if not record_part:
        return None
    if not sharded:
        raise InputError("--record-part RUN needs --shard K/N: only a shard's part is recorded")
    target = store_target or config_store(loaded)
    if not target:
        raise InputError(
            "--record-part needs a results store: give --store PATH|URL, set MLGUARD_STORE or store:"
        )
    from mlguard.history.store import open_store

    with open_store(target):  # a bad URL or an unreachable server fails now, not after the scan
        pass
    return target


def collect_exit(ctx: click.Context, state: State, collected: Collected) -> None:
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


def write_json(path: Path, model: Inventory | ScanResult) -> None:
    from mlguard.report.render import write_files

    write_files([(path, model.model_dump_json(indent=1, exclude_none=True) + "\n")])


@click.command("evaluate", cls=FormatsCommand)
@click.argument("inventory", type=click.Path(path_type=Path, dir_okay=False))
@selection_options
@gate_options
@output_options("console,json")
@cost_flags
@click.pass_context
def evaluate_cmd(
    ctx: click.Context,
    /,
    inventory: Path,
    selection: SelectionOptions,
    gate: GateOptions,
    output: OutputOptions,
    cost: CostFlags,
) -> None:
    """Evaluate the policies against a saved INVENTORY and write the results."""
    state = state_of(ctx)
    loaded = state.config()
    plan = output.plan(loaded)  # bad output options fail before any work
    policy_set, policies = selection.load(loaded)
    if not inventory.is_file():
        raise InputError("inventory file not found", file=str(inventory))
    inv = load_inventory(inventory)
    inv.provenance.sources.append(str(inventory))
    _warn_undeclared(state, inventory, inv)
    waivers = gate.waiver_specs(loaded)
    scan = evaluate(inv, policies, policy_set, waivers, gate.baseline, command_line(), cost=cost.run(loaded))
    write_scan_reports(state, scan, plan, output.report_options())
    ctx.exit(exit_code_of(state, loaded, gate, scan, inv))


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


@dataclass(frozen=True)
class ScanRun:
    """Everything ``scan`` (and ``iac``, with ``iac_only``) was asked to do."""

    scope: ScopeOptions
    selection: SelectionOptions
    gate: GateOptions
    output: OutputOptions
    record: RecordFlags
    cost: CostFlags
    iac: IacOptions
    demo: bool = False
    inventory_out: Path | None = None
    all_fields: bool = False
    shard_spec: str | None = None
    iac_only: bool = False  # `mlguard iac PATH`: no live collection, whatever the config's providers


@click.command("scan", cls=FormatsCommand)
@scope_options
@selection_options
@gate_options
@output_options("console,json")
@record_flags
@cost_flags
@click.option("--demo", is_flag=True, help="Scan the embedded demo estate: no cloud account, no network.")
@iac_flags()
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
@bundle(ScanRun, "run", iac_only=False)
@click.pass_context
def scan_cmd(ctx: click.Context, /, run: ScanRun) -> None:
    """Collect, evaluate and report in one go (and record the run when a store is configured)."""
    run_scan(ctx, run)


def run_scan(ctx: click.Context, run: ScanRun) -> None:
    """``scan`` and ``iac``: collect (or not: IaC only), scan the IaC, evaluate once, record,
    report, exit with the gate's code."""
    state = state_of(ctx)
    loaded = state.config()
    run.scope.apply(loaded)
    plan = run.output.plan(loaded)  # bad output options fail before any work
    policy_set, policies = run.selection.load(loaded)
    if run.iac_only:  # `mlguard iac`: only the IaC checks' results and policies
        policies = []
    jobs = check_jobs(run.scope.jobs, shard=run.shard_spec, demo=run.demo)
    run = dataclasses.replace(run, scope=dataclasses.replace(run.scope, jobs=jobs))
    if run.shard_spec:
        _scan_shard(ctx, state, loaded, run, policies)
    waivers = run.gate.waiver_specs(loaded)
    cost = run.cost.run(loaded)  # a bad price file stops the run before any call
    types = set().union(*(p.required_types() for p in policies)) if policies else set()
    iac_path = run.iac.iac_path
    record = run.record
    with recording(record.record, record.store_target, config_store(loaded), record.lock_timeout) as store:
        timed_out = False
        if run.demo:
            from mlguard.demo.scan import collect_demo

            with collecting(state) as progress:
                collected, about = collect_demo(loaded, types, progress, command_line(), run.scope.timeout)
            if not state.quiet:
                state.err.print(about, highlight=False, soft_wrap=True)
            inv, timed_out = collected.inventory, collected.timed_out
        elif iac_path is not None and (
            run.iac_only or not (run.scope.providers or loaded.config.scope.providers)
        ):
            inv = Inventory(provenance=Provenance(version=__version__, started_at=iso(utcnow())))  # IaC only
        else:
            from mlguard.collect.prune import scan_reads

            reads = (
                None
                if run.inventory_out
                else scan_reads(policies, policy_set.policies.values(), all_fields=run.all_fields)
            )
            collected = collect_live(
                loaded,
                run.scope.providers,
                types,
                lambda: collecting(state),
                command_line(),
                run.scope.timeout,
                reads=reads,
                jobs=run.scope.jobs,
            )
            inv, timed_out = collected.inventory, collected.timed_out
        if run.inventory_out is not None:
            write_json(run.inventory_out, inv)
        iac = None
        if iac_path is not None:
            from mlguard.iac.runner import DEFAULT_TIMEOUT
            from mlguard.iac.scan import scan_iac

            iac = scan_iac(
                iac_path,
                run.iac.checkov_bin,
                run.scope.timeout or DEFAULT_TIMEOUT,
                skip_paths=tuple(run.iac.iac_skip_path),
            )
        scan = evaluate(
            inv, policies, policy_set, waivers, run.gate.baseline, command_line(), iac=iac, cost=cost
        )
        options = run.output.report_options()
        run_id = None
        if store is not None:  # record first, so the reports can show the diff and the trends
            run_id = store.record(scan, inv)
            state.err.print(f"recorded run {run_id}", highlight=False)
            from mlguard.history.report import report_history

            options = run.output.report_options(history=report_history(store, run_id))
        try:
            write_scan_reports(state, scan, plan, options)
            if iac is not None:
                report_iac(state, iac, scan, plan, run.gate.threshold(loaded))
        except OutputError:
            if store is not None:
                state.err.print(
                    f"mlguard: run {run_id} is recorded in {store.display}, but its reports were not written",
                    highlight=False,
                )
            raise
    ctx.exit(exit_code_of(state, loaded, run.gate, scan, inv, incomplete=timed_out))


def report_iac(
    state: State, iac: IacScan, scan: ScanResult, plan: ReportPlan, fail_on: Severity | None
) -> None:
    """After the reports of a scan with IaC: with the console format, each FAIL of an IaC file at
    or above ``fail_on`` as ``file:line: severity check: title (resource)`` (what a pre-commit hook
    or an editor shows); then one summary line and a warning per file checkov could not parse."""
    if "console" in plan.formats and not state.quiet:
        out = state.err if plan.stdout is not None else state.console
        threshold = -1 if fail_on is None else fail_on.rank
        fails = [
            r
            for r in filtered(scan, plan.statuses).results
            if r.source is not None and r.status is Status.FAIL and r.severity.rank >= threshold
        ]
        for r in sorted(fails, key=lambda r: (r.source.file, r.source.start_line) if r.source else ("", 0)):
            where = f"{r.source.file}:{r.source.start_line}: " if r.source else ""
            line = f"{where}{r.severity.value} {r.policy_id}: {r.title} ({r.resource_uid})"
            out.print(terminal_safe(line), highlight=False, markup=False, soft_wrap=True)
    counts = dict.fromkeys((Status.FAIL, Status.PASS, Status.SKIP), 0)
    for r in iac.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    files = len({r.source.file for r in iac.results if r.source})
    if not state.quiet:
        state.err.print(
            f"iac: {len(iac.results)} results on {iac.resources} resources in {files} files "
            f"({counts[Status.FAIL]} FAIL, {counts[Status.PASS]} PASS, {counts[Status.SKIP]} SKIP), "
            f"{len(iac.errors)} unparsed files; "
            f"checkov {iac.checkov_version or '?'} took {iac.duration_seconds:.1f} s",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    for error in iac.errors:  # even with -q: a file whose resources were not checked
        state.err.print(
            f"mlguard: warning: {terminal_safe(error.message)}", highlight=False, markup=False, soft_wrap=True
        )


def _scan_shard(
    ctx: click.Context, state: State, loaded: LoadedConfig, run: ScanRun, policies: list[Policy]
) -> None:
    """``scan --shard K/N``: a shard only collects. It writes its partial inventory (to
    --inventory-out, else OUTPUT_DIR/inventory-shard-K-of-N.json) and exits; `mlguard merge`
    evaluates the parts once, so that policies joining resources see every related resource."""
    if run.demo:
        raise InputError("--shard cannot be combined with --demo")
    assert run.shard_spec is not None
    shard = parse_shard(run.shard_spec)
    balance(state, loaded, run.record.store_target, shard, run.iac.iac_path)
    types = set().union(*(p.required_types() for p in policies)) if policies else set()
    collected = collect_with_iac(state, loaded, run.scope, types, shard, run.iac)
    out = run.inventory_out or run.output.directory(loaded) / (
        f"inventory-shard-{shard.index}-of-{shard.count}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, collected.inventory)
    if not state.quiet:
        state.err.print(
            f"wrote shard {shard.index}/{shard.count}'s partial inventory to {out} "
            f"({len(collected.inventory.resources)} resources); evaluate the parts with `mlguard merge`",
            highlight=False,
        )
    collect_exit(ctx, state, collected)
    ctx.exit(EXIT_OK)


@dataclass(frozen=True)
class MergedOptions:
    """The options of the commands that evaluate merged shard parts once (``merge``,
    ``history finalize``)."""

    selection: SelectionOptions
    gate: GateOptions
    output: OutputOptions
    cost: CostFlags
    inventory_out: Path | None = None


def merged_options(f: F) -> F:
    """The one option stack of ``merge`` and ``history finalize``: the command receives
    ``merged: MergedOptions``."""
    opts = [
        selection_options,
        gate_options,
        output_options("console,json"),
        cost_flags,
        click.option(
            "--inventory-out",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Also write the merged inventory.",
        ),
    ]
    return stack(bundle(MergedOptions, "merged")(f), opts)


@click.command("merge", cls=FormatsCommand)
@click.argument("parts", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@merged_options
@click.pass_context
def merge_cmd(ctx: click.Context, /, parts: tuple[Path, ...], merged: MergedOptions) -> None:
    """Merge the partial inventories of `collect --shard K/N` (PARTS) and evaluate them once.

    Two parts of one shard, or a unit read by two parts, is bad input (exit 2). A missing shard (or
    parts of different N) leaves its units unread: a collection error each, ERROR results, exit 3.
    """
    from mlguard.merge import merge_parts

    state = state_of(ctx)
    loaded = state.config()
    plan = merged.output.plan(loaded)  # bad output options fail before any work
    selected = merged.selection.load(loaded)
    evaluate_merged(ctx, state, loaded, merged, plan, selected, merge_parts(parts, command_line()))


def evaluate_merged(
    ctx: click.Context,
    state: State,
    loaded: LoadedConfig,
    options: MergedOptions,
    plan: ReportPlan,
    selected: tuple[PolicySet, list[Policy]],
    merged: Merged,
    store: Store | None = None,
) -> None:
    """Evaluate a merged inventory once, record it (``history finalize``), report, gate."""
    inv = merged.inventory
    if options.inventory_out is not None:
        write_json(options.inventory_out, inv)
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
    waivers = options.gate.waiver_specs(loaded)
    policy_set, policies = selected
    scan = evaluate(
        inv,
        policies,
        policy_set,
        waivers,
        options.gate.baseline,
        command_line(),
        cost=options.cost.run(loaded),
    )
    report = options.output.report_options()
    if store is not None:
        run_id = store.record(scan, inv)
        state.err.print(f"recorded run {run_id}", highlight=False)
        from mlguard.history.report import report_history

        report = options.output.report_options(history=report_history(store, run_id))
    write_scan_reports(state, scan, plan, report)
    ctx.exit(exit_code_of(state, loaded, options.gate, scan, inv, incomplete=merged.incomplete))


def config_store(loaded: LoadedConfig) -> str | None:
    """The config's ``store:``: a database URL as written, a SQLite path relative to the file."""
    store = loaded.config.store
    if not store:
        return None
    return store if "://" in store else str(loaded.config.resolve(store))


def sample_inventory_path() -> Path:
    """A small hand-made inventory (the golden cases' resources), used by tests and examples."""
    return Path(__file__).parents[1] / "data" / "sample-inventory.json"


@click.command("report", cls=FormatsCommand)
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
    ctx: click.Context,
    /,
    results: Path,
    output: OutputOptions,
    framework: str | None,
    store_target: str | None,
) -> None:
    """Re-render a saved RESULTS file (results.json) in other formats."""
    from mlguard.report.render import sha256_file

    state = state_of(ctx)
    loaded = state.config()
    plan = output.plan(loaded, "console", framework)
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
    opts = output.report_options(framework=framework, results_sha256=sha256_file(results), history=history)
    write_scan_reports(state, scan, plan, opts)
