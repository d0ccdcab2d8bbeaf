"""``mlguard schema`` and ``mlguard types``."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from typing import Any

import click

from mlguard.catalogue import CATALOGUE
from mlguard.cost.pricing import pricing_schema
from mlguard.model import Inventory, ScanResult
from mlguard.pipeline import config_schema, waivers_schema
from mlguard.policy.schema import framework_schema, policy_schema

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


@click.command("schema")
@click.argument("name", type=click.Choice(sorted(SCHEMAS)))
def schema_cmd(name: str) -> None:
    """Print the JSON Schema of a file format."""
    click.echo(json.dumps(SCHEMAS[name](), indent=1, sort_keys=False))


@click.command("types")
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
