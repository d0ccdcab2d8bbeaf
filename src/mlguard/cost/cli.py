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
        metavar="FILE|sample",
        help="Price file (YAML/JSON, see `mlguard schema pricing`) to show cost findings in dollars; "
        "without it they are in GPU-hours and node-hours. 'sample': the built-in SAMPLE file (demo "
        "prices, not real rates).",
    )(f)


def cost_run(loaded: LoadedConfig, kw: dict[str, Any]) -> CostOptions:
    """The cost options from the flags, else the config file's ``cost:`` section."""
    cfg = loaded.config.cost
    tags = tuple(t for raw in kw.get("owner_tags") or () for t in raw.split(",") if t.strip())
    pricing: str | None = kw.get("pricing")
    where: Path | None = (
        Path(pricing) if pricing else (loaded.config.resolve(cfg.pricing) if cfg.pricing else None)
    )
    if (pricing or cfg.pricing) == SAMPLE_KEYWORD:
        where = SAMPLE_PRICES
    prices: PriceSource | None = load_price_file(where) if where is not None else None
    return CostOptions(owner_tags=tuple(t.strip() for t in tags) or tuple(cfg.owner_tags), prices=prices)
