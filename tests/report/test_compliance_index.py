"""The reporters' orderings and tallies built for 300k results give what the plain code gives.

Framework status is counted from each policy's tally and lists a requirement's results by policy
(``ResultIndex``); SARIF sorts only the severity and status groups that make its cut. Each is
checked here against the plain computation it replaces, on scans made to hold the cases apart:
policies interleaved, a requirement listing a policy twice, a key given twice in one result,
results mapped to a requirement only through their ``compliance``, equal fingerprints.
"""

from __future__ import annotations

from collections import Counter

import pytest

from mlguard.model import RequirementInfo, Result, ScanResult, Status
from mlguard.report.compliance import RequirementStatus, all_frameworks
from mlguard.report.formats import sarif as sarif_mod
from tests.support.results_factory import make_scan


def _plain_requirement_results(scan: ScanResult, framework_id: str, req: RequirementInfo) -> list[Result]:
    """A requirement's results as the first version listed them: its policies' results in order of
    its policies (twice for a policy listed twice), then the other results mapped to it."""
    results = [r for pid in req.policies for r in scan.results if r.policy_id == pid]
    seen = set(map(id, results))
    key = f"{framework_id}:{req.id}"
    return results + [r for r in scan.results if key in r.compliance and id(r) not in seen]


def _odd_scan() -> ScanResult:
    scan = make_scan(600, seed=5)
    soc2, mlops = scan.frameworks
    first = soc2.requirements[0]
    twice = first.model_copy(update={"policies": [*first.policies, first.policies[0]]})
    soc2 = soc2.model_copy(update={"requirements": [twice, *soc2.requirements[1:]]})
    unlisted = next(r for r in scan.results if r.policy_id not in first.policies)
    results = list(scan.results)
    for i, r in enumerate(results):
        if r.policy_id == unlisted.policy_id and i % 3 == 0:  # some of a policy's results only
            key = f"soc2:{first.id}"
            results[i] = r.model_copy(update={"compliance": [key, *r.compliance, key]})
    return scan.model_copy(update={"frameworks": [soc2, mlops], "results": results})


@pytest.mark.parametrize(
    "scan", [make_scan(0), make_scan(300, seed=1), _odd_scan()], ids=["empty", "300", "odd"]
)
def test_framework_status_lists_and_counts_what_a_pass_over_the_results_does(scan: ScanResult) -> None:
    statuses = [rs for fs in all_frameworks(scan) for rs in fs.requirements]
    assert len(statuses) == sum(len(fw.requirements) for fw in scan.frameworks)
    framework_of = {id(req): fw.id for fw in scan.frameworks for req in fw.requirements}
    for rs in statuses:
        plain = _plain_requirement_results(scan, framework_of[id(rs.requirement)], rs.requirement)
        assert [id(r) for r in rs.results] == [id(r) for r in plain]
        tally = Counter(r.status for r in plain)
        assert rs.counts == {st.value: tally[st] for st in Status}
        _check_failing(rs)


def test_the_odd_scan_holds_the_cases_apart() -> None:
    scan = _odd_scan()
    first = scan.frameworks[0].requirements[0]
    mapped_only = [
        r for r in scan.results if f"soc2:{first.id}" in r.compliance and r.policy_id not in first.policies
    ]
    assert mapped_only
    assert len(first.policies) != len(set(first.policies))
    rs = all_frameworks(scan)[0].requirements[0]
    assert sum(1 for r in rs.results if r.policy_id == first.policies[0]) == 2 * sum(
        1 for r in scan.results if r.policy_id == first.policies[0]
    )


def _check_failing(rs: RequirementStatus) -> None:
    assert rs.failing_count == len(rs.failing)
    for n in (0, 1, 25, len(rs.results) + 1):
        assert rs.first_failing(n) == rs.failing[:n]


def _plain_worst(results: list[Result], limit: int) -> tuple[list[Result], int]:
    exported = [r for r in results if r.status in sarif_mod.EXPORTED]
    ordered = sorted(
        exported, key=lambda r: (-r.severity.rank, 0 if r.status is Status.FAIL else 1, r.fingerprint)
    )
    return ordered[:limit], len(exported)


@pytest.mark.parametrize("limit", [0, 1, 7, 50, 10_000])
def test_sarif_keeps_the_results_a_full_sort_keeps_in_its_order(limit: int) -> None:
    results = list(make_scan(800, seed=9).results)
    # equal fingerprints (one finding twice, with another message): the sort is stable
    results += [r.model_copy(update={"message": f"again {i}"}) for i, r in enumerate(results[::5])]
    worst, count = sarif_mod._worst(results, limit)
    plain, plain_count = _plain_worst(results, limit)
    assert count == plain_count
    assert [id(r) for r in worst] == [id(r) for r in plain]
