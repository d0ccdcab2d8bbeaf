"""Totals of the failing cost findings: by owner tag, account, workspace and platform, and the
items to stop or scale down first.

Only unwaived FAILs count. A resource failing several cost policies (an idle endpoint that also
lacks autoscaling) is counted once, by its largest finding, so the totals never add the same
instance-hours twice. Unknown figures are counted apart (``unknown``), never summed as zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlguard.cost.model import Cost, CostItem, CostSummary, CostTotal
from mlguard.model import Result, Status

TOP_ITEMS = 10
UNTAGGED = "(no owner tag)"


def _rank(cost: Cost) -> tuple[float, float, float]:
    return (cost.usd_per_month or 0.0, cost.gpu_hours_per_month or 0.0, cost.node_hours_per_month or 0.0)


def _saves(cost: Cost) -> bool:
    """Worth listing: a known non-zero figure, or an unknown one (never hidden as nothing)."""
    figures = (cost.gpu_hours_per_month, cost.node_hours_per_month, cost.usd_per_month)
    return any(f is None or f > 0 for f in figures[:2]) or bool(figures[2])


def per_resource(results: Sequence[Result]) -> list[Result]:
    """One failing cost result per resource: the one with the largest figure."""
    best: dict[str, Result] = {}
    for r in results:
        if r.status is not Status.FAIL or r.cost is None:
            continue
        held = best.get(r.resource_uid)
        if held is None or held.cost is None or _rank(r.cost) > _rank(held.cost):
            best[r.resource_uid] = r
    return list(best.values())


def _platforms(r: Result) -> str:
    assert r.cost is not None
    return ", ".join(sorted({f"{r.provider}/{line.platform}" for line in r.cost.lines})) or r.provider


def _total(key: str, results: Sequence[Result]) -> CostTotal:
    gpu = node = 0.0
    usd: float | None = None
    unknown = unpriced = 0
    for r in results:
        c = r.cost
        assert c is not None
        if c.gpu_hours_per_month is None or c.node_hours_per_month is None:
            unknown += 1
        else:
            gpu += c.gpu_hours_per_month
        node += c.node_hours_per_month or 0.0
        if c.usd_per_month is not None:
            usd = (usd or 0.0) + c.usd_per_month
        elif c.node_hours_per_month is not None:
            unpriced += 1  # hours known, price missing (unknown hours are counted in unknown)
    return CostTotal(
        key=key,
        findings=len(results),
        gpu_hours_per_month=round(gpu, 2),
        node_hours_per_month=round(node, 2),
        usd_per_month=None if usd is None else round(usd, 2),
        unknown=unknown,
        unpriced=unpriced,
    )


def _group(results: Sequence[Result], key: Callable[[Result], str | None]) -> list[CostTotal]:
    groups: dict[str, list[Result]] = {}
    for r in results:
        k = key(r)
        if k is not None:
            groups.setdefault(k, []).append(r)
    totals = [_total(k, rs) for k, rs in groups.items()]
    return sorted(totals, key=lambda t: (-(t.usd_per_month or 0.0), -t.gpu_hours_per_month, t.key))


def summarize(
    results: Sequence[Result],
    pricing: str | None = None,
    sample_prices: bool = False,
    owner_tags: Sequence[str] = (),
) -> CostSummary:
    counted = per_resource(results)
    top = sorted(counted, key=lambda r: (tuple(-x for x in _rank(r.cost)) if r.cost else (), r.resource_uid))
    return CostSummary(
        pricing=pricing,
        sample_prices=sample_prices,
        owner_tags=list(owner_tags),
        total=_total("all", counted),
        by_owner=_group(counted, lambda r: r.cost.owner if r.cost and r.cost.owner else UNTAGGED),
        by_account=_group(counted, lambda r: r.account),
        by_workspace=_group(counted, lambda r: r.workspace),
        by_platform=_group(counted, _platforms),
        top=[
            CostItem(
                policy_id=r.policy_id,
                resource_uid=r.resource_uid,
                resource_name=r.resource_name,
                provider=r.provider,
                scope=r.account or r.workspace,
                owner=r.cost.owner,
                action=r.cost.action,
                gpu_hours_per_month=r.cost.gpu_hours_per_month,
                node_hours_per_month=r.cost.node_hours_per_month,
                usd_per_month=r.cost.usd_per_month,
                at_least=r.cost.at_least,
            )
            for r in [r for r in top if r.cost is not None and _saves(r.cost)][:TOP_ITEMS]
            if r.cost is not None
        ],
    )
