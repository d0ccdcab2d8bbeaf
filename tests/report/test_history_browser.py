"""The HTML report with a run's history, in headless Chromium: the "Since the previous run"
section shows the right counts for two recorded scans that differ, its links open the finding in
the findings table, and the trend charts are drawn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlguard.report.base import ReportOptions, reporters
from tests.history import estates
from tests.report.history_fixtures import two_runs
from tests.support.browser import MISSING_REASON, available, chromium, open_report

pytestmark = pytest.mark.skipif(not available(), reason=MISSING_REASON)

if available():
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    directory = tmp_path_factory.mktemp("history-html")
    scan, history, _ = two_runs(directory)
    path = reporters()["html"]().write(scan, directory / "report.html", ReportOptions(history=history))
    with chromium() as d:
        open_report(d, path)
        yield d


def count(driver: WebDriver, element_id: str) -> int:
    return int(driver.find_element(By.ID, element_id).get_attribute("data-count") or -1)


def test_since_previous_run_shows_the_changes(driver: WebDriver) -> None:
    section = driver.find_element(By.ID, "since-previous")
    assert section.is_displayed()
    assert count(driver, "diff-new") == 1
    assert count(driver, "diff-fixed") == 1
    assert count(driver, "diff-regressed") == 1
    assert count(driver, "diff-still_failing") == 1
    assert count(driver, "diff-appeared") == 1
    assert count(driver, "diff-disappeared") == 0
    new_rows = driver.find_elements(By.CSS_SELECTOR, "#diff-list-new tbody tr")
    assert len(new_rows) == 1
    assert estates.ENDPOINT_NEW.uid in new_rows[0].text
    fixed_rows = driver.find_elements(By.CSS_SELECTOR, "#diff-list-fixed tbody tr")
    assert len(fixed_rows) == 1
    assert estates.BUCKET_RAW.uid in fixed_rows[0].text
    assert "passes now" in fixed_rows[0].text


def test_link_shows_the_finding_in_the_table(driver: WebDriver) -> None:
    driver.find_element(By.CSS_SELECTOR, "#diff-list-new a[data-show-policy]").click()
    WebDriverWait(driver, 10).until(lambda d: count(d, "match-count") == 1)
    rows = driver.find_elements(By.CSS_SELECTOR, "#findings-table tbody tr.row")
    assert len(rows) == 1
    assert estates.EP_ALARM in rows[0].text
    assert "FAIL" in rows[0].text
    assert driver.find_element(By.ID, "f-q").get_attribute("value") == estates.ENDPOINT_NEW.uid
    driver.find_element(By.ID, "f-reset").click()


def test_trend_charts_render(driver: WebDriver) -> None:
    for chart in ("trend-severity", "trend-framework"):
        svg = driver.find_element(By.CSS_SELECTOR, f"#{chart} svg[role='img']")
        box = svg.rect
        assert box["width"] > 100
        assert box["height"] > 30
        lines = driver.find_elements(By.CSS_SELECTOR, f"#{chart} polyline")
        assert lines, chart
    keys = {
        g.get_attribute("data-key") for g in driver.find_elements(By.CSS_SELECTOR, "#trend-severity g.series")
    }
    assert keys == {"high", "medium", "low"}  # severities with results; low has 0 failures
    fetched = driver.execute_script("return performance.getEntriesByType('resource').length")
    assert fetched == 0
