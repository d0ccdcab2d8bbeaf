"""Framework compliance, requirement by requirement, computed once for every reporter.

A requirement is evidenced by the policies its framework file lists. Its status:

* ``uncovered``: no policy maps to it, or none of its policies produced a result (not run, or no
  resource of their type in scope). Never shown as compliant: nothing was seen.
* ``fail``: at least one unwaived FAIL.
* ``error``: no FAIL, but at least one result could not be evaluated (collection or policy error).
* ``pass``: only PASS (and possibly WAIVED / SKIP) results, at least one PASS.
* ``not_applicable``: only SKIP (or WAIVED) results.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby, islice
from operator import attrgetter

from mlguard.errors import InputError
from mlguard.model import FrameworkInfo, NotRun, RequirementInfo, Result, ScanResult, Status

REQUIREMENT_STATUSES = ("fail", "error", "pass", "not_applicable", "uncovered")


@dataclass(frozen=True)
class RequirementStatus:
    framework: str
    requirement: RequirementInfo
    status: str
    counts: dict[str, int]
    results: list[Result] = field(repr=False)
    not_run: list[NotRun]

    @property
    def failing(self) -> list[Result]:
        """FAIL and ERROR results, the ones an auditor looks at first."""
        return [r for r in self.results if r.status in _FAILING]

    @property
    def failing_count(self) -> int:
        """``len(self.failing)``, from the counts."""
        return self.counts[Status.FAIL.value] + self.counts[Status.ERROR.value]

    def first_failing(self, n: int) -> list[Result]:
        """``self.failing[:n]``, without listing the rest."""
        return list(islice((r for r in self.results if r.status in _FAILING), n))

    @property
    def key(self) -> str:
        return f"{self.framework}:{self.requirement.id}"


@dataclass(frozen=True)
class FrameworkStatus:
    framework: FrameworkInfo
    requirements: list[RequirementStatus]

    def totals(self) -> dict[str, int]:
        out = dict.fromkeys(REQUIREMENT_STATUSES, 0)
        for req in self.requirements:
            out[req.status] += 1
        return out

    @property
    def coverage_percent(self) -> float:
        """Share of requirements with at least one evaluated result (pass, fail or error)."""
        if not self.requirements:
            return 0.0
        covered = sum(1 for r in self.requirements if r.status in ("pass", "fail", "error"))
        return round(100.0 * covered / len(self.requirements), 1)

    @property
    def pass_percent(self) -> float:
        if not self.requirements:
            return 0.0
        return round(
            100.0 * sum(1 for r in self.requirements if r.status == "pass") / len(self.requirements), 1
        )


_FAILING = frozenset((Status.FAIL, Status.ERROR))
_STATUS_OF = attrgetter("status")


def _status(counts: dict[str, int]) -> str:
    if counts[Status.FAIL.value]:
        return "fail"
    if counts[Status.ERROR.value]:
        return "error"
    if counts[Status.PASS.value]:
        return "pass"
    if counts[Status.SKIP.value] or counts[Status.WAIVED.value]:
        return "not_applicable"
    return "uncovered"


class ResultIndex:
    """The results of a scan by policy and by ``framework:requirement`` key, each in scan order,
    with each policy's count of results by status and the policies each key's results are of:
    built once, so a framework's requirements cost their policies, not a pass over their results.

    Built a run at a time: consecutive results of one policy with equal ``compliance`` lists (the
    evaluator gives a policy's results one list) are listed together, a few list extensions per
    run rather than a dict lookup per result and key."""

    def __init__(self, scan: ScanResult) -> None:
        self.by_policy: dict[str, list[Result]] = {}
        self.by_key: dict[str, list[Result]] = {}
        self.counts: dict[str, Counter[Status]] = {}
        self.key_policies: dict[str, set[str]] = {}
        by_policy, by_key, counts, key_policies = self.by_policy, self.by_key, self.counts, self.key_policies
        for (policy_id, compliance), run in groupby(scan.results, _POLICY_AND_COMPLIANCE):
            results = list(run)
            listed = by_policy.get(policy_id)
            if listed is None:
                by_policy[policy_id] = results
                counts[policy_id] = Counter(map(_STATUS_OF, results))
            else:
                listed += results
                counts[policy_id].update(map(_STATUS_OF, results))
            for key in dict.fromkeys(compliance):  # a key given twice lists its results once
                listed = by_key.get(key)
                if listed is None:
                    by_key[key] = results.copy()
                    key_policies[key] = {policy_id}
                else:
                    listed += results
                    key_policies[key].add(policy_id)


_POLICY_AND_COMPLIANCE = attrgetter("policy_id", "compliance")


def framework_status(
    scan: ScanResult, framework: FrameworkInfo, index: ResultIndex | None = None
) -> FrameworkStatus:
    index = index or ResultIndex(scan)
    by_policy = index.by_policy
    not_run = {n.policy_id: n for n in scan.not_run}
    reqs: list[RequirementStatus] = []
    for req in framework.requirements:
        key = f"{framework.id}:{req.id}"
        results: list[Result] = []
        tally: Counter[Status] = Counter()
        for pid in req.policies:  # a policy listed twice counts twice
            listed = by_policy.get(pid)
            if listed:
                results += listed
                tally.update(index.counts[pid])
        # Results mapped through Result.compliance only (e.g. checkov mappings) count too: those
        # of a policy not listed (the listed policies' results are all in already).
        mapped = index.by_key.get(key)
        if mapped and not index.key_policies[key].issubset(req.policies):
            listed_policies = set(req.policies)
            extra = [r for r in mapped if r.policy_id not in listed_policies]
            results += extra
            tally.update(map(_STATUS_OF, extra))
        counts = {st.value: tally[st] for st in Status}
        reqs.append(
            RequirementStatus(
                framework=framework.id,
                requirement=req,
                status=_status(counts),
                counts=counts,
                results=results,
                not_run=[not_run[p] for p in req.policies if p in not_run],
            )
        )
    return FrameworkStatus(framework=framework, requirements=reqs)


def all_frameworks(scan: ScanResult) -> list[FrameworkStatus]:
    index = ResultIndex(scan)
    return [framework_status(scan, fw, index) for fw in scan.frameworks]


def find_framework(scan: ScanResult, name: str) -> FrameworkInfo:
    """The framework called ``name`` (id or display name, case-insensitive); InputError if absent."""
    wanted = name.casefold()
    for fw in scan.frameworks:
        if wanted in (fw.id.casefold(), fw.name.casefold()):
            return fw
    known = ", ".join(fw.id for fw in scan.frameworks) or "none"
    raise InputError(f"framework {name!r} is not in this scan result (frameworks: {known})")
