"""Each moto extension patch, proven through a real boto3 client (in-process mock_aws)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mlguard.demo import moto_ext
from mlguard.demo.s3control_host import strip_account_label

REGION = "us-east-1"
ACCOUNT = "123456789012"

IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/serve:1"
FEATURES = [
    {"FeatureName": "id", "FeatureType": "String"},
    {"FeatureName": "ts", "FeatureType": "String"},
]


def _model(sm: Any, role_arn: str, name: str = "m", **extra: Any) -> None:
    sm.create_model(ModelName=name, ExecutionRoleArn=role_arn, PrimaryContainer={"Image": IMAGE}, **extra)


def test_apply_is_idempotent_and_lists_every_gap() -> None:
    first = moto_ext.apply()
    assert moto_ext.apply() == first
    assert set(first) == set(moto_ext.gaps())
    assert {
        "monitoring_schedules",
        "user_profiles",
        "spaces",
        "feature_groups",
        "model_network_isolation",
        "studio_images",
        "inference_experiments",
    } <= set(first)
    assert all(moto_ext.gaps().values()), "every patch documents what moto lacks"


@pytest.mark.parametrize(
    "instance_type", ["ml.g5.xlarge", "ml.g5.12xlarge", "ml.p4d.24xlarge", "ml.p5.48xlarge"]
)
def test_gpu_instance_types_accepted_by_endpoint_configs_and_notebooks(
    sm: Any, role_arn: str, instance_type: str
) -> None:
    _model(sm, role_arn)
    sm.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": instance_type}
        ],
    )
    sm.create_notebook_instance(NotebookInstanceName="n", InstanceType=instance_type, RoleArn=role_arn)
    variant = sm.describe_endpoint_config(EndpointConfigName="c")["ProductionVariants"][0]
    assert variant["InstanceType"] == instance_type
    assert sm.describe_notebook_instance(NotebookInstanceName="n")["InstanceType"] == instance_type


def test_unknown_instance_types_are_still_rejected(sm: Any, role_arn: str) -> None:
    _model(sm, role_arn)
    with pytest.raises(ClientError, match="ValidationException"):
        sm.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": "m",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.zz9.huge",
                }
            ],
        )


def test_model_network_isolation_is_stored(sm: Any, role_arn: str) -> None:
    _model(sm, role_arn, "isolated", EnableNetworkIsolation=True)
    _model(sm, role_arn, "open")
    assert sm.describe_model(ModelName="isolated")["EnableNetworkIsolation"] is True
    assert sm.describe_model(ModelName="open")["EnableNetworkIsolation"] is False


def _domain(sm: Any, role_arn: str, name: str = "studio") -> str:
    arn = sm.create_domain(
        DomainName=name,
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": role_arn},
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )["DomainArn"]
    return str(arn.split("/")[-1])


def test_user_profiles_create_describe_list_paginate_delete(sm: Any, role_arn: str) -> None:
    d1 = _domain(sm, role_arn, "one")
    d2 = _domain(sm, role_arn, "two")
    for name in ("ann", "ben", "cat"):
        sm.create_user_profile(
            DomainId=d1,
            UserProfileName=name,
            UserSettings={"ExecutionRole": role_arn},
            Tags=[{"Key": "k", "Value": name}],
        )
    sm.create_user_profile(DomainId=d2, UserProfileName="dan")

    described = sm.describe_user_profile(DomainId=d1, UserProfileName="ben")
    assert described["UserSettings"]["ExecutionRole"] == role_arn
    assert described["Status"] == "InService"
    assert sm.list_tags(ResourceArn=described["UserProfileArn"])["Tags"] == [{"Key": "k", "Value": "ben"}]

    pages = list(sm.get_paginator("list_user_profiles").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 2
    assert sorted(p["UserProfileName"] for page in pages for p in page["UserProfiles"]) == [
        "ann",
        "ben",
        "cat",
        "dan",
    ]
    only_d2 = sm.list_user_profiles(DomainIdEquals=d2)["UserProfiles"]
    assert [(p["DomainId"], p["UserProfileName"]) for p in only_d2] == [(d2, "dan")]

    sm.delete_user_profile(DomainId=d1, UserProfileName="ann")
    assert len(sm.list_user_profiles(DomainIdEquals=d1)["UserProfiles"]) == 2
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.describe_user_profile(DomainId=d1, UserProfileName="ann")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.create_user_profile(DomainId="d-missing", UserProfileName="x")


def test_spaces_create_describe_list_paginate_delete(sm: Any, role_arn: str) -> None:
    d1 = _domain(sm, role_arn, "one")
    d2 = _domain(sm, role_arn, "two")
    settings = {
        "AppType": "JupyterLab",
        "JupyterLabAppSettings": {
            "DefaultResourceSpec": {"InstanceType": "ml.g5.xlarge"},
            "AppLifecycleManagement": {"IdleSettings": {"IdleTimeoutInMinutes": 60}},
        },
    }
    for name in ("lab", "editor", "shared"):
        sm.create_space(
            DomainId=d1,
            SpaceName=name,
            SpaceSettings=settings,
            OwnershipSettings={"OwnerUserProfileName": "ann"},
            SpaceSharingSettings={"SharingType": "Shared" if name == "shared" else "Private"},
            Tags=[{"Key": "k", "Value": name}],
        )
    sm.create_space(DomainId=d2, SpaceName="other")

    described = sm.describe_space(DomainId=d1, SpaceName="shared")
    assert described["SpaceArn"].endswith(f":space/{d1}/shared")
    assert described["SpaceSettings"] == settings
    assert described["OwnershipSettings"] == {"OwnerUserProfileName": "ann"}
    assert described["SpaceSharingSettings"] == {"SharingType": "Shared"}
    assert sm.list_tags(ResourceArn=described["SpaceArn"])["Tags"] == [{"Key": "k", "Value": "shared"}]

    pages = list(sm.get_paginator("list_spaces").paginate(PaginationConfig={"PageSize": 3}))
    assert len(pages) == 2
    summaries = [s for page in pages for s in page["Spaces"]]
    assert sorted(s["SpaceName"] for s in summaries) == ["editor", "lab", "other", "shared"]
    shared = next(s for s in summaries if s["SpaceName"] == "shared")
    assert shared["SpaceSettingsSummary"] == {"AppType": "JupyterLab"}
    assert shared["SpaceSharingSettingsSummary"] == {"SharingType": "Shared"}
    assert [s["SpaceName"] for s in sm.list_spaces(DomainIdEquals=d2)["Spaces"]] == ["other"]

    sm.delete_space(DomainId=d1, SpaceName="lab")
    assert len(sm.list_spaces(DomainIdEquals=d1)["Spaces"]) == 2
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.describe_space(DomainId=d1, SpaceName="lab")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.create_space(DomainId="d-missing", SpaceName="x")
    with pytest.raises(ClientError, match="ResourceInUse"):
        sm.create_space(DomainId=d1, SpaceName="shared")


def test_feature_groups_online_only_and_offline_with_kms(sm: Any, role_arn: str) -> None:
    sm.create_feature_group(
        FeatureGroupName="online-only",
        RecordIdentifierFeatureName="id",
        EventTimeFeatureName="ts",
        FeatureDefinitions=FEATURES,
        OnlineStoreConfig={"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": "alias/fs"}},
        RoleArn=role_arn,
    )
    sm.create_feature_group(
        FeatureGroupName="offline",
        RecordIdentifierFeatureName="id",
        EventTimeFeatureName="ts",
        FeatureDefinitions=FEATURES,
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://b/fs", "KmsKeyId": "alias/off"}},
        RoleArn=role_arn,
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    online = sm.describe_feature_group(FeatureGroupName="online-only")
    assert online["OnlineStoreConfig"]["SecurityConfig"]["KmsKeyId"] == "alias/fs"
    assert "OfflineStoreConfig" not in online
    offline = sm.describe_feature_group(FeatureGroupName="offline")
    assert offline["OfflineStoreConfig"]["S3StorageConfig"]["KmsKeyId"] == "alias/off"
    assert offline["OfflineStoreStatus"]["Status"] == "Active"
    assert sm.list_tags(ResourceArn=offline["FeatureGroupArn"])["Tags"] == [{"Key": "team", "Value": "ml"}]

    listed = (
        sm.get_paginator("list_feature_groups").paginate(PaginationConfig={"PageSize": 1}).build_full_result()
    )
    assert sorted(f["FeatureGroupName"] for f in listed["FeatureGroupSummaries"]) == [
        "offline",
        "online-only",
    ]
    assert [
        f["FeatureGroupName"] for f in sm.list_feature_groups(NameContains="online")["FeatureGroupSummaries"]
    ] == ["online-only"]
    with pytest.raises(ClientError, match="ResourceInUse"):
        sm.create_feature_group(
            FeatureGroupName="offline",
            RecordIdentifierFeatureName="id",
            EventTimeFeatureName="ts",
            FeatureDefinitions=FEATURES,
        )


def _schedule_config(endpoint: str, role_arn: str) -> dict[str, Any]:
    return {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringType": "DataQuality",
        "MonitoringJobDefinition": {
            "MonitoringInputs": [{"EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/in"}}],
            "MonitoringOutputConfig": {
                "MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://b/m", "LocalPath": "/opt/ml/out"}}],
                "KmsKeyId": "alias/mon",
            },
            "MonitoringResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}
            },
            "MonitoringAppSpecification": {"ImageUri": IMAGE},
            "NetworkConfig": {"EnableNetworkIsolation": True},
            "RoleArn": role_arn,
        },
    }


def test_monitoring_schedules_inline_definition(sm: Any, role_arn: str) -> None:
    sm.create_monitoring_schedule(
        MonitoringScheduleName="fraud-dq", MonitoringScheduleConfig=_schedule_config("fraud", role_arn)
    )
    sm.create_monitoring_schedule(
        MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_schedule_config("churn", role_arn)
    )
    described = sm.describe_monitoring_schedule(MonitoringScheduleName="fraud-dq")
    assert described["EndpointName"] == "fraud"
    assert described["MonitoringScheduleStatus"] == "Scheduled"
    job = described["MonitoringScheduleConfig"]["MonitoringJobDefinition"]
    assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert job["MonitoringOutputConfig"]["KmsKeyId"] == "alias/mon"

    for_fraud = sm.list_monitoring_schedules(EndpointName="fraud")["MonitoringScheduleSummaries"]
    assert [s["MonitoringScheduleName"] for s in for_fraud] == ["fraud-dq"]
    everything = sm.get_paginator("list_monitoring_schedules").paginate(PaginationConfig={"PageSize": 1})
    assert sorted(
        s["MonitoringScheduleName"] for s in everything.build_full_result()["MonitoringScheduleSummaries"]
    ) == [
        "churn-dq",
        "fraud-dq",
    ]
    sm.delete_monitoring_schedule(MonitoringScheduleName="churn-dq")
    assert len(sm.list_monitoring_schedules()["MonitoringScheduleSummaries"]) == 1
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.describe_monitoring_schedule(MonitoringScheduleName="churn-dq")


def test_monitoring_schedule_named_job_definition_names_its_endpoint(sm: Any, role_arn: str) -> None:
    sm.create_data_quality_job_definition(
        JobDefinitionName="dq-def",
        DataQualityAppSpecification={"ImageUri": IMAGE},
        DataQualityJobInput={"EndpointInput": {"EndpointName": "recsys", "LocalPath": "/opt/ml/in"}},
        DataQualityJobOutputConfig={
            "MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://b/m", "LocalPath": "/o"}}]
        },
        JobResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}
        },
        RoleArn=role_arn,
    )
    sm.create_monitoring_schedule(
        MonitoringScheduleName="recsys-dq",
        MonitoringScheduleConfig={"MonitoringJobDefinitionName": "dq-def", "MonitoringType": "DataQuality"},
    )
    summary = sm.list_monitoring_schedules()["MonitoringScheduleSummaries"][0]
    assert summary["EndpointName"] == "recsys"
    assert summary["MonitoringJobDefinitionName"] == "dq-def"
    with pytest.raises(ClientError, match="ValidationException"):
        sm.create_monitoring_schedule(MonitoringScheduleName="bad", MonitoringScheduleConfig={})


def test_images_and_app_image_configs_round_trip_with_tags(sm: Any, role_arn: str) -> None:
    sm.create_image(ImageName="torch", RoleArn=role_arn, Tags=[{"Key": "team", "Value": "ml"}])
    sm.create_image(ImageName="r-kernel", RoleArn=role_arn, DisplayName="R")
    image = sm.describe_image(ImageName="torch")
    assert (image["ImageStatus"], image["RoleArn"]) == ("CREATED", role_arn)
    assert sm.list_tags(ResourceArn=image["ImageArn"])["Tags"] == [{"Key": "team", "Value": "ml"}]
    pages = sm.get_paginator("list_images").paginate(PaginationConfig={"PageSize": 1})
    listed = pages.build_full_result()["Images"]
    assert sorted(i["ImageName"] for i in listed) == ["r-kernel", "torch"]
    assert [i.get("DisplayName") for i in listed if i["ImageName"] == "r-kernel"] == ["R"]
    with pytest.raises(ClientError, match="ResourceInUse"):
        sm.create_image(ImageName="torch", RoleArn=role_arn)

    lab = {"ContainerConfig": {"ContainerEnvironmentVariables": {"MODE": "dev"}}}
    arn = sm.create_app_image_config(AppImageConfigName="lab", JupyterLabAppImageConfig=lab)[
        "AppImageConfigArn"
    ]
    assert arn.endswith(":app-image-config/lab")
    (summary,) = sm.list_app_image_configs(NameContains="la")["AppImageConfigs"]
    assert summary["JupyterLabAppImageConfig"] == lab
    assert sm.describe_app_image_config(AppImageConfigName="lab")["JupyterLabAppImageConfig"] == lab
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []
    sm.delete_app_image_config(AppImageConfigName="lab")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.describe_app_image_config(AppImageConfigName="lab")


def test_inference_experiments_keep_both_kms_keys(sm: Any, role_arn: str) -> None:
    sm.create_inference_experiment(
        Name="shadow",
        Type="ShadowMode",
        RoleArn=role_arn,
        EndpointName="fraud",
        ModelVariants=[
            {
                "ModelName": "m",
                "VariantName": "v",
                "InfrastructureConfig": {
                    "InfrastructureType": "RealTimeInference",
                    "RealTimeInferenceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
                },
            }
        ],
        ShadowModeConfig={
            "SourceModelVariantName": "v",
            "ShadowModelVariants": [{"ShadowModelVariantName": "s", "SamplingPercentage": 10}],
        },
        DataStorageConfig={"Destination": "s3://capture/x", "KmsKey": "alias/capture"},
        KmsKey="alias/volumes",
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    described = sm.describe_inference_experiment(Name="shadow")
    assert (described["KmsKey"], described["DataStorageConfig"]["KmsKey"]) == (
        "alias/volumes",
        "alias/capture",
    )
    assert described["EndpointMetadata"]["EndpointName"] == "fraud"
    assert described["Arn"].endswith(":inference-experiment/shadow")
    (summary,) = sm.list_inference_experiments()["InferenceExperiments"]
    assert (summary["Name"], summary["Type"], summary["Status"]) == ("shadow", "ShadowMode", "Running")
    assert "Arn" not in summary  # as in AWS: the listing carries no ARN
    assert sm.list_tags(ResourceArn=described["Arn"])["Tags"] == [{"Key": "team", "Value": "ml"}]


def test_list_tags_of_resources_created_without_tags(sm: Any, role_arn: str) -> None:
    card = sm.create_model_card(ModelCardName="c", Content="{}", ModelCardStatus="Draft")["ModelCardArn"]
    assert sm.list_tags(ResourceArn=card)["Tags"] == []
    sm.add_tags(ResourceArn=card, Tags=[{"Key": "team", "Value": "ml"}])
    assert sm.list_tags(ResourceArn=card)["Tags"] == [{"Key": "team", "Value": "ml"}]


def test_added_state_is_cleared_by_moto_reset(aws_env: None) -> None:
    with mock_aws():
        sm = boto3.client("sagemaker", region_name=REGION)
        domain = _domain(sm, "arn:aws:iam::123456789012:role/sm")
        sm.create_user_profile(DomainId=domain, UserProfileName="gone")
        sm.create_image(ImageName="gone", RoleArn="arn:aws:iam::123456789012:role/sm")
        assert len(sm.list_user_profiles()["UserProfiles"]) == 1
    with mock_aws():
        fresh = boto3.client("sagemaker", region_name=REGION)
        assert fresh.list_user_profiles()["UserProfiles"] == []
        assert fresh.list_images()["Images"] == []


def test_backdate_access_key(mocked: None) -> None:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="old")
    key = iam.create_access_key(UserName="old")["AccessKey"]["AccessKeyId"]
    when = datetime.now(UTC) - timedelta(days=400)
    moto_ext.backdate_access_key(ACCOUNT)("old", key, when)
    created = iam.list_access_keys(UserName="old")["AccessKeyMetadata"][0]["CreateDate"]
    assert abs((created - when).total_seconds()) < 2
    last_used = iam.get_access_key_last_used(AccessKeyId=key)["AccessKeyLastUsed"]
    assert last_used["LastUsedDate"] > created
    with pytest.raises(KeyError):
        moto_ext.backdate_access_key(ACCOUNT)("old", "AKIANOTAKEY", when)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://123456789012.127.0.0.1:5000/v20180820/x", "http://127.0.0.1:5000/v20180820/x"),
        ("http://123456789012.localhost:5000/v20180820/x", "http://localhost:5000/v20180820/x"),
        # Real AWS and any non-loopback host are left alone.
        (
            "https://123456789012.s3-control.us-east-1.amazonaws.com/v20180820/x",
            "https://123456789012.s3-control.us-east-1.amazonaws.com/v20180820/x",
        ),
        ("http://123456789012.10.0.0.5:5000/x", "http://123456789012.10.0.0.5:5000/x"),
        ("http://127.0.0.1:5000/x", "http://127.0.0.1:5000/x"),
    ],
)
def test_s3control_host_label_stripped_only_for_loopback(url: str, expected: str) -> None:
    assert strip_account_label(url) == expected


def test_ec2_p3_instance_types_are_described(mocked: None) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    described = ec2.describe_instance_types(InstanceTypes=["p3.2xlarge", "p3.16xlarge"])["InstanceTypes"]
    gpus = {t["InstanceType"]: t["GpuInfo"]["Gpus"][0] for t in described}
    assert gpus["p3.2xlarge"]["Name"] == "V100"
    assert gpus["p3.2xlarge"]["Count"] == 1
    assert gpus["p3.16xlarge"]["Count"] == 8
    assert {t["InstanceType"]: t["VCpuInfo"]["DefaultVCpus"] for t in described} == {
        "p3.2xlarge": 8,
        "p3.16xlarge": 64,
    }
    gpu_family = ec2.describe_instance_types(Filters=[{"Name": "instance-type", "Values": ["p3.*"]}])
    assert {"p3.2xlarge", "p3.8xlarge", "p3.16xlarge"} <= {
        t["InstanceType"] for t in gpu_family["InstanceTypes"]
    }


def test_add_aws_managed_policies_makes_them_attachable(mocked: None) -> None:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}')
    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    moto_ext.add_aws_managed_policies(ACCOUNT, ["AdministratorAccess"])
    moto_ext.add_aws_managed_policies(ACCOUNT, ["AdministratorAccess"])  # idempotent
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    assert iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"][0]["PolicyArn"] == arn
    aws_policies = iam.list_policies(Scope="AWS")["Policies"]
    assert [p["PolicyName"] for p in aws_policies] == ["AdministratorAccess"]
    with pytest.raises(KeyError):
        moto_ext.add_aws_managed_policies(ACCOUNT, ["NoSuchManagedPolicy"])


def test_notebook_platform_and_imds_are_returned_when_given(sm: Any, role_arn: str) -> None:
    sm.create_notebook_instance(
        NotebookInstanceName="al2",
        InstanceType="ml.t3.medium",
        RoleArn=role_arn,
        PlatformIdentifier="notebook-al2-v3",
        InstanceMetadataServiceConfiguration={"MinimumInstanceMetadataServiceVersion": "2"},
    )
    sm.create_notebook_instance(NotebookInstanceName="plain", InstanceType="ml.t3.medium", RoleArn=role_arn)
    given = sm.describe_notebook_instance(NotebookInstanceName="al2")
    assert given["PlatformIdentifier"] == "notebook-al2-v3"
    assert given["InstanceMetadataServiceConfiguration"] == {"MinimumInstanceMetadataServiceVersion": "2"}
    plain = sm.describe_notebook_instance(NotebookInstanceName="plain")
    assert "PlatformIdentifier" not in plain
    assert "InstanceMetadataServiceConfiguration" not in plain


def test_processing_resources_are_returned(sm: Any, role_arn: str) -> None:
    cluster = {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 2,
        "VolumeSizeInGB": 30,
        "VolumeKmsKeyId": "alias/k",
    }
    sm.create_processing_job(
        ProcessingJobName="prep",
        AppSpecification={"ImageUri": IMAGE},
        RoleArn=role_arn,
        ProcessingResources={"ClusterConfig": cluster},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    described = sm.describe_processing_job(ProcessingJobName="prep")
    assert described["ProcessingResources"] == {"ClusterConfig": cluster}


def test_emr_block_public_access_can_be_turned_off(mocked: None) -> None:
    emr = boto3.client("emr", region_name=REGION)
    emr.put_block_public_access_configuration(
        BlockPublicAccessConfiguration={"BlockPublicSecurityGroupRules": False}
    )
    config = emr.get_block_public_access_configuration()["BlockPublicAccessConfiguration"]
    assert config["BlockPublicSecurityGroupRules"] is False
    emr.put_block_public_access_configuration(
        BlockPublicAccessConfiguration={
            "BlockPublicSecurityGroupRules": True,
            "PermittedPublicSecurityGroupRuleRanges": [{"MinRange": 22, "MaxRange": 22}],
        }
    )
    config = emr.get_block_public_access_configuration()["BlockPublicAccessConfiguration"]
    assert config["BlockPublicSecurityGroupRules"] is True
    assert config["PermittedPublicSecurityGroupRuleRanges"] == [{"MinRange": 22, "MaxRange": 22}]


def _emr_cluster(emr: Any) -> str:
    return str(
        emr.run_job_flow(
            Name="c",
            ReleaseLabel="emr-7.1.0",
            Instances={
                "MasterInstanceType": "m5.xlarge",
                "SlaveInstanceType": "g5.xlarge",
                "InstanceCount": 2,
                "KeepJobFlowAliveWhenNoSteps": True,
            },
            JobFlowRole="EMR_EC2_DefaultRole",
            ServiceRole="EMR_DefaultRole",
        )["JobFlowId"]
    )


def test_emr_auto_termination_policy_round_trip(mocked: None) -> None:
    emr = boto3.client("emr", region_name=REGION)
    cluster = _emr_cluster(emr)
    assert "AutoTerminationPolicy" not in emr.get_auto_termination_policy(ClusterId=cluster)
    emr.put_auto_termination_policy(ClusterId=cluster, AutoTerminationPolicy={"IdleTimeout": 1800})
    got = emr.get_auto_termination_policy(ClusterId=cluster)
    assert got["AutoTerminationPolicy"] == {"IdleTimeout": 1800}
    emr.remove_auto_termination_policy(ClusterId=cluster)
    assert "AutoTerminationPolicy" not in emr.get_auto_termination_policy(ClusterId=cluster)
    with pytest.raises(ClientError):
        emr.get_auto_termination_policy(ClusterId="j-NOSUCHCLUSTER")


def test_emr_managed_scaling_policy_round_trip(mocked: None) -> None:
    emr = boto3.client("emr", region_name=REGION)
    cluster = _emr_cluster(emr)
    assert "ManagedScalingPolicy" not in emr.get_managed_scaling_policy(ClusterId=cluster)
    limits = {"UnitType": "Instances", "MinimumCapacityUnits": 1, "MaximumCapacityUnits": 4}
    emr.put_managed_scaling_policy(ClusterId=cluster, ManagedScalingPolicy={"ComputeLimits": limits})
    got = emr.get_managed_scaling_policy(ClusterId=cluster)["ManagedScalingPolicy"]
    assert got["ComputeLimits"] == limits
    emr.remove_managed_scaling_policy(ClusterId=cluster)
    assert "ManagedScalingPolicy" not in emr.get_managed_scaling_policy(ClusterId=cluster)
    with pytest.raises(ClientError):
        emr.put_managed_scaling_policy(
            ClusterId="j-NOSUCHCLUSTER", ManagedScalingPolicy={"ComputeLimits": limits}
        )
