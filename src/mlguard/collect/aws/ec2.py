"""EC2 instances with accelerator facts from the instance type, EBS volumes and utilisation; security
groups with their ingress rules normalised."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from mlguard.collect.aws import metrics
from mlguard.collect.aws.normalize import as_list, to_json
from mlguard.collect.aws.spec import Caller, Enrichment, Item, Options, ResourceSpec, define
from mlguard.model import iso

_TRANSITION = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")
_TYPE_BATCH = 100  # DescribeInstanceTypes accepts up to 100 names


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
    gpus = as_list((info.get("GpuInfo") or {}).get("Gpus"))
    neuron = as_list((info.get("NeuronInfo") or {}).get("NeuronDevices"))
    inference = as_list((info.get("InferenceAcceleratorInfo") or {}).get("Accelerators"))
    gpu_count = sum(int(g.get("Count", 0)) for g in gpus)
    if gpus:
        accelerator = "gpu"
    elif neuron or inference:
        accelerator = "neuron"
    else:
        accelerator = None
    return {
        "is_gpu": gpu_count > 0,
        "gpu_count": gpu_count,
        "gpu_model": gpus[0].get("Name") if gpus else None,
        "gpu_manufacturer": gpus[0].get("Manufacturer") if gpus else None,
        "gpu_memory_mib": (info.get("GpuInfo") or {}).get("TotalGpuMemoryInMiB"),
        "accelerator": accelerator,
        "accelerator_count": gpu_count
        + sum(int(n.get("Count", 0)) for n in neuron)
        + sum(int(a.get("Count", 0)) for a in inference),
        "vcpus": (info.get("VCpuInfo") or {}).get("DefaultVCpus"),
        "memory_mib": (info.get("MemoryInfo") or {}).get("SizeInMiB"),
    }


def _instance_types(items: list[Item], caller: Caller, opts: Options) -> None:
    names = sorted({i.data["instance_type"] for i in items if i.data.get("instance_type")})
    infos: dict[str, dict[str, Any]] = {}
    for offset in range(0, len(names), _TYPE_BATCH):
        for page in caller.pages(
            "ec2", "describe_instance_types", InstanceTypes=names[offset : offset + _TYPE_BATCH]
        ):
            for info in page.get("InstanceTypes", []):
                infos[info["InstanceType"]] = info
    for item in items:
        info = infos.get(item.data["instance_type"])
        if info is None:
            raise ValueError(f"no instance type facts for {item.data['instance_type']}")
        item.data["gpu"] = gpu_facts(info)
        item.data["is_gpu"] = item.data["gpu"]["is_gpu"]


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


INTERNET_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
_PROTOCOLS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def ingress_rule(perm: dict[str, Any]) -> dict[str, Any]:
    """One IpPermissions entry: protocol ("all" for -1), port range, sources, derived facts.

    Protocol "all" (and a tcp/udp rule without ports) covers every port: its range is 0-65535.
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
        "open_to_internet": bool(INTERNET_CIDRS.intersection(cidrs + ipv6)),
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
        id="InstanceId",
        name="Tags[?Key=='Name'].Value | [0]",
        arn_template="arn:{partition}:ec2:{region}:{account}:instance/{id}",
        tags="Tags",
        normalize=_instance_data,
        enrich=(
            Enrichment(
                name="instance type facts",
                operations=(("ec2", "describe_instance_types"),),
                attributes=("gpu", "is_gpu"),
                run=_instance_types,
            ),
            Enrichment(
                name="EBS volumes",
                operations=(("ec2", "describe_volumes"),),
                attributes=("ebs_all_encrypted",),
                run=_volumes,
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
        ),
    ),
)
