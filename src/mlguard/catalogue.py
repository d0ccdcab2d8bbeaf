"""The resource type catalogue: the vocabulary shared by collectors, policies and reports.

Names are ``provider.service.kind``. A policy may only name a type listed here (the policy JSON
Schema is generated from this table), and a meta-test checks that every collector emits only
types listed here.

Each type's fields (name, JSON type, source call, platform default, description) are declared in
``mlguard/data/fields/<type>.yaml`` and read through :func:`fields_of` (format: ``mlguard.fields``).
Adding a field a collector emits is one line in that file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlguard.fields import TypeFields


@dataclass(frozen=True, slots=True)
class ResourceType:
    name: str
    description: str
    scope: str = "region"  # region | account | workspace | account-workspace | iac

    @property
    def provider(self) -> str:
        return self.name.split(".", 1)[0]


_TYPES: tuple[ResourceType, ...] = (
    # ---- AWS
    ResourceType("aws.account", "An AWS account: account-level facts (one per account).", "account"),
    ResourceType("aws.region", "An AWS account in one region: regional facts (one per account+region)."),
    ResourceType("aws.s3.bucket", "S3 bucket with encryption, public access, policy, logging."),
    ResourceType(
        "aws.s3.account_public_access_block", "Account-level S3 Block Public Access settings.", "account"
    ),
    ResourceType("aws.iam.role", "IAM role with trust policy, attached and inline policies.", "account"),
    ResourceType("aws.iam.user", "IAM user with access keys, MFA and policies.", "account"),
    ResourceType("aws.iam.policy", "Customer-managed IAM policy (default version).", "account"),
    ResourceType("aws.iam.password_policy", "Account password policy.", "account"),
    ResourceType("aws.kms.key", "KMS key: manager, rotation, state."),
    ResourceType("aws.sagemaker.notebook_instance", "SageMaker notebook instance."),
    ResourceType("aws.sagemaker.domain", "SageMaker Studio domain."),
    ResourceType("aws.sagemaker.user_profile", "SageMaker Studio user profile."),
    ResourceType("aws.sagemaker.model", "SageMaker model."),
    ResourceType("aws.sagemaker.endpoint_config", "SageMaker endpoint configuration."),
    ResourceType("aws.sagemaker.endpoint", "SageMaker real-time endpoint with its variants."),
    ResourceType("aws.sagemaker.training_job", "SageMaker training job (recent and in progress)."),
    ResourceType("aws.sagemaker.processing_job", "SageMaker processing job (recent and in progress)."),
    ResourceType("aws.sagemaker.monitoring_schedule", "SageMaker Model Monitor schedule."),
    ResourceType("aws.sagemaker.feature_group", "SageMaker Feature Store feature group."),
    ResourceType("aws.sagemaker.model_package_group", "SageMaker model package group with packages."),
    ResourceType("aws.sagemaker.experiment", "SageMaker experiment."),
    ResourceType("aws.sagemaker.pipeline", "SageMaker pipeline."),
    ResourceType(
        "aws.sagemaker.data_quality_job_definition", "SageMaker Model Monitor data quality job definition."
    ),
    ResourceType(
        "aws.sagemaker.model_quality_job_definition", "SageMaker Model Monitor model quality job definition."
    ),
    ResourceType(
        "aws.sagemaker.model_bias_job_definition", "SageMaker Clarify model bias monitoring job definition."
    ),
    ResourceType(
        "aws.sagemaker.model_explainability_job_definition",
        "SageMaker Clarify model explainability monitoring job definition.",
    ),
    ResourceType("aws.sagemaker.image", "SageMaker (Studio custom) image."),
    ResourceType("aws.sagemaker.app_image_config", "SageMaker Studio app image configuration."),
    ResourceType("aws.sagemaker.space", "SageMaker Studio space (private or shared app settings)."),
    ResourceType("aws.sagemaker.inference_experiment", "SageMaker inference experiment (shadow test)."),
    ResourceType("aws.sagemaker.model_card", "SageMaker model card (status, KMS key, documented model)."),
    ResourceType(
        "aws.applicationautoscaling.scalable_target",
        "Application Auto Scaling scalable target with its scaling policies.",
    ),
    ResourceType("aws.cloudwatch.alarm", "CloudWatch metric alarm."),
    ResourceType("aws.ec2.instance", "EC2 instance with GPU facts derived from the instance type."),
    ResourceType("aws.ec2.security_group", "EC2 security group with normalised ingress rules."),
    ResourceType("aws.glue.job", "Glue ETL job."),
    ResourceType("aws.glue.crawler", "Glue crawler."),
    ResourceType("aws.glue.database", "Glue Data Catalog database."),
    ResourceType("aws.glue.catalog_settings", "Glue Data Catalog encryption settings."),
    ResourceType("aws.glue.security_configuration", "Glue security configuration."),
    ResourceType("aws.lambda.function", "Lambda function."),
    ResourceType("aws.emr.cluster", "EMR cluster."),
    ResourceType("aws.emr.block_public_access", "EMR account block public access configuration."),
    ResourceType("aws.events.rule", "EventBridge rule with targets."),
    ResourceType(
        "aws.cloudtrail.trail", "CloudTrail trail with its logging status and S3 data event selectors."
    ),
    ResourceType("aws.apigateway.rest_api", "API Gateway REST API with stages."),
    ResourceType("aws.ecr.repository", "ECR private repository with scanning, tag, encryption and policies."),
    ResourceType("aws.agentcore.runtime", "Bedrock AgentCore agent runtime with its endpoints."),
    ResourceType("aws.agentcore.gateway", "Bedrock AgentCore gateway (MCP) with its inbound authorizer."),
    ResourceType("aws.agentcore.memory", "Bedrock AgentCore memory."),
    ResourceType("aws.agentcore.browser", "Bedrock AgentCore custom browser tool."),
    ResourceType("aws.agentcore.code_interpreter", "Bedrock AgentCore custom code interpreter tool."),
    ResourceType(
        "aws.bedrock.invocation_logging",
        "Amazon Bedrock model invocation logging settings (one per account and region).",
    ),
    ResourceType("aws.bedrock.guardrail", "Amazon Bedrock guardrail (working draft) with its filters."),
    ResourceType("aws.bedrock.custom_model", "Amazon Bedrock custom (fine-tuned) model."),
    ResourceType(
        "aws.bedrock.model_customization_job",
        "Amazon Bedrock model customization job (recent and in progress).",
    ),
    ResourceType(
        "aws.bedrock.provisioned_throughput",
        "Amazon Bedrock provisioned model throughput with its invocations.",
    ),
    ResourceType("aws.bedrock.imported_model", "Amazon Bedrock imported (custom model import) model."),
    ResourceType("aws.bedrock.inference_profile", "Amazon Bedrock application inference profile."),
    ResourceType("aws.bedrock.agent", "Amazon Bedrock agent with its aliases and action groups."),
    ResourceType(
        "aws.bedrock.vpc_endpoint", "VPC endpoint of an Amazon Bedrock service (runtime, agents...)."
    ),
    ResourceType("aws.ec2.vpc", "Amazon VPC (id, default or not, CIDR)."),
    ResourceType("aws.bedrock.prompt", "Amazon Bedrock Prompt management prompt (no template text)."),
    ResourceType(
        "aws.bedrock.flow", "Amazon Bedrock Flow (working draft) with its nodes' models and guardrails."
    ),
    ResourceType(
        "aws.bedrock.model_invocation_job",
        "Amazon Bedrock batch inference (model invocation) job (recent and unfinished).",
    ),
    ResourceType("aws.bedrock.knowledge_base", "Amazon Bedrock knowledge base with its data sources."),
    # ---- Databricks workspace
    ResourceType("databricks.workspace", "Workspace configuration and settings.", "workspace"),
    ResourceType(
        "databricks.instance_profile",
        "Instance profile registered in a workspace, with its IAM role.",
        "workspace",
    ),
    ResourceType("databricks.account_workspace", "Workspace as seen from the account console.", "workspace"),
    ResourceType("databricks.cluster", "All-purpose or job cluster.", "workspace"),
    ResourceType("databricks.cluster_policy", "Cluster policy with parsed definition.", "workspace"),
    ResourceType("databricks.instance_pool", "Instance pool.", "workspace"),
    ResourceType("databricks.sql_warehouse", "SQL warehouse.", "workspace"),
    ResourceType("databricks.job", "Job.", "workspace"),
    ResourceType("databricks.pipeline", "Delta Live Tables pipeline.", "workspace"),
    ResourceType("databricks.serving_endpoint", "Model serving endpoint.", "workspace"),
    ResourceType("databricks.token", "Personal access token (token management API).", "workspace"),
    ResourceType("databricks.ip_access_list", "IP access list.", "workspace"),
    ResourceType("databricks.secret_scope", "Secret scope with its ACLs.", "workspace"),
    ResourceType("databricks.mlflow_experiment", "MLflow experiment.", "workspace"),
    ResourceType("databricks.registered_model", "Model in the legacy workspace model registry.", "workspace"),
    ResourceType("databricks.service_principal", "Service principal.", "workspace"),
    # ---- Unity Catalog
    ResourceType("databricks.uc.metastore", "Unity Catalog metastore.", "workspace"),
    ResourceType("databricks.uc.catalog", "Unity Catalog catalog with grants.", "workspace"),
    ResourceType("databricks.uc.schema", "Unity Catalog schema with grants.", "workspace"),
    ResourceType("databricks.uc.table", "Unity Catalog table.", "workspace"),
    ResourceType("databricks.uc.external_location", "External location with grants.", "workspace"),
    ResourceType("databricks.uc.storage_credential", "Storage credential with grants.", "workspace"),
    ResourceType(
        "databricks.uc.registered_model", "Unity Catalog registered model with versions.", "workspace"
    ),
    ResourceType("databricks.uc.quality_monitor", "Lakehouse Monitoring quality monitor.", "workspace"),
    ResourceType(
        "databricks.uc.recipient", "Delta Sharing recipient with its IP access list and tokens.", "workspace"
    ),
    # ---- IaC
    ResourceType(
        "iac.resource", "A resource block in Terraform or CloudFormation, checked by checkov.", "iac"
    ),
)

CATALOGUE: dict[str, ResourceType] = {t.name: t for t in _TYPES}


def resource_type_names() -> list[str]:
    return sorted(CATALOGUE)


def get(name: str) -> ResourceType:
    return CATALOGUE[name]


def fields_of(name: str) -> TypeFields | None:
    """The declared fields of a type (None when the type has no declaration file)."""
    from mlguard.fields import declared

    return declared(name)
