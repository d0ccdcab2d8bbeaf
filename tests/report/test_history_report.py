"""The HTML and Markdown reports show a run's history when ReportOptions.history is given."""

from __future__ import annotations

import itertools
import re

import pytest

from mlguard.history.models import Trend, TrendPoint
from mlguard.history.report import ReportHistory
from mlguard.model import ScanResult
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.formats.markdown import render_markdown
from mlguard.report.history_view import CHART_H, line_chart
from tests.history import estates
from tests.report.history_fixtures import two_runs

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[ScanResult, ReportHistory, ReportHistory]:
    return two_runs(tmp_path_factory.mktemp("store"))


def html(scan: ScanResult, history: ReportHistory | dict[str, object] | None) -> str:
    out = reporters()["html"]().render(scan, ReportOptions(history=history))
    assert isinstance(out, str)
    return out


def counts(page: str) -> dict[str, int]:
    return {k: int(n) for k, n in re.findall(r'id="diff-([a-z_]+)" data-count="(\d+)"', page)}


def test_without_history_the_report_has_no_history_sections(
    runs: tuple[ScanResult, ReportHistory, ReportHistory],
) -> None:
    page = html(runs[0], None)
    assert 'id="since-previous"' not in page
    assert 'id="trends"' not in page
    assert 'href="#since-previous"' not in page


def test_counts_and_lists_of_the_diff(runs: tuple[ScanResult, ReportHistory, ReportHistory]) -> None:
    scan, history, _ = runs
    page = html(scan, history)
    assert counts(page) == {
        "new": 1,
        "regressed": 1,
        "fixed": 1,
        "waived": 0,
        "unknown": 0,
        "still_failing": 1,
        "appeared": 1,
        "disappeared": 0,
        "unseen": 0,
    }
    new = page.split('id="diff-list-new"')[1].split("</details>")[0]
    assert estates.ENDPOINT_NEW.uid in new
    assert estates.EP_ALARM in new
    fixed = page.split('id="diff-list-fixed"')[1].split("</details>")[0]
    assert estates.BUCKET_RAW.uid in fixed
    assert "passes now" in fixed
    appeared = page.split('id="diff-list-appeared"')[1].split("</details>")[0]
    assert estates.ENDPOINT_NEW.uid in appeared
    # Findings that are rows of this report link to the findings table.
    assert f'data-show-policy="{estates.EP_ALARM}" data-show-uid="{estates.ENDPOINT_NEW.uid}"' in new
    assert 'href="#since-previous"' in page
    assert 'href="#trends"' in page


def test_a_dict_renders_like_the_model(runs: tuple[ScanResult, ReportHistory, ReportHistory]) -> None:
    scan, history, _ = runs
    assert html(scan, history.model_dump(mode="json")) == html(scan, history)


def test_trend_charts_are_inline_svg(runs: tuple[ScanResult, ReportHistory, ReportHistory]) -> None:
    scan, history, _ = runs
    page = html(scan, history)
    trends = page.split('id="trends"')[1].split("</section>")[0]
    assert 'id="trend-severity"' in trends
    assert 'id="trend-framework"' in trends
    # severity: high (regressed notebook) and medium (two endpoints) over two runs
    assert '<g class="series" data-key="high">' in trends
    assert '<g class="series" data-key="medium">' in trends
    assert "medium: 2</span>" in trends
    assert "high: 1</span>" in trends
    assert re.search(r"<title id=\"trend-severity-title\">Unwaived failures by severity, 2 runs", trends)
    assert "http" not in trends.replace("http://www.w3.org", "")  # nothing external


def test_first_run_says_there_is_nothing_to_compare(
    runs: tuple[ScanResult, ReportHistory, ReportHistory],
) -> None:
    _, _, first = runs
    page = html(estates.week1().scan(), first)
    assert 'id="no-previous"' in page
    assert counts(page) == {}
    assert "First recorded run" in render_markdown(estates.week1().scan(), history=first)


def test_history_data_is_escaped(runs: tuple[ScanResult, ReportHistory, ReportHistory]) -> None:
    scan, history, _ = runs
    data = history.model_dump(mode="json")
    data["diff"]["new"][0]["resource_uid"] = HOSTILE
    data["diff"]["appeared"][0]["uid"] = HOSTILE
    page = html(scan, data)
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=" in page
    text = render_markdown(scan, history=data)
    assert "\\<img src=x" in text
    assert re.search(r"(?<!\\)<img", text) is None


def test_markdown_block(runs: tuple[ScanResult, ReportHistory, ReportHistory]) -> None:
    scan, history, _ = runs
    assert "Since the previous run" not in render_markdown(scan)
    text = reporters()["markdown"]().render(scan, ReportOptions(history=history))
    assert isinstance(text, str)
    block = text.split("### Since the previous run")[1].split("\n### ")[0]
    assert f"`{history.run.id}` compared with `{history.previous.id}`" in block.replace("\\-", "-")  # type: ignore[union-attr]
    rows = [line for line in block.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    values = dict(zip(header, (c.strip() for c in rows[1].strip("|").split("|")), strict=True))
    assert values["New findings"] == "1"
    assert values["Fixed findings"] == "1"
    assert values["Regressed findings"] == "1"
    assert values["Appeared resources"] == "1"
    assert values["Disappeared resources"] == "0"
    assert "**New** (1):" in block
    assert "**Fixed** (1):" in block
    assert "**Regressed** (1):" in block
    assert "churn\\-v2" in block or "churn-v2" in block


def test_line_chart_leaves_gaps_and_scales() -> None:
    points = [
        TrendPoint(
            run_id=f"r{i}", started_at=f"2026-11-0{i + 1}T00:00:00Z", complete=True, values=v, counts={}
        )
        for i, v in enumerate([{"a": 10.0, "b": 0.0}, {"b": 5.0}, {"a": 20.0, "b": 5.0}])
    ]
    chart = line_chart(Trend(dimension="category", unit="failures", keys=["a", "b"], points=points), "t", "T")
    a, b = chart.series
    assert len(a.dots) == 2  # no point where "a" was not judged
    assert len(b.dots) == 3
    ys = [y for _, y, _ in a.dots]
    assert ys[1] < ys[0]  # 20 is drawn above 10
    assert all(0 <= y <= CHART_H for _, y, _ in a.dots + b.dots)
    assert chart.table == [("a", ["10", "n/a", "20"]), ("b", ["0", "5", "5"])]


def test_date_labels_do_not_crowd() -> None:
    points = [
        TrendPoint(
            run_id=f"r{i}",
            started_at=f"2026-11-{i + 1:02d}T00:00:00Z",
            complete=True,
            values={"a": 1.0},
            counts={},
        )
        for i in range(12)
    ]
    chart = line_chart(Trend(dimension="category", unit="failures", keys=["a"], points=points), "t", "T")
    xs = [x for x, _, _ in chart.x_labels]
    assert chart.x_labels[-1][1] == "2026-11-12"  # the newest run is labelled
    assert chart.x_labels[-1][2] == "end"  # and its label stays inside the chart
    assert min(b - a for a, b in itertools.pairwise(xs)) >= 80  # ~70 px per date label
