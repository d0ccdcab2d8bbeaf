"""The estate map in a real headless Chromium, on the demo report: it draws, a click on a resource
shows its findings and links, a group closes and opens, nothing is fetched, and a screenshot is
kept (``artifacts/estate-map.png``, a CI artifact)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlguard.report.base import ReportOptions, reporters
from mlguard.report.estate_map import map_payload
from tests.support.browser import MISSING_REASON, available, chromium, open_report
from tests.support.results_factory import make_scan

from .conftest import DemoRun

pytestmark = pytest.mark.skipif(not available(), reason=MISSING_REASON)

if available():
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

ARTIFACTS = Path(os.environ.get("MLGUARD_ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "artifacts"))


@pytest.fixture(scope="module")
def driver(demo_run: DemoRun) -> Iterator[WebDriver]:
    with chromium() as d:
        open_report(d, demo_run.html)
        WebDriverWait(d, 30).until(
            lambda drv: drv.execute_script(
                "return document.getElementById('estate-map').dataset.ready === 'true'"
            )
        )
        d.find_element(By.ID, "map-expand").click()  # the demo may outgrow COLLAPSE_ABOVE
        yield d


def test_map_draws_every_node_and_link(driver: WebDriver, demo_run: DemoRun) -> None:
    scan = demo_run.load_results()
    assert scan.estate is not None
    count = driver.find_element(By.ID, "map-count")
    assert int(count.get_attribute("data-nodes") or -1) == len(scan.estate.nodes)
    assert int(count.get_attribute("data-edges") or -1) == len(scan.estate.edges)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#map-canvas g.map-node")) == len(scan.estate.nodes)
    assert driver.find_elements(By.CSS_SELECTOR, "#map-canvas path.edge.cross")  # AWS <-> Databricks
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_click_a_node_shows_its_findings_and_links(driver: WebDriver, demo_run: DemoRun) -> None:
    scan = demo_run.load_results()
    assert scan.estate is not None
    uid = next(
        n.uid
        for n in scan.estate.nodes
        if n.type == "databricks.uc.external_location" and n.name == "raw-data"
    )
    index = [n.uid for n in scan.estate.nodes].index(uid)
    node = driver.find_element(By.CSS_SELECTOR, f'#map-canvas g.map-node[data-node="{index}"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", node)
    node.click()
    panel = driver.find_element(By.ID, "map-panel")
    WebDriverWait(driver, 10).until(lambda d: panel.get_attribute("data-uid") == uid)
    mine = [r for r in scan.results if r.resource_uid == uid]
    items = driver.find_elements(By.CSS_SELECTOR, "#map-findings li")
    assert len(items) == len(mine) > 0
    badges = [li.find_element(By.CSS_SELECTOR, ".badge").text for li in items]
    assert sorted(badges) == sorted(r.status.value for r in mine)
    links = driver.find_elements(By.CSS_SELECTOR, "#map-links li")
    linked = [e for e in scan.estate.edges if uid in (e.source, e.target)]
    assert len(links) == len(linked)
    assert any("across providers" in li.text and "acme-ml-raw-data" in li.text for li in links)
    assert driver.find_elements(By.CSS_SELECTOR, "#map-canvas g.map-node.selected")
    assert driver.find_elements(By.CSS_SELECTOR, "#map-canvas path.edge.hot")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.execute_script("document.getElementById('estate-map').scrollIntoView()")
    assert driver.save_screenshot(str(ARTIFACTS / "estate-map.png"))

    # a link in the panel selects the related resource: the bucket, across the border
    bucket = next(li for li in links if "acme-ml-raw-data" in li.text)
    bucket.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(driver, 10).until(
        lambda d: panel.get_attribute("data-uid") == "arn:aws:s3:::acme-ml-raw-data"
    )


def test_groups_close_and_open(driver: WebDriver) -> None:
    driver.find_element(By.ID, "map-collapse").click()
    assert driver.find_elements(By.CSS_SELECTOR, "#map-canvas g.map-node") == []
    groups = driver.find_elements(By.CSS_SELECTOR, "#map-canvas g.map-group")
    assert groups
    assert all(g.get_attribute("aria-expanded") == "false" for g in groups)
    groups[0].click()
    assert driver.find_elements(By.CSS_SELECTOR, "#map-canvas g.map-node")
    driver.find_element(By.ID, "map-expand").click()
    assert all(
        g.get_attribute("aria-expanded") == "true"
        for g in driver.find_elements(By.CSS_SELECTOR, "#map-canvas g.map-group")
    )


def test_show_in_findings_table_filters_it(driver: WebDriver) -> None:
    node = driver.find_element(By.CSS_SELECTOR, "#map-canvas g.map-node.FAIL")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", node)
    node.click()
    uid = driver.find_element(By.ID, "map-panel").get_attribute("data-uid")
    driver.find_element(By.CSS_SELECTOR, "#map-panel button.link").click()
    assert driver.find_element(By.ID, "f-q").get_attribute("value") == uid
    rows = driver.find_elements(By.CSS_SELECTOR, "#findings-table tbody tr.row")
    assert rows


def test_a_large_estate_starts_collapsed(tmp_path: Path) -> None:
    scan = make_scan(1_000, seed=3)
    data = map_payload(scan)
    assert data is not None
    assert data["collapsed"] is True
    html = reporters()["html"]().write(scan, tmp_path / "report.html", ReportOptions())
    with chromium() as driver:
        open_report(driver, html)
        assert driver.find_elements(By.CSS_SELECTOR, "#map-canvas g.map-node") == []
        groups = driver.find_elements(By.CSS_SELECTOR, "#map-canvas g.map-group")
        assert len(groups) == len(data["groups"])  # type: ignore[arg-type]
        groups[0].click()
        opened = driver.find_elements(By.CSS_SELECTOR, "#map-canvas g.map-node")
        assert len(opened) == min(200, data["groups"][0][2])  # type: ignore[index]
