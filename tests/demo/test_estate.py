"""The seeded demo estate, read back through plain boto3 calls against the local moto server.

The estate is seeded once for the module, under a socket guard that refuses every non-loopback
connection and name lookup: seeding and reading must reach nothing but 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from tests.support.netguard import SocketGuard

from mlguard.catalogue import CATALOGUE
from mlguard.demo.environment import DemoEnvironment, demo_environment

pytestmark = pytest.mark.e2e

#: Catalogue types that describe the account/region itself; collectors synthesise them.
DERIVED = {"aws.account", "aws.region"}


@pytest.fixture(scope="module")
def guard() -> Iterator[SocketGuard]:
    with SocketGuard().installed() as socket_guard:
        yield socket_guard


@pytest.fixture(scope="module")
def demo(guard: SocketGuard) -> Iterator[DemoEnvironment]:
    with demo_environment() as env:
        yield env


@pytest.fixture(scope="module")
def session(demo: DemoEnvironment) -> boto3.session.Session:
    return boto3.session.Session()


def _client(session: boto3.session.Session, service: str, region: str) -> Any:
    return session.client(service, region_name=region)  # type: ignore[call-overload]


def _count(demo: DemoEnvironment, rtype: str, region: str | None = None) -> int:
    """Seeded count of a type, from the manifest's flaws/names (per region when asked)."""
    if region is None:
        return demo.manifest.counts.get(rtype, 0)
    return len(demo.manifest.names_in(rtype, region))


def test_every_aws_catalogue_family_is_seeded(demo: DemoEnvironment) -> None:
    aws_types = {name for name, t in CATALOGUE.items() if t.provider == "aws"} - DERIVED
    assert set(demo.manifest.counts) == aws_types
    assert all(n > 0 for n in demo.manifest.counts.values())
    # small enough to seed in seconds; raised with each family the demo gains (62 AWS types now)
    assert 60 <= demo.manifest.total <= 250
    assert demo.regions == ["us-east-1", "eu-west-1"]


def test_describe_line(demo: DemoEnvironment) -> None:
    line = demo.describe()
    assert f"{demo.manifest.total} resources of {len(demo.manifest.counts)} types" in line
    assert demo.endpoint_url in line
    assert f"{len(demo.manifest.flaws)} planted misconfigurations" in line


def test_flaws_name_seeded_resources(demo: DemoEnvironment) -> None:
    manifest = demo.manifest
    assert len(manifest.flaws) >= 25
    for flaw in manifest.flaws:
        assert flaw.name in manifest.names[flaw.type], flaw
        assert flaw.reason
    assert "acme-ml-public-datasets" in manifest.bad_names("aws.s3.bucket")
    assert "research-notebook-open" in manifest.bad_names("aws.sagemaker.notebook_instance")
    assert "llm-summarizer" in manifest.bad_names("aws.sagemaker.endpoint")
    assert "fraud-detector" not in manifest.bad_names("aws.sagemaker.endpoint")
    assert "preprocess-trigger" in manifest.bad_names("aws.lambda.function")


def test_global_counts_match_the_server(demo: DemoEnvironment, session: boto3.session.Session) -> None:
    s3 = _client(session, "s3", "us-east-1")
    assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == demo.manifest.names["aws.s3.bucket"]
    iam = _client(session, "iam", "us-east-1")
    roles = [r["RoleName"] for p in iam.get_paginator("list_roles").paginate() for r in p["Roles"]]
    assert sorted(roles) == demo.manifest.names["aws.iam.role"]
    users = [u["UserName"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]]
    assert sorted(users) == demo.manifest.names["aws.iam.user"]
    local = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert sorted(local) == demo.manifest.names["aws.iam.policy"]
    assert iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 8
    # Goes through the s3control loopback plugin that demo_environment enables.
    pab = _client(session, "s3control", "us-east-1").get_public_access_block(AccountId=demo.account_id)
    assert pab["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is False


LISTERS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    # type: (service, operation, result key, params)
    "aws.kms.key": ("kms", "list_keys", "Keys", {}),
    "aws.sagemaker.notebook_instance": ("sagemaker", "list_notebook_instances", "NotebookInstances", {}),
    "aws.sagemaker.domain": ("sagemaker", "list_domains", "Domains", {}),
    "aws.sagemaker.user_profile": ("sagemaker", "list_user_profiles", "UserProfiles", {}),
    "aws.sagemaker.model": ("sagemaker", "list_models", "Models", {}),
    "aws.sagemaker.endpoint_config": ("sagemaker", "list_endpoint_configs", "EndpointConfigs", {}),
    "aws.sagemaker.endpoint": ("sagemaker", "list_endpoints", "Endpoints", {}),
    "aws.sagemaker.training_job": ("sagemaker", "list_training_jobs", "TrainingJobSummaries", {}),
    "aws.sagemaker.processing_job": ("sagemaker", "list_processing_jobs", "ProcessingJobSummaries", {}),
    "aws.sagemaker.monitoring_schedule": (
        "sagemaker",
        "list_monitoring_schedules",
        "MonitoringScheduleSummaries",
        {},
    ),
    "aws.sagemaker.feature_group": ("sagemaker", "list_feature_groups", "FeatureGroupSummaries", {}),
    "aws.sagemaker.model_package_group": (
        "sagemaker",
        "list_model_package_groups",
        "ModelPackageGroupSummaryList",
        {},
    ),
    "aws.sagemaker.experiment": ("sagemaker", "list_experiments", "ExperimentSummaries", {}),
    "aws.sagemaker.pipeline": ("sagemaker", "list_pipelines", "PipelineSummaries", {}),
    **{
        f"aws.sagemaker.{kind}_job_definition": (
            "sagemaker",
            f"list_{kind}_job_definitions",
            "JobDefinitionSummaries",
            {},
        )
        for kind in ("data_quality", "model_quality", "model_bias", "model_explainability")
    },
    "aws.sagemaker.image": ("sagemaker", "list_images", "Images", {}),
    "aws.sagemaker.model_card": ("sagemaker", "list_model_cards", "ModelCardSummaries", {}),
    "aws.sagemaker.app_image_config": ("sagemaker", "list_app_image_configs", "AppImageConfigs", {}),
    "aws.sagemaker.inference_experiment": (
        "sagemaker",
        "list_inference_experiments",
        "InferenceExperiments",
        {},
    ),
    "aws.applicationautoscaling.scalable_target": (
        "application-autoscaling",
        "describe_scalable_targets",
        "ScalableTargets",
        {"ServiceNamespace": "sagemaker"},
    ),
    "aws.cloudwatch.alarm": ("cloudwatch", "describe_alarms", "MetricAlarms", {}),
    "aws.glue.job": ("glue", "get_jobs", "Jobs", {}),
    "aws.glue.crawler": ("glue", "get_crawlers", "Crawlers", {}),
    "aws.glue.database": ("glue", "get_databases", "DatabaseList", {}),
    "aws.glue.security_configuration": ("glue", "get_security_configurations", "SecurityConfigurations", {}),
    "aws.lambda.function": ("lambda", "list_functions", "Functions", {}),
    "aws.emr.cluster": ("emr", "list_clusters", "Clusters", {}),
    "aws.events.rule": ("events", "list_rules", "Rules", {}),
    "aws.apigateway.rest_api": ("apigateway", "get_rest_apis", "items", {}),
    "aws.bedrock.guardrail": ("bedrock", "list_guardrails", "guardrails", {}),
    "aws.bedrock.custom_model": ("bedrock", "list_custom_models", "modelSummaries", {}),
    "aws.bedrock.model_customization_job": (
        "bedrock",
        "list_model_customization_jobs",
        "modelCustomizationJobSummaries",
        {},
    ),
    "aws.bedrock.provisioned_throughput": (
        "bedrock",
        "list_provisioned_model_throughputs",
        "provisionedModelSummaries",
        {},
    ),
    "aws.bedrock.imported_model": ("bedrock", "list_imported_models", "modelSummaries", {}),
    "aws.bedrock.inference_profile": (
        "bedrock",
        "list_inference_profiles",
        "inferenceProfileSummaries",
        {"typeEquals": "APPLICATION"},
    ),
    "aws.bedrock.agent": ("bedrock-agent", "list_agents", "agentSummaries", {}),
    "aws.bedrock.prompt": ("bedrock-agent", "list_prompts", "promptSummaries", {}),
    "aws.bedrock.flow": ("bedrock-agent", "list_flows", "flowSummaries", {}),
    "aws.ec2.vpc": ("ec2", "describe_vpcs", "Vpcs", {}),
    "aws.bedrock.vpc_endpoint": ("ec2", "describe_vpc_endpoints", "VpcEndpoints", {}),
    "aws.bedrock.model_invocation_job": (
        "bedrock",
        "list_model_invocation_jobs",
        "invocationJobSummaries",
        {},
    ),
    "aws.bedrock.knowledge_base": ("bedrock-agent", "list_knowledge_bases", "knowledgeBaseSummaries", {}),
}


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
@pytest.mark.parametrize("rtype", sorted(LISTERS))
def test_regional_counts_match_the_server(
    demo: DemoEnvironment, session: boto3.session.Session, rtype: str, region: str
) -> None:
    service, operation, key, params = LISTERS[rtype]
    client = _client(session, service, region)
    if client.can_paginate(operation):
        found = client.get_paginator(operation).paginate(**params).build_full_result().get(key, [])
    else:
        found = client.__getattribute__(operation)(**params).get(key, [])
    assert len(found) == _count(demo, rtype, region)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_ec2_instances_and_gpu_fleet(
    demo: DemoEnvironment, session: boto3.session.Session, region: str
) -> None:
    ec2 = _client(session, "ec2", region)
    reservations = ec2.describe_instances()["Reservations"]
    instances = {i["InstanceId"]: i for r in reservations for i in r["Instances"]}
    assert sorted(instances) == sorted(demo.manifest.names_in("aws.ec2.instance", region))
    gpu = [i for i in instances.values() if i["InstanceType"].startswith(("p3", "g4dn", "g5"))]
    assert gpu
    if region == "us-east-1":
        assert {i["InstanceType"] for i in gpu} == {"p3.2xlarge", "g4dn.xlarge", "g5.xlarge", "g5.2xlarge"}
        assert [i["State"]["Name"] for i in gpu if i["InstanceType"] == "g5.xlarge"] == ["stopped"]
        assert any(not any(t["Key"] == "team" for t in i.get("Tags", [])) for i in gpu), "an untagged GPU box"


def test_sagemaker_good_and_bad_configurations(demo: DemoEnvironment, session: boto3.session.Session) -> None:
    sm = _client(session, "sagemaker", "us-east-1")
    assert sm.describe_model(ModelName="fraud-detector-model")["EnableNetworkIsolation"] is True
    assert sm.describe_model(ModelName="llm-summarizer-model")["EnableNetworkIsolation"] is False
    good = sm.describe_endpoint_config(EndpointConfigName="fraud-detector-config")
    assert good["KmsKeyId"]
    assert good["DataCaptureConfig"]["EnableCapture"] is True
    assert good["ProductionVariants"][0]["InstanceType"] == "ml.g5.2xlarge"
    bad = sm.describe_endpoint_config(EndpointConfigName="llm-summarizer-config")
    assert "KmsKeyId" not in bad
    assert bad["ProductionVariants"][0]["InstanceType"] == "ml.p4d.24xlarge"
    notebook = sm.describe_notebook_instance(NotebookInstanceName="research-notebook-open")
    assert notebook["DirectInternetAccess"] == "Enabled"
    assert notebook["RootAccess"] == "Enabled"
    secure = sm.describe_notebook_instance(NotebookInstanceName="secure-notebook")
    assert secure["DirectInternetAccess"] == "Disabled"
    statuses = sorted(
        p["ModelApprovalStatus"]
        for p in sm.list_model_packages(ModelPackageGroupName="fraud-detector-models")[
            "ModelPackageSummaryList"
        ]
    )
    assert statuses == ["Approved", "PendingManualApproval"]
    schedule = sm.list_monitoring_schedules(EndpointName="fraud-detector")["MonitoringScheduleSummaries"]
    assert [s["MonitoringScheduleName"] for s in schedule] == ["fraud-detector-data-quality"]


def test_autoscaling_and_alarms_cover_only_some_endpoints(
    demo: DemoEnvironment, session: boto3.session.Session
) -> None:
    aas = _client(session, "application-autoscaling", "us-east-1")
    targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [t["ResourceId"] for t in targets] == ["endpoint/fraud-detector/variant/AllTraffic"]
    policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert [p["PolicyType"] for p in policies] == ["TargetTrackingScaling"]
    alarms = _client(session, "cloudwatch", "us-east-1").describe_alarms()["MetricAlarms"]
    watched = {d["Value"] for a in alarms for d in a["Dimensions"] if d["Name"] == "EndpointName"}
    assert watched == {"fraud-detector", "churn-predictor"}
    assert [a["AlarmName"] for a in alarms if not a["AlarmActions"]] == ["churn-predictor-ModelLatency"]


def test_metrics_show_idle_and_busy_resources(demo: DemoEnvironment, session: boto3.session.Session) -> None:
    cw = _client(session, "cloudwatch", "us-east-1")
    end = datetime.now(UTC)

    def invocations(endpoint: str) -> float:
        stats = cw.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            Dimensions=[
                {"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
            StartTime=end - timedelta(days=8),
            EndTime=end,
            Period=86400,
            Statistics=["Sum", "SampleCount"],
        )["Datapoints"]
        assert sum(d["SampleCount"] for d in stats) > 0, f"no datapoints for {endpoint}"
        return float(sum(d["Sum"] for d in stats))

    assert invocations("llm-summarizer") == 0.0
    assert invocations("fraud-detector") > 100_000
    idle_box = next(
        n
        for n in demo.manifest.bad_names("aws.ec2.instance")
        if n in demo.manifest.names_in("aws.ec2.instance", "us-east-1")
    )
    cpu = cw.get_metric_statistics(
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "InstanceId", "Value": idle_box}],
        StartTime=end - timedelta(days=8),
        EndTime=end,
        Period=86400 * 8,
        Statistics=["Average"],
    )["Datapoints"]
    assert cpu
    assert cpu[0]["Average"] < 5


def test_iam_stale_key_admin_role_and_canary(demo: DemoEnvironment, session: boto3.session.Session) -> None:
    iam = _client(session, "iam", "us-east-1")
    key = iam.list_access_keys(UserName="data-scientist-alice")["AccessKeyMetadata"][0]
    assert (datetime.now(UTC) - key["CreateDate"]).days >= 400
    attached = iam.list_attached_role_policies(RoleName="SageMakerExecutionRole-Admin")["AttachedPolicies"]
    assert {p["PolicyName"] for p in attached} == {
        "AdministratorAccess",
        "AmazonSageMakerFullAccess",
        "AmazonBedrockFullAccess",
    }
    trust = iam.get_role(RoleName="SageMakerExecutionRole-Scoped")["Role"]["AssumeRolePolicyDocument"]
    if isinstance(trust, str):
        trust = json.loads(trust)
    assert trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == demo.account_id
    env = _client(session, "lambda", "us-east-1").get_function_configuration(
        FunctionName="preprocess-trigger"
    )
    assert env["Environment"]["Variables"]["AWS_SECRET_ACCESS_KEY"] == demo.manifest.canary_secret
    policy = json.loads(
        _client(session, "lambda", "us-east-1").get_policy(FunctionName="inference-proxy")["Policy"]
    )
    assert policy["Statement"][0]["Principal"] in ("*", {"AWS": "*"})


def test_only_loopback_was_contacted(demo: DemoEnvironment, guard: SocketGuard) -> None:
    assert guard.connected, "the guard saw the seeding traffic"
    assert guard.refused == []
    assert demo.endpoint_url.startswith("http://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL"] == demo.endpoint_url


def test_pipeline_has_compliant_and_flawed_counterparts(
    demo: DemoEnvironment, session: boto3.session.Session
) -> None:
    emr = _client(session, "emr", "us-east-1")
    clusters = {c["Name"]: c["Id"] for c in emr.list_clusters()["Clusters"]}
    secure = emr.describe_cluster(ClusterId=clusters["secure-feature-emr"])["Cluster"]
    assert secure["SecurityConfiguration"] == "ml-emr-encrypted"
    assert secure["LogUri"].startswith("s3://")
    assert "LogUri" not in emr.describe_cluster(ClusterId=clusters["feature-engineering-emr"])["Cluster"]
    idle = {
        n: emr.get_auto_termination_policy(ClusterId=clusters[n]).get("AutoTerminationPolicy")
        for n in clusters
    }
    assert idle == {
        "secure-feature-emr": {"IdleTimeout": 3600},
        "gpu-feature-prep-emr": {"IdleTimeout": 1800},
        "gpu-embedding-emr": {"IdleTimeout": 86400},
        "feature-engineering-emr": None,
    }
    scaled = emr.get_managed_scaling_policy(ClusterId=clusters["gpu-feature-prep-emr"])[
        "ManagedScalingPolicy"
    ]
    assert scaled["ComputeLimits"]["MaximumCapacityUnits"] == 6
    assert "ManagedScalingPolicy" not in emr.get_managed_scaling_policy(
        ClusterId=clusters["gpu-embedding-emr"]
    )
    bpa = emr.get_block_public_access_configuration()["BlockPublicAccessConfiguration"]
    assert bpa["BlockPublicSecurityGroupRules"] is False
    eu_bpa = _client(session, "emr", "eu-west-1").get_block_public_access_configuration()
    assert eu_bpa["BlockPublicAccessConfiguration"]["BlockPublicSecurityGroupRules"] is True

    api = _client(session, "apigateway", "us-east-1")
    ids = {a["name"]: a["id"] for a in api.get_rest_apis()["items"]}
    settings = api.get_stage(restApiId=ids["internal-ml-api"], stageName="prod")["methodSettings"]["*/*"]
    assert (settings["loggingLevel"], settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (
        "ERROR",
        100.0,
        200,
    )
    assert "*/*" not in api.get_stage(restApiId=ids["fraud-scoring-api"], stageName="prod").get(
        "methodSettings", {}
    )

    glue = _client(session, "glue", "us-east-1")
    crawlers = {c["Name"]: c for c in glue.get_crawlers()["Crawlers"]}
    assert crawlers["features-crawler"]["CrawlerSecurityConfiguration"] == "ml-glue-secure"
    assert "CrawlerSecurityConfiguration" not in crawlers["raw-data-crawler"]
    assert "raw-data-crawler" in demo.manifest.bad_names("aws.glue.crawler")

    ec2 = _client(session, "ec2", "us-east-1")
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["gpu-finetune-g5"]}])
    (finetune,) = [i for r in found["Reservations"] for i in r["Instances"]]
    assert finetune["Monitoring"]["State"] == "enabled"
    assert {t["Key"] for t in finetune["Tags"]} >= {"owner", "cost-center"}
