"""Baselines: compare a scan with an earlier ``results.json``.

Each FAIL is marked ``new`` or ``existing``; fingerprints that failed before and no longer fail
are listed as fixed.
"""

from __future__ import annotations

from pathlib import Path

from mlguard.model import BaselineInfo, Result, ScanResult, Status


def apply_baseline(
    results: list[Result], previous: ScanResult, source: Path, policy_ids: set[str] | None = None
) -> tuple[list[Result], BaselineInfo]:
    """``policy_ids``: the policies run this time; a finding of a policy not run is not "fixed"."""
    before = {
        r.fingerprint
        for r in previous.results
        if r.status in (Status.FAIL, Status.WAIVED) and (policy_ids is None or r.policy_id in policy_ids)
    }
    now_failing: set[str] = set()
    out: list[Result] = []
    new = existing = 0
    for r in results:
        if r.status in (Status.FAIL, Status.WAIVED):
            now_failing.add(r.fingerprint)
            state = "existing" if r.fingerprint in before else "new"
            if r.status is Status.FAIL:
                if state == "new":
                    new += 1
                else:
                    existing += 1
            out.append(r.model_copy(update={"baseline": state}))
        else:
            out.append(r)
    fixed = sorted(before - now_failing)
    return out, BaselineInfo(file=str(source), fixed=fixed, new=new, existing=existing)
