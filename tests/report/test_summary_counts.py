"""``Summary.of`` counts each distinct (status, severity, category, provider) once: the figures
and the order of every table's keys (the order results.json and the reports show) must be those
of counting result by result."""

from __future__ import annotations

from mlguard.model import Result, Status, Summary
from mlguard.report.formats.html import recount
from tests.support.results_factory import make_scan


def one_by_one(results: list[Result]) -> Summary:
    s = Summary(total=len(results), by_status={st.value: 0 for st in Status})
    for r in results:
        s.by_status[r.status.value] += 1
        for key, table in (
            (r.severity.value, s.by_severity),
            (r.category.value, s.by_category),
            (r.provider, s.by_provider),
        ):
            table.setdefault(key, {st.value: 0 for st in Status})[r.status.value] += 1
    return s


def test_the_counts_and_their_order_are_those_of_one_pass_per_result() -> None:
    for n, seed in ((0, 1), (1, 2), (50, 3), (2000, 4)):
        results = make_scan(n, seed=seed).results[::-1]  # another first-seen order than the factory's
        counted = Summary.of(results, resources=0, policies_run=0, errors=0)
        assert counted.model_dump_json() == one_by_one(results).model_dump_json()


def test_the_html_page_recounts_with_the_scan_figures() -> None:
    scan = make_scan(300, seed=8)
    summary = recount(scan)
    assert (
        summary.model_dump_json()
        == one_by_one(scan.results)
        .model_copy(
            update={
                "resources": scan.summary.resources,
                "policies_run": scan.summary.policies_run,
                "collection_errors": len(scan.errors),
            }
        )
        .model_dump_json()
    )
