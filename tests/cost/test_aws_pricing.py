"""--pricing aws against a local fake of the AWS Price List API (moto does not implement pricing)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlguard.cli import cli
from mlguard.collect.aws.permissions import permissions
from mlguard.collect.aws.spec import allowlist
from mlguard.collect.errors import ReadOnlyViolation
from mlguard.cost.aws_pricing import AwsPriceList
from mlguard.cost.model import Cost, CostLine
from mlguard.cost.pricing import apply_prices
from mlguard.model import Category, Result, Severity, Status, fingerprint
from mlguard.yamlio import parse_yaml
from tests.support.http import serving

RATES = {("g5.12xlarge", "us-east-1"): "5.6720000000", ("p4d.24xlarge", "us-east-1"): "32.7726000000"}
# AmazonSageMaker: (instanceName, regionCode, component) -> $/h; hosting and training differ
SAGEMAKER_RATES = {
    ("ml.g5.xlarge", "us-east-1", "Hosting"): "1.4080000000",
    ("ml.g5.xlarge", "us-east-1", "Training"): "1.4080000000",
    ("ml.p4d.24xlarge", "us-east-1", "Hosting"): "37.6880000000",
    ("ml.p4d.24xlarge", "us-east-1", "Training"): "37.6880000000",
    ("ml.g5.xlarge", "us-east-1", "Notebook"): "1.4100000000",
}


def _product(itype: str, region: str, usd: str) -> str:
    return json.dumps(
        {
            "product": {"attributes": {"instanceType": itype, "regionCode": region}},
            "terms": {
                "OnDemand": {
                    "SKU.T": {"priceDimensions": {"SKU.T.D": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}}}
                }
            },
        }
    )


class _Handler(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        target = self.headers.get("X-Amz-Target", "")
        type(self).calls.append({"target": target, **body})
        filters = {f["Field"]: f["Value"] for f in body.get("Filters", [])}
        if body.get("ServiceCode") == "AmazonSageMaker":
            itype = filters.get("instanceName", "")
            usd = SAGEMAKER_RATES.get((itype, filters.get("regionCode", ""), filters.get("component", "")))
        elif body.get("ServiceCode") == "AmazonEC2":
            itype = filters.get("instanceType", "")
            usd = RATES.get((itype, filters.get("regionCode", "")))
        else:
            usd = None
        answer = {
            "FormatVersion": "aws_v1",
            "PriceList": [_product(itype, filters["regionCode"], usd)] if usd else [],
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    _Handler.calls = []
    with serving(_Handler) as url:
        yield url


def _result(uid: str, itype: str, platform: str = "ec2", usage: str | None = None) -> Result:
    line = CostLine(
        item=uid,
        platform=platform,
        usage=usage,
        instance_type=itype,
        region="us-east-1",
        instances=1,
        hours_per_month=730,
        node_hours_per_month=730,
        gpu_hours_per_month=730,
    )
    cost = Cost(waste="idle", action="stop", gpu_hours_per_month=730, node_hours_per_month=730, lines=[line])
    return Result(
        policy_id="p",
        resource_uid=uid,
        resource_type="aws.ec2.instance",
        provider="aws",
        status=Status.FAIL,
        severity=Severity.HIGH,
        category=Category.COST,
        title="t",
        message="m",
        fingerprint=fingerprint("p", uid),
        cost=cost,
    )


def test_on_demand_ec2_rates_are_read_once_per_type_and_region(endpoint: str) -> None:
    source = AwsPriceList(endpoint_url=endpoint)
    results = [_result("a", "g5.12xlarge"), _result("b", "g5.12xlarge"), _result("c", "g9.mystery")]
    priced = apply_prices(results, source)
    assert [r.cost.usd_per_month if r.cost else None for r in priced] == [4140.56, 4140.56, None]
    assert priced[2].cost is not None
    assert any("no on-demand price for g9.mystery" in u for u in priced[2].cost.unknown)
    gets = [c for c in _Handler.calls if c["target"] == "AWSPriceListService.GetProducts"]
    assert len(gets) == 2  # cached for the run: g5.12xlarge asked once
    assert gets[0]["ServiceCode"] == "AmazonEC2"
    assert {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"} in gets[0]["Filters"]


def test_sagemaker_is_priced_by_its_usage_component_once_per_run(endpoint: str) -> None:
    source = AwsPriceList(endpoint_url=endpoint)
    results = [
        _result("a", "ml.p4d.24xlarge", "sagemaker", "hosting"),
        _result("b", "ml.p4d.24xlarge", "sagemaker", "hosting"),
        _result("c", "ml.g5.xlarge", "sagemaker", "notebook"),
        _result("d", "ml.g5.xlarge", "sagemaker", "processing"),  # the fake lists no such price
    ]
    priced = apply_prices(results, source)
    usd = [r.cost.usd_per_month if r.cost else None for r in priced]
    assert usd == [27512.24, 27512.24, 1029.3, None]  # 730 h x 37.688 and x 1.41 $/h
    assert priced[0].cost is not None
    assert (
        priced[0].cost.lines[0].price_source
        == "AWS Price List: 37.688 $/h on-demand SageMaker Hosting, us-east-1"
    )
    assert priced[3].cost is not None
    assert any("no on-demand price for ml.g5.xlarge" in u for u in priced[3].cost.unknown)
    gets = [c for c in _Handler.calls if c["target"] == "AWSPriceListService.GetProducts"]
    assert len(gets) == 3  # ml.p4d.24xlarge hosting asked once
    assert gets[0]["ServiceCode"] == "AmazonSageMaker"
    assert {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"} in gets[0]["Filters"]
    assert {"Type": "TERM_MATCH", "Field": "instanceName", "Value": "ml.p4d.24xlarge"} in gets[0]["Filters"]


def test_contract_priced_platforms_and_unknown_usage_are_not_asked(endpoint: str) -> None:
    source = AwsPriceList(endpoint_url=endpoint)
    results = [
        _result("a", "ml.g5.xlarge", platform="sagemaker"),  # usage unknown
        _result("b", "GPU_MEDIUM", platform="databricks_serving"),
        _result("c", "arn:aws:bedrock:us-east-1::foundation-model/x", platform="bedrock"),
    ]
    priced = apply_prices(results, source)
    assert [r.cost.usd_per_month if r.cost else 0 for r in priced] == [None, None, None]
    assert priced[0].cost is not None
    assert any("SageMaker usage" in u for u in priced[0].cost.unknown)
    assert priced[1].cost is not None
    assert any("contract prices" in u for u in priced[1].cost.unknown)
    assert _Handler.calls == []


def test_an_unreachable_price_list_leaves_figures_unpriced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    source = AwsPriceList(endpoint_url="http://127.0.0.1:9")
    source.client.meta.config.retries = {"max_attempts": 1}
    (r,) = apply_prices([_result("a", "g5.12xlarge")], source)
    assert r.cost is not None
    assert r.cost.usd_per_month is None
    assert r.cost.gpu_hours_per_month == 730
    assert any("pricing:GetProducts failed" in u for u in r.cost.unknown)


def test_only_get_products_may_be_sent(endpoint: str) -> None:
    source = AwsPriceList(endpoint_url=endpoint)
    with pytest.raises(ReadOnlyViolation):
        source.client.describe_services(ServiceCode="AmazonEC2")
    assert _Handler.calls == []


def test_get_products_is_in_the_permissions_and_the_allowlist() -> None:
    assert "pricing:GetProducts" in permissions()["Statement"][0]["Action"]
    assert ("pricing", "GetProducts") in allowlist()


def test_pricing_aws_from_the_command_line(
    endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_PRICING", endpoint)  # botocore's per-service endpoint variable
    golden = (
        Path(__file__).resolve().parents[1] / "golden" / "ec2_gpu_instance_idle" / "cost" / "inventory.yaml"
    )
    raw = parse_yaml(golden).plain()
    inv = {
        "provenance": {"version": "t", "started_at": "2026-01-01T00:00:00Z"},
        "resources": [{**r, "provider": "aws", "id": r["uid"].rsplit("/", 1)[-1]} for r in raw["resources"]],
        "coverage": [{"provider": "aws", "resource_type": "aws.ec2.instance"}],
    }
    (tmp_path / "inv.json").write_text(json.dumps(inv))
    argv = [
        "-q",
        "evaluate",
        str(tmp_path / "inv.json"),
        "--policy",
        "ec2_gpu_instance_idle",
        "--format",
        "json",
    ]
    result = CliRunner().invoke(
        cli, [*argv, "--output-dir", str(tmp_path), "--fail-on", "never", "--pricing", "aws"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "results.json").read_text())
    (idle,) = [r for r in data["results"] if r["resource_uid"].endswith("i-idle4")]
    assert idle["cost"]["usd_per_month"] == 4140.56  # 730 h x 5.672 $/h
    assert data["cost"]["pricing"].startswith("AWS Price List API")
    assert data["cost"]["sample_prices"] is False
