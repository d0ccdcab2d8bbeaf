"""``mlguard policies`` and ``mlguard frameworks``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlguard.cli.context import state_of
from mlguard.cli.options import SelectionOptions, selection_options
from mlguard.errors import InputError, PolicyError
from mlguard.pipeline import load_policies
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from mlguard.report.console import escape, terminal_safe

# --------------------------------------------------------------------------- policies


@click.group("policies")
def policies_group() -> None:
    """List, show and validate policies."""


@policies_group.command("list")
@selection_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def policies_list(ctx: click.Context, /, selection: SelectionOptions, as_json: bool) -> None:
    """List the selected policies."""
    state = state_of(ctx)
    loaded = state.config()
    _, policies = selection.load(loaded)
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
def policies_show(ctx: click.Context, /, policy_id: str, selection: SelectionOptions) -> None:
    """Show one policy: metadata, parameters, frameworks, the fields it reads, what absence means,
    and its file."""
    from mlguard.fields import fields_read
    from mlguard.policy.conditions import missing_rules, required_joins

    state = state_of(ctx)
    loaded = state.config()
    policy_set = selection.policy_set(loaded)
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
        from mlguard.report.render import write_files

        write_files([(output, text)])


@policies_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def policies_validate(ctx: click.Context, /, paths: tuple[Path, ...]) -> None:
    """Validate policy directories and policy or framework FILES (default: the built-in pack).

    Every problem of every file is listed, one `file:line: field: problem` line each; exit 2 if any.
    A framework file is one in a `frameworks/` folder; its policy ids may name the policies of
    its own policy directory."""
    from mlguard.policy.loader import check_policy_sources

    state = state_of(ctx)
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


# --------------------------------------------------------------------------- frameworks


@click.command("frameworks")
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

    state = state_of(ctx)
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
