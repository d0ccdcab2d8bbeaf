"""EMR: active clusters (security configuration, logging, network, idle termination, scaling, GPU
instance groups) and account block public access."""

from __future__ import annotations

import json
from typing import Any

from mlguard.collect.aws.normalize import as_list, to_json
from mlguard.collect.aws.spec import Detail, Item, Options, ResourceSpec, Unknown, define
from mlguard.collect.facts import accelerator_table, instance_type_facts

ACTIVE_STATES = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]


def _groups(ec2: dict[str, Any], managed: str, additional: str) -> list[str]:
    """The EMR-managed security group of a node kind and the additional ones, in that order."""
    return [str(g) for g in [ec2.get(managed), *as_list(ec2.get(additional))] if g]


#: The cluster fields read from ListInstanceGroups (unknown for instance-fleet clusters).
_GROUP_FIELDS = ("instance_groups", "is_gpu", "gpu_groups_custom_autoscaling")


def _termination_and_scaling(raw: dict[str, Any], data: dict[str, Any]) -> None:
    """Idle timeout and managed scaling limits. GetAutoTerminationPolicy and
    GetManagedScalingPolicy answer an empty response when no policy is set (a read "none": null);
    a failed call leaves its key out of ``raw`` and the engine marks the fields unread."""
    if "AutoTerminationPolicyResult" in raw:
        policy = (raw.get("AutoTerminationPolicyResult") or {}).get("AutoTerminationPolicy") or {}
        data["auto_termination_idle_timeout"] = policy.get("IdleTimeout")
    if "ManagedScalingPolicyResult" in raw:
        policy = (raw.get("ManagedScalingPolicyResult") or {}).get("ManagedScalingPolicy") or {}
        limits = policy.get("ComputeLimits") or {}
        data["managed_scaling_enabled"] = bool(limits)
        data["managed_scaling_unit_type"] = limits.get("UnitType")
        data["managed_scaling_min_units"] = limits.get("MinimumCapacityUnits")
        data["managed_scaling_max_units"] = limits.get("MaximumCapacityUnits")


def _instance_groups(item: Item, data: dict[str, Any]) -> None:
    """Instance types of the cluster's instance groups with their accelerator facts (mlguard's
    dated table) and custom automatic scaling bounds. A type the table does not know makes
    ``is_gpu`` unknown unless another group is known to be a GPU group; instance-fleet clusters
    are not read (their ``is_gpu`` is unknown)."""
    raw = item.raw
    fleets = raw.get("InstanceCollectionType") == "INSTANCE_FLEET"
    if fleets or ("InstanceGroupsResult" in raw and not raw["InstanceGroupsResult"]):
        # An active cluster always has a primary group: none listed means they were not seen
        # (an instance-fleet cluster whose DescribeCluster was not read), never "no GPU".
        item.unknown.append(
            Unknown(
                operation=("emr", "describe_cluster" if fleets else "list_instance_groups"),
                code="InstanceFleetsNotRead" if fleets else "NoInstanceGroups",
                message="the cluster uses instance fleets; mlguard reads instance groups only, so "
                "whether it runs GPU instances is unknown"
                if fleets
                else "ListInstanceGroups listed no instance group (an instance-fleet cluster?), so "
                "whether it runs GPU instances is unknown",
                attributes=_GROUP_FIELDS,
            )
        )
        return
    if "InstanceGroupsResult" not in raw:
        return
    groups = []
    for group in as_list(raw.get("InstanceGroupsResult")):
        facts = instance_type_facts(group.get("InstanceType"))
        constraints = (group.get("AutoScalingPolicy") or {}).get("Constraints") or {}
        groups.append(
            {
                "id": group.get("Id"),
                "group_type": group.get("InstanceGroupType"),
                "instance_type": group.get("InstanceType"),
                "is_gpu": None if facts is None else facts["is_gpu"],
                "gpu_count": None if facts is None else facts["gpu_count"],
                "running_instance_count": group.get("RunningInstanceCount"),
                "autoscaling_max_capacity": constraints.get("MaxCapacity"),
            }
        )
    data["instance_groups"] = groups
    gpu_groups = [g for g in groups if g["is_gpu"]]
    unknown = [str(g["instance_type"]) for g in groups if g["is_gpu"] is None]
    data["is_gpu"] = bool(gpu_groups)
    data["gpu_groups_custom_autoscaling"] = bool(gpu_groups) and all(
        g["autoscaling_max_capacity"] is not None for g in gpu_groups
    )
    # An unknown type could be an (unscaled) GPU group: it leaves unknown what it could change.
    blocked = tuple(
        name
        for name, could_change in (
            ("is_gpu", not gpu_groups),
            ("gpu_groups_custom_autoscaling", data["gpu_groups_custom_autoscaling"] or not gpu_groups),
        )
        if could_change
    )
    if unknown and blocked:
        item.unknown.append(
            Unknown(
                operation=("emr", "list_instance_groups"),
                code="UnknownInstanceType",
                message=f"no accelerator facts for instance type {', '.join(unknown)}: mlguard's "
                f"table (as of {accelerator_table().as_of}) does not know it and no family rule "
                "covers it",
                attributes=blocked,
            )
        )


def _cluster(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    ec2 = raw.get("Ec2InstanceAttributes") or {}
    data: dict[str, Any] = {
        "state": (raw.get("Status") or {}).get("State"),
        "release_label": raw.get("ReleaseLabel"),
        "applications": sorted(a.get("Name") for a in as_list(raw.get("Applications")) if a.get("Name")),
        "security_configuration": raw.get("SecurityConfiguration"),
        "log_uri": raw.get("LogUri"),
        "logging_enabled": bool(raw.get("LogUri")),
        "log_encryption_kms_key_id": raw.get("LogEncryptionKmsKeyId"),
        "subnet_id": ec2.get("Ec2SubnetId") or None,
        "master_security_group_ids": _groups(
            ec2, "EmrManagedMasterSecurityGroup", "AdditionalMasterSecurityGroups"
        ),
        "slave_security_group_ids": _groups(
            ec2, "EmrManagedSlaveSecurityGroup", "AdditionalSlaveSecurityGroups"
        ),
        "service_access_security_group_id": ec2.get("ServiceAccessSecurityGroup") or None,
        "master_public_dns_name": raw.get("MasterPublicDnsName") or None,
        "ec2_key_name": ec2.get("Ec2KeyName"),
        "service_role": raw.get("ServiceRole"),
        "instance_profile": ec2.get("IamInstanceProfile"),
        "kerberos_enabled": bool(raw.get("KerberosAttributes")),
        "termination_protected": bool(raw.get("TerminationProtected", False)),
        "visible_to_all_users": bool(raw.get("VisibleToAllUsers", False)),
        "auto_terminate": bool(raw.get("AutoTerminate", False)),
        "creation_time": to_json(((raw.get("Status") or {}).get("Timeline") or {}).get("CreationDateTime")),
        "normalized_instance_hours": raw.get("NormalizedInstanceHours"),
    }
    data["security_group_ids"] = sorted(
        {*data["master_security_group_ids"], *data["slave_security_group_ids"]}
    )
    if not raw.get("SecurityConfiguration"):  # no security configuration: nothing is encrypted by it
        data["at_rest_encryption"] = False
        data["in_transit_encryption"] = False
    elif "SecurityConfigurationDocument" in raw:
        doc = raw.get("SecurityConfigurationDocument")
        enc = (json.loads(doc) if isinstance(doc, str) and doc else {}).get("EncryptionConfiguration") or {}
        data["at_rest_encryption"] = bool(enc.get("EnableAtRestEncryption", False))
        data["in_transit_encryption"] = bool(enc.get("EnableInTransitEncryption", False))
    _termination_and_scaling(raw, data)
    _instance_groups(item, data)
    return data


def _by_cluster(raw: dict[str, Any]) -> dict[str, Any]:
    """The parameters of every per-cluster call."""
    return {"ClusterId": raw["Id"]}


def _bpa(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    return {
        "block_public_security_group_rules": bool(raw.get("BlockPublicSecurityGroupRules", False)),
        "permitted_public_port_ranges": [
            {"min": r.get("MinRange"), "max": r.get("MaxRange", r.get("MinRange"))}
            for r in as_list(raw.get("PermittedPublicSecurityGroupRuleRanges"))
        ],
    }


define(
    ResourceSpec(
        type="aws.emr.cluster",
        family="emr",
        service="emr",
        operation="list_clusters",
        params=lambda o: [{"ClusterStates": ACTIVE_STATES}],
        items="Clusters",
        id="Id",
        name="Name",
        arn="ClusterArn",
        arn_template="arn:{partition}:elasticmapreduce:{region}:{account}:cluster/{id}",
        tags="Tags",
        normalize=_cluster,
        details=(
            Detail(
                operation="describe_cluster",
                params=_by_cluster,
                select="Cluster",
                # Ec2InstanceAttributes come only from DescribeCluster (ListClusters has none).
                attributes=(
                    "master_security_group_ids",
                    "slave_security_group_ids",
                    "service_access_security_group_id",
                    "security_group_ids",
                ),
            ),
            Detail(
                operation="describe_security_configuration",
                params=lambda r: {"Name": r["SecurityConfiguration"]},
                when=lambda r: bool(r.get("SecurityConfiguration")),
                select="SecurityConfiguration",
                into="SecurityConfigurationDocument",
                attributes=("at_rest_encryption", "in_transit_encryption"),
            ),
            Detail(
                # No policy set: an empty answer (no AutoTerminationPolicy key), not an error code;
                # every error (e.g. a release without auto-termination) leaves the field unread.
                operation="get_auto_termination_policy",
                params=_by_cluster,
                into="AutoTerminationPolicyResult",
                attributes=("auto_termination_idle_timeout",),
            ),
            Detail(
                operation="get_managed_scaling_policy",
                params=_by_cluster,
                into="ManagedScalingPolicyResult",
                attributes=(
                    "managed_scaling_enabled",
                    "managed_scaling_unit_type",
                    "managed_scaling_min_units",
                    "managed_scaling_max_units",
                ),
            ),
            Detail(
                operation="list_instance_groups",
                params=_by_cluster,
                items="InstanceGroups",
                when=lambda r: r.get("InstanceCollectionType") != "INSTANCE_FLEET",
                into="InstanceGroupsResult",
                attributes=_GROUP_FIELDS,
            ),
        ),
    ),
    ResourceSpec(
        type="aws.emr.block_public_access",
        family="emr",
        service="emr",
        operation="get_block_public_access_configuration",
        items="BlockPublicAccessConfiguration",
        single=True,
        id="AccountId",
        arn_template="arn:{partition}:elasticmapreduce:{region}:{account}:block-public-access",
        normalize=_bpa,
    ),
)
