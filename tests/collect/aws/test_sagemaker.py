from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mlguard.collect.aws.engine import Account, Engine, client_config
from mlguard.collect.aws.sagemaker import ml_instance_facts, s3_bucket_of
from mlguard.collect.secrets import REDACTED
from tests.collect.aws.conftest import ACCOUNT, collect, moto_ext_applied

ROLE = f"arn:aws:iam::{ACCOUNT}:role/sm-exec"
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/infer:1"
SM_TYPES = {
    "aws.sagemaker.notebook_instance",
    "aws.sagemaker.model",
    "aws.sagemaker.endpoint_config",
    "aws.sagemaker.endpoint",
    "aws.sagemaker.training_job",
    "aws.sagemaker.model_package_group",
    "aws.sagemaker.experiment",
    "aws.sagemaker.pipeline",
    "aws.sagemaker.domain",
    "aws.applicationautoscaling.scalable_target",
    "aws.cloudwatch.alarm",
}

pytestmark = pytest.mark.usefixtures("aws")


def seed_endpoint(sm: object, name: str, instance_type: str) -> None:
    client = boto3.client("sagemaker")
    client.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "Environment": {"DB_PASSWORD": "canary-model-secret-1"}},
    )
    client.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 2,
                "InstanceType": instance_type,
            }
        ],
    )
    client.create_endpoint(
        EndpointName=name,
        EndpointConfigName=f"{name}-config",
        Tags=[{"Key": "owner", "Value": "ml-platform"}],
    )


def test_sagemaker_estate_with_scaling_and_alarms() -> None:
    sm = boto3.client("sagemaker")
    seed_endpoint(sm, "gpu-ep", "ml.g4dn.xlarge")
    seed_endpoint(sm, "cpu-ep", "ml.m5.large")
    sm.create_notebook_instance(
        NotebookInstanceName="nb",
        InstanceType="ml.t3.medium",
        RoleArn=ROLE,
        DirectInternetAccess="Enabled",
    )
    sm.create_training_job(
        TrainingJobName="train-1",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://out/"},
        ResourceConfig={"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        HyperParameters={"epochs": "3", "api_token": "canary-hp-secret-2"},
        Environment={"HF_TOKEN": "canary-env-secret-3"},
    )
    sm.create_model_package_group(ModelPackageGroupName="fraud")
    sm.create_model_package(ModelPackageGroupName="fraud", ModelApprovalStatus="Approved")
    sm.create_experiment(ExperimentName="exp-1")
    aas = boto3.client("application-autoscaling")
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/cpu-ep/variant/primary",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=4,
    )
    aas.put_scaling_policy(
        PolicyName="track",
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/cpu-ep/variant/primary",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
        },
    )
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName="cpu-ep-errors",
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": "cpu-ep"}, {"Name": "VariantName", "Value": "primary"}],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[f"arn:aws:sns:us-east-1:{ACCOUNT}:oncall"],
    )

    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "cpu-ep"},
                    {"Name": "VariantName", "Value": "primary"},
                ],
                "Value": value,
                "Timestamp": datetime.now(UTC) - timedelta(hours=hours),
            }
            for value, hours in ((5.0, 1), (7.0, 30))
        ],
    )

    run = collect(SM_TYPES)
    # The notebook was created without a PlatformIdentifier: its end of support is unknown
    # (an error for that field of that notebook only), never "supported".
    nb = run.one("aws.sagemaker.notebook_instance", "nb").uid
    assert [(e.resource_uid, e.attributes) for e in run.inventory.errors] == [(nb, ["platform_support"])]
    counts = {t: len(run.of(t)) for t in SM_TYPES}
    assert counts == {
        "aws.sagemaker.notebook_instance": 1,
        "aws.sagemaker.model": 2,
        "aws.sagemaker.endpoint_config": 2,
        "aws.sagemaker.endpoint": 2,
        "aws.sagemaker.training_job": 1,
        "aws.sagemaker.model_package_group": 1,
        "aws.sagemaker.experiment": 1,
        "aws.sagemaker.pipeline": 0,
        "aws.sagemaker.domain": 0,
        "aws.applicationautoscaling.scalable_target": 1,
        "aws.cloudwatch.alarm": 1,
    }
    assert run.one("aws.sagemaker.endpoint", "gpu-ep").tags == {"owner": "ml-platform"}
    gpu = run.one("aws.sagemaker.endpoint", "gpu-ep").data
    assert gpu["is_gpu"] is True
    (variant,) = gpu["variants"]
    assert variant["instance_type"] == "ml.g4dn.xlarge"
    assert variant["is_gpu"] is True
    assert variant["initial_instance_count"] == 2
    assert "current_instance_count" in variant
    assert gpu["metrics_days"] == 14
    assert gpu["invocations_sum"] == 0
    cpu = run.one("aws.sagemaker.endpoint", "cpu-ep").data
    assert cpu["is_gpu"] is False
    assert cpu["invocations_sum"] == 12.0
    assert run.one("aws.sagemaker.endpoint_config", "gpu-ep-config").data["variants"][0]["is_gpu"] is True

    nb = run.one("aws.sagemaker.notebook_instance", "nb").data
    assert nb["direct_internet_access"] is True
    assert nb["root_access_enabled"] is True
    assert nb["in_vpc"] is False

    job = run.one("aws.sagemaker.training_job", "train-1").data
    assert job["instance_type"] == "ml.p3.2xlarge"
    assert job["is_gpu"] is True
    assert job["managed_spot"] is False
    assert job["max_runtime_seconds"] == 3600
    assert job["hyper_parameters"]["epochs"] == "3"
    assert job["hyper_parameters"]["api_token"] == REDACTED

    model = run.one("aws.sagemaker.model", "gpu-ep-model").data
    assert model["network_isolation"] is False
    assert model["images"] == [IMAGE]

    group = run.one("aws.sagemaker.model_package_group", "fraud").data
    assert group["package_count"] == 1
    assert group["latest_approval_status"] == "Approved"

    target = run.of("aws.applicationautoscaling.scalable_target")[0].data
    assert (target["endpoint_name"], target["variant_name"]) == ("cpu-ep", "primary")
    assert target["max_capacity"] == 4
    assert target["scaling_policies"][0]["target_value"] == 70.0
    alarm = run.one("aws.cloudwatch.alarm", "cpu-ep-errors").data
    assert alarm["endpoint_name"] == "cpu-ep"
    assert alarm["has_actions"] is True

    text = run.inventory.model_dump_json()
    for canary in ("canary-model-secret-1", "canary-hp-secret-2", "canary-env-secret-3"):
        assert canary not in text


def test_unimplemented_listing_is_recorded_not_empty() -> None:
    """moto 5.2 has no ListMonitoringSchedules: the type is covered and errors, it is never empty-PASS."""
    if "monitoring_schedules" in moto_ext_applied():
        pytest.skip("the demo tests in this process installed mlguard's ListMonitoringSchedules for moto")
    run = collect({"aws.sagemaker.monitoring_schedule", "aws.sagemaker.experiment"})
    (error,) = run.inventory.errors
    assert (error.account, error.region, error.resource_type) == (
        ACCOUNT,
        "us-east-1",
        "aws.sagemaker.monitoring_schedule",
    )
    assert error.operation == "sagemaker:ListMonitoringSchedules"
    assert error.code == "NotImplemented"
    covered = {c.resource_type for c in run.inventory.coverage}
    assert covered == {"aws.sagemaker.monitoring_schedule", "aws.sagemaker.experiment"}


def _stubbed_engine(stub_client: object) -> tuple[Engine, Account]:
    from concurrent.futures import ThreadPoolExecutor

    from mlguard.collect.aws.engine import ApiStats
    from mlguard.collect.base import InventorySink

    account = Account(
        id=ACCOUNT,
        partition="aws",
        session=boto3.Session(),
        home_region="us-east-1",
        config=client_config(1, "standard", 2),
    )
    account._clients[("sagemaker", "us-east-1")] = stub_client
    engine = Engine(InventorySink(), ApiStats(), ThreadPoolExecutor(2), job_lookback_days=30, metrics_days=14)
    return engine, account


T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCHEDULE_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:monitoring-schedule/drift"
FEATURES_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:feature-group/users"
SCHEDULE = {
    "MonitoringScheduleName": "drift",
    "MonitoringScheduleArn": SCHEDULE_ARN,
    "CreationTime": T0,
    "LastModifiedTime": T0,
    "MonitoringScheduleStatus": "Scheduled",
    "EndpointName": "cpu-ep",
}
STUBBED: dict[str, tuple[tuple[object, ...], tuple[object, ...], str, dict[str, object]]] = {
    "aws.sagemaker.monitoring_schedule": (
        ("list_monitoring_schedules", {"MonitoringScheduleSummaries": [SCHEDULE]}, {}),
        (
            "describe_monitoring_schedule",
            {
                **SCHEDULE,
                "MonitoringType": "DataQuality",
                "MonitoringScheduleConfig": {
                    "MonitoringJobDefinitionName": "dq-def",
                    "MonitoringType": "DataQuality",
                },
            },
            {"MonitoringScheduleName": "drift"},
        ),
        SCHEDULE_ARN,
        {"endpoint_name": "cpu-ep", "monitoring_type": "DataQuality", "job_definition_name": "dq-def"},
    ),
    "aws.sagemaker.feature_group": (
        (
            "list_feature_groups",
            {
                "FeatureGroupSummaries": [
                    {"FeatureGroupName": "users", "FeatureGroupArn": FEATURES_ARN, "CreationTime": T0}
                ]
            },
            {},
        ),
        (
            "describe_feature_group",
            {
                "FeatureGroupArn": FEATURES_ARN,
                "FeatureGroupName": "users",
                "RecordIdentifierFeatureName": "id",
                "EventTimeFeatureName": "ts",
                "FeatureDefinitions": [{"FeatureName": "id", "FeatureType": "String"}],
                "CreationTime": T0,
                "OnlineStoreConfig": {"EnableOnlineStore": True},
                "NextToken": "",
            },
            {"FeatureGroupName": "users"},
        ),
        FEATURES_ARN,
        {
            "online_store_enabled": True,
            "online_store_kms_key_id": None,
            "offline_store_enabled": False,
            "feature_count": 1,
        },
    ),
}


@pytest.mark.parametrize("type_name", sorted(STUBBED))
def test_listings_moto_lacks_through_stubber(type_name: str) -> None:
    """The code paths of operations moto 5.2 lacks, exercised with botocore's Stubber."""
    from mlguard.collect.aws.spec import SPECS

    listing, describe, uid, expected = STUBBED[type_name]
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(*listing)
        stub.add_response(*describe)
        engine, account = _stubbed_engine(client)
        assert engine.collect(account, "us-east-1", SPECS[type_name]) == (1, 0)
        stub.assert_no_pending_responses()
    (resource,) = engine.sink.resources
    assert resource.uid == uid
    for key, value in expected.items():
        assert resource.data[key] == value


@pytest.mark.parametrize(
    ("uri", "bucket"),
    [
        ("s3://ml-artifacts/models/fraud.tar.gz", "ml-artifacts"),
        ("s3://ml-artifacts", "ml-artifacts"),
        ("s3://", None),
        ("https://ml-artifacts.s3.amazonaws.com/x", None),
        (None, None),
    ],
)
def test_s3_bucket_of_uri(uri: str | None, bucket: str | None) -> None:
    assert s3_bucket_of(uri) == bucket


def test_sagemaker_resources_name_the_buckets_they_use() -> None:
    sm = boto3.client("sagemaker")
    sm.create_model(
        ModelName="fraud-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://ml-artifacts/fraud/model.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName="fraud-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "fraud-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 20,
            "DestinationS3Uri": "s3://ml-capture/fraud/",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sm.create_training_job(
        TrainingJobName="fraud-train",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://ml-curated/train/"}},
            }
        ],
        OutputDataConfig={"S3OutputPath": "s3://ml-artifacts/training/"},
        ResourceConfig={"InstanceType": "ml.g5.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    run = collect({"aws.sagemaker.model", "aws.sagemaker.endpoint_config", "aws.sagemaker.training_job"})
    assert run.inventory.errors == []
    assert run.one("aws.sagemaker.model", "fraud-model").data["s3_buckets"] == ["ml-artifacts"]
    assert run.one("aws.sagemaker.endpoint_config", "fraud-config").data["s3_buckets"] == ["ml-capture"]
    assert run.one("aws.sagemaker.training_job", "fraud-train").data["s3_buckets"] == [
        "ml-artifacts",
        "ml-curated",
    ]


@pytest.mark.parametrize(
    ("instance_type", "is_gpu", "gpu_count", "gpu_model"),
    [
        ("ml.p4d.24xlarge", True, 8, "A100"),
        ("ml.g6e.12xlarge", True, 4, "L40S"),
        ("ml.g5.96xlarge", True, None, "A10G"),  # a size the table lacks: GPU by its family
        ("ml.inf2.xlarge", False, 0, None),  # Inferentia: an accelerator, not a GPU
        ("ml.m5.xlarge", False, 0, None),  # a family without accelerators, by rule
        ("ml.gx9.xlarge", None, None, None),  # nobody knows it: unknown, not "not a GPU"
        ("ml.eia2.medium", None, None, None),
    ],
)
def test_ml_instance_facts_come_from_the_table(
    instance_type: str, is_gpu: bool | None, gpu_count: int | None, gpu_model: str | None
) -> None:
    facts = ml_instance_facts(instance_type)
    assert (facts["is_gpu"], facts["gpu_count"], facts["gpu_model"]) == (is_gpu, gpu_count, gpu_model)


def test_unknown_ml_instance_type_is_a_collection_error_for_its_gpu_fields() -> None:
    sm = boto3.client("sagemaker")
    for name, instance_type in (("odd", "ml.gx9.xlarge"), ("known", "ml.p3.2xlarge")):
        sm.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            RoleArn=ROLE,
            OutputDataConfig={"S3OutputPath": "s3://out/"},
            ResourceConfig={"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 50},
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
    run = collect({"aws.sagemaker.training_job"})
    odd = run.one("aws.sagemaker.training_job", "odd")
    assert "is_gpu" not in odd.data
    assert run.one("aws.sagemaker.training_job", "known").data["is_gpu"] is True
    assert [(e.resource_uid, e.code, e.attributes[0]) for e in run.inventory.errors] == [
        (odd.uid, "UnknownInstanceType", "accelerator")
    ]


def _endpoints_sharing_a_config() -> None:
    """Two configs, three endpoints: ``a`` and ``a2`` both use ``a-config``."""
    sm = boto3.client("sagemaker")
    seed_endpoint(sm, "a", "ml.g4dn.xlarge")
    seed_endpoint(sm, "b", "ml.m5.large")
    sm.create_endpoint(EndpointName="a2", EndpointConfigName="a-config")


_ENDPOINTS = {"aws.sagemaker.endpoint", "aws.sagemaker.endpoint_config"}


def _unmemoised(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every detail call sent, as before the memo of shared calls (it keeps no answer)."""
    from mlguard.collect.aws import engine

    monkeypatch.setattr(engine, "SHARED_ANSWERS", 0)


def test_an_endpoint_config_is_described_once_for_its_type_and_every_endpoint_using_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.collect.aws.test_engine import run_with_hooks

    _endpoints_sharing_a_config()
    shared, shared_run = run_with_hooks(_ENDPOINTS, {})
    with monkeypatch.context() as m:
        _unmemoised(m)
        each, each_run = run_with_hooks(_ENDPOINTS, {})

    assert each_run.stats.by_operation["sagemaker:DescribeEndpointConfig"] == 5  # 2 configs + 3 endpoints
    assert shared_run.stats.by_operation["sagemaker:DescribeEndpointConfig"] == 2  # one per config
    assert shared_run.stats.total == each_run.stats.total - 3

    def fields(sink: object) -> dict[str, object]:
        return {r.uid: (r.type, r.region, r.tags, r.data) for r in sink.resources}  # type: ignore[attr-defined]

    assert fields(shared) == fields(each)
    assert len(shared.resources) == 5
    assert shared.errors == each.errors == []
    by_name = {r.name: r for r in shared.resources if r.type == "aws.sagemaker.endpoint"}
    assert by_name["a2"].data["variants"][0]["instance_type"] == "ml.g4dn.xlarge"
    assert by_name["a2"].data["is_gpu"] is True


def test_a_failed_shared_describe_is_each_resources_own_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.collect.aws.test_engine import failing, run_with_hooks

    _endpoints_sharing_a_config()
    denied = failing("AccessDenied", 403)
    answered: list[str] = []

    def deny(**kwargs: Any) -> Any:
        answered.append(json.loads(kwargs["params"]["body"])["EndpointConfigName"])
        return denied(**kwargs)

    hooks = {"before-call.sagemaker.DescribeEndpointConfig": deny}
    shared, _ = run_with_hooks(_ENDPOINTS, hooks)
    assert sorted(answered) == ["a-config", "b-config"]  # one call per config
    answered.clear()
    with monkeypatch.context() as m:
        _unmemoised(m)
        each, _ = run_with_hooks(_ENDPOINTS, hooks)
    assert sorted(answered) == ["a-config", "a-config", "a-config", "b-config", "b-config"]

    def errors(sink: object) -> list[str]:
        return sorted(e.model_dump_json() for e in sink.errors)  # type: ignore[attr-defined]

    assert errors(shared) == errors(each)
    assert len(shared.errors) == 5  # every config and every endpoint: unknown, never a pass
    assert {e.resource_uid for e in shared.errors} == {r.uid for r in shared.resources}
    assert {e.code for e in shared.errors} == {"AccessDenied"}
    by_name = {r.name: r for r in shared.resources if r.type == "aws.sagemaker.endpoint"}
    assert "is_gpu" not in by_name["a2"].data
    assert {r.uid: r.data for r in shared.resources} == {r.uid: r.data for r in each.resources}
