"""A denied SageMaker Describe leaves every field derived from its answer unread: the policies
that read them are ERROR for that resource, never PASS, FAIL or SKIP on defaults (an empty
variant list, ``in_vpc: false``, an absent monitoring job definition)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mlguard.model import Inventory
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from tests.collect.aws.conftest import ACCOUNT
from tests.collect.aws.test_engine import failing, run_with_hooks

pytestmark = pytest.mark.usefixtures("aws")

ROLE = f"arn:aws:iam::{ACCOUNT}:role/sm-exec"
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/train:1"
GPU, CPU = "ml.g4dn.xlarge", "ml.m5.large"
POLICIES = load_policy_set([(builtin_policy_dir(), "builtin")]).policies


def _statuses(inventory: Inventory, policy_id: str) -> set[str]:
    return {r.status.value for r in evaluate_inventory([POLICIES[policy_id]], inventory).results}


def _denied(rtype: str, operation: str) -> Inventory:
    denied = {f"before-call.sagemaker.{operation}": failing("AccessDeniedException")}
    sink, _ = run_with_hooks({rtype}, denied)
    inventory = sink.to_inventory("2026-06-01T00:00:00Z")
    assert {e.operation for e in inventory.errors} == {f"sagemaker:{operation}"}
    assert len(inventory.resources) == 1  # listed, so in scope
    return inventory


def test_a_denied_endpoint_config_describe_is_error_never_pass_or_skip() -> None:
    sm = boto3.client("sagemaker")
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(
        EndpointConfigName="one-instance",
        ProductionVariants=[
            {"VariantName": "a", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    inventory = _denied("aws.sagemaker.endpoint_config", "DescribeEndpointConfig")
    data = inventory.resources[0].data
    for key in ("variants", "is_gpu", "kms_key_id", "data_capture_enabled", "data_capture_kms_key_id"):
        assert key not in data
    for policy in (
        "sagemaker_endpoint_config_multi_instance",  # an empty variant list made this PASS
        "sagemaker_endpoint_config_kms",
        "sagemaker_endpoint_config_data_capture_encrypted",  # data capture "off" made this SKIP
    ):
        assert _statuses(inventory, policy) == {"ERROR"}, policy


def test_a_denied_training_job_describe_is_error_never_fail() -> None:
    boto3.client("sagemaker").create_training_job(
        TrainingJobName="isolated",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://out/", "KmsKeyId": "alias/out"},
        ResourceConfig={
            "InstanceType": "ml.m5.large",
            "InstanceCount": 1,
            "VolumeSizeInGB": 50,
            "VolumeKmsKeyId": "alias/vol",
        },
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        EnableNetworkIsolation=True,
        EnableInterContainerTrafficEncryption=True,
    )
    inventory = _denied("aws.sagemaker.training_job", "DescribeTrainingJob")
    data = inventory.resources[0].data
    for key in ("in_vpc", "network_isolation", "inter_container_encryption", "output_kms_key_id"):
        assert key not in data
    for policy in (
        "sagemaker_training_job_in_vpc",
        "sagemaker_training_job_network_isolation",
        "sagemaker_training_job_inter_container_encryption",
        "sagemaker_training_job_output_kms",
        "sagemaker_training_job_volume_kms",
    ):
        assert _statuses(inventory, policy) == {"ERROR"}, policy


def test_a_denied_monitoring_schedule_describe_is_error_never_skip() -> None:
    from mlguard.demo import moto_ext

    moto_ext.apply()
    boto3.client("sagemaker").create_monitoring_schedule(
        MonitoringScheduleName="open",
        MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
            "MonitoringType": "DataQuality",
            "MonitoringJobDefinition": {
                "MonitoringInputs": [{"EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/in"}}],
                "MonitoringOutputConfig": {
                    "MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://b/m", "LocalPath": "/opt/ml/out"}}],
                },
                "MonitoringResources": {
                    "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}
                },
                "MonitoringAppSpecification": {"ImageUri": IMAGE},
                "RoleArn": ROLE,
            },
        },
    )
    inventory = _denied("aws.sagemaker.monitoring_schedule", "DescribeMonitoringSchedule")
    for policy in (
        "sagemaker_monitoring_schedule_network_isolation",
        "sagemaker_monitoring_schedule_inter_container_encryption",
    ):
        assert _statuses(inventory, policy) == {"ERROR"}, policy


def test_a_denied_notebook_describe_is_error_never_fail() -> None:
    boto3.client("sagemaker").create_notebook_instance(
        NotebookInstanceName="private",
        InstanceType="ml.t3.medium",
        RoleArn=ROLE,
        SubnetId="subnet-1",
        SecurityGroupIds=["sg-1"],
        DirectInternetAccess="Disabled",
    )
    inventory = _denied("aws.sagemaker.notebook_instance", "DescribeNotebookInstance")
    assert "subnet_id" not in inventory.resources[0].data
    assert _statuses(inventory, "sagemaker_notebook_in_vpc") == {"ERROR"}


def test_a_denied_endpoint_describe_leaves_its_config_facts_unknown() -> None:
    """DescribeEndpoint names the endpoint config; without it the config is never read either, so
    the GPU and data capture facts are unknown, not "no GPU" (SKIP) or "capture off" (FAIL)."""
    sm = boto3.client("sagemaker")
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(
        EndpointConfigName="gpu",
        ProductionVariants=[
            {"VariantName": "a", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": GPU}
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 10,
            "DestinationS3Uri": "s3://capture/",
            "CaptureOptions": [{"CaptureMode": "Input"}],
        },
    )
    sm.create_endpoint(EndpointName="gpu-ep", EndpointConfigName="gpu")
    inventory = _denied("aws.sagemaker.endpoint", "DescribeEndpoint")
    data = inventory.resources[0].data
    for key in ("is_gpu", "kms_key_id", "data_capture_enabled", "data_capture_kms_key_id"):
        assert key not in data
    for policy in ("sagemaker_gpu_variant_autoscaling_bounded", "sagemaker_endpoint_data_capture"):
        assert _statuses(inventory, policy) == {"ERROR"}, policy


def test_one_denied_endpoint_describe_keeps_the_other_endpoints_metrics() -> None:
    sm = boto3.client("sagemaker")
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    for name in ("hidden", "seen"):
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {"VariantName": "a", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": CPU}
            ],
        )
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    deny = failing("AccessDeniedException")

    def hook(params: dict[str, Any], **kwargs: Any) -> Any:
        return deny(**kwargs) if b'"hidden"' in params.get("body", b"") else None

    sink, _ = run_with_hooks({"aws.sagemaker.endpoint"}, {"before-call.sagemaker.DescribeEndpoint": hook})
    inventory = sink.to_inventory("2026-06-01T00:00:00Z")
    assert [e.operation for e in inventory.errors] == ["sagemaker:DescribeEndpoint"]  # not CloudWatch
    data = {r.name: r.data for r in inventory.resources}
    assert data["seen"]["invocations_sum"] == 0
    assert "invocations_sum" not in data["hidden"]
    assert "invocations_sum" in inventory.errors[0].attributes


def test_a_denied_endpoint_config_read_leaves_the_endpoint_variants_unknown() -> None:
    """The variants' instance types and serverless settings live in the endpoint config."""
    sm = boto3.client("sagemaker")
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "a", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": CPU}
        ],
    )
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="c")
    inventory = _denied("aws.sagemaker.endpoint", "DescribeEndpointConfig")
    assert "variants" not in inventory.resources[0].data
    assert _statuses(inventory, "sagemaker_endpoint_variants_autoscaled") == {"ERROR"}
