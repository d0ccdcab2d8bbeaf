"""The cost options of ``mlguard scan`` and ``mlguard evaluate``: where prices come from and
which tags name an owner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mlguard.cost.figures import CostOptions
from mlguard.cost.pricing import PriceSource, load_price_file

if TYPE_CHECKING:
    from mlguard.pipeline import LoadedConfig

F = TypeVar("F", bound=Callable[..., Any])
SAMPLE_KEYWORD = "sample"
AWS_KEYWORD = "aws"
SAMPLE_PRICES = Path(__file__).resolve().parent.parent / "data" / "pricing-sample.yaml"


def cost_options(f: F) -> F:
    f = click.option(
        "--owner-tag",
        "owner_tags",
        multiple=True,
        help="Tag key naming a resource's owner for the cost totals (repeatable, first found wins; "
        "default: owner, team, cost-center).",
    )(f)
    return click.option(
        "--pricing",
        metavar="FILE|sample|aws",
        help="Price file (YAML/JSON, see `mlguard schema pricing`) to show cost findings in dollars; "
        "without it they are in GPU-hours and node-hours. 'sample': the built-in SAMPLE file (demo "
        "prices, not real rates). 'aws': public on-demand EC2 and SageMaker rates from the AWS Price "
        "List API (pricing:GetProducts).",
    )(f)


def cost_run(loaded: LoadedConfig, kw: dict[str, Any]) -> CostOptions:
    """The cost options from the flags, else the config file's ``cost:`` section."""
    cfg = loaded.config.cost
    tags = tuple(t.strip() for raw in kw.get("owner_tags") or () for t in raw.split(",") if t.strip())
    flag: str | None = kw.get("pricing")
    choice = flag or cfg.pricing
    prices: PriceSource | None = None
    if choice == AWS_KEYWORD:
        from mlguard.cost.aws_pricing import AwsPriceList

        prices = AwsPriceList(profile=loaded.config.scope.aws.profile)
    elif choice == SAMPLE_KEYWORD:
        prices = load_price_file(SAMPLE_PRICES)
    elif choice is not None:  # a flag is relative to the working directory, the config to its file
        prices = load_price_file(Path(choice) if flag else loaded.config.resolve(choice))
    return CostOptions(owner_tags=tags or tuple(cfg.owner_tags), prices=prices)
