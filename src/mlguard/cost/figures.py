"""Each FAIL of a policy with a ``cost:`` block gets its :class:`~mlguard.cost.model.Cost`.

The figures are read from the same resource document the policy judged (declared platform
defaults applied), and a value a collection error left unread is unknown: the figure that needs
it is ``None`` with the reason in ``unknown``, never zero.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mlguard.cost.model import Cost, CostLine, CostSummary, GpuFleet
from mlguard.cost.pricing import PriceSource, apply_prices
from mlguard.cost.spec import CostSpec, Quantity
from mlguard.model import Inventory, Resource, Result, Status
from mlguard.policy.conditions import Evaluation, evaluate, root_field, search
from mlguard.policy.evaluator import InventoryIndex
from mlguard.policy.loader import Policy
from mlguard.policy.operators import MalformedValue

DEFAULT_OWNER_TAGS = ("owner", "team", "cost-center")
_DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class CostOptions:
    owner_tags: tuple[str, ...] = DEFAULT_OWNER_TAGS
    prices: PriceSource | None = None  # None: figures in GPU-hours and node-hours only


@cache
def _serving_workloads() -> dict[str, Any]:
    table: dict[str, Any] = json.loads((_DATA / "databricks_serving_workloads.json").read_text())
    return table


def _fmt(n: float) -> str:
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.2f}".rstrip("0").rstrip(".")


class _Reader:
    """Reads numbers from a document, recording why a value is unknown."""

    def __init__(self, blocked: dict[str, str], params: dict[str, Any], top: bool) -> None:
        self.blocked = blocked
        self.params = params
        self.top = top
        self.unknown: list[str] = []

    def _why_blocked(self, path: str) -> str | None:
        if not self.blocked:
            return None
        if "*" in self.blocked:
            return self.blocked["*"]
        root = root_field(path)
        return self.blocked.get(root) if root is not None else None

    def raw(self, path: str, expr: Any, doc: Any, label: str) -> Any:
        why = self._why_blocked(path) if self.top else None
        if why is not None:
            self.unknown.append(f"{label}: {path} was not read ({why})")
            return None
        try:
            value = search(expr, doc)
        except MalformedValue as exc:
            self.unknown.append(f"{label}: {path} is malformed ({exc})")
            return None
        if value is None:
            self.unknown.append(f"{label}: {path} is absent")
        return value

    def number(self, q: Quantity, doc: Any, label: str) -> float | None:
        if q.param is not None:
            return float(self.params[q.param])
        if q.value is not None:
            return float(q.value)
        assert q.path is not None
        assert q.expr is not None
        value = self.raw(q.path, q.expr, doc, label)
        if value is None:
            return None
        if q.table is not None:
            entry = _serving_workloads()["workload_types"].get(str(value))
            if entry is None:
                self.unknown.append(f"{label}: {q.path} {value!r} is not in the {q.table} table")
                return None
            value = entry["gpus"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.unknown.append(f"{label}: {q.path} is not a number ({value!r})")
            return None
        return float(value) + q.add


def _owner(resource: Resource, keys: Sequence[str]) -> tuple[str | None, str | None]:
    lowered = {k.lower(): (k, v) for k, v in resource.tags.items()}
    for key in keys:
        hit = lowered.get(key.lower())
        if hit is not None and hit[1]:
            return hit[1], hit[0]
    return None, None


def _sum(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for v in values:
        if v is None:
            return None
        total += v
    return total


def measure(
    spec: CostSpec,
    policy: Policy,
    resource: Resource,
    index: InventoryIndex,
    owner_tags: Sequence[str] = DEFAULT_OWNER_TAGS,
) -> Cost:
    """The cost of one failing resource under ``spec``."""
    doc = index.document(resource)
    blocked = index.blocked(resource)
    reader = _Reader(blocked, policy.values, top=True)
    if spec.each is not None and spec.each_expr is not None:
        elements = reader.raw(spec.each, spec.each_expr, doc, "elements")
        items: list[tuple[str, Any, bool]] = []
        if isinstance(elements, list):
            for i, el in enumerate(elements):
                name = el.get("variant_name") or el.get("name") if isinstance(el, dict) else None
                items.append((f"{spec.each}[{i}]" + (f" {name}" if name else ""), el, False))
        elif elements is not None:
            reader.unknown.append(f"elements: {spec.each} is not a list")
    else:
        items = [(resource.name or resource.id, doc, True)]
    lines: list[CostLine] = []
    assumptions: list[str] = []
    unknown_lines = False
    for label, el, top in items:
        r = _Reader(blocked, policy.values, top)
        if spec.only is not None:
            ev = Evaluation(
                params=policy.values, source=index, subject=resource, blocked=blocked if top else {}
            )
            counts, notes = evaluate(spec.only, el, ev, top=top)
            if counts is None:
                reader.unknown.append(f"{label}: cannot tell whether it counts ({'; '.join(notes)})")
                unknown_lines = True
                continue
            if not counts:
                continue
        itype = r.raw(spec.instance_type, spec.instance_type_expr, el, "instance type")
        running = r.number(spec.instances, el, "instances")
        keep = r.number(spec.keep, el, "instances kept")
        at_risk = None if running is None or keep is None else max(running - keep, 0.0)
        if spec.accelerators is not None:
            gpus = r.number(spec.accelerators, el, "accelerators per instance")
        else:
            gpus = None
            r.unknown.append(
                f"accelerators per instance: {spec.accelerators_unknown}"
                if spec.accelerators_unknown
                else "accelerators per instance: the policy does not say where to read them"
            )
        hours = spec.hours_per_month
        node_hours = None if at_risk is None or hours is None else at_risk * hours
        gpu_hours = None if node_hours is None or gpus is None else node_hours * gpus
        if hours is None:
            r.unknown.append(
                "hours per month: not measured" + (f" ({spec.hours_note})" if spec.hours_note else "")
            )
            if at_risk is not None:
                per_hour = f"each such hour: {_fmt(at_risk)} instance-hours"
                assumptions.append(
                    per_hour + (f", {_fmt(at_risk * gpus)} GPU-hours" if gpus is not None else "")
                )
        lines.append(
            CostLine(
                item=label,
                platform=spec.platform,
                usage=spec.usage,
                instance_type=str(itype) if itype is not None else None,
                region=resource.region,
                instances=at_risk,
                accelerators_per_instance=gpus,
                hours_per_month=hours,
                node_hours_per_month=node_hours,
                gpu_hours_per_month=gpu_hours,
            )
        )
        reader.unknown += [f"{label}: {u}" if spec.each else u for u in r.unknown]
        assumptions.append(_assumption(spec, label, itype, running, keep, at_risk, gpus, hours))
    for b in spec.basis:
        value = reader.raw(b.path, b.expr, doc, b.label)
        if value is not None:
            shown = _fmt(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
            assumptions.append(f"{b.label}: {shown}")
    if spec.hours_note and spec.hours_per_month is not None:
        assumptions.append(spec.hours_note)
    if spec.at_least:
        assumptions.append("a lower bound: the figures count the smallest capacity that stays provisioned")
    owner, owner_tag = _owner(resource, owner_tags)
    node_total = None if unknown_lines else _sum(ln.node_hours_per_month for ln in lines)
    gpu_total = None if unknown_lines else _sum(ln.gpu_hours_per_month for ln in lines)
    if spec.each is not None and not lines and not unknown_lines:
        assumptions.append(f"no element of {spec.each} counts")
    return Cost(
        waste=spec.waste,
        action=spec.action,
        gpu_hours_per_month=gpu_total,
        node_hours_per_month=node_total,
        at_least=spec.at_least,
        lines=lines,
        assumptions=assumptions,
        unknown=reader.unknown,
        owner=owner,
        owner_tag=owner_tag,
    )


def _assumption(
    spec: CostSpec,
    label: str,
    itype: Any,
    running: float | None,
    keep: float | None,
    at_risk: float | None,
    gpus: float | None,
    hours: float | None,
) -> str:
    def n(v: float | None) -> str:
        return "unknown" if v is None else _fmt(v)

    what = f"{label}: {itype or 'unknown type'}"
    if spec.keep.value == 0 and spec.keep.param is None:
        count = f"{n(running)} instance(s)"
    else:
        count = f"{n(running)} running - {n(keep)} kept = {n(at_risk)} instance(s)"
    per_month = f"{n(hours)} h/month" if hours is not None else "hours unmeasured"
    return f"{what}: {per_month} x {count} x {n(gpus)} GPU(s)"


def attach_costs(
    results: list[Result],
    policies: Sequence[Policy],
    inventory: Inventory,
    options: CostOptions | None = None,
    index: InventoryIndex | None = None,
) -> list[Result]:
    """``results`` with a ``cost`` on every FAIL of a policy that has a ``cost:`` block, priced
    when ``options`` has a price source. ``index``: the evaluator's of this inventory, if at hand."""
    specs = {p.id: p for p in policies if p.cost is not None}
    if not specs or not any(r.status is Status.FAIL and r.policy_id in specs for r in results):
        return results
    options = options or CostOptions()
    index = _index_of(inventory, index)
    owner_tags = options.owner_tags
    by_uid: dict[str, Resource] = {}
    for r in inventory.resources:
        by_uid.setdefault(r.uid, r)
    out = []
    for result in results:
        policy = specs.get(result.policy_id)
        resource = by_uid.get(result.resource_uid)
        if result.status is Status.FAIL and policy is not None and policy.cost and resource is not None:
            cost = measure(policy.cost, policy, resource, index, owner_tags)
            out.append(result.model_copy(update={"cost": cost}))
        else:
            out.append(result)
    for rtype in {p.resource for p in specs.values()}:  # read: not kept while the scan goes on
        index.forget_documents(rtype)
    return apply_prices(out, options.prices) if options.prices is not None else out


def _index_of(inventory: Inventory, index: InventoryIndex | None) -> InventoryIndex:
    """The index given when it is of ``inventory``, else a new one."""
    return index if index is not None and index.inventory is inventory else InventoryIndex(inventory)


def cost_summary(
    results: Sequence[Result], policies: Sequence[Policy], options: CostOptions | None = None
) -> CostSummary | None:
    """The scan's cost totals; None when no selected policy measures cost."""
    from mlguard.cost.summary import summarize

    if not any(p.cost is not None for p in policies):
        return None
    options = options or CostOptions()
    prices = options.prices
    return summarize(
        results,
        prices.label if prices else None,
        prices.sample if prices else False,
        options.owner_tags,
    )


def fleet_of(
    inventory: Inventory,
    policies: Sequence[Policy],
    options: CostOptions | None = None,
    index: InventoryIndex | None = None,
) -> GpuFleet | None:
    """The GPU fleet of the inventory; None when no selected policy measures cost. ``index``: the
    evaluator's of this inventory, if at hand."""
    from mlguard.cost.fleet import gpu_fleet

    if not any(p.cost is not None for p in policies):
        return None
    options = options or CostOptions()
    return gpu_fleet(inventory, options.prices, options.owner_tags, _index_of(inventory, index))
