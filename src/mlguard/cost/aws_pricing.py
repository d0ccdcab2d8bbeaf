"""Prices from the AWS Price List API (``--pricing aws``): public on-demand EC2 and SageMaker rates.

One read-only call, ``pricing:GetProducts`` on the us-east-1 endpoint, once per (platform, instance
type, region, usage) the findings need, cached for the run; every other operation is refused before
it is sent. The ``ec2`` platform (EC2 instances, and the cloud VMs of Databricks pools and clusters)
is priced from service code AmazonEC2 (Linux, shared tenancy); ``sagemaker`` (``ml.*`` types) from
AmazonSageMaker by the usage's component (Hosting, Notebook, Training, Processing). Databricks
serving and DBU rates and Bedrock model units are contract prices: they come only from a price file
and stay unpriced here, saying so. A lookup that fails or matches no single price leaves the figure
unpriced with the reason; it is never guessed.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mlguard.collect.errors import ReadOnlyViolation
from mlguard.cost.pricing import Price

PRICING_REGION = "us-east-1"
ALLOWED = frozenset({("pricing", "GetProducts")})
_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 3})
MAX_PAGES = 5
SAGEMAKER_COMPONENTS = {  # the Price List's component attribute of an ml.* instance-hour, by usage
    "hosting": "Hosting",
    "notebook": "Notebook",
    "training": "Training",
    "processing": "Processing",
}
_Key = tuple[str, str, str | None, str | None]  # platform, instance type, region, usage


def _guard(model: Any, **_: Any) -> None:
    key = (model.service_model.service_name, model.name)
    if key not in ALLOWED:
        raise ReadOnlyViolation.operation(*key)


def _on_demand_usd(item: str | dict[str, Any]) -> set[float]:
    doc = json.loads(item) if isinstance(item, str) else item
    prices: set[float] = set()
    for term in (doc.get("terms", {}).get("OnDemand") or {}).values():
        for dim in (term.get("priceDimensions") or {}).values():
            usd = (dim.get("pricePerUnit") or {}).get("USD")
            if usd is not None and dim.get("unit") in ("Hrs", "Hours", "hours"):
                prices.add(float(usd))
    return prices


class AwsPriceList:
    """A :class:`~mlguard.cost.pricing.PriceSource` backed by the AWS Price List API."""

    sample = False

    def __init__(self, profile: str | None = None, endpoint_url: str | None = None) -> None:
        session = boto3.Session(profile_name=profile) if profile else boto3.Session()
        self.client = session.client(
            "pricing", region_name=PRICING_REGION, config=_CONFIG, endpoint_url=endpoint_url
        )
        self.client.meta.events.register("before-call.pricing", _guard)
        self.label = "AWS Price List API (public on-demand EC2 Linux and SageMaker rates)"
        self.cache: dict[_Key, Price | None] = {}
        self.problems: dict[_Key, str] = {}

    def price(
        self, platform: str, instance_type: str, region: str | None, usage: str | None = None
    ) -> Price | None:
        key = (platform, instance_type, region, usage if platform == "sagemaker" else None)
        if key not in self.cache:
            self.cache[key] = self._lookup(key)
        return self.cache[key]

    def missing(
        self, platform: str, instance_type: str, region: str | None, usage: str | None = None
    ) -> str | None:
        return self.problems.get(
            (platform, instance_type, region, usage if platform == "sagemaker" else None)
        )

    def _query(self, key: _Key) -> tuple[str, list[tuple[str, str]], str] | str:
        """(service code, filters, what) for a key, or why it is not priced from the Price List."""
        platform, instance_type, region, usage = key
        if region is None:
            return "an instance type without a region is not priced from the AWS Price List"
        if platform == "ec2":
            return (
                "AmazonEC2",
                [
                    ("instanceType", instance_type),
                    ("regionCode", region),
                    ("operatingSystem", "Linux"),
                    ("tenancy", "Shared"),
                    ("preInstalledSw", "NA"),
                    ("capacitystatus", "Used"),
                    ("licenseModel", "No License required"),
                ],
                "on-demand Linux",
            )
        if platform == "sagemaker":
            component = SAGEMAKER_COMPONENTS.get(usage or "")
            if component is None:
                return "the SageMaker usage (hosting, notebook, training, processing) is not known"
            return (
                "AmazonSageMaker",
                [("instanceName", instance_type), ("regionCode", region), ("component", component)],
                f"on-demand SageMaker {component}",
            )
        return (
            f"{platform} rates are contract prices: give them in a price file (--pricing FILE); "
            "the AWS Price List prices EC2 and SageMaker instance types only"
        )

    def _lookup(self, key: _Key) -> Price | None:
        _, instance_type, region, _ = key
        query = self._query(key)
        if isinstance(query, str):
            self.problems[key] = query
            return None
        service, fields, what = query
        filters = [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in fields]
        found: set[float] = set()
        token: str | None = None
        try:
            for _ in range(MAX_PAGES):
                kwargs: dict[str, Any] = {"ServiceCode": service, "Filters": filters, "MaxResults": 100}
                if token:
                    kwargs["NextToken"] = token
                page = self.client.get_products(**kwargs)
                for item in page.get("PriceList", []):
                    found |= _on_demand_usd(item)
                token = page.get("NextToken")
                if not token:
                    break
        except (ClientError, BotoCoreError, ValueError) as exc:
            self.problems[key] = f"pricing:GetProducts failed: {type(exc).__name__}: {str(exc)[:200]}"
            return None
        if len(found) != 1:
            problem = "no on-demand price" if not found else f"{len(found)} different prices"
            self.problems[key] = f"the AWS Price List has {problem} for {instance_type} in {region}"
            return None
        (usd,) = found
        return Price(usd, f"AWS Price List: {usd:g} $/h {what}, {region}")
