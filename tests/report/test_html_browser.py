"""The HTML report in a real headless Chromium: it renders, its counts match results.json, the
filters, sorting and details work, hostile data stays text, and nothing is fetched."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlguard.model import ScanResult, Status
from mlguard.report.base import ReportOptions, reporters
from tests.support.browser import MISSING_REASON, available, chromium, open_report
from tests.support.results_factory import HOSTILE_NAME, make_scan

pytestmark = pytest.mark.skipif(not available(), reason=MISSING_REASON)

if available():
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import Select, WebDriverWait


def write(scan: ScanResult, directory: Path) -> tuple[Path, dict[str, Any]]:
    options = ReportOptions()
    html = reporters()["html"]().write(scan, directory / "report.html", options)
    results = reporters()["json"]().write(scan, directory / "results.json", options)
    return html, json.loads(results.read_text("utf-8"))


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    with chromium() as d:
        yield d


@pytest.fixture(scope="module")
def page(driver: WebDriver, scan: ScanResult, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    html, results = write(scan, tmp_path_factory.mktemp("html"))
    open_report(driver, html)
    return results


def count(driver: WebDriver, element_id: str) -> int:
    return int(driver.find_element(By.ID, element_id).get_attribute("data-count") or -1)


def reset(driver: WebDriver) -> None:
    driver.find_element(By.ID, "f-reset").click()
    WebDriverWait(driver, 10).until(
        lambda d: (
            count(d, "match-count")
            == d.execute_script(
                "return JSON.parse(document.getElementById('mlguard-data').textContent).rows.length"
            )
        )
    )


def visible_statuses(driver: WebDriver) -> set[str]:
    cells = driver.find_elements(By.CSS_SELECTOR, "#findings-table tbody tr.row td:first-child")
    return {c.text for c in cells}


def test_counts_match_results_json(driver: WebDriver, page: dict[str, Any]) -> None:
    statuses = Counter(r["status"] for r in page["results"])
    assert count(driver, "count-total") == len(page["results"])
    for status in ("PASS", "FAIL", "ERROR", "SKIP", "WAIVED"):
        assert count(driver, f"count-{status}") == statuses[status], status
    assert count(driver, "match-count") == len(page["results"])
    assert count(driver, "waiver-count") == statuses["WAIVED"]
    assert len(driver.find_elements(By.CSS_SELECTOR, "#findings-table tbody tr.row")) == 100
    assert len(driver.find_elements(By.CSS_SELECTOR, "#errors-table tbody tr")) == len(page["errors"])
    shots = os.environ.get("MLGUARD_SCREENSHOT_DIR")  # CI keeps these as artifacts
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(Path(shots) / "report-400.png"))


def test_status_and_provider_filters(driver: WebDriver, page: dict[str, Any]) -> None:
    reset(driver)
    Select(driver.find_element(By.ID, "f-status")).select_by_visible_text(
        f"FAIL ({sum(r['status'] == 'FAIL' for r in page['results'])})"
    )
    expected = sum(r["status"] == "FAIL" for r in page["results"])
    assert count(driver, "match-count") == expected
    assert visible_statuses(driver) == {"FAIL"}
    provider = Select(driver.find_element(By.ID, "f-provider"))
    option = next(o for o in provider.options if o.text.startswith("databricks "))
    provider.select_by_visible_text(option.text)
    expected = sum(r["status"] == "FAIL" and r["provider"] == "databricks" for r in page["results"])
    assert count(driver, "match-count") == expected
    cells = driver.find_elements(By.CSS_SELECTOR, "#findings-table tbody tr.row td:nth-child(4)")
    assert {c.text for c in cells} == {"databricks"}


def test_free_text_filter_finds_hostile_name_as_text(driver: WebDriver, page: dict[str, Any]) -> None:
    reset(driver)
    box = driver.find_element(By.ID, "f-q")
    box.send_keys("onerror=alert")
    expected = sum(r.get("resource_name") == HOSTILE_NAME for r in page["results"])
    assert expected == 1
    WebDriverWait(driver, 10).until(lambda d: count(d, "match-count") == expected)
    cell = driver.find_element(By.CSS_SELECTOR, "#findings-table tbody tr.row td.resource")
    assert cell.text == HOSTILE_NAME
    # The markup stayed text: no element was created from it, and no alert fired.
    assert driver.find_elements(By.CSS_SELECTOR, "img") == []
    assert driver.execute_script("return document.title") == "mlguard scan report"
    box.clear()


def test_requirement_filter_and_uncovered_requirements(driver: WebDriver, page: dict[str, Any]) -> None:
    reset(driver)
    uncovered = driver.find_elements(By.CSS_SELECTOR, "tr[data-status='uncovered']")
    assert {u.get_attribute("data-requirement") for u in uncovered} == {"soc2:A1.2", "mlops-baseline:ML-4"}
    Select(driver.find_element(By.ID, "f-requirement")).select_by_value("soc2:CC6.1")
    soc2 = next(f for f in page["frameworks"] if f["id"] == "soc2")
    policies = set(next(r for r in soc2["requirements"] if r["id"] == "CC6.1")["policies"])
    assert count(driver, "match-count") == sum(r["policy_id"] in policies for r in page["results"])


def test_sorting_and_details_with_evidence(driver: WebDriver, page: dict[str, Any]) -> None:
    reset(driver)
    driver.find_element(By.CSS_SELECTOR, "th[data-key='severity'] button").click()
    first = driver.find_element(By.CSS_SELECTOR, "#findings-table tbody tr.row td:nth-child(2)")
    assert first.text == "critical"
    header = driver.find_element(By.CSS_SELECTOR, "th[data-key='severity']")
    assert header.get_attribute("aria-sort") == "ascending"
    button = driver.find_element(By.CSS_SELECTOR, "#findings-table tbody tr.row button")
    button.click()
    detail = driver.find_element(By.CSS_SELECTOR, "#findings-table tbody tr.detail")
    assert "Evidence" in detail.text
    assert "encryption.enabled" in detail.text
    assert button.get_attribute("aria-expanded") == "true"


def test_paging(driver: WebDriver, page: dict[str, Any]) -> None:
    reset(driver)
    first = driver.find_element(By.CSS_SELECTOR, "#findings-table tbody tr.row td:first-child")
    assert first.text == "FAIL"  # default order: failures first, most severe first
    severity = driver.find_element(By.CSS_SELECTOR, "#findings-table tbody tr.row td:nth-child(2)")
    assert severity.text == "critical"
    driver.find_element(By.ID, "p-next").click()
    info = driver.find_element(By.ID, "p-info").text
    assert info.startswith("Rows 101-200")


def test_every_control_is_labelled_and_nothing_fetched(driver: WebDriver, page: dict[str, Any]) -> None:
    unlabelled = driver.execute_script(
        "return [...document.querySelectorAll('input,select')].filter(e => !e.labels.length).length"
    )
    assert unlabelled == 0
    fetched = driver.execute_script("return performance.getEntriesByType('resource').length")
    assert fetched == 0
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []  # no script error, no CSP violation


def test_100k_results_render_and_filter(driver: WebDriver, tmp_path: Path) -> None:
    scan = make_scan(100_000, seed=7)
    html = reporters()["html"]().write(scan, tmp_path / "report.html", ReportOptions())
    open_report(driver, html, timeout=180)
    assert count(driver, "count-total") == 100_000
    assert count(driver, "match-count") == 100_000
    Select(driver.find_element(By.ID, "f-status")).select_by_index(1)  # FAIL sorts first
    expected = sum(r.status is Status.FAIL for r in scan.results)
    assert count(driver, "match-count") == expected
    assert len(driver.find_elements(By.CSS_SELECTOR, "#findings-table tbody tr.row")) == 100
    shots = os.environ.get("MLGUARD_SCREENSHOT_DIR")
    if shots:
        assert driver.save_screenshot(str(Path(shots) / "report-100k.png"))


def test_empty_scan_renders(driver: WebDriver, tmp_path: Path) -> None:
    html, _ = write(make_scan(0), tmp_path)
    open_report(driver, html)
    assert count(driver, "count-total") == 0
    assert count(driver, "match-count") == 0
    assert driver.find_element(By.ID, "p-info").text == "No matching results"
    statuses = driver.find_elements(By.CSS_SELECTOR, "tr[data-requirement]")
    assert statuses
    assert {s.get_attribute("data-status") for s in statuses} == {"uncovered"}
