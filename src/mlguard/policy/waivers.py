"""Waivers: an accepted FAIL, with an owner, a reason and an expiry date.

A matching, unexpired waiver turns FAIL into WAIVED. An expired one does not: the result stays
FAIL and says which waiver expired when. A waiver that matched no FAIL is reported as stale.
"""

from __future__ import annotations

import fnmatch
from datetime import date

from mlguard.config import WaiverSpec
from mlguard.model import Result, StaleWaiver, Status, WaiverRef


def waiver_id(w: WaiverSpec) -> str:
    return w.id or f"{w.policy}:{w.resource}"


def _matches(w: WaiverSpec, r: Result) -> bool:
    return fnmatch.fnmatchcase(r.policy_id, w.policy) and fnmatch.fnmatchcase(r.resource_uid, w.resource)


def apply_waivers(
    results: list[Result], waivers: list[WaiverSpec], today: date
) -> tuple[list[Result], list[StaleWaiver]]:
    used: set[int] = set()
    out: list[Result] = []
    for r in results:
        if r.status is not Status.FAIL or not waivers:
            out.append(r)
            continue
        # Prefer an unexpired match; otherwise report the expired one.
        match = next((i for i, w in enumerate(waivers) if _matches(w, r) and w.expires >= today), None)
        expired = match is None
        if expired:
            match = next((i for i, w in enumerate(waivers) if _matches(w, r)), None)
        if match is None:
            out.append(r)
            continue
        used.add(match)
        w = waivers[match]
        ref = WaiverRef(
            id=waiver_id(w),
            reason=w.reason,
            owner=w.owner,
            expires=w.expires.isoformat(),
            ticket=w.ticket,
            expired=expired,
        )
        if expired:
            message = f"{r.message} (waiver {ref.id} expired on {ref.expires})"
            out.append(replace_result(r, waiver=ref, message=message))
        else:
            out.append(replace_result(r, waiver=ref, status=Status.WAIVED))
    stale = [
        StaleWaiver(
            id=waiver_id(w),
            policy=w.policy,
            resource=w.resource,
            reason="expired and matched nothing" if w.expires < today else "matched no failing result",
        )
        for i, w in enumerate(waivers)
        if i not in used
    ]
    return out, stale


def replace_result(r: Result, **changes: object) -> Result:
    return r.model_copy(update=changes)
