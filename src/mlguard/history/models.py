"""The data the history layer hands out: run metadata, diffs, trends, inventory summaries.

These are the shapes of ``mlguard history ... --json`` and what the HTML reporter can embed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlguard.model import Inventory, Result, iso

INVENTORY_SUMMARY_KIND: Literal["mlguard.inventory-summary"] = "mlguard.inventory-summary"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InventoryItem(_Frozen):
    """One collected resource, as much of it as drift detection needs."""

    uid: str
    type: str
    provider: str
    account: str | None = None
    region: str | None = None
    workspace: str | None = None


class InventorySummary(BaseModel):
    """The resources of one run: written next to an exported ``results.json`` so imports keep drift."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["mlguard.inventory-summary"] = INVENTORY_SUMMARY_KIND
    resources: list[InventoryItem] = Field(default_factory=list)

    @classmethod
    def of(cls, inventory: Inventory) -> InventorySummary:
        return cls(resources=summarise(inventory))


def summarise(inventory: Inventory) -> list[InventoryItem]:
    return [
        InventoryItem(
            uid=r.uid,
            type=r.type,
            provider=r.provider,
            account=r.account,
            region=r.region,
            workspace=r.workspace,
        )
        for r in inventory.resources
    ]


def items_from_results(results: Iterable[Result]) -> list[InventoryItem]:
    """The resources a scan's results name: the fallback when no inventory was given.

    It misses resources that no policy judged, so a run recorded this way says so
    (``inventory_source = "results"``).
    """
    seen: dict[str, InventoryItem] = {}
    for r in results:
        if r.resource_uid not in seen:
            seen[r.resource_uid] = InventoryItem(
                uid=r.resource_uid,
                type=r.resource_type,
                provider=r.provider,
                account=r.account,
                region=r.region,
                workspace=r.workspace,
            )
    return list(seen.values())


class RunCounts(_Frozen):
    total: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    waived: int = 0


class RunInfo(_Frozen):
    """One recorded scan."""

    id: str
    started_at: datetime
    finished_at: datetime | None
    recorded_at: datetime
    mlguard_version: str
    command: str | None
    scope: list[str] = Field(description="accounts, regions, workspaces and sources the scan covered.")
    counts: RunCounts
    resources: int
    collection_errors: int
    complete: bool = Field(description="True when collection recorded no error.")
    inventory_source: Literal["inventory", "results"]

    def json_dict(self) -> dict[str, Any]:
        d = self.model_dump(mode="json")
        d["started_at"] = iso(self.started_at)
        d["finished_at"] = iso(self.finished_at) if self.finished_at else None
        d["recorded_at"] = iso(self.recorded_at)
        return d


class RunRef(_Frozen):
    id: str
    started_at: str
    complete: bool


class FindingChange(_Frozen):
    """One finding (policy x resource) compared between two runs."""

    fingerprint: str
    policy_id: str
    resource_uid: str
    resource_type: str
    provider: str
    severity: str
    category: str
    before: str | None = Field(description="Status in the older run; null when absent.")
    after: str | None = Field(description="Status in the newer run; null when absent.")
    reason: str | None = None


class RunDiff(BaseModel):
    """What changed from run ``base`` (older) to run ``head`` (newer).

    Findings are keyed by fingerprint (policy id + resource uid):

    - ``new``: FAIL in head; absent, SKIP or ERROR in base (base never saw it pass or fail).
    - ``regressed``: FAIL in head; PASS or WAIVED in base.
    - ``still_failing``: FAIL in both.
    - ``fixed``: FAIL in base; PASS in head, or absent from head because the resource is confirmed
      gone (not in head's inventory, in head's scope, and no collection error covers it).
    - ``waived``: FAIL in base; WAIVED in head.
    - ``unknown``: FAIL in base; head cannot tell (ERROR, SKIP, or absent while the resource may
      still exist). Never counted as fixed.

    Inventory drift: ``appeared`` (in head, not in base), ``disappeared`` (in base, confirmed gone
    from head) and ``unseen`` (in base; head could not see it: out of scope or a collection error).
    """

    model_config = ConfigDict(extra="forbid")

    base: RunRef
    head: RunRef
    new: list[FindingChange] = Field(default_factory=list)
    regressed: list[FindingChange] = Field(default_factory=list)
    still_failing: list[FindingChange] = Field(default_factory=list)
    fixed: list[FindingChange] = Field(default_factory=list)
    waived: list[FindingChange] = Field(default_factory=list)
    unknown: list[FindingChange] = Field(default_factory=list)
    appeared: list[InventoryItem] = Field(default_factory=list)
    disappeared: list[InventoryItem] = Field(default_factory=list)
    unseen: list[InventoryItem] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.new
            or self.regressed
            or self.fixed
            or self.waived
            or self.unknown
            or self.appeared
            or self.disappeared
            or self.unseen
        )


Dimension = Literal["severity", "category", "provider", "framework"]
DIMENSIONS: tuple[Dimension, ...] = ("severity", "category", "provider", "framework")


class TrendPoint(_Frozen):
    run_id: str
    started_at: str
    complete: bool
    values: dict[str, float] = Field(
        description="key -> unwaived FAIL count; for frameworks, the compliance percentage."
    )
    counts: dict[str, dict[str, int]] = Field(description="key -> status -> results.")


class Trend(BaseModel):
    """One dimension over the recorded runs, oldest first.

    For severity, category and provider a value is the number of unwaived FAIL results. For a
    framework it is its compliance percentage: (PASS + WAIVED) / (PASS + FAIL + WAIVED + ERROR)
    over the results of the policies mapped to it; an ERROR counts against it, because what could
    not be seen is never reported as compliant.
    """

    model_config = ConfigDict(extra="forbid")

    dimension: Dimension
    unit: Literal["failures", "percent"]
    keys: list[str]
    points: list[TrendPoint]


class CostPoint(_Frozen):
    """One run's cost totals (``history trend --metric cost``); None: not recorded, unknown or unpriced."""

    run_id: str
    started_at: str
    complete: bool
    recorded: bool = Field(
        description="False: the run was recorded without cost figures (no cost policy ran)."
    )
    findings: int | None = None
    gpu_hours_per_month: float | None = None
    node_hours_per_month: float | None = None
    usd_per_month: float | None = None
    unknown: int | None = Field(
        default=None, description="Findings with unknown GPU-hours (not in the sums)."
    )
