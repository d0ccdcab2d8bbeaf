"""``mlguard graph FILE``: the estate graph of a results or inventory file, for other tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlguard.errors import InputError, InventoryError
from mlguard.graph.build import estate_of, graph_of
from mlguard.graph.export import GraphFormat, render
from mlguard.graph.model import EstateGraph
from mlguard.yamlio import parse_json


def graph_schema() -> dict[str, Any]:
    schema = EstateGraph.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mlguard estate graph (mlguard graph --format json)"
    return schema


def build_graph(path: Path, config: Path | None = None) -> EstateGraph:
    """The graph of a results file (the estate its scan stored, with its findings) or of an
    inventory (links from the reference table and the loaded policies' joins; no findings)."""
    from mlguard.pipeline import load_config, load_inventory, load_policies, load_results

    if not path.is_file():
        raise InputError("file not found", file=str(path))
    raw = parse_json(path, InventoryError)
    if isinstance(raw, dict) and "results" in raw:
        return graph_of(None, load_results(path), "results")
    if isinstance(raw, dict) and "resources" in raw:
        inv = load_inventory(path)
        policies = load_policies(load_config(config)).policies.values()
        return graph_of(estate_of(inv.resources, policies), None, "inventory")
    raise InventoryError(
        "neither a results file (no 'results') nor an inventory (no 'resources'); "
        "see `mlguard schema result` and `mlguard schema inventory`",
        file=str(path),
    )


@click.command("graph")
@click.argument("file", metavar="RESULTS", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in GraphFormat]),
    default=GraphFormat.JSON.value,
    show_default=True,
    help="json (schema: `mlguard schema graph`), graphml or dot.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here instead of stdout."
)
@click.pass_context
def graph_command(ctx: click.Context, /, file: Path, fmt: str, output: Path | None) -> None:
    """Export the estate graph of a RESULTS file (or an inventory): data -> training -> models ->
    serving, each resource with its findings, each link with why it exists."""
    config = getattr(ctx.obj, "config_path", None)  # the global --config
    text = render(build_graph(file, config), GraphFormat(fmt))
    if output is None:
        click.echo(text, nl=False)
        return
    from mlguard.report.render import write_files

    write_files([(output, text)])
    click.echo(f"wrote {output}", err=True)


__all__ = ["build_graph", "graph_command", "graph_schema"]
