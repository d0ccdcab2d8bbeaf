"""Account and region fact records: root-account hygiene, and the GPU fleet of each region."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from mlguard.collect.aws.ec2 import instance_type_facts
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


def _total(counts: Iterable[int | float | None]) -> int | float | None:
    """Sum of GPU counts; None (unknown) when one of them is unknown (a size the table lacks)."""
    values = list(counts)
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _fleet(items: list[Item], caller: Caller, opts: Options) -> None:
    """The region's GPU fleet: how many accelerated instances, of which types, in which state."""
    instances = [
        i
        for page in caller.pages_shared("ec2", "describe_instances")  # the EC2 instance type's listing
        for r in page.get("Reservations", [])
        for i in r.get("Instances", [])
    ]
    facts = instance_type_facts(caller, sorted({i["InstanceType"] for i in instances}))
    if facts.causes:  # a type nobody knows: the fleet's counts would be short, so they are unknown
        raise next(iter(facts.causes.values()))
    infos = facts.known
    gpu = [i for i in instances if infos.get(i["InstanceType"], {}).get("is_gpu")]
    states = Counter((i.get("State") or {}).get("Name") for i in gpu)
    fleet = {
        "instances": len(gpu),
        "running": states.get("running", 0),
        "stopped": states.get("stopped", 0),
        "gpus": _total(infos[i["InstanceType"]]["gpu_count"] for i in gpu),
        "running_gpus": _total(
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
