from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from mlguard.demo import moto_ext
from tests.collect.aws.conftest import collect

TRUST_SAGEMAKER = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
TRUST_GUARDED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "glue.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ],
}
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::x/*"}],
}

pytestmark = pytest.mark.usefixtures("aws")


def test_iam_roles_users_policies() -> None:
    moto_ext.apply()  # moto 5.2 has no service-specific credentials (Bedrock API keys)
    iam = boto3.client("iam")
    iam.create_role(RoleName="sm-exec", AssumeRolePolicyDocument=json.dumps(TRUST_SAGEMAKER))
    iam.put_role_policy(RoleName="sm-exec", PolicyName="inline-read", PolicyDocument=json.dumps(READ))
    admin = iam.create_policy(PolicyName="everything", PolicyDocument=json.dumps(ADMIN))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="sm-exec", PolicyArn=admin)
    iam.create_role(RoleName="glue-exec", AssumeRolePolicyDocument=json.dumps(TRUST_GUARDED))
    iam.put_role_policy(RoleName="glue-exec", PolicyName="inline-read", PolicyDocument=json.dumps(READ))
    iam.create_user(UserName="alice")
    iam.create_access_key(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Xx-canary-Pass-123")
    iam.create_user(UserName="bot")
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=admin)
    iam.add_user_to_group(GroupName="admins", UserName="bot")
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True)

    run = collect({"aws.iam.role", "aws.iam.user", "aws.iam.policy", "aws.iam.password_policy"})
    assert run.inventory.errors == []
    sm = run.one("aws.iam.role", "sm-exec").data
    assert sm["trusted_services"] == ["sagemaker.amazonaws.com"]
    assert sm["confused_deputy_conditions"] is False
    assert sm["allows_admin"] is True
    assert sm["inline_allows_admin"] is False
    assert admin in sm["attached_policy_arns"]
    glue = run.one("aws.iam.role", "glue-exec").data
    assert glue["confused_deputy_conditions"] is True
    assert glue["allows_admin"] is False
    assert glue["wildcard_actions"] == ["s3:Get*"]

    alice = run.one("aws.iam.user", "alice")
    assert alice.uid == "arn:aws:iam::123456789012:user/alice"
    assert alice.data["active_access_key_count"] == 1
    assert alice.data["access_keys"][0]["age_days"] == 0
    assert alice.data["console_password"] is True
    assert alice.data["mfa_enabled"] is False
    bot = run.one("aws.iam.user", "bot").data
    assert bot["console_password"] is False
    assert bot["groups"] == ["admins"]
    assert bot["allows_admin"] is True  # through its group
    assert alice.data["allows_admin"] is False

    (policy,) = [r.data for r in run.of("aws.iam.policy") if r.uid == admin]
    assert policy["allows_admin"] is True
    assert policy["document"] == ADMIN
    (pp,) = run.of("aws.iam.password_policy")
    assert pp.data["minimum_password_length"] == 14
    assert pp.data["configured"] is True
    assert "Xx-canary-Pass-123" not in run.inventory.model_dump_json()


def test_marketplace_subscribe_is_folded_over_a_principals_policies() -> None:
    iam = boto3.client("iam")
    subscribe = {"Effect": "Allow", "Action": "aws-marketplace:Subscribe", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "aws-marketplace:*", "Resource": "*"}
    broad = iam.create_policy(
        PolicyName="subscribe-any",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [subscribe]}),
    )["Policy"]["Arn"]
    for name in ("open", "fenced", "plain"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_SAGEMAKER))
    iam.attach_role_policy(RoleName="open", PolicyArn=broad)
    iam.attach_role_policy(RoleName="fenced", PolicyArn=broad)
    # An unconditional Deny in another (inline) policy of the same role overrides the Allow.
    iam.put_role_policy(
        RoleName="fenced",
        PolicyName="no-marketplace",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [deny]}),
    )
    iam.put_role_policy(RoleName="plain", PolicyName="inline-read", PolicyDocument=json.dumps(READ))
    iam.create_user(UserName="via-group")
    iam.create_group(GroupName="buyers")
    iam.attach_group_policy(GroupName="buyers", PolicyArn=broad)
    iam.add_user_to_group(GroupName="buyers", UserName="via-group")
    iam.create_user(UserName="nobody")

    run = collect({"aws.iam.role", "aws.iam.user", "aws.iam.policy"})
    assert run.inventory.errors == []
    assert run.one("aws.iam.role", "open").data["marketplace_subscribe_any_product"] is True
    assert run.one("aws.iam.role", "fenced").data["marketplace_subscribe_any_product"] is False
    assert run.one("aws.iam.role", "plain").data["marketplace_subscribe_any_product"] is False
    assert run.one("aws.iam.user", "via-group").data["marketplace_subscribe_any_product"] is True
    assert run.one("aws.iam.user", "nobody").data["marketplace_subscribe_any_product"] is False
    (policy,) = [r.data for r in run.of("aws.iam.policy") if r.uid == broad]
    assert policy["marketplace_subscribe_any_product"] is True


UC_MASTER = "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL"


def test_a_role_that_trusts_itself_is_not_another_principal() -> None:
    """The trust Databricks Unity Catalog requires of a storage credential's role: the UC master
    role and the role itself, with an external ID."""
    iam = boto3.client("iam")
    own = "arn:aws:iam::123456789012:role/uc-access"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [UC_MASTER, own, "arn:aws:iam::123456789012:role/etl"]},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "ext-1"}},
            }
        ],
    }
    iam.create_role(RoleName="uc-access", AssumeRolePolicyDocument=json.dumps(trust))
    run = collect({"aws.iam.role"})
    data = run.one("aws.iam.role", "uc-access").data
    assert sorted(data["trusted_aws_principals"]) == sorted(
        [UC_MASTER, own, "arn:aws:iam::123456789012:role/etl"]
    )
    assert sorted(data["trusted_aws_principals_except_self"]) == sorted(
        [UC_MASTER, "arn:aws:iam::123456789012:role/etl"]
    )
    assert data["aws_principals_without_external_id"] == []


def test_iam_user_bedrock_api_keys() -> None:
    """Only bedrock.amazonaws.com credentials are read; an expiry in the past makes a key unusable."""
    moto_ext.apply()  # moto 5.2 has no service-specific credentials (Bedrock API keys)
    iam = boto3.client("iam")
    iam.create_user(UserName="app")
    forever = iam.create_service_specific_credential(UserName="app", ServiceName="bedrock.amazonaws.com")
    iam.create_service_specific_credential(
        UserName="app", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=30
    )
    iam.create_service_specific_credential(UserName="app", ServiceName="codecommit.amazonaws.com")
    iam.create_user(UserName="retired")
    old = iam.create_service_specific_credential(UserName="retired", ServiceName="bedrock.amazonaws.com")
    iam.update_service_specific_credential(
        UserName="retired",
        ServiceSpecificCredentialId=old["ServiceSpecificCredential"]["ServiceSpecificCredentialId"],
        Status="Inactive",
    )
    iam.create_user(UserName="none")

    run = collect({"aws.iam.user"})
    assert run.inventory.errors == []
    app = run.one("aws.iam.user", "app").data
    assert len(app["bedrock_api_keys"]) == 2  # not the CodeCommit credential
    assert app["active_bedrock_api_key_count"] == 2
    assert sorted(k["never_expires"] for k in app["bedrock_api_keys"]) == [False, True]
    assert all(k["expired"] is False and k["status"] == "Active" for k in app["bedrock_api_keys"])
    secret = forever["ServiceSpecificCredential"]["ServicePassword"]
    assert secret not in run.inventory.model_dump_json()
    retired = run.one("aws.iam.user", "retired").data
    assert retired["active_bedrock_api_key_count"] == 0
    assert retired["bedrock_api_keys"][0]["status"] == "Inactive"
    assert run.one("aws.iam.user", "none").data["bedrock_api_keys"] == []


def test_kms_keys() -> None:
    kms = boto3.client("kms")
    rotated = kms.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotated)
    kms.create_alias(AliasName="alias/ml-data", TargetKeyId=rotated)
    plain = kms.create_key(Description="plain")["KeyMetadata"]["KeyId"]
    disabled = kms.create_key(Description="off")["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=disabled)
    run = collect({"aws.kms.key"})
    assert run.inventory.errors == []
    by_id = {r.id: r.data for r in run.of("aws.kms.key")}
    assert by_id[rotated]["rotation_enabled"] is True
    assert by_id[rotated]["aliases"] == ["alias/ml-data"]
    assert by_id[plain]["rotation_enabled"] is False
    assert by_id[plain]["customer_managed"] is True
    assert by_id[disabled]["key_state"] == "Disabled"
    assert by_id[disabled]["enabled"] is False


def test_ec2_instances_with_gpu_facts() -> None:
    ec2 = boto3.client("ec2")
    image = "ami-12c6146b"  # one of moto's built-in AMIs
    gpu = ec2.run_instances(
        ImageId=image,
        InstanceType="g5.xlarge",
        MinCount=2,
        MaxCount=2,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "trainer"}]}],
        MetadataOptions={"HttpTokens": "required"},
    )["Instances"]
    ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    ec2.stop_instances(InstanceIds=[gpu[0]["InstanceId"]])
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "InstanceId", "Value": gpu[1]["InstanceId"]}],
                "Value": value,
                "Timestamp": datetime.now(UTC) - timedelta(hours=hours),
            }
            for value, hours in ((3.0, 1), (9.0, 50))
        ],
    )

    run = collect({"aws.ec2.instance"})
    assert run.inventory.errors == []
    instances = run.of("aws.ec2.instance")
    assert len(instances) == 3
    trainers = [r for r in instances if r.name == "trainer"]
    assert len(trainers) == 2
    stopped = next(r for r in trainers if r.id == gpu[0]["InstanceId"])
    d = stopped.data
    assert d["is_gpu"] is True
    assert d["gpu"]["gpu_count"] == 1
    assert d["gpu"]["gpu_model"] == "A10G"
    assert d["gpu"]["accelerator"] == "gpu"
    assert d["state"] == "stopped"
    assert d["state_transition_time"] is not None
    assert d["imdsv2_required"] is True
    assert d["lifecycle"] == "on-demand"
    assert d["metrics_days"] == 14
    assert d["cpu_utilization_max"] is None  # no datapoints: unknown, not zero
    assert d["ebs_volumes"]
    assert d["ebs_volumes"][0]["volume_id"].startswith("vol-")
    busy = next(r for r in trainers if r.id == gpu[1]["InstanceId"]).data
    assert busy["cpu_utilization_max"] == 9.0
    assert busy["cpu_utilization_avg"] == 6.0
    assert busy["metrics_datapoints"] == 2
    small = next(r for r in instances if r.name is None)
    assert small.data["is_gpu"] is False
    assert "cpu_utilization_max" not in small.data
    assert stopped.uid == f"arn:aws:ec2:us-east-1:123456789012:instance/{stopped.id}"


def test_account_and_region_fleet_facts() -> None:
    boto3.client("iam").create_account_alias(AccountAlias="ml-prod")
    ec2 = boto3.client("ec2")
    ec2.run_instances(ImageId="ami-12c6146b", InstanceType="g5.12xlarge", MinCount=2, MaxCount=2)
    ec2.run_instances(ImageId="ami-12c6146b", InstanceType="m5.large", MinCount=1, MaxCount=1)
    run = collect({"aws.account", "aws.region"})
    assert run.inventory.errors == []
    (account,) = run.of("aws.account")
    assert account.uid == "arn:aws:iam::123456789012:root"
    assert account.data["aliases"] == ["ml-prod"]
    assert account.data["root_access_keys_present"] is False
    (region,) = run.of("aws.region")
    assert region.id == "us-east-1"
    assert region.data["instances"] == 3
    fleet = region.data["gpu_fleet"]
    assert (fleet["instances"], fleet["running"], fleet["gpus"]) == (2, 2, 8)
    assert fleet["by_gpu_model"] == {"A10G": 2}


def test_an_unparsable_answer_is_an_error_of_its_call_not_of_the_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A detail call whose answer botocore cannot parse (an HTML 500 page from a proxy or an
    unpatched emulator): ResponseParserError is not a BotoCoreError, and it must not end the
    collection; it is that resource's collection error and its fields are unknown."""
    from botocore import parsers

    boto3.client("kms").create_key(Description="ml data")
    real = parsers.JSONParser.parse

    def parse(self: parsers.JSONParser, response: dict[str, object], shape: object) -> object:
        if getattr(shape, "name", "") == "GetKeyRotationStatusResponse":
            raise parsers.ResponseParserError("Unable to parse response (syntax error), invalid XML received")
        return real(self, response, shape)

    monkeypatch.setattr(parsers.JSONParser, "parse", parse)
    run = collect({"aws.kms.key"})
    [key] = [
        r
        for r in run.inventory.resources
        if r.type == "aws.kms.key" and r.data.get("description") == "ml data"
    ]
    assert "rotation_enabled" not in key.data
    assert any("GetKeyRotationStatus" in e.operation for e in run.inventory.errors), run.inventory.errors
