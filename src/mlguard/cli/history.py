"""``mlguard history finalize``: the shard parts of one run, merged and evaluated once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlguard.cli.context import command_line, state_of
from mlguard.cli.options import gate_options, load_selected, output_options, report_plan, selection_options
from mlguard.cli.output import FormatsCommand
from mlguard.cli.scan import evaluate_merged
from mlguard.cost.cli import cost_options
from mlguard.history.cli import store_option


@click.command("finalize", cls=FormatsCommand)
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

    state = state_of(ctx)
    loaded = state.config()
    plan = report_plan(loaded, kw, "console,json")
    selected = load_selected(loaded, kw)
    with open_from_cli(kw.get("store_target")) as store:
        merged = merge_inventories(store.parts(run), command_line())
        with store.lock():
            evaluate_merged(ctx, state, loaded, kw, plan, selected, merged, inventory_out, store)
