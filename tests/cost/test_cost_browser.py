"""The HTML cost chart and GPU fleet in a real headless Chromium: the chart renders, one bar per
owner with widths in proportion to the figures, labels legible (large enough, inside the chart, not
over the bars or each other), hostile owner names stay text, and nothing is fetched.

Skips without Chromium (as on the helpers' machine); CI installs it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlguard.cost.fleet import gpu_fleet
from mlguard.cost.model import Cost, CostLine
from mlguard.cost.pricing import apply_prices, load_price_file
from mlguard.cost.summary import summarize
from mlguard.model import Category, Provenance, Result, ScanResult, Severity, Status, Summary, fingerprint
from mlguard.report.base import ReportOptions, reporters
from tests.support.browser import MISSING_REASON, available, chromium, open_report

from .test_fleet import _inventory

pytestmark = pytest.mark.skipif(not available(), reason=MISSING_REASON)

if available():
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "mlguard" / "data" / "pricing-sample.yaml"
HOSTILE = '<img src="https://example.invalid/x.png" onerror="window.__pwned=1">'
LONG = "a-very-long-team-name-for-the-gpu-platform-group"
OWNERS = {"vision": 4, "ml-platform": 2, LONG: 1, HOSTILE: 1}  # g5.12xlarge instances idle each


def _result(i: int, owner: str, instances: int) -> Result:
    uid = f"arn:aws:ec2:us-east-1:111122223333:instance/i-{i}"
    node = instances * 730.0
    line = CostLine(
        item="x",
        platform="ec2",
        instance_type="g5.12xlarge",
        region="us-east-1",
        instances=instances,
        accelerators_per_instance=4,
        hours_per_month=730,
        node_hours_per_month=node,
        gpu_hours_per_month=node * 4,
    )
    cost = Cost(
        waste="idle",
        action="stop",
        gpu_hours_per_month=node * 4,
        node_hours_per_month=node,
        lines=[line],
        owner=owner,
        owner_tag="team",
    )
    return Result(
        policy_id="ec2_gpu_instance_idle",
        resource_uid=uid,
        resource_type="aws.ec2.instance",
        resource_name=f"i-{i}",
        provider="aws",
        account="111122223333",
        region="us-east-1",
        status=Status.FAIL,
        severity=Severity.HIGH,
        category=Category.COST,
        title="t",
        message="m",
        fingerprint=fingerprint("ec2_gpu_instance_idle", uid),
        cost=cost,
    )


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    with chromium() as d:
        yield d


@pytest.fixture(scope="module")
def page(driver: WebDriver, tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    prices = load_price_file(SAMPLE)
    results = apply_prices([_result(i, o, n) for i, (o, n) in enumerate(OWNERS.items())], prices)
    scan = ScanResult(
        provenance=Provenance(version="t", started_at="2026-12-01T00:00:00Z"),
        results=results,
        summary=Summary.of(results, resources=len(results), policies_run=1, errors=0, incomplete_scopes=[]),
        cost=summarize(results, prices.label, prices.sample, ["team"]),
        gpu_fleet=gpu_fleet(_inventory(), prices),
    )
    out = tmp_path_factory.mktemp("cost-html") / "report.html"
    reporters()["html"]().write(scan, out, ReportOptions())
    open_report(driver, out)
    return scan


def _bars(driver: WebDriver) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = driver.execute_script(
        """
        const svg = document.querySelector('#cost-chart svg').getBoundingClientRect();
        return [...document.querySelectorAll('#cost-chart g.cost-bar')].map(g => {
          const [label, value] = g.querySelectorAll('text');
          const rect = g.querySelector('rect');
          const box = e => { const r = e.getBoundingClientRect();
            return {left: r.left - svg.left, right: r.right - svg.left, top: r.top - svg.top,
                    bottom: r.bottom - svg.top, width: r.width, height: r.height}; };
          return {owner: g.dataset.owner, value: parseFloat(g.dataset.value),
                  label: box(label), text: box(value), bar: box(rect),
                  labelText: label.textContent, valueText: value.textContent,
                  fontPx: parseFloat(getComputedStyle(label).fontSize),
                  svgWidth: svg.width, svgHeight: svg.height};
        });
        """
    )
    return found


def test_the_chart_renders_one_bar_per_owner_in_proportion(driver: WebDriver, page: ScanResult) -> None:
    chart = driver.find_element(By.ID, "cost-chart")
    assert chart.is_displayed()
    bars = _bars(driver)
    assert page.cost is not None
    assert [b["owner"] for b in bars] == [t.key for t in page.cost.by_owner]
    assert bars[0]["owner"] == "vision"  # the largest figure first
    top = bars[0]
    assert top["bar"]["width"] > 100
    for b in bars:
        assert b["bar"]["width"] > 0, b["owner"]
        assert b["bar"]["width"] / top["bar"]["width"] == pytest.approx(b["value"] / top["value"], rel=0.02)
    assert [b["valueText"] for b in bars] == ["$16,644", "$8,322", "$4,161", "$4,161"]  # 5.70 $/h x 730 h


def test_labels_are_legible(driver: WebDriver, page: ScanResult) -> None:
    bars = _bars(driver)
    for b in bars:
        for part in ("label", "text"):
            box = b[part]
            assert box["width"] > 0, (b["owner"], part)
            assert box["left"] >= 0, (b["owner"], part, box)  # not cut at the chart's left edge
            assert box["right"] <= b["svgWidth"] + 0.5, (b["owner"], part, box)
            assert box["bottom"] <= b["svgHeight"] + 0.5, (b["owner"], part, box)
        assert b["fontPx"] >= 11, b["owner"]
        assert b["label"]["right"] <= b["bar"]["left"] + 0.5, b["owner"]  # the name never covers its bar
        assert b["text"]["left"] >= b["bar"]["right"] - 0.5, b["owner"]  # nor does the figure
    for upper, lower in itertools.pairwise(bars):
        assert upper["label"]["bottom"] <= lower["label"]["top"] + 0.5  # rows do not overlap
    long = next(b for b in bars if b["owner"] == LONG)
    assert long["labelText"].endswith("...")  # shortened to fit; the full name is in the bar's title
    title = driver.execute_script(
        "return [...document.querySelectorAll('#cost-chart g.cost-bar rect title')].map(t => t.textContent)"
    )
    assert any(t.startswith(LONG) for t in title)


def test_hostile_owner_stays_text_and_nothing_is_fetched(driver: WebDriver, page: ScanResult) -> None:
    bars = _bars(driver)
    assert any(b["owner"] == HOSTILE for b in bars)
    assert driver.execute_script("return window.__pwned === undefined")
    assert driver.execute_script("return document.querySelectorAll('#cost img, #gpu-fleet img').length") == 0
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []


def test_the_fleet_tables_render(driver: WebDriver, page: ScanResult) -> None:
    assert page.gpu_fleet is not None
    assert driver.find_element(By.ID, "gpu-fleet").is_displayed()
    kinds = driver.find_elements(By.CSS_SELECTOR, "#fleet-by-kind tbody tr")
    assert len(kinds) == len(page.gpu_fleet.by_kind) + 1  # and the total
    rows = driver.find_elements(By.CSS_SELECTOR, "#fleet-items tbody tr")
    assert len(rows) == len(page.gpu_fleet.items)
