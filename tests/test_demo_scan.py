"""The demo scan end to end: every report format from one real scan of both local estates.

Checks what a newcomer sees after the README's first command: findings in every category on both
platforms, SARIF that passes the official schema and GitHub's ingestion rules, an HTML report that
renders in headless Chromium with counts matching results.json, and no planted secret anywhere.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlguard.cli import cli
from mlguard.demo.aws_estate import CANARY_SECRET
from mlguard.demo.databricks_fake.seeds import CANARIES
from tests.support.browser import MISSING_REASON, available, chromium, open_report
from tests.support.sarif_checks import github_problems, schema_problems

pytestmark = pytest.mark.e2e
FORMATS = "json,sarif,html,junit,markdown,csv"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        cli,
        [
            "-q",
            "scan",
            "--demo",
            "--format",
            FORMATS,
            "--output-dir",
            str(d),
            "--inventory-out",
            str(d / "inventory.json"),
            "--fail-on",
            "never",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return d


@pytest.fixture(scope="module")
def results(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "results.json").read_text())
    return data


def test_findings_in_every_category_on_both_platforms(results: dict[str, Any]) -> None:
    fails = Counter((r["provider"], r["category"]) for r in results["results"] if r["status"] == "FAIL")
    passes = Counter(r["provider"] for r in results["results"] if r["status"] == "PASS")
    for provider in ("aws", "databricks"):
        assert passes[provider] > 0, provider
        for category in ("security", "cost", "monitoring"):
            assert fails[(provider, category)] > 0, (provider, category)
    assert fails[("databricks", "governance")] > 0
    assert results["errors"] == [], results["errors"][:3]


def test_demo_sarif_passes_schema_and_github_rules(out: Path) -> None:
    doc = json.loads((out / "results.sarif").read_text())
    assert schema_problems(doc) == []
    assert github_problems(doc) == []
    ids = {run["automationDetails"]["id"].rsplit("/", 1)[0] for run in doc["runs"]}
    assert {"mlguard/aws/123456789012", "mlguard/databricks/demo.cloud.databricks.com"} <= ids  # per scope


def test_no_planted_secret_in_any_output(out: Path) -> None:
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8", errors="replace")
        for canary in (CANARY_SECRET, *CANARIES):
            assert canary not in text, f"{canary} leaked into {path.name}"


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    if not available():
        pytest.skip(MISSING_REASON)
    with chromium() as d:
        yield d


def test_demo_html_renders_with_matching_counts(driver: Any, out: Path, results: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    open_report(driver, out / "report.html")
    statuses = Counter(r["status"] for r in results["results"])

    def count(element_id: str) -> int:
        return int(driver.find_element(By.ID, element_id).get_attribute("data-count") or -1)

    assert count("count-total") == len(results["results"])
    for status in ("PASS", "FAIL", "ERROR", "SKIP", "WAIVED"):
        assert count(f"count-{status}") == statuses[status], status
