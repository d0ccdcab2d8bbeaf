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
    platform: str = Field(
        description="How it is priced: ec2, sagemaker, databricks_serving, bedrock or databricks_compute."
    )
    instance_type: str | None = None
    usage: str | None = Field(
        default=None, description="What a SageMaker instance-hour is for: hosting, notebook, training."
    )
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
        description="What stops the waste: stop, scale_down, scale_to_zero, right_size, auto_stop, "
        "bound_runtime."
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


class FleetItem(_Frozen):
    """One unit of accelerated capacity (an instance, an endpoint variant, a job, a cluster...),
    failing a policy or not. ``None`` is unknown (not read, or not exposed), never zero."""

    kind: str = Field(description="What it is, e.g. 'SageMaker endpoint variant', 'Databricks pool'.")
    provider: str
    resource_uid: str
    name: str | None = None
    scope: str | None = Field(default=None, description="Account or workspace.")
    region: str | None = None
    owner: str | None = None
    state: str | None = None
    instance_type: str | None = Field(
        default=None, description="Instance or node type, serving workload type, or Bedrock model."
    )
    accelerator_model: str | None = None
    accelerators_per_instance: float | None = None
    instances: float | None = Field(
        default=None, description="Instances (nodes, replicas, model units) now; None: not read."
    )
    instances_min: float | None = Field(default=None, description="Lower end of the scaling range.")
    instances_max: float | None = Field(default=None, description="Upper end of the scaling range.")
    accelerators: float | None = Field(default=None, description="Accelerators in all its instances now.")
    hours: float | None = Field(default=None, description="Hours it ran in the look-back window.")
    gpu_hours: float | None = Field(default=None, description="Accelerator-hours in the look-back window.")
    utilisation: dict[str, float | str | None] = Field(
        default_factory=dict, description="What the platform told about its use (invocations, CPU %...)."
    )
    usd_per_hour: float | None = Field(default=None, description="Price of one instance-hour, when known.")
    usd: float | None = Field(default=None, description="Dollars of the look-back window, when priced.")
    price_source: str | None = None
    notes: list[str] = Field(default_factory=list, description="How the figures were derived.")
    unknown: list[str] = Field(default_factory=list, description="Why a figure is unknown.")


class FleetTotal(_Frozen):
    key: str
    items: int = 0
    accelerators: float = Field(default=0.0, description="Sum of the known accelerator counts.")
    gpu_hours: float = Field(default=0.0, description="Sum of the known accelerator-hours.")
    usd: float | None = Field(default=None, description="Sum of the priced items; None: none priced.")
    unknown_accelerators: int = Field(default=0, description="Items whose accelerator count is unknown.")
    unknown_gpu_hours: int = Field(default=0, description="Items whose accelerator-hours are unknown.")
    unpriced: int = Field(default=0, description="Items without a dollar figure (not in the sum).")


class GpuFleet(_Frozen):
    """All accelerated capacity the inventory holds on both platforms, not only failing findings."""

    window_days: float = Field(description="Length of the look-back window the hours cover.")
    window_start: str
    window_end: str = Field(description="When the inventory was collected (the end of the window).")
    pricing: str | None = None
    sample_prices: bool = False
    total: FleetTotal
    by_kind: list[FleetTotal] = Field(default_factory=list)
    items: list[FleetItem] = Field(default_factory=list)
    incomplete: list[str] = Field(
        default_factory=list,
        description="Scopes where a fleet type could not be listed: the fleet misses them.",
    )
    not_collected: list[str] = Field(
        default_factory=list,
        description="Fleet types this run did not collect (no selected policy reads them): not in the fleet.",
    )
