"""The SageMaker resources behind the Security Hub SageMaker controls (Model Monitor job
definitions, Studio images and app image configs, inference experiments, the registry mode of
model containers) and model governance (models deployed from the model registry, model cards).
Collected from moto (with mlguard's moto extension where moto lacks them) and judged by the
built-in policies."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from mlguard.collect.secrets import SECRET_PATHS
from mlguard.demo import moto_ext
from mlguard.model import Inventory
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from tests.collect.aws.conftest import ACCOUNT
from tests.collect.aws.test_engine import failing, run_with_hooks

pytestmark = pytest.mark.usefixtures("aws")

ROLE = f"arn:aws:iam::{ACCOUNT}:role/sm-exec"
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/monitor:1"
TOKEN = "hf_47L0kGj3BYj5lsDPqpx7NLdzww3IL0uRdx"
KINDS = {
    "data_quality": "DataQuality",
    "model_quality": "ModelQuality",
    "model_bias": "ModelBias",
    "model_explainability": "ModelExplainability",
}
POLICIES = load_policy_set([(builtin_policy_dir(), "builtin")]).policies


def _status(inventory: Inventory, policy_id: str) -> dict[str, str]:
    results = evaluate_inventory([POLICIES[policy_id]], inventory).results
    return {r.resource_uid.rsplit("/", 1)[1]: r.status.value for r in results}


def _collect(types: set[str], hooks: dict[str, Any] | None = None) -> Inventory:
    sink, _ = run_with_hooks(types, hooks or {})
    return sink.to_inventory("2026-06-01T00:00:00Z")


def _job_definitions(environment: dict[str, str] | None = None) -> None:
    sm = boto3.client("sagemaker")
    app: dict[str, Any] = {"ImageUri": IMAGE}
    if environment:
        app["Environment"] = environment
    for kind, prefix in KINDS.items():
        extra: dict[str, Any] = {}
        if kind in ("model_quality", "model_bias"):
            extra = {"GroundTruthS3Input": {"S3Uri": "s3://labels/gt"}}
        specific: dict[str, Any] = {
            "data_quality": {},
            "model_quality": {"ProblemType": "Regression"},
            "model_bias": {"ConfigUri": "s3://clarify/analysis.json"},
            "model_explainability": {"ConfigUri": "s3://clarify/analysis.json"},
        }[kind]
        for name, network in (
            (
                "closed",
                {
                    "EnableNetworkIsolation": True,
                    "EnableInterContainerTrafficEncryption": True,
                    "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
                },
            ),
            ("open", {}),
        ):
            getattr(sm, f"create_{kind}_job_definition")(
                JobDefinitionName=name,
                **{
                    f"{prefix}AppSpecification": {**app, **specific},
                    f"{prefix}JobInput": {
                        "EndpointInput": {"EndpointName": "fraud", "LocalPath": "/opt/ml/processing/input"},
                        **extra,
                    },
                    f"{prefix}JobOutputConfig": {
                        "MonitoringOutputs": [
                            {
                                "S3Output": {
                                    "S3Uri": "s3://monitor-out/x",
                                    "LocalPath": "/opt/ml/processing/output",
                                }
                            }
                        ],
                        "KmsKeyId": "alias/ml-data" if name == "closed" else "",
                    },
                },
                JobResources={
                    "ClusterConfig": {
                        "InstanceCount": 2,
                        "InstanceType": "ml.m5.large",
                        "VolumeSizeInGB": 20,
                        **({"VolumeKmsKeyId": "alias/ml-data"} if name == "closed" else {}),
                    }
                },
                NetworkConfig=network,
                RoleArn=ROLE,
            )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_job_definition_is_read_and_judged(kind: str) -> None:
    _job_definitions()
    rtype = f"aws.sagemaker.{kind}_job_definition"
    inventory = _collect({rtype})
    assert inventory.errors == []
    data = {r.name: r.data for r in inventory.resources}
    assert set(data) == {"closed", "open"}
    closed, opened = data["closed"], data["open"]
    assert (closed["network_isolation"], closed["inter_container_encryption"], closed["in_vpc"]) == (
        True,
        True,
        True,
    )
    assert closed["security_group_ids"] == ["sg-1"]
    assert closed["volume_kms_key_id"] == closed["output_kms_key_id"] == "alias/ml-data"
    assert (opened["network_isolation"], opened["inter_container_encryption"], opened["in_vpc"]) == (
        False,
        False,
        False,
    )
    assert opened["volume_kms_key_id"] is None
    assert closed["endpoint_name"] == "fraud"
    assert closed["image_uri"] == IMAGE
    assert "monitor-out" in closed["s3_buckets"]
    for check in ("network_isolation", "inter_container_encryption"):
        assert _status(inventory, f"sagemaker_{kind}_job_definition_{check}") == {
            "closed": "PASS",
            "open": "FAIL",
        }


def test_a_denied_job_definition_describe_is_error_never_pass() -> None:
    _job_definitions()
    rtype = "aws.sagemaker.model_bias_job_definition"
    denied = {"before-call.sagemaker.DescribeModelBiasJobDefinition": failing("AccessDeniedException")}
    inventory = _collect({rtype}, denied)
    assert {e.operation for e in inventory.errors} == {"sagemaker:DescribeModelBiasJobDefinition"}
    assert all(
        {"network_isolation", "inter_container_encryption", SECRET_PATHS} <= set(e.attributes)
        for e in inventory.errors
    )
    for r in inventory.resources:  # listed, so in scope, but nothing of the definition was read
        assert "network_isolation" not in r.data
    for check in ("network_isolation", "inter_container_encryption"):
        assert set(_status(inventory, f"sagemaker_model_bias_job_definition_{check}").values()) == {"ERROR"}


def test_job_definition_environment_values_never_enter_the_inventory() -> None:
    _job_definitions(environment={"HF_TOKEN": TOKEN, "LOG_LEVEL": "info"})
    inventory = _collect({"aws.sagemaker.data_quality_job_definition"})
    assert TOKEN not in inventory.model_dump_json()
    data = {r.name: r.data for r in inventory.resources}
    assert data["open"]["app_specification"]["environment"] == [
        {"name": "HF_TOKEN", "looks_like_secret": True},
        {"name": "LOG_LEVEL", "looks_like_secret": False},
    ]
    assert data["open"][SECRET_PATHS] == ["app_specification.environment[0].HF_TOKEN"]


def test_images_and_app_image_configs_are_read_with_their_tags() -> None:
    moto_ext.apply()
    sm = boto3.client("sagemaker")
    sm.create_image(ImageName="team-torch", RoleArn=ROLE, Tags=[{"Key": "team", "Value": "ml"}])
    sm.create_image(ImageName="scratch", RoleArn=ROLE)
    sm.create_image(
        ImageName="stack-only", RoleArn=ROLE, Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "s"}]
    )
    sm.create_app_image_config(
        AppImageConfigName="team-kernel",
        KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3"}]},
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    sm.create_app_image_config(
        AppImageConfigName="scratch-lab",
        JupyterLabAppImageConfig={"ContainerConfig": {"ContainerEnvironmentVariables": {"HF_TOKEN": TOKEN}}},
    )
    inventory = _collect({"aws.sagemaker.image", "aws.sagemaker.app_image_config"})
    assert inventory.errors == []
    assert TOKEN not in inventory.model_dump_json()
    configs = {r.name: r for r in inventory.resources if r.type == "aws.sagemaker.app_image_config"}
    assert configs["team-kernel"].tags == {"team": "ml"}
    assert configs["team-kernel"].data["app_types"] == ["KernelGateway"]
    lab = configs["scratch-lab"].data
    assert lab["app_types"] == ["JupyterLab"]
    assert lab["jupyter_lab_app_image_config"]["container_config"]["container_environment_variables"] == [
        {"name": "HF_TOKEN", "looks_like_secret": True}
    ]
    assert _status(inventory, "sagemaker_image_tagged") == {
        "team-torch": "PASS",
        "scratch": "FAIL",
        "stack-only": "FAIL",
    }
    assert _status(inventory, "sagemaker_app_image_config_tagged") == {
        "team-kernel": "PASS",
        "scratch-lab": "FAIL",
    }


def test_denied_tags_leave_the_tag_controls_unknown() -> None:
    moto_ext.apply()
    boto3.client("sagemaker").create_image(ImageName="team-torch", RoleArn=ROLE)
    inventory = _collect(
        {"aws.sagemaker.image"}, {"before-call.sagemaker.ListTags": failing("AccessDeniedException")}
    )
    assert [e.operation for e in inventory.errors] == ["sagemaker:ListTags"]
    assert _status(inventory, "sagemaker_image_tagged") == {"team-torch": "ERROR"}


def _experiments() -> str:
    moto_ext.apply()
    key = boto3.client("kms").create_key(Description="ml data")["KeyMetadata"]["Arn"]
    sm = boto3.client("sagemaker")
    common: dict[str, Any] = {
        "Type": "ShadowMode",
        "RoleArn": ROLE,
        "EndpointName": "fraud",
        "ModelVariants": [
            {
                "ModelName": "fraud-model",
                "VariantName": v,
                "InfrastructureConfig": {
                    "InfrastructureType": "RealTimeInference",
                    "RealTimeInferenceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
                },
            }
            for v in ("prod", "shadow")
        ],
        "ShadowModeConfig": {
            "SourceModelVariantName": "prod",
            "ShadowModelVariants": [{"ShadowModelVariantName": "shadow", "SamplingPercentage": 10}],
        },
    }
    sm.create_inference_experiment(
        Name="encrypted",
        DataStorageConfig={"Destination": "s3://capture/x", "KmsKey": key},
        KmsKey=key,
        **common,
    )
    sm.create_inference_experiment(
        Name="plain",
        DataStorageConfig={"Destination": "s3://capture/y"},
        KmsKey="alias/aws/sagemaker",
        **common,
    )
    sm.create_inference_experiment(Name="no-capture", **common)
    return key


def test_inference_experiments_are_judged_on_both_kms_keys() -> None:
    key = _experiments()
    inventory = _collect({"aws.sagemaker.inference_experiment", "aws.kms.key"})
    assert inventory.errors == []
    data = {r.name: r.data for r in inventory.resources if r.type == "aws.sagemaker.inference_experiment"}
    assert data["encrypted"]["kms_key_id"] == data["encrypted"]["data_storage_kms_key_id"] == key
    assert (data["plain"]["data_storage_enabled"], data["plain"]["data_storage_kms_key_id"]) == (True, None)
    assert data["no-capture"]["data_storage_enabled"] is False
    assert data["encrypted"]["endpoint_name"] == "fraud"
    assert data["encrypted"]["s3_buckets"] == ["capture"]
    assert _status(inventory, "sagemaker_inference_experiment_volume_kms_customer_managed") == {
        "encrypted": "PASS",
        "plain": "FAIL",
        "no-capture": "FAIL",
    }
    assert _status(inventory, "sagemaker_inference_experiment_data_storage_kms_customer_managed") == {
        "encrypted": "PASS",
        "plain": "FAIL",
        "no-capture": "SKIP",
    }


def test_a_denied_experiment_describe_keeps_the_arn_and_is_error() -> None:
    _experiments()
    denied = {"before-call.sagemaker.DescribeInferenceExperiment": failing("AccessDeniedException")}
    inventory = _collect({"aws.sagemaker.inference_experiment", "aws.kms.key"}, denied)
    uids = sorted(r.uid for r in inventory.resources if r.type == "aws.sagemaker.inference_experiment")
    assert uids == [
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:inference-experiment/{n}"
        for n in ("encrypted", "no-capture", "plain")
    ]
    for policy_id in (
        "sagemaker_inference_experiment_volume_kms_customer_managed",
        "sagemaker_inference_experiment_data_storage_kms_customer_managed",
    ):
        assert set(_status(inventory, policy_id).values()) == {"ERROR"}


def test_model_registry_mode_of_primary_and_pipeline_containers() -> None:
    moto_ext.apply()
    sm = boto3.client("sagemaker")
    private = "registry.internal:5000"

    def container(image: str, mode: str | None) -> dict[str, Any]:
        return {"Image": image, **({"ImageConfig": {"RepositoryAccessMode": mode}} if mode else {})}

    sm.create_model(
        ModelName="vpc", ExecutionRoleArn=ROLE, PrimaryContainer=container(f"{private}/m:1", "Vpc")
    )
    sm.create_model(ModelName="ecr", ExecutionRoleArn=ROLE, PrimaryContainer=container(IMAGE, None))
    sm.create_model(
        ModelName="ecr-explicit", ExecutionRoleArn=ROLE, PrimaryContainer=container(IMAGE, "Platform")
    )
    sm.create_model(
        ModelName="pipe-private",
        ExecutionRoleArn=ROLE,
        Containers=[container(f"{private}/a:1", "Vpc"), container(f"{private}/b:1", "Vpc")],
    )
    sm.create_model(
        ModelName="pipe-mixed",
        ExecutionRoleArn=ROLE,
        Containers=[container(f"{private}/a:1", "Vpc"), container(IMAGE, None)],
    )
    inventory = _collect({"aws.sagemaker.model"})
    data = {r.name: r.data for r in inventory.resources}
    assert {n: d["primary_container_repository_access_mode"] for n, d in data.items()} == {
        "vpc": "Vpc",
        "ecr": "Platform",
        "ecr-explicit": "Platform",
        "pipe-private": None,
        "pipe-mixed": None,
    }
    assert {n for n, d in data.items() if d["multi_container"]} == {"pipe-private", "pipe-mixed"}
    assert _status(inventory, "sagemaker_model_primary_container_private_registry") == {
        "vpc": "PASS",
        "ecr": "FAIL",
        "ecr-explicit": "FAIL",
        "pipe-private": "SKIP",
        "pipe-mixed": "SKIP",
    }
    assert _status(inventory, "sagemaker_model_multi_container_private_registry") == {
        "vpc": "SKIP",
        "ecr": "SKIP",
        "ecr-explicit": "SKIP",
        "pipe-private": "PASS",
        "pipe-mixed": "FAIL",
    }


def _registry() -> None:
    sm = boto3.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="fraud")
    arns = [
        sm.create_model_package(
            ModelPackageGroupName="fraud",
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{"Image": IMAGE}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        for status in ("Approved", "PendingManualApproval")
    ]
    for name, package in (("approved", arns[0]), ("pending", arns[1])):
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": package})
    sm.create_model(ModelName="from-image", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})


def test_models_from_the_registry_are_judged_on_the_package_approval() -> None:
    _registry()
    inventory = _collect({"aws.sagemaker.model", "aws.sagemaker.model_package_group"})
    group = next(r.data for r in inventory.resources if r.type == "aws.sagemaker.model_package_group")
    assert [a.rsplit("/", 1)[1] for a in group["approved_package_arns"]] == ["1"]
    assert len(group["package_arns"]) == 2
    assert _status(inventory, "sagemaker_model_from_approved_package") == {
        "approved": "PASS",
        "pending": "FAIL",
        "from-image": "SKIP",
    }


def test_a_denied_package_listing_leaves_registry_models_unknown() -> None:
    _registry()
    denied = {"before-call.sagemaker.ListModelPackages": failing("AccessDeniedException")}
    inventory = _collect({"aws.sagemaker.model", "aws.sagemaker.model_package_group"}, denied)
    assert [e.operation for e in inventory.errors] == ["sagemaker:ListModelPackages"]
    assert _status(inventory, "sagemaker_model_from_approved_package") == {
        "approved": "ERROR",
        "pending": "ERROR",
        "from-image": "SKIP",
    }


def _cards() -> str:
    moto_ext.apply()  # moto's ListTags fails on a model card created without tags
    key = boto3.client("kms").create_key(Description="ml data")["KeyMetadata"]["Arn"]
    sm = boto3.client("sagemaker")
    for card, status, content, kms in (
        (
            "fraud-card",
            "Approved",
            {"model_overview": {"model_name": "fraud-model"}, "intended_uses": {"risk_rating": "Low"}},
            True,
        ),
        ("churn-card", "Draft", {"model_overview": {"model_name": "churn-model"}}, False),
    ):
        sm.create_model_card(
            ModelCardName=card,
            ModelCardStatus=status,
            Content=json.dumps(content),
            **({"SecurityConfig": {"KmsKeyId": key}} if kms else {}),
        )
    return key


def test_model_cards_are_read_without_their_content() -> None:
    key = _cards()
    inventory = _collect({"aws.sagemaker.model_card", "aws.kms.key"})
    assert inventory.errors == []
    cards = {r.name: r.data for r in inventory.resources if r.type == "aws.sagemaker.model_card"}
    assert cards["fraud-card"]["model_name"] == "fraud-model"
    assert cards["fraud-card"]["risk_rating"] == "Low"
    assert cards["fraud-card"]["kms_key_id"] == key
    assert cards["churn-card"]["model_card_status"] == "Draft"
    assert all("content" not in c for c in cards.values())
    assert _status(inventory, "sagemaker_model_card_kms_customer_managed") == {
        "fraud-card": "PASS",
        "churn-card": "FAIL",
    }


def test_in_service_endpoints_need_an_approved_card_for_every_model() -> None:
    moto_ext.apply()
    _cards()
    sm = boto3.client("sagemaker")
    for model in ("fraud-model", "churn-model"):
        sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
        sm.create_endpoint_config(
            EndpointConfigName=model,
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": model,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sm.create_endpoint(EndpointName=model.removesuffix("-model"), EndpointConfigName=model)
    inventory = _collect({"aws.sagemaker.endpoint", "aws.sagemaker.model_card"})
    assert _status(inventory, "sagemaker_endpoint_models_have_approved_model_card") == {
        "fraud": "PASS",
        "churn": "FAIL",
    }


def test_a_model_card_whose_content_does_not_parse_leaves_its_model_unknown() -> None:
    from botocore.stub import Stubber

    from mlguard.collect.aws.spec import SPECS
    from tests.collect.aws.test_sagemaker import T0, _stubbed_engine

    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-card/broken"
    summary = {
        "ModelCardName": "broken",
        "ModelCardArn": arn,
        "ModelCardStatus": "Approved",
        "CreationTime": T0,
    }
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("list_model_cards", {"ModelCardSummaries": [summary]}, {})
        stub.add_response(
            "describe_model_card",
            {
                **summary,
                "ModelCardVersion": 1,
                "Content": "{not json",
                "LastModifiedTime": T0,
                "CreatedBy": {},
            },
            {"ModelCardName": "broken"},
        )
        stub.add_response("list_tags", {"Tags": []}, {"ResourceArn": arn})
        engine, account = _stubbed_engine(client)
        engine.collect(account, "us-east-1", SPECS["aws.sagemaker.model_card"])
    (resource,) = engine.sink.resources
    assert "model_name" not in resource.data
    (error,) = engine.sink.errors
    assert (error.code, error.operation) == ("MalformedContent", "sagemaker:DescribeModelCard")
    assert set(error.attributes) == {"model_name", "risk_rating"}


def test_a_denied_job_definition_describe_leaves_its_input_unknown() -> None:
    _job_definitions()
    rtype = "aws.sagemaker.data_quality_job_definition"
    denied = {"before-call.sagemaker.DescribeDataQualityJobDefinition": failing("AccessDeniedException")}
    inventory = _collect({rtype}, denied)
    assert inventory.resources
    for r in inventory.resources:  # "batch_transform_input: false" would be a fact nobody read
        assert "batch_transform_input" not in r.data
