"""Account and region fact records: root-account hygiene, and the GPU fleet of each region."""

from __future__ import annotations

from collections import Counter
from typing import Any

from mlguard.collect.aws.ec2 import gpu_facts
from mlguard.collect.aws.normalize import as_list
from mlguard.collect.aws.spec import Caller, Detail, Enrichment, Item, Options, ResourceSpec, define


def _account(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    data: dict[str, Any] = {"aliases": as_list(raw.get("AccountAliases"))}
    if "Summary" in raw:
        summary = raw["Summary"] or {}
        data["root_mfa_enabled"] = summary.get("AccountMFAEnabled") == 1
        data["root_access_keys_present"] = summary.get("AccountAccessKeysPresent", 0) > 0
        data["users"] = summary.get("Users")
        data["roles"] = summary.get("Roles")
        data["mfa_devices_in_use"] = summary.get("MFADevicesInUse")
    return data


def _fleet(items: list[Item], caller: Caller, opts: Options) -> None:
    """The region's GPU fleet: how many accelerated instances, of which types, in which state."""
    instances = [
        i
        for page in caller.pages("ec2", "describe_instances")
        for r in page.get("Reservations", [])
        for i in r.get("Instances", [])
    ]
    names = sorted({i["InstanceType"] for i in instances})
    infos: dict[str, dict[str, Any]] = {}
    for offset in range(0, len(names), 100):
        for page in caller.pages(
            "ec2", "describe_instance_types", InstanceTypes=names[offset : offset + 100]
        ):
            for info in page.get("InstanceTypes", []):
                infos[info["InstanceType"]] = gpu_facts(info)
    gpu = [i for i in instances if infos.get(i["InstanceType"], {}).get("is_gpu")]
    states = Counter((i.get("State") or {}).get("Name") for i in gpu)
    fleet = {
        "instances": len(gpu),
        "running": states.get("running", 0),
        "stopped": states.get("stopped", 0),
        "gpus": sum(infos[i["InstanceType"]]["gpu_count"] for i in gpu),
        "running_gpus": sum(
            infos[i["InstanceType"]]["gpu_count"]
            for i in gpu
            if (i.get("State") or {}).get("Name") == "running"
        ),
        "spot_instances": sum(1 for i in gpu if i.get("InstanceLifecycle") == "spot"),
        "by_instance_type": dict(sorted(Counter(i["InstanceType"] for i in gpu).items())),
        "by_gpu_model": dict(
            sorted(Counter(str(infos[i["InstanceType"]]["gpu_model"]) for i in gpu).items())
        ),
    }
    for item in items:
        item.data["gpu_fleet"] = fleet
        item.data["instances"] = len(instances)


define(
    ResourceSpec(
        type="aws.account",
        family="account",
        service="iam",
        operation="list_account_aliases",
        items="@",
        single=True,
        id="AccountId",
        arn_template="arn:{partition}:iam::{account}:root",
        scope="account",
        normalize=_account,
        details=(
            Detail(
                operation="get_account_summary",
                params=lambda r: {},
                select="SummaryMap",
                into="Summary",
                attributes=(
                    "root_mfa_enabled",
                    "root_access_keys_present",
                    "users",
                    "roles",
                    "mfa_devices_in_use",
                ),
            ),
        ),
    ),
    ResourceSpec(
        type="aws.region",
        family="account",
        service="ec2",
        operation="describe_regions",
        params=lambda o: [{"RegionNames": [o.region]}],
        items="Regions",
        id="RegionName",
        name="RegionName",
        arn_template="arn:{partition}:ec2:{region}:{account}:region/{id}",
        normalize=lambda item, opts: {"opt_in_status": item.raw.get("OptInStatus")},
        enrich=(
            Enrichment(
                name="GPU fleet",
                operations=(("ec2", "describe_instances"), ("ec2", "describe_instance_types")),
                attributes=("gpu_fleet", "instances"),
                run=_fleet,
            ),
        ),
    ),
)
