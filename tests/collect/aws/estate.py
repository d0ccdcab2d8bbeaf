"""Seed an AWS endpoint (a moto server) with an ML estate of a chosen size; return what was seeded.

Used by the end-to-end test (scale 1, ~65 resources) and by ``bench/aws_collect.py`` (scale 13,
~820 resources). Only public AWS APIs are called, through the endpoint given.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from typing import Any

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/exec-0"
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/serve:1"
AMI = "ami-12c6146b"  # one of moto's built-in images
TRUST = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("h.py", "def handler(e, c):\n    return e\n")
    return buf.getvalue()


def seed(
    endpoint_url: str,
    scale: int = 1,
    *,
    region: str = REGION,
    session: boto3.Session | None = None,
    account_level: bool = True,
    prefix: str = "",
    account: str = ACCOUNT,
) -> Counter[str]:
    """Create the estate; returns the number of resources seeded per catalogue type.

    ``session`` (e.g. one holding an assumed member account's credentials) seeds another account;
    ``account_level=False`` skips the account-wide part (S3 buckets, IAM) when seeding a second
    region; ``prefix`` keeps bucket names unique across accounts; ``account`` is the seeded account's id
    (its execution role is passed to Lambda, which refuses another account's role)."""
    role = ROLE.replace(ACCOUNT, account)
    kw: dict[str, Any] = {"endpoint_url": endpoint_url, "region_name": region}
    c = lambda service: (session or boto3).client(service, **kw)  # noqa: E731
    n: Counter[str] = Counter()

    s3, iam, kms, ec2 = c("s3"), c("iam"), c("kms"), c("ec2")
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    for i in range(8 * scale if account_level else 0):
        s3.create_bucket(Bucket=f"{prefix}ml-data-{i}", **location)  # type: ignore[arg-type]
        if i % 2:
            s3.put_bucket_versioning(
                Bucket=f"{prefix}ml-data-{i}", VersioningConfiguration={"Status": "Enabled"}
            )
        n["aws.s3.bucket"] += 1
    for i in range(6 * scale if account_level else 0):
        iam.create_role(RoleName=f"exec-{i}", AssumeRolePolicyDocument=json.dumps(TRUST))
        n["aws.iam.role"] += 1
    for i in range(3 * scale if account_level else 0):
        iam.create_user(UserName=f"user-{i}")
        iam.create_access_key(UserName=f"user-{i}")
        arn = iam.create_policy(PolicyName=f"policy-{i}", PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=f"user-{i}", PolicyArn=arn)
        n["aws.iam.user"] += 1
        n["aws.iam.policy"] += 1
    n["aws.iam.password_policy"] += account_level  # always one per account (configured or not)
    for _ in range(4 * scale):
        kms.create_key()
        n["aws.kms.key"] += 1
    for _ in range(3 * scale):
        for itype in ("g5.xlarge", "m5.large"):
            ec2.run_instances(ImageId=AMI, InstanceType=itype, MinCount=1, MaxCount=1)
            n["aws.ec2.instance"] += 1

    sm, aas, cw = c("sagemaker"), c("application-autoscaling"), c("cloudwatch")
    for i in range(4 * scale):
        sm.create_model(ModelName=f"model-{i}", ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE})
        sm.create_endpoint_config(
            EndpointConfigName=f"config-{i}",
            ProductionVariants=[
                {
                    "VariantName": "primary",
                    "ModelName": f"model-{i}",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.g4dn.xlarge" if i % 2 else "ml.m5.large",
                }
            ],
        )
        sm.create_endpoint(EndpointName=f"endpoint-{i}", EndpointConfigName=f"config-{i}")
        cw.put_metric_alarm(
            AlarmName=f"endpoint-{i}-5xx",
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Dimensions=[
                {"Name": "EndpointName", "Value": f"endpoint-{i}"},
                {"Name": "VariantName", "Value": "primary"},
            ],
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        for t in ("model", "endpoint_config", "endpoint"):
            n[f"aws.sagemaker.{t}"] += 1
        n["aws.cloudwatch.alarm"] += 1
    for i in range(2 * scale):
        aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=f"endpoint/endpoint-{i}/variant/primary",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            MinCapacity=1,
            MaxCapacity=3,
        )
        n["aws.applicationautoscaling.scalable_target"] += 1
        sm.create_notebook_instance(
            NotebookInstanceName=f"notebook-{i}",
            InstanceType="ml.t3.medium",
            RoleArn=role,
            PlatformIdentifier="notebook-al2023-v1",
        )
        n["aws.sagemaker.notebook_instance"] += 1
        sm.create_training_job(
            TrainingJobName=f"train-{i}",
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            RoleArn=role,
            OutputDataConfig={"S3OutputPath": "s3://ml-data-0/out/"},
            ResourceConfig={"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
        n["aws.sagemaker.training_job"] += 1
    for i in range(scale):
        sm.create_model_package_group(ModelPackageGroupName=f"group-{i}")
        sm.create_experiment(ExperimentName=f"experiment-{i}")
        n["aws.sagemaker.model_package_group"] += 1
        n["aws.sagemaker.experiment"] += 1

    glue, lam, events, emr, apigw = c("glue"), c("lambda"), c("events"), c("emr"), c("apigateway")
    for i in range(2 * scale):
        glue.create_job(
            Name=f"etl-{i}", Role="glue", Command={"Name": "glueetl", "ScriptLocation": "s3://code/etl.py"}
        )
        n["aws.glue.job"] += 1
    for i in range(scale):
        glue.create_crawler(Name=f"crawler-{i}", Role="glue", Targets={"S3Targets": [{"Path": "s3://raw/"}]})
        glue.create_database(DatabaseInput={"Name": f"db_{i}"})
        n["aws.glue.crawler"] += 1
        n["aws.glue.database"] += 1
    n["aws.glue.catalog_settings"] += 1
    for i in range(4 * scale):
        lam.create_function(
            FunctionName=f"fn-{i}",
            Runtime="python3.12",
            Role=role,
            Handler="h.handler",
            Code={"ZipFile": _zip()},
            Environment={"Variables": {"STAGE": "prod"}},
        )
        n["aws.lambda.function"] += 1
    for i in range(3 * scale):
        events.put_rule(Name=f"rule-{i}", ScheduleExpression="rate(1 day)")
        n["aws.events.rule"] += 1
    for i in range(scale):
        emr.run_job_flow(
            Name=f"spark-{i}",
            ReleaseLabel="emr-7.0.0",
            Instances={
                "MasterInstanceType": "m5.xlarge",
                "InstanceCount": 1,
                "KeepJobFlowAliveWhenNoSteps": True,
            },
            JobFlowRole="EMR_EC2_DefaultRole",
            ServiceRole="EMR_DefaultRole",
        )
        n["aws.emr.cluster"] += 1
        apigw.create_rest_api(name=f"api-{i}")
        n["aws.apigateway.rest_api"] += 1
    n["aws.emr.block_public_access"] += 1
    return n
