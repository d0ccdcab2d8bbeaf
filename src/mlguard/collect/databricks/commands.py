"""Click commands of the Databricks provider, for the lead to attach to the CLI:

permissions_group.add_command(permissions_databricks)   # -> ``mlguard permissions databricks``
"""

from __future__ import annotations

import json
from typing import Any

import click

from mlguard.collect.databricks.permissions import COMMON, permissions
from mlguard.collect.databricks.provider import ALL_TYPES


def render_permissions_text(rows: list[dict[str, Any]]) -> str:
    lines = [COMMON, ""]
    for level in ("workspace", "account"):
        chosen = [r for r in rows if r["level"] == level]
        if not chosen:
            continue
        lines.append(f"== {level} level")
        for r in chosen:
            lines.append(f"{r['resource_type']}")
            lines.append(f"  requires:      {r['requires']}")
            lines.append(f"  without admin: {r['without_admin']}")
            lines.append(f"  calls:         {', '.join(str(c) for c in r['routes'])}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


@click.command("databricks")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--type",
    "types",
    multiple=True,
    type=click.Choice(sorted(ALL_TYPES)),
    help="Only these resource types (repeatable).",
)
def permissions_databricks(fmt: str, types: tuple[str, ...]) -> None:
    """The minimal workspace and account entitlements the Databricks scan needs, per resource
    type, the API calls it makes, and what is lost without admin."""
    rows = permissions(frozenset(types) if types else None)
    if fmt == "json":
        click.echo(json.dumps({"note": COMMON, "permissions": rows}, indent=2))
    else:
        click.echo(render_permissions_text(rows), nl=False)
