"""The published cost shapes carried in ``results.json`` (per result, and the scan's summary).

Figures are per month. ``None`` is unknown (an input was not read, or the policy cannot measure the
hours), never zero; ``unknown`` says why. Dollars appear only from a real price (a price file the
user gave, or the AWS Price List API); otherwise ``usd_per_month`` stays ``None`` and the figure
is in GPU-hours and node-hours only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HOURS_PER_MONTH = 730.0  # 8,760 h / 12: the convention cloud price lists use


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CostLine(_Frozen):
    """One priced unit of a finding: the resource itself, or one element (a variant, a served entity)."""

    item: str = Field(description="What this line counts: the resource, or e.g. 'variant AllTraffic'.")
    platform: str = Field(description="How it is priced: ec2, sagemaker or databricks_serving.")
    instance_type: str | None = None
    region: str | None = None
    instances: float | None = Field(default=None, description="Instances (nodes, replicas) at risk.")
    accelerators_per_instance: float | None = None
    hours_per_month: float | None = None
    node_hours_per_month: float | None = None
    gpu_hours_per_month: float | None = None
    usd_per_hour: float | None = Field(default=None, description="Price of one instance-hour, when known.")
    usd_per_month: float | None = None
    price_source: str | None = None


class Cost(_Frozen):
    """What a failing cost finding wastes, per month, with the assumptions it rests on."""

    waste: str = Field(
        description="idle, min_capacity, idle_pool, no_scale_to_zero, interactive_gpu, no_auto_stop."
    )
    action: str = Field(
        description="What stops the waste: stop, scale_down, scale_to_zero, right_size, auto_stop."
    )
    gpu_hours_per_month: float | None = None
    node_hours_per_month: float | None = None
    usd_per_month: float | None = None
    at_least: bool = Field(default=False, description="The figures are a lower bound.")
    lines: list[CostLine] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list, description="Why a figure is unknown.")
    owner: str | None = Field(default=None, description="Value of the first owner tag found.")
    owner_tag: str | None = Field(default=None, description="The tag key the owner came from.")


class CostTotal(_Frozen):
    key: str
    findings: int = 0
    gpu_hours_per_month: float = 0.0
    node_hours_per_month: float = 0.0
    usd_per_month: float | None = Field(
        default=None, description="Sum of the priced findings; None: none priced."
    )
    unknown: int = Field(default=0, description="Findings whose GPU-hours are unknown (not in the sums).")
    unpriced: int = Field(default=0, description="Findings with no price (not in the dollar sum).")


class CostItem(_Frozen):
    policy_id: str
    resource_uid: str
    resource_name: str | None = None
    provider: str
    scope: str | None = Field(default=None, description="Account or workspace.")
    owner: str | None = None
    action: str
    gpu_hours_per_month: float | None = None
    node_hours_per_month: float | None = None
    usd_per_month: float | None = None
    at_least: bool = False


class CostSummary(_Frozen):
    """Totals of the unwaived failing cost findings, each resource counted once (its largest finding)."""

    currency: str = "USD"
    pricing: str | None = Field(default=None, description="Where the prices came from; None: no prices.")
    sample_prices: bool = Field(
        default=False, description="The prices are a labelled SAMPLE, not real rates."
    )
    owner_tags: list[str] = Field(default_factory=list, description="Tag keys read for the owner, in order.")
    total: CostTotal
    by_owner: list[CostTotal] = Field(default_factory=list)
    by_account: list[CostTotal] = Field(default_factory=list)
    by_workspace: list[CostTotal] = Field(default_factory=list)
    by_platform: list[CostTotal] = Field(default_factory=list)
    top: list[CostItem] = Field(default_factory=list, description="What to stop or scale down first.")
