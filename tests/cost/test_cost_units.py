"""Cost pieces on their own: price lookup, totals, the owner tag, the HTML section, the schema."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from mlguard.cli import cli
from mlguard.cost.model import Cost, CostLine
from mlguard.cost.pricing import apply_prices, load_price_file, pricing_schema
from mlguard.cost.summary import summarize
from mlguard.model import Category, Provenance, Result, ScanResult, Severity, Status, Summary, fingerprint
from mlguard.report.base import ReportOptions
from mlguard.report.formats.html import HtmlReporter
from mlguard.report.formats.markdown import render_markdown
from mlguard.yamlio import parse_yaml

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "mlguard" / "data" / "pricing-sample.yaml"


def _result(policy: str, uid: str, cost: Cost | None, status: Status = Status.FAIL, **kw: str) -> Result:
    return Result(
        policy_id=policy,
        resource_uid=uid,
        resource_type="aws.ec2.instance",
        resource_name=kw.get("name", uid.rsplit("/", 1)[-1]),
        provider="aws",
        account=kw.get("account", "111122223333"),
        region="us-east-1",
        status=status,
        severity=Severity.HIGH,
        category=Category.COST,
        title="t",
        message="m",
        fingerprint=fingerprint(policy, uid),
        cost=cost,
    )


def _cost(
    gpu: float | None, node: float | None, itype: str = "g5.12xlarge", owner: str | None = None
) -> Cost:
    line = CostLine(
        item="x",
        platform="ec2",
        instance_type=itype,
        region="us-east-1",
        instances=None if node is None else node / 730,
        hours_per_month=730,
        node_hours_per_month=node,
        gpu_hours_per_month=gpu,
    )
    return Cost(
        waste="idle",
        action="stop",
        gpu_hours_per_month=gpu,
        node_hours_per_month=node,
        lines=[line],
        owner=owner,
    )


def test_a_region_price_wins_over_an_any_region_price(tmp_path: Path) -> None:
    prices = tmp_path / "p.yaml"
    prices.write_text(
        "instances:\n"
        "  - {platform: ec2, instance_type: g5.12xlarge, usd_per_hour: 5}\n"
        "  - {platform: ec2, instance_type: g5.12xlarge, region: us-east-1, usd_per_hour: 4}\n"
    )
    book = load_price_file(prices)
    assert book.price("ec2", "g5.12xlarge", "us-east-1").usd_per_hour == 4  # type: ignore[union-attr]
    assert book.price("ec2", "g5.12xlarge", "eu-west-1").usd_per_hour == 5  # type: ignore[union-attr]
    assert book.price("sagemaker", "g5.12xlarge", "us-east-1") is None
    (priced,) = apply_prices([_result("p", "arn:x/i-1", _cost(2920, 730))], book)
    assert priced.cost is not None
    assert priced.cost.usd_per_month == 2920.0  # 730 h x 4 $/h


def test_an_unpriced_type_keeps_its_hours_and_says_so(tmp_path: Path) -> None:
    book = load_price_file(SAMPLE)
    (r,) = apply_prices([_result("p", "arn:x/i-1", _cost(730, 730, itype="g6.xlarge"))], book)
    assert r.cost is not None
    assert r.cost.usd_per_month is None
    assert r.cost.gpu_hours_per_month == 730
    assert any("no price for ec2 g6.xlarge" in u for u in r.cost.unknown)


def test_a_resource_failing_two_cost_policies_is_counted_once() -> None:
    results = [
        _result("idle", "arn:x/ep", _cost(5840, 730, owner="ml")),
        _result("autoscale", "arn:x/ep", _cost(0, 0, owner="ml")),
        _result("idle", "arn:x/other", _cost(None, 730)),  # unknown GPU-hours: counted apart
        _result("idle", "arn:x/waived", _cost(730, 730), status=Status.WAIVED),
    ]
    s = summarize(results, owner_tags=["team"])
    assert (s.total.findings, s.total.gpu_hours_per_month, s.total.node_hours_per_month) == (
        2,
        5840.0,
        1460.0,
    )
    assert s.total.unknown == 1
    assert [(t.key, t.gpu_hours_per_month) for t in s.by_owner] == [("ml", 5840.0), ("(no owner tag)", 0.0)]
    assert [i.policy_id for i in s.top] == ["idle", "idle"]
    assert s.top[0].resource_uid == "arn:x/ep"


def test_derived_cost_totals_are_recomputed_from_the_results() -> None:
    results = [_result("idle", "arn:x/a", _cost(730, 730))]
    tampered = summarize(results).model_copy(update={"total": summarize([]).total})
    scan = ScanResult(
        provenance=Provenance(version="t", started_at="2026-01-01T00:00:00Z"),
        results=results,
        summary=Summary(),
        cost=tampered,
    ).with_derived_figures()
    assert scan.cost is not None
    assert scan.cost.total.gpu_hours_per_month == 730.0


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.bars: list[dict[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        if d.get("id"):
            self.ids.add(str(d["id"]))
        if tag == "g" and d.get("class") == "cost-bar":
            self.bars.append(d)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _scan_with_cost(owner: str) -> ScanResult:
    results = [
        _result("idle", "arn:x/i-1", _cost(2920, 730, owner=owner)),
        _result("idle", "arn:x/i-2", _cost(730, 730, owner="ml")),
    ]
    results = apply_prices(results, load_price_file(SAMPLE))
    return ScanResult(
        provenance=Provenance(version="t", started_at="2026-01-01T00:00:00Z"),
        results=results,
        summary=Summary(),
        cost=summarize(results, "sample", True, ["team"]),
    )


def test_html_cost_section_without_a_browser() -> None:
    owner = "<script>alert(1)</script>"
    page = HtmlReporter().render(_scan_with_cost(owner), ReportOptions())
    assert isinstance(page, str)
    parsed = _Sections()
    parsed.feed(page)
    assert {"cost", "cost-headline", "cost-chart", "cost-top", "cost-by-owner", "cost-sample"} <= parsed.ids
    # one bar per owner, longest first, values in dollars from the SAMPLE file (5.70 $/h x 730 h)
    assert [b["data-owner"] for b in parsed.bars] == [owner, "ml"]
    assert [float(b["data-value"] or 0) for b in parsed.bars] == [4161.0, 4161.0]
    assert "<script>alert(1)</script>" not in page.split('<script type="application/json"')[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="#cost">Cost</a>' in page


def test_markdown_cost_section_escapes_owner_and_says_sample() -> None:
    text = render_markdown(_scan_with_cost("[x](http://evil)"))
    assert "### Cost at risk per month" in text
    assert "SAMPLE prices" in text
    assert "[x](http://evil)" not in text


def test_owner_tag_flag_chooses_the_owner(tmp_path: Path) -> None:
    golden = (
        Path(__file__).resolve().parents[1] / "golden" / "ec2_gpu_instance_idle" / "cost" / "inventory.yaml"
    )
    raw = parse_yaml(golden).plain()
    inv = {
        "provenance": {"version": "t", "started_at": "2026-01-01T00:00:00Z"},
        "resources": [{**r, "provider": "aws", "id": r["uid"].rsplit("/", 1)[-1]} for r in raw["resources"]],
        "coverage": [{"provider": "aws", "resource_type": "aws.ec2.instance"}],
    }
    path = tmp_path / "inv.json"
    path.write_text(json.dumps(inv))
    for flags, owner in (([], "vision"), (["--owner-tag", "cost-center"], None)):
        out = tmp_path / f"out{len(flags)}"
        argv = ["-q", "evaluate", str(path), "--policy", "ec2_gpu_instance_idle", "--format", "json"]
        result = CliRunner().invoke(cli, [*argv, "--output-dir", str(out), "--fail-on", "never", *flags])
        assert result.exit_code == 0, result.output
        data = json.loads((out / "results.json").read_text())
        (idle,) = [r for r in data["results"] if r["resource_uid"].endswith("i-idle4")]
        assert idle["cost"].get("owner") == owner  # the tag key Team matched case-insensitively


def test_schema_pricing_is_published_and_the_sample_file_follows_it() -> None:
    result = CliRunner().invoke(cli, ["schema", "pricing"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema == json.loads(json.dumps(pricing_schema()))
    jsonschema.Draft202012Validator(schema).validate(parse_yaml(SAMPLE).plain())
    assert load_price_file(SAMPLE).sample is True


def test_pricing_from_the_config_file_and_the_sample_keyword(tmp_path: Path) -> None:
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
    (tmp_path / "prices.yaml").write_text(
        "instances:\n  - {platform: ec2, instance_type: g5.12xlarge, usd_per_hour: 2}\n"
    )
    (tmp_path / "mlguard.yaml").write_text("cost:\n  pricing: prices.yaml\n  owner_tags: [Name, team]\n")
    base = ["--config", str(tmp_path / "mlguard.yaml"), "-q", "evaluate", str(tmp_path / "inv.json")]
    base += ["--policy", "ec2_gpu_instance_idle", "--format", "json", "--fail-on", "never"]
    for extra, usd in (([], 1460.0), (["--pricing", "sample"], 4161.0)):  # 730 h x 2 $/h; x 5.70 (SAMPLE)
        out = tmp_path / f"out{len(extra)}"
        result = CliRunner().invoke(cli, [*base, "--output-dir", str(out), *extra])
        assert result.exit_code == 0, result.output
        data = json.loads((out / "results.json").read_text())
        (idle,) = [r for r in data["results"] if r["resource_uid"].endswith("i-idle4")]
        assert idle["cost"]["usd_per_month"] == usd
        assert idle["cost"]["owner"] == "vision"  # no Name tag: the next key, team (as Team), names it
        assert data["cost"]["owner_tags"] == ["Name", "team"]
