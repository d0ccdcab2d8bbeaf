"""Compare two recorded runs: finding changes and inventory drift (definitions in RunDiff)."""

from __future__ import annotations

from mlguard.history.models import FindingChange, RunDiff, RunInfo, RunRef
from mlguard.history.store import InventoryRow, Store, StoredError, StoredResult
from mlguard.model import Provenance, Severity, Status, iso

_RANK = {s.value: s.rank for s in Severity}
_FAIL = Status.FAIL.value
_NOT_JUDGED = {None, Status.SKIP.value, Status.ERROR.value}
_PASSING = {Status.PASS.value, Status.WAIVED.value}


def _ref(run: RunInfo) -> RunRef:
    return RunRef(id=run.id, started_at=iso(run.started_at), complete=run.complete)


def _in_scope(item: InventoryRow, p: Provenance, providers: set[str]) -> bool:
    """Did the scan described by ``p`` look where ``item`` lives?"""
    if item.provider not in providers:
        return False
    if item.provider == "aws":
        if p.accounts and item.account and item.account not in p.accounts:
            return False
        if p.regions and item.region and item.region not in p.regions:
            return False
    return not (item.provider == "databricks" and p.workspaces and item.workspace not in p.workspaces)


def _change(r: StoredResult, before: str | None, after: str | None, reason: str | None) -> FindingChange:
    return FindingChange(
        fingerprint=r.fingerprint,
        policy_id=r.policy_id,
        resource_uid=r.resource_uid,
        resource_type=r.resource_type,
        provider=r.provider,
        severity=r.severity,
        category=r.category,
        before=before,
        after=after,
        reason=reason,
    )


def _worst(results: list[StoredResult]) -> dict[str, StoredResult]:
    """fingerprint -> result; if a run holds a fingerprint twice, FAIL wins over anything else."""
    out: dict[str, StoredResult] = {}
    for r in results:
        if r.fingerprint not in out or r.status == _FAIL:
            out[r.fingerprint] = r
    return out


def diff_runs(store: Store, base_ref: str, head_ref: str) -> RunDiff:
    """What changed from ``base_ref`` (the older run) to ``head_ref`` (the newer one)."""
    base = store.resolve(base_ref)
    head = store.resolve(head_ref)
    before = _worst(store.results(base.id))
    after = _worst(store.results(head.id))
    base_inv = {i.uid: i for i in store.inventory_rows(base.id)}
    head_inv = {i.uid: i for i in store.inventory_rows(head.id)}
    head_errors = store.errors(head.id)
    head_prov = store.provenance(head.id)
    head_providers = {i.provider for i in head_inv.values()} | {e.provider for e in head_errors}

    def visible(item: InventoryRow, errors: list[StoredError]) -> bool:
        return _in_scope(item, head_prov, head_providers) and not any(e.covers(item) for e in errors)

    # Resources confirmed gone from head, and those head could not see.
    gone: set[str] = set()
    diff = RunDiff(base=_ref(base), head=_ref(head))
    for uid in sorted(set(head_inv) - set(base_inv)):
        diff.appeared.append(head_inv[uid].item())
    for uid in sorted(set(base_inv) - set(head_inv)):
        item = base_inv[uid]
        if visible(item, head_errors):
            gone.add(uid)
            diff.disappeared.append(item.item())
        else:
            diff.unseen.append(item.item())

    for fp in set(before) | set(after):
        a = before.get(fp)
        b = after.get(fp)
        sa = a.status if a else None
        sb = b.status if b else None
        if b is not None and sb == _FAIL:
            if sa == _FAIL:
                diff.still_failing.append(_change(b, sa, sb, None))
            elif sa in _PASSING:
                diff.regressed.append(_change(b, sa, sb, None))
            else:
                why = "not in the older run" if sa is None else f"{sa} in the older run"
                diff.new.append(_change(b, sa, sb, why))
        elif a is not None and sa == _FAIL:
            if sb == Status.PASS.value:
                diff.fixed.append(_change(a, sa, sb, "passes now"))
            elif sb == Status.WAIVED.value:
                diff.waived.append(_change(a, sa, sb, "covered by a waiver now"))
            elif sb is None and a.resource_uid in gone:
                diff.fixed.append(_change(a, sa, sb, "resource removed"))
            elif sb is None:
                diff.unknown.append(_change(a, sa, sb, "not evaluated in the newer run"))
            else:
                diff.unknown.append(_change(a, sa, sb, f"{sb} in the newer run"))
    for changes in (diff.new, diff.regressed, diff.still_failing, diff.fixed, diff.waived, diff.unknown):
        changes.sort(key=lambda c: (-_RANK.get(c.severity, -1), c.policy_id, c.resource_uid))
    return diff
