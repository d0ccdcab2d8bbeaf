"""Security groups and the ML resources that use them: ingress rules normalised, group ids read
from instances, notebooks and EMR clusters, IMDS tokens as read, and the built-in policies joined
over the real collector output."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mlguard.collect.aws.ec2 import ingress_rule
from mlguard.demo import moto_ext
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from tests.collect.aws.conftest import collect

pytestmark = pytest.mark.usefixtures("aws")

AMI = "ami-12c6146b"  # one of moto's built-in AMIs
POLICIES = (
    "ec2_gpu_instance_imdsv2_required",
    "ec2_gpu_instance_no_internet_admin_ports",
    "sagemaker_notebook_no_internet_admin_ports",
    "emr_cluster_no_internet_admin_ports",
    "sagemaker_domain_no_internet_admin_ports",
    "sagemaker_model_no_internet_admin_ports",
)


@pytest.mark.parametrize(
    ("perm", "expected"),
    [
        (
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            ("tcp", 22, 22, True, False),
        ),
        ({"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}, ("all", 0, 65535, True, True)),
        (
            {"IpProtocol": "17", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            ("udp", 3389, 3389, False, False),
        ),
        (
            {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": [{"GroupId": "sg-1"}]},
            ("tcp", 0, 65535, False, True),
        ),
        # Two halves of the internet are the internet.
        (
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/1"}]},
            ("tcp", 22, 22, True, False),
        ),
        (
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "Ipv6Ranges": [{"CidrIpv6": "2000::/3"}]},
            ("tcp", 22, 22, True, False),
        ),
        # Wide, but no public address in it.
        (
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "Ipv6Ranges": [{"CidrIpv6": "fc00::/7"}]},
            ("tcp", 22, 22, False, False),
        ),
    ],
)
def test_ingress_rules_are_normalised(perm: dict[str, Any], expected: tuple[Any, ...]) -> None:
    rule = ingress_rule(perm)
    keys = ("protocol", "from_port", "to_port", "open_to_internet", "all_ports")
    assert tuple(rule[k] for k in keys) == expected


def _group(ec2: Any, vpc: str, name: str, perms: list[dict[str, Any]]) -> str:
    gid = str(ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"])
    if perms:
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
    return gid


def test_groups_and_the_resources_that_use_them() -> None:
    moto_ext.apply()  # moto drops the notebooks' PlatformIdentifier without it
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    private = _group(
        ec2,
        vpc,
        "private",
        [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
    )
    rdp = _group(
        ec2,
        vpc,
        "rdp-open",
        [{"IpProtocol": "tcp", "FromPort": 3380, "ToPort": 3390, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
    )

    def instance(name: str, tokens: str, groups: list[str]) -> str:
        return str(
            ec2.run_instances(
                ImageId=AMI,
                InstanceType="g5.xlarge",
                MinCount=1,
                MaxCount=1,
                SubnetId=subnet,
                SecurityGroupIds=groups,
                MetadataOptions={"HttpTokens": tokens},
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
            )["Instances"][0]["InstanceId"]
        )

    instance("hardened", "required", [private])
    instance("exposed", "optional", [private, rdp])
    sm = boto3.client("sagemaker")
    role = "arn:aws:iam::123456789012:role/sm"
    for name, groups in (("nb-private", [private]), ("nb-exposed", [rdp])):
        sm.create_notebook_instance(
            NotebookInstanceName=name,
            InstanceType="ml.t3.medium",
            RoleArn=role,
            SubnetId=subnet,
            SecurityGroupIds=groups,
            PlatformIdentifier="notebook-al2023-v1",  # AWS always reports one; moto only echoes it
        )
    sm.create_domain(
        DomainName="studio",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": role, "SecurityGroups": [rdp]},
        DomainSettings={"SecurityGroupIds": [private]},
        SubnetIds=[subnet],
        VpcId=vpc,
    )
    sm.create_model(
        ModelName="scorer",
        ExecutionRoleArn=role,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/s:1"},
        VpcConfig={"SecurityGroupIds": [private], "Subnets": [subnet]},
    )
    boto3.client("emr").run_job_flow(
        Name="spark",
        ReleaseLabel="emr-7.0.0",
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "InstanceCount": 1,
            "KeepJobFlowAliveWhenNoSteps": True,
            "Ec2SubnetId": subnet,
            "AdditionalMasterSecurityGroups": [rdp],
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )

    run = collect(
        {
            "aws.ec2.security_group",
            "aws.ec2.instance",
            "aws.sagemaker.notebook_instance",
            "aws.emr.cluster",
            "aws.sagemaker.domain",
            "aws.sagemaker.model",
        }
    )
    assert run.inventory.errors == []
    group = run.one("aws.ec2.security_group", rdp)
    assert group.uid == f"arn:aws:ec2:us-east-1:123456789012:security-group/{rdp}"
    assert group.data["open_to_internet"] is True
    assert group.data["ingress"][0]["ipv6_cidrs"] == ["::/0"]
    assert run.one("aws.ec2.security_group", private).data["open_to_internet"] is False
    exposed = run.one("aws.ec2.instance", "exposed").data
    assert exposed["security_group_ids"] == [private, rdp]
    assert (exposed["http_tokens"], exposed["http_endpoint"]) == ("optional", "enabled")
    assert run.one("aws.sagemaker.notebook_instance", "nb-exposed").data["security_group_ids"] == [rdp]
    assert run.one("aws.sagemaker.domain", "studio").data["security_group_ids"] == sorted([private, rdp])
    assert run.one("aws.sagemaker.model", "scorer").data["security_group_ids"] == [private]
    (cluster,) = run.of("aws.emr.cluster")
    assert rdp in cluster.data["master_security_group_ids"]
    assert set(cluster.data["security_group_ids"]) >= {rdp, *cluster.data["slave_security_group_ids"]}

    policies = load_policy_set([(builtin_policy_dir(), "builtin")]).policies
    results = evaluate_inventory([policies[p] for p in POLICIES], run.inventory).results
    statuses = {(r.policy_id, r.resource_name): str(r.status) for r in results}
    assert statuses == {
        ("ec2_gpu_instance_imdsv2_required", "hardened"): "PASS",
        ("ec2_gpu_instance_imdsv2_required", "exposed"): "FAIL",
        ("ec2_gpu_instance_no_internet_admin_ports", "hardened"): "PASS",
        ("ec2_gpu_instance_no_internet_admin_ports", "exposed"): "FAIL",
        ("sagemaker_notebook_no_internet_admin_ports", "nb-private"): "PASS",
        ("sagemaker_notebook_no_internet_admin_ports", "nb-exposed"): "FAIL",
        ("emr_cluster_no_internet_admin_ports", "spark"): "FAIL",
        ("sagemaker_domain_no_internet_admin_ports", "studio"): "FAIL",
        ("sagemaker_model_no_internet_admin_ports", "scorer"): "PASS",
    }
