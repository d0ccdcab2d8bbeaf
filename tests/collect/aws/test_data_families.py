from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest

from mlguard.collect.secrets import REDACTED
from mlguard.demo import moto_ext
from tests.collect.aws.conftest import ACCOUNT, collect

pytestmark = pytest.mark.usefixtures("aws")

TRUST = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
}
CANARIES = ("canary-glue-secret-9f8e", "canary-lambda-secret-7d6c", "AKIAIOSFODNN7CANARY1")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def seed() -> None:
    moto_ext.apply()  # moto 5.2 lacks EMR auto-termination and managed scaling policies
    glue = boto3.client("glue")
    glue.create_job(
        Name="etl",
        Role="glue-role",
        Command={"Name": "glueetl", "ScriptLocation": "s3://code/etl.py"},
        DefaultArguments={
            "--enable-continuous-cloudwatch-log": "true",
            "--db_password": CANARIES[0],
            "--aws_key": CANARIES[2],
            "--job-bookmark-option": "job-bookmark-enable",
        },
    )
    glue.create_crawler(Name="raw-crawler", Role="glue-role", Targets={"S3Targets": [{"Path": "s3://raw/"}]})
    glue.create_database(DatabaseInput={"Name": "features"})
    glue.put_data_catalog_encryption_settings(
        DataCatalogEncryptionSettings={
            "EncryptionAtRest": {"CatalogEncryptionMode": "SSE-KMS", "SseAwsKmsKeyId": "alias/glue"},
            "ConnectionPasswordEncryption": {"ReturnConnectionPasswordEncrypted": True},
        }
    )
    glue.create_security_configuration(
        Name="sec",
        EncryptionConfiguration={"S3Encryption": [{"S3EncryptionMode": "SSE-S3"}]},
    )
    role = boto3.client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(TRUST))[
        "Role"
    ]["Arn"]
    lam = boto3.client("lambda")
    lam.create_function(
        FunctionName="preprocess",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": {"API_TOKEN": CANARIES[1], "STAGE": "prod"}},
    )
    lam.add_permission(
        FunctionName="preprocess", StatementId="open", Action="lambda:InvokeFunction", Principal="*"
    )
    lam.create_function(
        FunctionName="private",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
    )
    emr = boto3.client("emr")
    emr.create_security_configuration(
        Name="encrypted",
        SecurityConfiguration=json.dumps(
            {"EncryptionConfiguration": {"EnableAtRestEncryption": True, "EnableInTransitEncryption": False}}
        ),
    )
    emr.run_job_flow(
        Name="secure-spark",
        ReleaseLabel="emr-7.0.0",
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "InstanceCount": 1,
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        SecurityConfiguration="encrypted",
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )
    emr.run_job_flow(
        Name="spark",
        ReleaseLabel="emr-7.0.0",
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "SlaveInstanceType": "m5.xlarge",
            "InstanceCount": 3,
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        LogUri="s3://emr-logs/",
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )
    gpu = emr.run_job_flow(
        Name="gpu-prep",
        ReleaseLabel="emr-7.1.0",
        Instances={
            "InstanceGroups": [
                {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
                {"InstanceRole": "CORE", "InstanceType": "g5.2xlarge", "InstanceCount": 2},
            ],
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]
    emr.put_auto_termination_policy(ClusterId=gpu, AutoTerminationPolicy={"IdleTimeout": 3600})
    emr.put_managed_scaling_policy(
        ClusterId=gpu,
        ManagedScalingPolicy={
            "ComputeLimits": {"UnitType": "Instances", "MinimumCapacityUnits": 1, "MaximumCapacityUnits": 6}
        },
    )
    events = boto3.client("events")
    events.put_rule(Name="retrain", ScheduleExpression="rate(7 days)", State="ENABLED")
    events.put_targets(
        Rule="retrain", Targets=[{"Id": "1", "Arn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/train"}]
    )
    events.put_rule(Name="drift", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    apigw = boto3.client("apigateway")
    api = apigw.create_rest_api(name="inference")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    res = apigw.create_resource(restApiId=api, parentId=root, pathPart="predict")["id"]
    apigw.put_method(restApiId=api, resourceId=res, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=res, httpMethod="POST", type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="prod")


def test_glue_lambda_emr_events_apigateway() -> None:
    seed()
    types = {
        "aws.glue.job",
        "aws.glue.crawler",
        "aws.glue.database",
        "aws.glue.catalog_settings",
        "aws.glue.security_configuration",
        "aws.lambda.function",
        "aws.emr.cluster",
        "aws.emr.block_public_access",
        "aws.events.rule",
        "aws.apigateway.rest_api",
    }
    run = collect(types)
    assert run.inventory.errors == []
    assert {t: len(run.of(t)) for t in types} == {
        "aws.glue.job": 1,
        "aws.glue.crawler": 1,
        "aws.glue.database": 1,
        "aws.glue.catalog_settings": 1,
        "aws.glue.security_configuration": 1,
        "aws.lambda.function": 2,
        "aws.emr.cluster": 3,
        "aws.emr.block_public_access": 1,
        "aws.events.rule": 2,
        "aws.apigateway.rest_api": 1,
    }
    job = run.one("aws.glue.job", "etl").data
    assert job["default_arguments"]["--db_password"] == REDACTED
    assert job["default_arguments"]["--aws_key"] == REDACTED
    assert job["default_arguments"]["--job-bookmark-option"] == "job-bookmark-enable"
    assert job["continuous_logging"] is True
    (catalog,) = run.of("aws.glue.catalog_settings")
    assert catalog.data["encryption_at_rest_mode"] == "SSE-KMS"
    assert catalog.data["connection_password_encrypted"] is True
    assert run.one("aws.glue.security_configuration", "sec").data["s3_encryption_mode"] == "SSE-S3"

    fn = run.one("aws.lambda.function", "preprocess").data
    assert fn["publicly_invocable"] is True
    assert fn["environment_variables"] == [
        {"name": "API_TOKEN", "looks_like_secret": True},
        {"name": "STAGE", "looks_like_secret": False},
    ]
    assert fn["secret_like_variables"] == ["API_TOKEN"]
    private = run.one("aws.lambda.function", "private").data
    assert private["publicly_invocable"] is False
    assert private["policy"] is None

    cluster = run.one("aws.emr.cluster", "spark").data
    assert cluster["logging_enabled"] is True
    assert cluster["at_rest_encryption"] is False
    secure = run.one("aws.emr.cluster", "secure-spark").data
    assert secure["security_configuration"] == "encrypted"
    assert (secure["at_rest_encryption"], secure["in_transit_encryption"]) == (True, False)
    assert cluster["state"] in ("RUNNING", "WAITING", "STARTING")
    assert (cluster["auto_termination_idle_timeout"], cluster["managed_scaling_enabled"]) == (None, False)
    assert (cluster["is_gpu"], cluster["gpu_groups_custom_autoscaling"]) == (False, False)
    assert [g["instance_type"] for g in cluster["instance_groups"]] == ["m5.xlarge", "m5.xlarge"]
    gpu = run.one("aws.emr.cluster", "gpu-prep").data
    assert gpu["auto_termination_idle_timeout"] == 3600
    assert (gpu["managed_scaling_enabled"], gpu["managed_scaling_unit_type"]) == (True, "Instances")
    assert (gpu["managed_scaling_min_units"], gpu["managed_scaling_max_units"]) == (1, 6)
    assert gpu["is_gpu"] is True
    assert gpu["gpu_groups_custom_autoscaling"] is False
    assert {(g["group_type"], g["is_gpu"]) for g in gpu["instance_groups"]} == {
        ("MASTER", False),
        ("CORE", True),
    }
    (bpa,) = run.of("aws.emr.block_public_access")
    assert isinstance(bpa.data["block_public_security_group_rules"], bool)

    retrain = run.one("aws.events.rule", "retrain").data
    assert retrain["target_services"] == ["sagemaker"]
    assert retrain["schedule_expression"] == "rate(7 days)"
    assert run.one("aws.events.rule", "drift").data["event_pattern"] == {"source": ["aws.sagemaker"]}

    api = run.one("aws.apigateway.rest_api", "inference")
    assert api.uid == f"arn:aws:apigateway:us-east-1::/restapis/{api.id}"
    assert [s["stage_name"] for s in api.data["stages"]] == ["prod"]
    assert api.data["stages"][0]["waf_enabled"] is False
    assert api.data["unauthenticated_methods"] == ["POST /predict"]

    text = run.inventory.model_dump_json()
    for canary in CANARIES:
        assert canary not in text


def _normalized(raw: dict[str, object]) -> tuple[dict[str, object], list[str]]:
    from datetime import UTC, datetime

    from mlguard.collect.aws.emr import _cluster
    from mlguard.collect.aws.spec import Item, Options

    item = Item(raw={"Id": "j-1", "Status": {"State": "WAITING"}, **raw}, region="us-east-1")
    opts = Options(
        account=ACCOUNT,
        region="us-east-1",
        partition="aws",
        job_lookback_days=1,
        metrics_days=1,
        now=datetime.now(UTC),
    )
    data = _cluster(item, opts)
    return data, [a for u in item.unknown for a in u.attributes]


def test_emr_unread_policies_and_unknown_groups_stay_unknown() -> None:
    # A failed GetAutoTerminationPolicy / GetManagedScalingPolicy / ListInstanceGroups leaves its
    # result out of the raw item: the fields are not set (the engine records them as unread).
    data, unknown = _normalized({})
    assert not {"auto_termination_idle_timeout", "managed_scaling_enabled", "is_gpu"} & set(data)
    # instance fleets are not read: GPU facts unknown, never "no GPU"
    data, unknown = _normalized({"InstanceCollectionType": "INSTANCE_FLEET"})
    assert "is_gpu" not in data
    assert "is_gpu" in unknown
    # no instance group listed (a fleet cluster whose DescribeCluster was not read): unknown too
    data, unknown = _normalized({"InstanceGroupsResult": []})
    assert "is_gpu" not in data
    assert unknown == ["instance_groups", "is_gpu", "gpu_groups_custom_autoscaling"]
    # a type the table does not know makes is_gpu unknown unless another group is a known GPU group
    groups = [{"InstanceGroupType": "CORE", "InstanceType": "zz9.mega"}]
    data, unknown = _normalized({"InstanceGroupsResult": groups})
    assert unknown == ["is_gpu", "gpu_groups_custom_autoscaling"]
    scaled = {
        "InstanceGroupType": "TASK",
        "InstanceType": "p4d.24xlarge",
        "AutoScalingPolicy": {"Constraints": {"MaxCapacity": 4}},
    }
    data, unknown = _normalized({"InstanceGroupsResult": [*groups, scaled]})
    assert data["is_gpu"] is True
    assert unknown == ["gpu_groups_custom_autoscaling"]
    data, unknown = _normalized({"InstanceGroupsResult": [scaled]})
    assert (data["is_gpu"], data["gpu_groups_custom_autoscaling"], unknown) == (True, True, [])
    unscaled = {"InstanceGroupType": "CORE", "InstanceType": "g5.xlarge"}
    data, unknown = _normalized({"InstanceGroupsResult": [*groups, scaled, unscaled]})
    assert (data["is_gpu"], data["gpu_groups_custom_autoscaling"], unknown) == (True, False, [])
