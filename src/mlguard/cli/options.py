"""The option stacks the commands share, and what they turn into."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from mlguard.cli.output import check_stdout_format, parse_statuses, status_option, stdout_option
from mlguard.model import Severity, Status
from mlguard.pipeline import LoadedConfig, Selection, load_policies, select_policies
from mlguard.policy.loader import Policy, PolicySet
from mlguard.report.base import ReportOptions, reporters

F = TypeVar("F", bound=Callable[..., Any])


def split_values(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


# --------------------------------------------------------------------------- shared options


def stack(f: F, options: Sequence[Callable[[Any], Any]]) -> F:
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
    return stack(f, opts)


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
    return stack(f, opts)


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
        return stack(f, opts)

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
    return stack(f, opts)


class Seconds(click.FloatRange):
    """A finite number of seconds: ``nan`` and ``inf`` pass a plain FloatRange (no comparison with
    nan is true), and would make ``--timeout`` no bound at all."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return rv


def apply_scope(loaded: LoadedConfig, kw: dict[str, Any]) -> None:
    aws = loaded.config.scope.aws
    dbx = loaded.config.scope.databricks
    if kw.get("profile"):
        aws.profile = kw["profile"]
    if kw.get("role_arn"):
        aws.role_arn = kw["role_arn"]
    if kw.get("org_role"):
        aws.org_role = kw["org_role"]
    if kw.get("regions"):
        aws.regions = split_values((kw["regions"],))
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


def selection_of(kw: dict[str, Any]) -> Selection:
    return Selection(
        include=split_values(kw["include"]),
        exclude=split_values(kw["exclude"]),
        severities=split_values(kw["severities"]),
        categories=split_values(kw["categories"]),
        frameworks=split_values(kw["frameworks"]),
        resource_types=split_values(kw["resource_types"]),
    )


def load_selected(loaded: LoadedConfig, kw: dict[str, Any]) -> tuple[PolicySet, list[Policy]]:
    policy_set = load_policies(
        loaded, kw.get("policy_dirs", ()), builtin=False if kw.get("no_builtin") else None
    )
    policies = select_policies(policy_set, loaded, selection_of(kw))
    return policy_set, policies


def formats_of(
    loaded: LoadedConfig, raw: tuple[str, ...], default: str, stdout_format: str | None = None
) -> list[str]:
    """The --format list; with a report on stdout and no format asked for, no file: only the
    console summary (on stderr)."""
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


def report_options(kw: dict[str, Any], **more: Any) -> ReportOptions:
    return ReportOptions(
        asff_region=kw.get("asff_region"),
        asff_account=kw.get("asff_account"),
        sarif_category=kw.get("sarif_category"),
        **more,
    )


def report_plan(
    loaded: LoadedConfig, kw: dict[str, Any], default: str, framework: str | None = None
) -> ReportPlan:
    """The output options of scan, evaluate and report, checked before any work is done."""
    stdout = check_stdout_format(kw.get("stdout_format"), framework)
    return ReportPlan(
        formats=formats_of(loaded, kw["formats"], default, stdout),
        out_dir=output_dir_of(loaded, kw["output_dir"]),
        stdout=stdout,
        statuses=parse_statuses(kw.get("statuses") or ()),
    )


def output_dir_of(loaded: LoadedConfig, raw: Path | None) -> Path:
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
