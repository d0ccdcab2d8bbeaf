"""``mlguard history finalize``: the shard parts of one run, merged and evaluated once."""

from __future__ import annotations

import click

from mlguard.cli.context import command_line, state_of
from mlguard.cli.output import FormatsCommand
from mlguard.cli.scan import MergedOptions, evaluate_merged, merged_options
from mlguard.history.cli import store_option


@click.command("finalize", cls=FormatsCommand)
@click.argument("run")
@store_option
@merged_options
@click.pass_context
def finalize_cmd(ctx: click.Context, /, run: str, store_target: str | None, merged: MergedOptions) -> None:
    """Merge the shard parts recorded under RUN (`collect --shard K/N --record-part RUN`), evaluate
    them once, record the result as one run and write the reports, as `mlguard merge` does.

    A missing shard leaves its units unread: a collection error each, ERROR results, exit 3.
    """
    from mlguard.history.cli import open_from_cli
    from mlguard.merge import merge_inventories

    state = state_of(ctx)
    loaded = state.config()
    plan = merged.output.plan(loaded)
    selected = merged.selection.load(loaded)
    with open_from_cli(store_target) as store:
        parts = merge_inventories(store.parts(run), command_line())
        with store.lock():
            evaluate_merged(ctx, state, loaded, merged, plan, selected, parts, store)
