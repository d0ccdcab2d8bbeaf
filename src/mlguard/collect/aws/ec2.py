"""EC2 instances with accelerator facts from the instance type, EBS volumes and utilisation; security
groups with their ingress rules normalised."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlguard.collect.aws import metrics
from mlguard.collect.aws.engine import error_code
from mlguard.collect.aws.normalize import as_list, to_json
from mlguard.collect.aws.spec import Caller, Enrichment, Item, Options, ResourceSpec, Unknown, define
from mlguard.collect.facts import accelerator_facts, accelerator_table
from mlguard.collect.facts import instance_type_facts as table_facts
from mlguard.collect.netrange import open_to_internet
from mlguard.model import iso

_TRANSITION = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")
_TYPE_BATCH = 100  # DescribeInstanceTypes accepts up to 100 names
_GPU_ATTRIBUTES = ("gpu", "is_gpu")
_NVME = {"required", "supported"}


def transition_time(reason: str | None) -> str | None:
    """The time in a StateTransitionReason such as ``User initiated (2024-01-02 03:04:05 GMT)``."""
    match = _TRANSITION.search(reason or "")
    if not match:
        return None
    return iso(datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC))


def _instance_data(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    meta = raw.get("MetadataOptions") or {}
    reason = raw.get("StateTransitionReason")
    return {
        "instance_type": raw.get("InstanceType"),
        "family": str(raw.get("InstanceType", "")).split(".")[0],
        "state": (raw.get("State") or {}).get("Name"),
        "state_transition_reason": reason,
        "state_transition_time": transition_time(reason),
        "launch_time": to_json(raw.get("LaunchTime")),
        "lifecycle": raw.get("InstanceLifecycle") or "on-demand",
        "image_id": raw.get("ImageId"),
        "vpc_id": raw.get("VpcId"),
        "subnet_id": raw.get("SubnetId"),
        "public_ip_address": raw.get("PublicIpAddress"),
        "iam_instance_profile_arn": (raw.get("IamInstanceProfile") or {}).get("Arn"),
        "security_group_ids": [g.get("GroupId") for g in as_list(raw.get("SecurityGroups"))],
        "metadata_options": to_json(meta),
        # As read: "required" (IMDSv2 only) or "optional" (IMDSv1 allowed). DescribeInstances
        # always reports it; None means the answer carried no MetadataOptions (nothing was read).
        "http_tokens": meta.get("HttpTokens"),
        "http_endpoint": meta.get("HttpEndpoint"),  # "disabled": no metadata service at all
        "imdsv2_required": meta.get("HttpTokens") == "required",
        "monitoring_state": (raw.get("Monitoring") or {}).get("State"),
        "detailed_monitoring": (raw.get("Monitoring") or {}).get("State") == "enabled",
        "ebs_volumes": [
            {
                "device_name": b.get("DeviceName"),
                "volume_id": b["Ebs"].get("VolumeId"),
                "delete_on_termination": b["Ebs"].get("DeleteOnTermination"),
            }
            for b in as_list(raw.get("BlockDeviceMappings"))
            if "Ebs" in b
        ],
    }


def gpu_facts(info: dict[str, Any]) -> dict[str, Any]:
    """Accelerator facts of one DescribeInstanceTypes entry (the live answer; the table's shape)."""
    gpu_info = info.get("GpuInfo") or {}
    devices: list[tuple[str, dict[str, Any]]] = [
        *(("gpu", g) for g in as_list(gpu_info.get("Gpus"))),
        *(("neuron", n) for n in as_list((info.get("NeuronInfo") or {}).get("NeuronDevices"))),
        *(
            ("inference", a)
            for a in as_list((info.get("InferenceAcceleratorInfo") or {}).get("Accelerators"))
        ),
        *(("fpga", f) for f in as_list((info.get("FpgaInfo") or {}).get("Fpgas"))),
        *(("media", m) for m in as_list((info.get("MediaAcceleratorInfo") or {}).get("Accelerators"))),
    ]
    kind, first = devices[0] if devices else (None, {})
    # A GPU partition (g6f) reports Count 0 with a fractional GpuPartitionSize.
    count = sum(
        int(d.get("Count", 0)) or float(d.get("GpuPartitionSize", 0)) * int(d.get("LogicalGpuCount", 0))
        for k, d in devices
        if k == kind
    )
    storage = info.get("InstanceStorageInfo") or {}
    facts = accelerator_facts(
        kind=kind,
        count=count if devices else 0,
        model=first.get("Name"),
        manufacturer=first.get("Manufacturer"),
        memory_mib=gpu_info.get("TotalGpuMemoryInMiB")
        if kind == "gpu"
        else (first.get("MemoryInfo") or {}).get("SizeInMiB"),
        nvme_gb=storage.get("TotalSizeInGB") if storage.get("NvmeSupport") in _NVME else None,
        source="DescribeInstanceTypes",
    )
    facts["vcpus"] = (info.get("VCpuInfo") or {}).get("DefaultVCpus")
    facts["memory_mib"] = (info.get("MemoryInfo") or {}).get("SizeInMiB")
    return facts


@dataclass(frozen=True, slots=True)
class TypeFacts:
    """Accelerator facts per instance type name; the names nothing knows, and why."""

    known: dict[str, dict[str, Any]]
    unknown: dict[str, tuple[str, str]]  # name -> (error code, message)
    causes: dict[str, BaseException]  # name -> the failed call that left it unknown


def _names_in(message: str, batch: list[str]) -> set[str]:
    tokens = set(re.findall(r"[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]", message))
    return {n for n in batch if n in tokens}


def instance_type_facts(caller: Caller, names: list[str]) -> TypeFacts:
    """Facts of instance types from DescribeInstanceTypes, refined over the offline table.

    One name EC2 does not know fails its whole batch (InvalidInstanceType): the batch is retried
    without the names the error lists, else name by name, so it never loses the others. A name
    that neither EC2 nor the table knows is unknown (with the code of the call that failed).
    """
    live: dict[str, dict[str, Any]] = {}
    invalid: dict[str, tuple[str, str]] = {}
    failed: dict[str, tuple[str, str]] = {}
    causes: dict[str, BaseException] = {}
    pending = [names[o : o + _TYPE_BATCH] for o in range(0, len(names), _TYPE_BATCH)]
    while pending:
        batch = pending.pop()
        try:
            # Shared: the EC2 instances' facts and the region's GPU fleet ask for the same types.
            for page in caller.pages_shared("ec2", "describe_instance_types", InstanceTypes=batch):
                for info in page.get("InstanceTypes", []):
                    live[info["InstanceType"]] = gpu_facts(info)
        except (ClientError, BotoCoreError) as exc:
            code, message = error_code(exc)
            causes.update(dict.fromkeys(batch, exc))
            if not code.startswith("InvalidInstanceType"):
                failed.update(dict.fromkeys(batch, (code, message)))
                continue
            named = _names_in(message, batch)
            if named and len(named) < len(batch):
                invalid.update(dict.fromkeys(named, (code, message)))
                pending.append([n for n in batch if n not in named])
            elif len(batch) > 1:
                pending.extend([n] for n in batch)
            else:
                invalid[batch[0]] = (code, message)
    known: dict[str, dict[str, Any]] = {}
    unknown: dict[str, tuple[str, str]] = {}
    for name in names:
        facts = live.get(name) or table_facts(name)
        if facts is not None:
            known[name] = facts
            continue
        code, message = invalid.get(name) or failed.get(name) or ("UnknownInstanceType", "")
        unknown[name] = (
            code,
            f"no accelerator facts for instance type {name}: "
            f"EC2 DescribeInstanceTypes did not describe it ({message or code}) and mlguard's "
            f"table (as of {accelerator_table().as_of}) does not know it",
        )
    return TypeFacts(known, unknown, {n: causes[n] for n in unknown if n in causes})


def _instance_types(items: list[Item], caller: Caller, opts: Options) -> None:
    names = sorted({i.data["instance_type"] for i in items if i.data.get("instance_type")})
    facts = instance_type_facts(caller, names)
    for item in items:
        name = item.data.get("instance_type")
        found = facts.known.get(name or "")
        if found is None:
            code, message = facts.unknown.get(name or "", ("UnknownInstanceType", "no instance type"))
            item.unknown.append(
                Unknown(
                    operation=("ec2", "describe_instance_types"),
                    code=code,
                    message=message,
                    attributes=_GPU_ATTRIBUTES,
                )
            )
            continue
        item.data["gpu"] = found
        item.data["is_gpu"] = found["is_gpu"]


def _volumes(items: list[Item], caller: Caller, opts: Options) -> None:
    wanted = {v["volume_id"] for i in items for v in i.data["ebs_volumes"]}
    found: dict[str, dict[str, Any]] = {}
    ids = sorted(wanted)
    for offset in range(0, len(ids), 200):
        for page in caller.pages("ec2", "describe_volumes", VolumeIds=ids[offset : offset + 200]):
            for vol in page.get("Volumes", []):
                found[vol["VolumeId"]] = vol
    for item in items:
        for v in item.data["ebs_volumes"]:
            vol = found.get(v["volume_id"], {})
            v["encrypted"] = vol.get("Encrypted")
            v["kms_key_id"] = vol.get("KmsKeyId")
            v["size_gib"] = vol.get("Size")
            v["volume_type"] = vol.get("VolumeType")
        item.data["ebs_all_encrypted"] = all(v["encrypted"] is True for v in item.data["ebs_volumes"])


def _utilisation(items: list[Item], caller: Caller, opts: Options) -> None:
    """CPU utilisation (max and mean of daily figures) of GPU instances, for idle-GPU policies."""
    gpu = [i for i in items if i.data.get("is_gpu")]
    queries = []
    for i in gpu:
        dims = (("InstanceId", i.raw["InstanceId"]),)
        queries.append(
            metrics.Query(f"{i.raw['InstanceId']}/max", "AWS/EC2", "CPUUtilization", dims, "Maximum")
        )
        queries.append(
            metrics.Query(f"{i.raw['InstanceId']}/avg", "AWS/EC2", "CPUUtilization", dims, "Average")
        )
    values = metrics.fetch(caller, queries, opts) if queries else {}
    for i in gpu:
        mx = values[f"{i.raw['InstanceId']}/max"]
        avg = values[f"{i.raw['InstanceId']}/avg"]
        i.data["metrics_days"] = opts.metrics_days
        i.data["cpu_utilization_max"] = max(mx) if mx else None
        i.data["cpu_utilization_avg"] = sum(avg) / len(avg) if avg else None
        i.data["metrics_datapoints"] = len(avg)


_AGENT_NAMESPACE = "CWAgent"  # the CloudWatch agent's default namespace
_AGENT_GPU_METRIC = "nvidia_smi_utilization_gpu"  # its nvidia_gpu section's utilization_gpu
_GPU_AGENT_ATTRIBUTES = (
    "gpu_utilization_max",
    "gpu_utilization_avg",
    "gpu_metrics_datapoints",
    "gpu_devices_measured",
    "gpu_utilization_reason",
)


def _agent_gpu_utilisation(items: list[Item], caller: Caller, opts: Options) -> None:
    """GPU utilisation of GPU instances from the CloudWatch agent's NVIDIA metrics.

    The agent publishes ``nvidia_smi_utilization_gpu`` per GPU (dimensions such as index, name,
    host, plus the InstanceId that ``append_dimensions`` adds), so the metrics are listed by
    InstanceId first and each GPU's series is read. No series means "not measured": the figures
    stay null with a reason and the datapoint count is 0, never a utilisation of zero."""
    gpu = {i.raw["InstanceId"]: i for i in items if i.data.get("is_gpu")}
    if not gpu:
        return
    series: dict[str, dict[tuple[tuple[str, str], ...], None]] = {iid: {} for iid in gpu}
    for page in caller.pages(
        "cloudwatch",
        "list_metrics",
        Namespace=_AGENT_NAMESPACE,
        MetricName=_AGENT_GPU_METRIC,
        Dimensions=[{"Name": "InstanceId"}],
    ):
        for metric in page.get("Metrics", []):
            dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
            iid = dict(dims).get("InstanceId")
            if iid in series:
                series[iid][dims] = None  # ListMetrics may repeat a metric: keep each once
    queries = [
        metrics.Query(f"{iid}/{n}/{stat}", _AGENT_NAMESPACE, _AGENT_GPU_METRIC, dims, stat)
        for iid, found in series.items()
        for n, dims in enumerate(found)
        for stat in ("Maximum", "Average")
    ]
    values = metrics.fetch(caller, queries, opts) if queries else {}
    for iid, item in gpu.items():
        per_gpu = [
            (values[f"{iid}/{n}/Maximum"], values[f"{iid}/{n}/Average"]) for n in range(len(series[iid]))
        ]
        maxima = [v for mx, _ in per_gpu for v in mx]
        averages = [v for _, avg in per_gpu for v in avg]
        days = max((len(avg) for _, avg in per_gpu), default=0)
        item.data["gpu_devices_measured"] = len(per_gpu)
        item.data["gpu_metrics_datapoints"] = days
        item.data["gpu_utilization_max"] = max(maxima) if maxima else None
        item.data["gpu_utilization_avg"] = max(averages) if averages else None
        item.data["gpu_utilization_reason"] = (
            None
            if averages
            else f"not measured: the CloudWatch agent published no {_AGENT_NAMESPACE} "
            f"{_AGENT_GPU_METRIC} with this InstanceId in the last {opts.metrics_days} days"
        )


_PROTOCOLS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def ingress_rule(perm: dict[str, Any]) -> dict[str, Any]:
    """One IpPermissions entry: protocol ("all" for -1), port range, sources, derived facts.

    Protocol "all" (and a tcp/udp rule without ports) covers every port: its range is 0-65535.
    A source is the internet when it is wider than /8 (IPv4) or /32 (IPv6) and holds public
    addresses (``collect.netrange``): ``0.0.0.0/1`` counts, ``10.0.0.0/8`` does not.
    Descriptions are not kept: they are free text and no policy reads them."""
    raw_protocol = str(perm.get("IpProtocol", ""))
    protocol = _PROTOCOLS.get(raw_protocol, raw_protocol.lower())
    from_port, to_port = perm.get("FromPort"), perm.get("ToPort")
    if protocol == "all" or (protocol in ("tcp", "udp") and from_port is None):
        from_port, to_port = 0, 65535
    cidrs = sorted(str(r["CidrIp"]) for r in as_list(perm.get("IpRanges")) if r.get("CidrIp"))
    ipv6 = sorted(str(r["CidrIpv6"]) for r in as_list(perm.get("Ipv6Ranges")) if r.get("CidrIpv6"))
    return {
        "protocol": protocol,
        "from_port": from_port,
        "to_port": to_port,
        "cidrs": cidrs,
        "ipv6_cidrs": ipv6,
        "prefix_list_ids": sorted(
            str(p["PrefixListId"]) for p in as_list(perm.get("PrefixListIds")) if p.get("PrefixListId")
        ),
        "source_group_ids": sorted(
            str(g["GroupId"]) for g in as_list(perm.get("UserIdGroupPairs")) if g.get("GroupId")
        ),
        "open_to_internet": any(open_to_internet(c) for c in cidrs + ipv6),
        "all_ports": protocol == "all" or (from_port == 0 and to_port == 65535),
    }


def _security_group(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    ingress = [ingress_rule(p) for p in as_list(raw.get("IpPermissions"))]
    return {
        "group_id": raw.get("GroupId"),
        "group_name": raw.get("GroupName"),
        "vpc_id": raw.get("VpcId"),
        "owner_id": raw.get("OwnerId"),
        "ingress": ingress,
        "egress": [ingress_rule(p) for p in as_list(raw.get("IpPermissionsEgress"))],
        "open_to_internet": any(r["open_to_internet"] for r in ingress),
    }


define(
    ResourceSpec(
        type="aws.ec2.security_group",
        family="ec2",
        service="ec2",
        operation="describe_security_groups",
        items="SecurityGroups",
        id="GroupId",
        name="GroupName",
        arn_template="arn:{partition}:ec2:{region}:{account}:security-group/{id}",
        tags="Tags",
        normalize=_security_group,
    ),
    ResourceSpec(
        type="aws.ec2.instance",
        family="ec2",
        service="ec2",
        operation="describe_instances",
        items="Reservations[].Instances[]",
        shared_list=True,  # the region's GPU fleet (aws.region) lists every instance too
        id="InstanceId",
        name="Tags[?Key=='Name'].Value | [0]",
        arn_template="arn:{partition}:ec2:{region}:{account}:instance/{id}",
        tags="Tags",
        normalize=_instance_data,
        enrich=(
            Enrichment(
                name="instance type facts",
                operations=(("ec2", "describe_instance_types"),),
                attributes=_GPU_ATTRIBUTES,
                run=_instance_types,
            ),
            Enrichment(
                name="EBS volumes",
                operations=(("ec2", "describe_volumes"),),
                attributes=("ebs_all_encrypted",),
                run=_volumes,
                extends=("ebs_volumes",),
            ),
            Enrichment(
                name="GPU utilisation",
                operations=(("cloudwatch", "get_metric_data"),),
                attributes=(
                    "metrics_days",
                    "cpu_utilization_max",
                    "cpu_utilization_avg",
                    "metrics_datapoints",
                ),
                run=_utilisation,
            ),
            Enrichment(
                name="GPU utilisation (CloudWatch agent)",
                operations=(("cloudwatch", "list_metrics"), ("cloudwatch", "get_metric_data")),
                attributes=_GPU_AGENT_ATTRIBUTES,
                run=_agent_gpu_utilisation,
            ),
        ),
    ),
)
