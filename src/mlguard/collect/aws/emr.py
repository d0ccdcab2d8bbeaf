"""EMR: active clusters (security configuration, logging, network) and account block public access."""

from __future__ import annotations

import json
from typing import Any

from mlguard.collect.aws.normalize import as_list, to_json
from mlguard.collect.aws.spec import Detail, Item, Options, ResourceSpec, define

ACTIVE_STATES = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]


def _groups(ec2: dict[str, Any], managed: str, additional: str) -> list[str]:
    """The EMR-managed security group of a node kind and the additional ones, in that order."""
    return [str(g) for g in [ec2.get(managed), *as_list(ec2.get(additional))] if g]


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
    return data


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
                params=lambda r: {"ClusterId": r["Id"]},
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
