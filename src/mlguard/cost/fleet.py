"""The GPU fleet: all accelerated capacity on both platforms, failing a policy or not.

For each EC2 GPU instance, SageMaker endpoint variant, notebook, training and processing job,
Bedrock provisioned throughput, Databricks GPU cluster, pool and GPU serving entity: the
accelerators (count and model, from what the collector read or mlguard's dated accelerator table),
the hours it ran in the look-back window (from its start, stop and end times), what the platform
told about its use, and dollars when a price source prices it. The window ends when the inventory
was collected and is as long as the CloudWatch metrics window the collectors read. A value that
was not read (a collection error, an absent time) is unknown, never zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from mlguard.collect.facts import instance_type_facts
from mlguard.cost.figures import DEFAULT_OWNER_TAGS, _owner, _serving_workloads
from mlguard.cost.model import FleetItem, FleetTotal, GpuFleet
from mlguard.cost.pricing import PriceSource
from mlguard.model import Inventory, Resource, iso
from mlguard.policy.evaluator import InventoryIndex
from mlguard.policy.operators import parse_time

DEFAULT_WINDOW_DAYS = 14  # the collectors' default CloudWatch window (collect.metrics_days)
FLEET_TYPES = (
    "aws.ec2.instance",
    "aws.sagemaker.endpoint",
    "aws.sagemaker.notebook_instance",
    "aws.sagemaker.training_job",
    "aws.sagemaker.processing_job",
    "aws.bedrock.provisioned_throughput",
    "databricks.cluster",
    "databricks.instance_pool",
    "databricks.serving_endpoint",
)


def _workloads() -> dict[str, Any]:
    table: dict[str, Any] = _serving_workloads()["workload_types"]
    return table


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _hours(a: datetime, b: datetime) -> float:
    return max((b - a).total_seconds() / 3600.0, 0.0)


class _Window:
    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.end = end

    def overlap(self, since: datetime, until: datetime | None) -> float:
        """Hours of [since, until or the window's end] inside the window."""
        return round(_hours(max(since, self.start), min(until or self.end, self.end)), 2)


class _Builder:
    """Reads one resource's fields, each blocked or absent value recorded as unknown."""

    def __init__(self, resource: Resource, index: InventoryIndex, window: _Window, owner_tags: Sequence[str]):
        self.resource = resource
        self.doc = index.document(resource)
        self.blocked = index.blocked(resource)
        self.window = window
        self.owner = _owner(resource, owner_tags)[0]
        self.unknown: list[str] = []
        self.notes: list[str] = []

    def get(self, key: str, doc: dict[str, Any] | None = None, label: str | None = None) -> Any:
        if doc is None:
            why = self.blocked.get("*") or self.blocked.get(key)
            if why is not None:
                self.unknown.append(f"{label or key}: not read ({why})")
                return None
        value = (self.doc if doc is None else doc).get(key)
        if value is None and label is not None:
            self.unknown.append(f"{label}: {key} is absent")
        return value

    def time(self, key: str, label: str) -> datetime | None:
        raw = self.get(key, label=label)
        if raw is None:
            return None
        t = parse_time(raw)
        if t is None:
            self.unknown.append(f"{label}: {key} is not a time ({raw!r})")
        return t

    def running_since(self, since: datetime | None, what: str) -> float | None:
        if since is None:
            self.unknown.append(f"hours: {what} not read")
            return None
        self.notes.append(f"running since {iso(since)} ({what}): hours from then to the end of the window")
        return self.window.overlap(since, None)

    def ran(self, since: datetime | None, until: datetime | None, what: str) -> float | None:
        if since is None:
            self.unknown.append(f"hours: the start ({what}) was not read")
            return None
        if until is None:
            self.unknown.append(f"hours: the end ({what}) was not read")
            return None
        self.notes.append(f"ran {iso(since)} to {iso(until)} ({what}); hours inside the window")
        return self.window.overlap(since, until)

    def item(self, kind: str, **fields: Any) -> FleetItem:
        r = self.resource
        instances = fields.get("instances")
        per = fields.get("accelerators_per_instance")
        if "accelerators" not in fields:
            fields["accelerators"] = None if instances is None or per is None else instances * per
        hours = fields.get("hours")
        accelerators = fields["accelerators"]
        if "gpu_hours" not in fields:
            fields["gpu_hours"] = (
                None if hours is None or accelerators is None else round(hours * accelerators, 2)
            )
            if fields["gpu_hours"] is None and (accelerators == 0 or hours == 0):
                fields["gpu_hours"] = 0.0  # nothing runs, or nothing ran in the window
        return FleetItem(
            kind=kind,
            provider=r.provider,
            resource_uid=r.uid,
            name=fields.pop("name", None) or r.name or r.id,
            scope=r.account or r.workspace,
            region=r.region,
            owner=self.owner,
            notes=list(self.notes),
            unknown=list(self.unknown),
            **fields,
        )


def _aws_facts(
    b: _Builder, doc: dict[str, Any] | None, itype: Any
) -> tuple[float | None, str | None, bool | None]:
    """(accelerators per instance, model, accelerated?) from the collected facts, else the table."""
    src = doc if doc is not None else b.doc
    count = _num(src.get("gpu_count"))
    model = src.get("gpu_model")
    accelerated = src.get("is_gpu")
    if src.get("accelerator") and src.get("accelerator") != "gpu":
        accelerated = True
    if count is None or accelerated is None:
        facts = instance_type_facts(str(itype)) if itype else None
        if facts is not None:
            count = count if count is not None else _num(facts["accelerator_count"])
            model = model or facts["accelerator_model"]
            accelerated = bool(facts["accelerator"]) if accelerated is None else accelerated
            b.notes.append(f"accelerators of {itype}: mlguard table ({facts['source']})")
        elif itype:
            b.unknown.append(f"accelerators: {itype} is not in mlguard's accelerator table")
    return count, model, accelerated


def _ec2(b: _Builder) -> Iterable[FleetItem]:
    gpu = b.get("gpu") or {}
    itype = b.get("instance_type", label="instance type")
    per, model, accelerated = _aws_facts(b, gpu if isinstance(gpu, dict) else {}, itype)
    if accelerated is False:
        return
    state = b.get("state", label="state")
    hours: float | None
    if state == "running":
        hours = b.running_since(b.time("launch_time", "launch time"), "launch_time")
    elif state in ("stopped", "terminated", "stopping", "shutting-down"):
        launched = b.time("launch_time", "launch time")
        stopped = b.time("state_transition_time", "stop time")
        if launched is not None and launched >= b.window.end:
            hours = 0.0
        elif stopped is not None and stopped <= b.window.start:
            hours = 0.0
            b.notes.append(f"{state} since {iso(stopped)}, before the window")
        else:
            hours = b.ran(launched, stopped, "launch_time to state_transition_time")
    else:
        hours = None
        b.unknown.append(f"hours: state {state!r}")
    util: dict[str, Any] = {"cpu_utilization_avg_pct": _num(b.doc.get("cpu_utilization_avg"))}
    gpu_avg = _num(b.doc.get("gpu_utilization_avg"))
    if gpu_avg is not None:  # the CloudWatch agent's nvidia_smi_utilization_gpu, busiest GPU
        util["gpu_utilization_avg_pct"] = gpu_avg
        util["gpu_utilization_max_pct"] = _num(b.doc.get("gpu_utilization_max"))
    else:  # not measured is unknown, never 0
        util["gpu_utilization"] = b.doc.get("gpu_utilization_reason") or (
            "not collected (needs the CloudWatch agent's nvidia_gpu metrics)"
        )
    yield b.item(
        "EC2 instance",
        state=state,
        instance_type=itype,
        accelerator_model=model,
        accelerators_per_instance=per,
        instances=1.0 if state == "running" else 0.0,
        hours=hours,
        gpu_hours=None if hours is None or per is None else round(hours * per, 2),
        utilisation=util,
    )


def _targets(index: InventoryIndex) -> dict[tuple[str | None, str | None, str | None], Resource]:
    out: dict[tuple[str | None, str | None, str | None], Resource] = {}
    for t in index.by_type.get("aws.applicationautoscaling.scalable_target", []):
        d = t.data
        out[(t.account, d.get("endpoint_name"), d.get("variant_name"))] = t
    return out


def _endpoint(
    b: _Builder, targets: dict[tuple[str | None, str | None, str | None], Resource]
) -> Iterable[FleetItem]:
    status = b.get("endpoint_status", label="status")
    variants = b.get("variants", label="variants")
    if not isinstance(variants, list):
        if b.doc.get("is_gpu") is not False:
            yield b.item("SageMaker endpoint variant", state=status)
        return
    created = b.time("creation_time", "creation time")
    base_notes, base_unknown = list(b.notes), list(b.unknown)
    for v in variants:
        if not isinstance(v, dict) or v.get("serverless"):
            continue
        b.notes, b.unknown = list(base_notes), list(base_unknown)
        itype = v.get("instance_type")
        per, model, accelerated = _aws_facts(b, v, itype)
        if accelerated is False:
            continue
        count = _num(v.get("current_instance_count"))
        if count is None:
            b.unknown.append("instances: current_instance_count is absent")
        target = targets.get((b.resource.account, b.resource.name, v.get("variant_name")))
        lo = hi = None
        if target is not None:
            lo, hi = _num(target.data.get("min_capacity")), _num(target.data.get("max_capacity"))
            b.notes.append(f"autoscaling range from scalable target {target.id}")
        else:
            b.notes.append("no scalable target: fixed at its instance count")
            lo = hi = count
        hours = b.running_since(created, "creation_time") if status == "InService" else None
        if status != "InService":
            b.unknown.append(f"hours: status {status!r} (only InService is measured)")
        yield b.item(
            "SageMaker endpoint variant",
            name=f"{b.resource.name} / {v.get('variant_name')}",
            state=status,
            instance_type=itype,
            accelerator_model=model,
            accelerators_per_instance=per,
            instances=count,
            instances_min=lo,
            instances_max=hi,
            hours=hours,
            utilisation={
                "invocations": _num(v.get("invocations_sum")),
                "metrics_days": b.doc.get("metrics_days"),
            },
        )


def _notebook(b: _Builder) -> Iterable[FleetItem]:
    itype = b.get("instance_type", label="instance type")
    per, model, accelerated = _aws_facts(b, None, itype)
    if accelerated is False:
        return
    status = b.get("notebook_instance_status", label="status")
    changed = b.time("last_modified_time", "last modified")
    hours: float | None = None
    if status == "InService":
        hours = b.running_since(changed, "last_modified_time: its last start or change")
    elif changed is not None and changed <= b.window.start:
        hours = 0.0
        b.notes.append(f"{status} since {iso(changed)}, before the window")
    else:
        b.unknown.append(
            f"hours: {status} since {iso(changed) if changed else 'an unread time'}, inside the window"
        )
    yield b.item(
        "SageMaker notebook",
        state=status,
        instance_type=itype,
        accelerator_model=model,
        accelerators_per_instance=per,
        instances=1.0 if status == "InService" else 0.0,
        hours=hours,
        gpu_hours=None if hours is None or per is None else round(hours * per, 2),
    )


def _job(b: _Builder, kind: str, status_key: str, start_key: str, end_key: str) -> Iterable[FleetItem]:
    itype = b.get("instance_type", label="instance type")
    per, model, accelerated = _aws_facts(b, None, itype)
    if accelerated is False:
        return
    status = b.get(status_key, label="status")
    count = _num(b.get("instance_count", label="instances"))
    start = b.time(start_key, "start")
    end = b.time(end_key, "end") if status != "InProgress" else None
    if status == "InProgress":
        hours = b.running_since(start, start_key)
    elif start is not None and start >= b.window.end:
        hours = 0.0
    else:
        hours = b.ran(start, end, f"{start_key} to {end_key}")
    if start_key == "creation_time":
        b.notes.append(
            "the start is the creation time (ProcessingStartTime is not collected): an upper bound"
        )
    node_hours = None if hours is None or count is None else round(hours * count, 2)
    yield b.item(
        kind,
        state=status,
        instance_type=itype,
        accelerator_model=model,
        accelerators_per_instance=per,
        instances=count,
        hours=hours,
        gpu_hours=None if node_hours is None or per is None else round(node_hours * per, 2),
        utilisation={"managed_spot": b.doc.get("managed_spot")},
    )


def _bedrock(b: _Builder) -> Iterable[FleetItem]:
    status = b.get("status", label="status")
    units = _num(b.get("model_units", label="model units"))
    created = b.time("creation_time", "creation time")
    hours = b.running_since(created, "creation_time") if status == "InService" else None
    if status != "InService":
        b.unknown.append(f"hours: status {status!r}")
    b.unknown.append("accelerators: Bedrock does not expose the hardware behind a model unit")
    commitment = b.doc.get("commitment_duration") or "no commitment"
    b.notes.append(f"commitment: {commitment}; billed per model unit-hour while it exists")
    yield b.item(
        "Bedrock provisioned throughput",
        state=status,
        instance_type=b.doc.get("foundation_model_arn"),
        instances=units,
        hours=hours,
        accelerators=None,
        gpu_hours=None,
        utilisation={
            "invocations": _num(b.doc.get("invocations_sum")),
            "metrics_days": b.doc.get("metrics_days"),
        },
    )


def _dbx_facts(b: _Builder, key: str, what: str) -> tuple[float | None, str | None, bool | None]:
    facts = b.get(key, label=f"{what} node facts")
    if not isinstance(facts, dict):
        return None, None, None
    if facts.get("known") is False:
        b.unknown.append(f"{what} accelerators: node type {facts.get('node_type_id')!r} is unknown")
        return None, None, None
    return _num(facts.get("num_gpus")), facts.get("gpu_model"), facts.get("is_gpu")


def _cluster(b: _Builder) -> Iterable[FleetItem]:
    w_gpus, w_model, w_gpu = _dbx_facts(b, "gpu", "worker")
    d_gpus, d_model, d_gpu = _dbx_facts(b, "driver_gpu", "driver")
    if w_gpu is False and d_gpu is False:
        return
    if w_gpu is None and d_gpu is None and b.doc.get("is_gpu") is False:
        return
    state = b.get("state", label="state")
    auto = b.get("autoscale")
    workers = _num(b.get("num_workers"))
    lo = hi = None
    if isinstance(auto, dict):
        lo, hi = _num(auto.get("min_workers")), _num(auto.get("max_workers"))
        workers = None
        b.unknown.append("instances: an autoscaling cluster's current worker count is not collected")
    elif workers is None:
        b.unknown.append("instances: num_workers is absent")
    nodes = None if workers is None else workers + 1
    accelerators = None if workers is None or w_gpus is None or d_gpus is None else workers * w_gpus + d_gpus
    hours: float | None = None
    if state in ("RUNNING", "RESIZING"):
        since = b.time("last_restarted_at", "last restart") if b.doc.get("last_restarted_at") else None
        hours = b.running_since(since or b.time("started_at", "start"), "last (re)start")
    else:
        ended = b.time("terminated_at", "termination time") if b.doc.get("terminated_at") else None
        if ended is not None and ended <= b.window.start:
            hours = 0.0
            b.notes.append(f"{state} since {iso(ended)}, before the window")
        else:
            b.unknown.append(
                f"hours: {state} now; earlier runs in the window need cluster events (not collected)"
            )
    yield b.item(
        "Databricks cluster",
        state=state,
        instance_type=b.doc.get("node_type_id"),
        accelerator_model=w_model or d_model,
        accelerators_per_instance=w_gpus,
        instances=nodes if state in ("RUNNING", "RESIZING") else 0.0,
        instances_min=None if lo is None else lo + 1,
        instances_max=None if hi is None else hi + 1,
        accelerators=accelerators if state in ("RUNNING", "RESIZING") else 0.0,
        hours=hours,
        gpu_hours=None if hours is None or accelerators is None else round(hours * accelerators, 2),
    )


def _pool(b: _Builder) -> Iterable[FleetItem]:
    per, model, gpu = _dbx_facts(b, "gpu", "node")
    if gpu is False or (gpu is None and b.doc.get("is_gpu") is False):
        return
    idle = _num(b.get("min_idle_instances", label="idle instances"))
    b.unknown.append("hours: the API gives no pool creation time, so the hours in the window are unknown")
    yield b.item(
        "Databricks pool (idle instances)",
        state=b.doc.get("state"),
        instance_type=b.doc.get("node_type_id"),
        accelerator_model=model,
        accelerators_per_instance=per,
        instances=idle,
        instances_max=_num(b.doc.get("max_capacity")),
        hours=None,
        utilisation={
            "idle_instance_autotermination_minutes": _num(b.doc.get("idle_instance_autotermination_minutes"))
        },
    )


def _serving(b: _Builder) -> Iterable[FleetItem]:
    entities = b.get("served_entities", label="served entities")
    if not isinstance(entities, list):
        return
    created = b.time("created_at", "creation time") if b.doc.get("created_at") is not None else None
    base_notes, base_unknown = list(b.notes), list(b.unknown)
    for e in entities:
        if not isinstance(e, dict) or not e.get("gpu"):
            continue
        b.notes, b.unknown = list(base_notes), list(base_unknown)
        wtype = e.get("workload_type")
        entry = _workloads().get(str(wtype))
        per = _num(entry["gpus"]) if entry else None
        if entry is None:
            b.unknown.append(f"accelerators: workload type {wtype!r} is not in mlguard's serving table")
        stz = e.get("scale_to_zero_enabled")
        lo = 0.0 if stz else 1.0
        b.unknown.append(
            f"instances: replicas now are not exposed (workload size {e.get('workload_size')}; "
            f"{'scales to zero' if stz else 'no scale-to-zero: at least 1 replica always on'})"
        )
        hours = None
        if not stz and created is not None:
            hours = b.window.overlap(created, None)
            b.notes.append(
                f"at least one replica since {iso(created)} (created_at; no scale-to-zero): "
                "hours and GPU-hours are a lower bound"
            )
        elif stz:
            b.unknown.append("hours: scales to zero; serving usage is not collected")
        yield b.item(
            "Databricks serving entity",
            name=f"{b.resource.name} / {e.get('name')}",
            state="scale-to-zero" if stz else "always on",
            instance_type=wtype,
            accelerator_model=entry.get("model") if entry else None,
            accelerators_per_instance=per,
            instances=None,
            instances_min=lo,
            hours=hours,
            accelerators=None,
            gpu_hours=None if hours is None or per is None else round(hours * per, 2),
            utilisation={"workload_size": e.get("workload_size")},
        )


PLATFORM_OF = {  # how a kind's instance-hour is priced
    "EC2 instance": "ec2",
    "SageMaker endpoint variant": "sagemaker",
    "SageMaker notebook": "sagemaker",
    "SageMaker training job": "sagemaker",
    "SageMaker processing job": "sagemaker",
    "Bedrock provisioned throughput": "bedrock",
    "Databricks cluster": "databricks_compute",
    "Databricks pool (idle instances)": "ec2",
    "Databricks serving entity": "databricks_serving",
}


USAGE_OF = {
    "SageMaker endpoint variant": "hosting",
    "SageMaker notebook": "notebook",
    "SageMaker training job": "training",
    "SageMaker processing job": "processing",
}


def _node_hours(item: FleetItem) -> float | None:
    """Instance-hours of the window (a stopped instance's hours count one instance)."""
    if item.instances == 0 and item.kind not in ONE_INSTANCE:
        return 0.0
    if item.hours is None:
        return None
    if item.kind in ONE_INSTANCE:
        return item.hours
    return None if item.instances is None else item.hours * item.instances


def _price(item: FleetItem, prices: PriceSource | None) -> FleetItem:
    if prices is None or item.instance_type is None:
        return item
    platform = PLATFORM_OF[item.kind]
    unknown = list(item.unknown)
    node_hours = _node_hours(item)
    usage = USAGE_OF.get(item.kind)
    price = prices.price(platform, item.instance_type, item.region, usage)
    if price is None:
        if node_hours == 0:
            return item.model_copy(update={"usd": 0.0})  # nothing ran: nothing to price
        why = prices.missing(platform, item.instance_type, item.region, usage)
        unknown.append(f"$: no price for {platform} {item.instance_type}" + (f" ({why})" if why else ""))
        return item.model_copy(update={"unknown": unknown})
    usd = None if node_hours is None else round(node_hours * price.usd_per_hour, 2)
    if usd is None:
        unknown.append("$: the instance-hours are unknown")
    return item.model_copy(
        update={
            "usd_per_hour": price.usd_per_hour,
            "usd": usd,
            "price_source": price.source,
            "unknown": unknown,
        }
    )


ONE_INSTANCE = ("EC2 instance", "SageMaker notebook")  # hours already count its one instance


def _total(key: str, items: Sequence[FleetItem]) -> FleetTotal:
    usd = None
    for i in items:
        if i.usd is not None:
            usd = round((usd or 0.0) + i.usd, 2)
    return FleetTotal(
        key=key,
        items=len(items),
        accelerators=round(sum(i.accelerators or 0.0 for i in items), 2),
        gpu_hours=round(sum(i.gpu_hours or 0.0 for i in items), 2),
        usd=usd,
        unknown_accelerators=sum(1 for i in items if i.accelerators is None),
        unknown_gpu_hours=sum(1 for i in items if i.gpu_hours is None),
        unpriced=sum(1 for i in items if i.usd is None),
    )


def _window(inventory: Inventory) -> tuple[_Window, float]:
    prov = inventory.provenance
    end = parse_time(prov.finished_at) or parse_time(prov.started_at)
    assert end is not None, "an inventory's provenance carries its start time"
    days = Counter(
        int(r.data["metrics_days"])
        for r in inventory.resources
        if isinstance(r.data.get("metrics_days"), int) and not isinstance(r.data.get("metrics_days"), bool)
    )
    n = float(days.most_common(1)[0][0]) if days else float(DEFAULT_WINDOW_DAYS)
    return _Window(end - timedelta(days=n), end), n


def gpu_fleet(
    inventory: Inventory,
    prices: PriceSource | None = None,
    owner_tags: Sequence[str] = DEFAULT_OWNER_TAGS,
    index: InventoryIndex | None = None,
) -> GpuFleet:
    """The fleet of the inventory, priced when ``prices`` is given; ``index``: one of this
    inventory already built (the evaluator's), whose documents of each type are dropped once read."""
    if index is None:
        index = InventoryIndex(inventory)
    window, days = _window(inventory)
    targets = _targets(index)
    readers: dict[str, Callable[[_Builder], Iterable[FleetItem]]] = {
        "aws.ec2.instance": _ec2,
        "aws.sagemaker.endpoint": lambda b: _endpoint(b, targets),
        "aws.sagemaker.notebook_instance": _notebook,
        "aws.sagemaker.training_job": lambda b: _job(
            b, "SageMaker training job", "training_job_status", "training_start_time", "training_end_time"
        ),
        "aws.sagemaker.processing_job": lambda b: _job(
            b, "SageMaker processing job", "processing_job_status", "creation_time", "processing_end_time"
        ),
        "aws.bedrock.provisioned_throughput": _bedrock,
        "databricks.cluster": _cluster,
        "databricks.instance_pool": _pool,
        "databricks.serving_endpoint": _serving,
    }
    items: list[FleetItem] = []
    for rtype in FLEET_TYPES:
        for resource in index.by_type.get(rtype, []):
            b = _Builder(resource, index, window, owner_tags)
            items += [_price(i, prices) for i in readers[rtype](b)]
        index.forget_documents(rtype)
    kinds: dict[str, list[FleetItem]] = {}
    for i in items:
        kinds.setdefault(i.kind, []).append(i)
    incomplete = sorted(
        {
            f"{e.resource_type or 'every type'} in {e.account or e.workspace or '?'}"
            + (f" {e.region}" if e.region else "")
            + f": {e.operation} {e.code}"
            for e in inventory.errors
            if e.resource_uid is None
            and not e.attributes
            and (e.resource_type in FLEET_TYPES or e.resource_type is None)
        }
    )
    covered = {c.resource_type for c in inventory.coverage} | {r.type for r in inventory.resources}
    providers = {c.provider for c in inventory.coverage} | {r.provider for r in inventory.resources}
    not_collected = [t for t in FLEET_TYPES if t.split(".", 1)[0] in providers and t not in covered]
    return GpuFleet(
        window_days=days,
        not_collected=not_collected,
        window_start=iso(window.start),
        window_end=iso(window.end),
        pricing=prices.label if prices else None,
        sample_prices=prices.sample if prices else False,
        total=_total("all", items),
        by_kind=[_total(k, kinds[k]) for k in PLATFORM_OF if k in kinds],
        items=items,
        incomplete=incomplete,
    )
