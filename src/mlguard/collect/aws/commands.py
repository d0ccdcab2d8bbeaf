"""Click command for the lead to mount as ``mlguard permissions aws``."""

from __future__ import annotations

import json

import click

from mlguard.catalogue import CATALOGUE
from mlguard.collect.aws.permissions import permissions
from mlguard.collect.aws.spec import SPECS
from mlguard.errors import InputError


@click.command("aws")
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="TYPE",
    help="Only the permissions needed for these resource types (repeatable). Default: every AWS type.",
)
def permissions_command(types: tuple[str, ...]) -> None:
    """Print the least-privilege IAM policy the AWS collector needs (derived from its API calls)."""
    unknown = sorted(t for t in types if t not in SPECS)
    if unknown:
        known = ", ".join(sorted(t for t in CATALOGUE if t in SPECS))
        raise InputError(
            f"not an AWS resource type the collector reads: {', '.join(unknown)} (known: {known})"
        )
    click.echo(json.dumps(permissions(frozenset(types) if types else None), indent=2))
