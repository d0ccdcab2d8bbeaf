"""The option stacks the commands share, and the typed values they hand the commands.

Each stack (``selection_options``, ``scope_options``, ``gate_options``, ``output_options``,
``cost_flags``, ``record_flags``) adds its click options and gathers their values into one frozen
dataclass, so a command receives ``selection: SelectionOptions`` rather than a ``**kw`` of loose
values; the help texts are the options' own, in the order listed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import click

from mlguard.cli.output import check_stdout_format, parse_statuses, status_option, stdout_option
from mlguard.cost.cli import cost_options, cost_run
from mlguard.history.cli import record_options
from mlguard.history.defaults import DEFAULT_LOCK_TIMEOUT
from mlguard.model import Severity, Status
from mlguard.pipeline import LoadedConfig, Selection, load_policies, load_waivers, select_policies
from mlguard.policy.loader import Policy, PolicySet
from mlguard.report.base import ReportOptions, reporters

if TYPE_CHECKING:
    from mlguard.config import WaiverSpec
    from mlguard.cost.figures import CostOptions

F = TypeVar("F", bound=Callable[..., Any])


def split_values(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


# --------------------------------------------------------------------------- plumbing


def stack(f: F, options: Sequence[Callable[[Any], Any]]) -> F:
    """Apply click option decorators in reading order (the first listed shows first in --help)."""
    for option in reversed(options):
        f = option(f)
    return f


def bundle(cls: type[Any], name: str, **fixed: Any) -> Callable[[F], F]:
    """Wrap a command callback so that the values of the click parameters named as the fields of
    the dataclass ``cls`` reach it as one ``cls`` instance, keyword ``name`` (``fixed``: fields
    that are not parameters). Apply it below the options whose values it takes."""
    names = [f.name for f in dataclasses.fields(cls) if f.name not in fixed]

    def deco(f: F) -> F:
        @functools.wraps(f)  # keeps the docstring (the help) and the options declared so far
        def wrapper(*args: Any, **kw: Any) -> Any:
            kw[name] = cls(**{n: kw.pop(n) for n in names}, **fixed)
            return f(*args, **kw)

        return cast(F, wrapper)

    return deco


# --------------------------------------------------------------------------- typed values


@dataclass(frozen=True)
class SelectionOptions:
    """``--policy``, ``--exclude-policy``, ``--severity``... and the policy directories."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    frameworks: tuple[str, ...] = ()
    resource_types: tuple[str, ...] = ()
    policy_dirs: tuple[Path, ...] = ()
    no_builtin: bool = False

    def selection(self) -> Selection:
        return Selection(
            include=split_values(self.include),
            exclude=split_values(self.exclude),
            severities=split_values(self.severities),
            categories=split_values(self.categories),
            frameworks=split_values(self.frameworks),
            resource_types=split_values(self.resource_types),
        )

    def policy_set(self, loaded: LoadedConfig) -> PolicySet:
        """Every loaded policy (built-in unless --no-builtin, the config's and --policies dirs)."""
        return load_policies(loaded, self.policy_dirs, builtin=False if self.no_builtin else None)

    def load(self, loaded: LoadedConfig) -> tuple[PolicySet, list[Policy]]:
        """The policy set and the selected policies."""
        policy_set = self.policy_set(loaded)
        return policy_set, select_policies(policy_set, loaded, self.selection())


@dataclass(frozen=True)
class ScopeOptions:
    """What a collection reads: providers, AWS and Databricks scope, ``--timeout``."""

    provider_names: tuple[str, ...] = ()
    profile: str | None = None
    role_arn: str | None = None
    org_role: str | None = None
    org_skip_management: bool | None = None
    retry_mode: Literal["standard", "adaptive"] | None = None
    max_attempts: int | None = None
    regions: str | None = None
    databricks_profile: str | None = None
    databricks_host: str | None = None
    databricks_account: str | None = None
    timeout: float | None = None
    jobs: int = 1  # 0: auto (mlguard.collect.jobs.AUTO), resolved by check_jobs

    @property
    def providers(self) -> list[str]:
        return split_values(self.provider_names)

    def apply(self, loaded: LoadedConfig) -> None:
        """The flags given override the config file's ``scope:``."""
        aws = loaded.config.scope.aws
        dbx = loaded.config.scope.databricks
        if self.profile:
            aws.profile = self.profile
        if self.role_arn:
            aws.role_arn = self.role_arn
        if self.org_role:
            aws.org_role = self.org_role
        if self.regions:
            aws.regions = split_values((self.regions,))
        if self.org_skip_management:
            aws.org_skip_management = True
        if self.retry_mode:
            aws.retry_mode = self.retry_mode
        if self.max_attempts:
            aws.max_attempts = self.max_attempts
        if self.databricks_profile:
            dbx.profile = self.databricks_profile
        if self.databricks_host:
            dbx.host = self.databricks_host
        if self.databricks_account:
            dbx.account_profile = self.databricks_account


@dataclass(frozen=True)
class GateOptions:
    """``--fail-on``, ``--fail-on-error`` (None: the config's), waivers and baseline."""

    fail_on: str | None = None
    fail_on_error: bool | None = None
    waivers: Path | None = None
    baseline: Path | None = None

    def threshold(self, loaded: LoadedConfig) -> Severity | None:
        """The severity a FAIL must reach to exit 1 (None: never)."""
        raw = self.fail_on or (loaded.config.fail_on.value if loaded.config.fail_on else "high")
        return None if raw == "never" else Severity(raw)

    def errors_fail(self, loaded: LoadedConfig) -> bool:
        return bool(self.fail_on_error or loaded.config.fail_on_error)

    def waiver_specs(self, loaded: LoadedConfig) -> list[WaiverSpec]:
        return load_waivers(loaded, self.waivers)


@dataclass(frozen=True)
class ReportPlan:
    """Where a command's reports go: files of ``formats`` in ``out_dir`` (``console``: the
    summary), ``stdout`` (one format on stdout), and which statuses they list (None: all)."""

    formats: list[str]
    out_dir: Path
    stdout: str | None = None
    statuses: list[Status] | None = None


@dataclass(frozen=True)
class OutputOptions:
    """``--format``, ``--output-dir``, ``--stdout``, ``--status`` and the formats' own options."""

    default_formats: str
    formats: tuple[str, ...] = ()
    output_dir: Path | None = None
    sarif_category: str | None = None
    asff_region: str | None = None
    asff_account: str | None = None
    stdout_format: str | None = None
    statuses: tuple[str, ...] = ()

    def plan(
        self, loaded: LoadedConfig, default: str | None = None, framework: str | None = None
    ) -> ReportPlan:
        """The output options checked before any work is done (``default``: the formats when
        neither the flags nor the config name any; else the help's)."""
        stdout = check_stdout_format(self.stdout_format, framework)
        return ReportPlan(
            formats=self._formats(loaded, default or self.default_formats, stdout),
            out_dir=self.directory(loaded),
            stdout=stdout,
            statuses=parse_statuses(self.statuses),
        )

    def _formats(self, loaded: LoadedConfig, default: str, stdout_format: str | None) -> list[str]:
        """The --format list; with a report on stdout and no format asked for, no file: only the
        console summary (on stderr)."""
        raw = self.formats
        if stdout_format is not None and not split_values(raw) and not loaded.config.outputs.formats:
            return ["console"]
        wanted = split_values(raw) or loaded.config.outputs.formats or split_values((default,))
        known = set(reporters()) | {"console"}
        for f in wanted:
            if f not in known:
                raise click.BadParameter(
                    f"unknown format {f!r} (known: {', '.join(sorted(known))})", param_hint="--format"
                )
        return wanted

    def directory(self, loaded: LoadedConfig) -> Path:
        if self.output_dir is not None:
            return self.output_dir
        if loaded.config.outputs.dir:
            return loaded.config.resolve(loaded.config.outputs.dir)
        return Path("mlguard-out")

    def report_options(self, **more: Any) -> ReportOptions:
        return ReportOptions(
            asff_region=self.asff_region,
            asff_account=self.asff_account,
            sarif_category=self.sarif_category,
            **more,
        )


@dataclass(frozen=True)
class CostFlags:
    """``--pricing`` and ``--owner-tag`` (:mod:`mlguard.cost.cli`)."""

    owner_tags: tuple[str, ...] = ()
    pricing: str | None = None

    def run(self, loaded: LoadedConfig) -> CostOptions:
        """The cost options from the flags, else the config file's ``cost:`` section."""
        return cost_run(loaded, {"owner_tags": self.owner_tags, "pricing": self.pricing})


@dataclass(frozen=True)
class RecordFlags:
    """``--record/--no-record``, ``--store``, ``--lock-timeout`` (:mod:`mlguard.history.cli`)."""

    record: bool | None = None
    store_target: str | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT


def cost_flags(f: F) -> F:
    """The cost options: the command receives ``cost: CostFlags``."""
    return cost_options(bundle(CostFlags, "cost")(f))


def record_flags(f: F) -> F:
    """The recording options of ``scan``: the command receives ``record: RecordFlags``."""
    return record_options(bundle(RecordFlags, "record")(f))


# --------------------------------------------------------------------------- the stacks


def selection_options(f: F) -> F:
    """The policy selection: the command receives ``selection: SelectionOptions``."""
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
    return stack(bundle(SelectionOptions, "selection")(f), opts)


def gate_options(f: F) -> F:
    """The exit code's options, waivers and baseline: the command receives ``gate: GateOptions``."""
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
    return stack(bundle(GateOptions, "gate")(f), opts)


def output_options(default_formats: str) -> Callable[[F], F]:
    """Where the reports go: the command receives ``output: OutputOptions``."""

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
        return stack(bundle(OutputOptions, "output", default_formats=default_formats)(f), opts)

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
    """What to collect from: the command receives ``scope: ScopeOptions``."""
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
        click.option(
            "--jobs",
            type=Jobs(),
            default="1",
            show_default=True,
            help="Collect in N local processes, merged as one scan: uses N cores where one process "
            "is bound by one (many accounts or workspaces). Each unit (account and region, "
            "workspace) is read by the first process free to take it. auto: one per usable core "
            "(one with --shard or --demo).",
        ),
    ]
    return stack(bundle(ScopeOptions, "scope")(f), opts)


_PARAM_TYPE: Any = click.ParamType  # generic in newer click (its parameters vary by version)


class Jobs(_PARAM_TYPE):  # type: ignore[misc]
    """``--jobs``: a number of processes (1..MAX_JOBS), or ``auto`` (:data:`~mlguard.collect.jobs.AUTO`:
    one per usable core, decided with the rest of the run's options)."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from mlguard.collect.jobs import AUTO, MAX_JOBS

        if isinstance(value, int):
            return value
        if str(value).strip().lower() == "auto":
            return AUTO
        try:
            jobs = int(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a number of processes (1..{MAX_JOBS}) or auto", param, ctx)
        if not 1 <= jobs <= MAX_JOBS:
            self.fail(f"{jobs} is not in the range 1..{MAX_JOBS} (or auto)", param, ctx)
        return jobs


class Seconds(click.FloatRange):
    """A finite number of seconds: ``nan`` and ``inf`` pass a plain FloatRange (no comparison with
    nan is true), and would make ``--timeout`` no bound at all."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return rv
