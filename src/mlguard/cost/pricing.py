"""Prices: from a price file the user supplies (``--pricing FILE``), never invented.

The file (YAML or JSON, schema: ``mlguard schema pricing``) lists negotiated rates per platform,
instance type and (optionally) region, either in dollars per instance-hour or in Databricks DBUs
per hour with the SKU's dollar price per DBU. A finding whose instance type has no price keeps
its GPU-hours and node-hours and says it is unpriced; its dollars stay unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from mlguard.cost.model import Cost, CostLine
from mlguard.errors import InputError
from mlguard.model import Result
from mlguard.yamlio import load_validated


class PricingError(InputError):
    """A price file is invalid (exit 2)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstancePrice(_Strict):
    platform: Literal["ec2", "sagemaker", "databricks_serving", "bedrock", "databricks_compute"] = Field(
        description="ec2 (EC2 instances, and the cloud VM of Databricks pool and cluster nodes), sagemaker "
        "(ml.* hosting and notebooks), databricks_serving (a served entity's workload type, e.g. "
        "GPU_MEDIUM), bedrock (a provisioned throughput model unit-hour, by foundation model ARN), "
        "databricks_compute (the DBUs of a running cluster node by node type; a cluster node-hour "
        "costs this plus the ec2 price of its VM, and is unpriced without both)."
    )
    instance_type: str = Field(
        min_length=1,
        description="e.g. g5.2xlarge, ml.g5.xlarge, GPU_MEDIUM, or a Bedrock foundation model ARN.",
    )
    region: str | None = Field(default=None, min_length=1, description="AWS region; absent: any region.")
    usd_per_hour: float | None = Field(default=None, ge=0, description="Dollars per instance-hour.")
    dbu_per_hour: float | None = Field(default=None, ge=0, description="DBUs per instance-hour.")
    sku: str | None = Field(default=None, min_length=1, description="Databricks SKU whose $/DBU applies.")


class DatabricksPrices(_Strict):
    dbu_prices: dict[str, float] = Field(
        default_factory=dict, description="Dollars per DBU by SKU (e.g. SERVERLESS_REAL_TIME_INFERENCE)."
    )


class PriceFile(_Strict):
    label: str | None = Field(default=None, description="Where the rates come from (shown in reports).")
    sample: bool = Field(default=False, description="true: SAMPLE prices for demos, not real rates.")
    currency: Literal["USD"] = "USD"
    instances: list[InstancePrice] = Field(default_factory=list)
    databricks: DatabricksPrices = Field(default_factory=DatabricksPrices)


def pricing_schema() -> dict[str, Any]:
    """The price file's JSON Schema. An optional field is omitted, never null, so the schema says
    so (a wrong value is then reported against its own rule, e.g. a negative price)."""
    schema = PriceFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mlguard price file (--pricing)"
    for model in schema["$defs"].values():
        for name, prop in model.get("properties", {}).items():
            variants = [v for v in prop.get("anyOf", []) if v.get("type") != "null"]
            if len(variants) == 1 and len(prop["anyOf"]) == 2:
                rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
                model["properties"][name] = {**variants[0], **rest}
    for name, prop in schema.get("properties", {}).items():
        variants = [v for v in prop.get("anyOf", []) if v.get("type") != "null"]
        if len(variants) == 1 and len(prop["anyOf"]) == 2:
            rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
            schema["properties"][name] = {**variants[0], **rest}
    schema["$defs"]["InstancePrice"]["description"] = (
        "One price: usd_per_hour, or dbu_per_hour with sku (whose $/DBU is under databricks.dbu_prices)."
    )
    return schema


@dataclass(frozen=True)
class Price:
    usd_per_hour: float
    source: str


class PriceSource(Protocol):
    label: str
    sample: bool

    def price(
        self, platform: str, instance_type: str, region: str | None, usage: str | None = None
    ) -> Price | None:
        """``usage``: what a SageMaker instance-hour is for (hosting, notebook, training, processing)."""
        ...

    def missing(
        self, platform: str, instance_type: str, region: str | None, usage: str | None = None
    ) -> str | None:
        """Why there is no price (None: the source simply lists none)."""
        ...


DATABRICKS_COMPUTE = "databricks_compute"


class PriceBook:
    """The prices of one file, looked up by (platform, type, region) then (platform, type, any region)."""

    def __init__(self, prices: PriceFile, path: Path) -> None:
        self.file = prices
        name = path.name
        self.sample = prices.sample
        self.label = (prices.label or name) + (" (SAMPLE prices, not real rates)" if prices.sample else "")
        self._by_key: dict[tuple[str, str, str | None], Price] = {}
        for p in prices.instances:
            if p.usd_per_hour is not None:
                price = Price(p.usd_per_hour, f"{name}: {p.usd_per_hour:g} $/h")
            else:
                assert p.dbu_per_hour is not None
                assert p.sku is not None
                per_dbu = prices.databricks.dbu_prices[p.sku]
                price = Price(
                    p.dbu_per_hour * per_dbu,
                    f"{name}: {p.dbu_per_hour:g} DBU/h x {per_dbu:g} $/DBU ({p.sku})",
                )
            self._by_key[(p.platform, p.instance_type, p.region)] = price

    def _own(self, platform: str, instance_type: str, region: str | None) -> Price | None:
        return self._by_key.get((platform, instance_type, region)) or self._by_key.get(
            (platform, instance_type, None)
        )

    def price(
        self, platform: str, instance_type: str, region: str | None, usage: str | None = None
    ) -> Price | None:
        if platform != DATABRICKS_COMPUTE:
            return self._own(platform, instance_type, region)
        # a running cluster node bills its cloud VM and its DBUs: both, or no dollar figure
        vm = self._own("ec2", instance_type, region)
        dbu = self._own(DATABRICKS_COMPUTE, instance_type, region)
        if vm is None or dbu is None:
            return None
        return Price(vm.usd_per_hour + dbu.usd_per_hour, f"VM {vm.source} + DBUs {dbu.source}")

    def missing(
        self, platform: str, instance_type: str, region: str | None, usage: str | None = None
    ) -> str | None:
        if platform != DATABRICKS_COMPUTE:
            return None
        lacks = [
            f"{part} ({what})"
            for part, what in (("ec2", "its VM"), (DATABRICKS_COMPUTE, "its DBUs"))
            if self._own(part, instance_type, region) is None
        ]
        return "a cluster node-hour is its VM plus its DBUs; the file has no " + " and no ".join(lacks)


def load_price_file(path: Path) -> PriceBook:
    """A validated price file; a problem names the file, line and field (exit 2)."""
    if not path.is_file():
        raise PricingError("price file not found", file=str(path))
    doc, raw = load_validated(path, pricing_schema(), PricingError)
    prices = PriceFile.model_validate(raw)
    seen: dict[tuple[str, str, str | None], int] = {}
    for i, p in enumerate(prices.instances):
        key = (p.platform, p.instance_type, p.region)
        if key in seen:
            raise PricingError(
                f"instances[{i}]: {p.platform} {p.instance_type} in {p.region or 'any region'} is already "
                f"priced by instances[{seen[key]}]",
                file=str(path),
                line=doc.line_of(["instances", i]),
            )
        seen[key] = i
        if (p.usd_per_hour is None) == (p.dbu_per_hour is None) or (p.dbu_per_hour is None) != (
            p.sku is None
        ):
            raise PricingError(
                f"instances[{i}]: give usd_per_hour, or dbu_per_hour with sku (exactly one of the two)",
                file=str(path),
                line=doc.line_of(["instances", i]),
            )
        if p.sku is not None and p.sku not in prices.databricks.dbu_prices:
            known = ", ".join(sorted(prices.databricks.dbu_prices)) or "none"
            raise PricingError(
                f"instances[{i}].sku: no dollar price for SKU {p.sku!r} under databricks.dbu_prices "
                f"(known: {known})",
                file=str(path),
                line=doc.line_of(["instances", i, "sku"]),
            )
    return PriceBook(prices, path)


def _price_cost(cost: Cost, source: PriceSource) -> Cost:
    lines: list[CostLine] = []
    unknown = list(cost.unknown)
    for line in cost.lines:
        price = (
            source.price(line.platform, line.instance_type, line.region, line.usage)
            if line.instance_type
            else None
        )
        if price is None:
            if line.instance_type and line.instances != 0:
                why = source.missing(line.platform, line.instance_type, line.region, line.usage)
                unknown.append(
                    f"{line.item}: no price for {line.platform} {line.instance_type} in "
                    f"{line.region or 'any region'} in {source.label}" + (f": {why}" if why else "")
                )
            lines.append(line)
            continue
        monthly = (
            None
            if line.node_hours_per_month is None
            else round(line.node_hours_per_month * price.usd_per_hour, 2)
        )
        if monthly is None and line.instances:  # hours unmeasured: say what each of them costs
            unknown.append(f"{line.item}: each such hour costs ${line.instances * price.usd_per_hour:,.2f}")
        lines.append(
            line.model_copy(
                update={
                    "usd_per_hour": price.usd_per_hour,
                    "usd_per_month": monthly,
                    "price_source": price.source,
                }
            )
        )
    # Dollars only when every line that counts is priced; a zero-instance line costs nothing.
    usd: float | None = 0.0
    for line in lines:
        if line.instances == 0:
            continue
        if line.usd_per_month is None or usd is None:
            usd = None
            continue
        usd = round(usd + line.usd_per_month, 2)
    if not lines:
        usd = None if cost.node_hours_per_month is None else 0.0
    return cost.model_copy(update={"lines": lines, "usd_per_month": usd, "unknown": unknown})


def apply_prices(results: Sequence[Result], source: PriceSource) -> list[Result]:
    """``results`` with dollars on every cost whose lines have prices in ``source``."""
    return [r.model_copy(update={"cost": _price_cost(r.cost, source)}) if r.cost else r for r in results]
