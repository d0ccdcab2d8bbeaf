"""The demo AWS estate: a realistic ML platform, seeded through plain boto3 calls.

The estate mirrors the AWS ML pipeline mlguard governs (raw data in S3 catalogued by Glue, ETL on
Glue and EMR, SageMaker Feature Store, Studio, training, endpoints behind Lambda and API Gateway,
CloudWatch, Model Monitor, EventBridge-driven retraining, GPU compute). It deliberately mixes good
and bad configurations, and every bad one is named in the returned manifest with the reason, so a
scan of the estate has known findings and tests can check counts per catalogue type.

Only public boto3 calls are used, so the estate can be seeded into any AWS-compatible endpoint.
Two things plain AWS APIs cannot express are optional callbacks: back-dating an IAM access key (a
key is always created "now") and, on moto, nothing else. Counts in the manifest are derived from
what was actually created, never written down separately.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from pydantic import BaseModel, ConfigDict, Field

from mlguard.demo.estate import Action, BackdateKey, EstateSeeder, Flaw, flow_definition

__all__ = ["AwsEstateManifest", "Flaw", "flow_definition", "seed_aws"]

#: A fake, secret-looking value planted in a Lambda environment. It must never appear in any
#: mlguard output: tests grep every report for it.
CANARY_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYmlguardCANARY"
#: One more canary per free-text field the AWS collectors read, each in a realistic credential
#: shape (none is live). No mlguard output may contain any of them.
CANARY_MODEL_ENV = "sk-proj-3KkooCmWdCKnEOHHblSKqjkbhsQ7futsesLQBivv"  # model container env
CANARY_HYPERPARAMETER = "08f2c033421354b9f22d4d121dfe8d1cdca1511f"  # training hyperparameter
CANARY_PROCESSING_ARG = "hf_47L0kGj3BYj5lsDPqpx7NLdzww3IL0uRdx"  # processing container argument
CANARY_LIFECYCLE = "dapi2f796a5167d3bd43be2e7717fb09e865"  # notebook lifecycle script
CANARY_KEY_ID = "AKIAQ7MLGUARDC4N4RY2"  # EventBridge rule description
CANARY_KEY_SECRET = "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"  # EventBridge rule description
CANARY_KMS_DESCRIPTION = "Kms-Desc-Pw-7731xQ"  # password of a URL in a KMS key description
CANARY_GLUE_DESCRIPTION = "Glue-Desc-Pw-4410zR"  # password of a URL in a Glue job description
CANARY_TAG = "ghp_N0m585CU2JhRpNvdf78x6nro3s2EffxfpY71"  # a tag value
CANARY_AGENT_ENV = "sk-ant-api03-mlguardAgentCoreCanary7Qx2Lr9TzK4wVb"  # AgentCore runtime env
CANARY_AGENT_INSTRUCTION = "sk-ant-api03-Vq8Lm2Np4Rt6Xw9Zb1Cd3Fg5Hj7Kp0Qs"  # Bedrock agent instruction
CANARIES = (
    CANARY_SECRET,
    CANARY_MODEL_ENV,
    CANARY_HYPERPARAMETER,
    CANARY_PROCESSING_ARG,
    CANARY_LIFECYCLE,
    CANARY_KEY_ID,
    CANARY_KEY_SECRET,
    CANARY_KMS_DESCRIPTION,
    CANARY_GLUE_DESCRIPTION,
    CANARY_TAG,
    CANARY_AGENT_ENV,
    CANARY_AGENT_INSTRUCTION,
)

DEFAULT_REGIONS = ("us-east-1", "eu-west-1")

#: AWS-managed IAM policies the estate attaches: they must exist in the target account (they do in
#: every real account; on moto see :func:`mlguard.testing.moto_ext.add_aws_managed_policies`).
AWS_MANAGED_POLICIES = ("AdministratorAccess", "AmazonSageMakerFullAccess", "AmazonBedrockFullAccess")
DEFAULT_ACCOUNT = "123456789012"
#: The third-party (labelling/monitoring vendor) account some demo roles trust.
_VENDOR_ACCOUNT = "444455556666"
# The Databricks Unity Catalog master role (commercial AWS) that storage credential roles trust.
UC_MASTER_ROLE = "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL"
#: Databricks' AWS account, which a workspace's cross-account role trusts (commercial AWS), and the
#: demo Databricks account's id: the external ID that role requires.
DATABRICKS_PRINCIPAL = "arn:aws:iam::414351767826:root"
DATABRICKS_ACCOUNT_ID = "0d6c1e3f-acct-demo"

ClientFactory = Callable[[str, str], Any]
"""``(service, region) -> boto3 client``."""


class AwsEstateManifest(BaseModel):
    """What :func:`seed_aws` created: counts per catalogue type, names, and the planted flaws."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    regions: list[str]
    counts: dict[str, int] = Field(description="Resources created per catalogue type.")
    names: dict[str, list[str]] = Field(description="Names (or ids) created per catalogue type.")
    flaws: list[Flaw] = Field(description="The deliberately bad resources, with the reason.")
    canary_secret: str = Field(description="Planted secret value that must never be output.")

    regions_by_name: dict[str, dict[str, str | None]] = Field(
        default_factory=dict, description="Per catalogue type: name -> region (None for global)."
    )

    def names_in(self, resource_type: str, region: str) -> list[str]:
        """Names of a type seeded in one region."""
        return sorted(n for n, r in self.regions_by_name.get(resource_type, {}).items() if r == region)

    def bad_names(self, resource_type: str) -> list[str]:
        return sorted({f.name for f in self.flaws if f.type == resource_type})

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _tags(**kv: str) -> list[dict[str, str]]:
    return [{"Key": k.replace("_", "-"), "Value": v} for k, v in kv.items()]


_TEAM = {"team": "ml-platform", "cost_center": "cc-4410", "environment": "production"}
#: _TEAM plus an accountable owner: the resources the ownership-tag policies pass.
_OWNED = {**_TEAM, "owner": "ml-platform"}
# Demo GPU instances that run the CloudWatch agent with its nvidia_gpu section: GPU name and the
# nvidia_smi_utilization_gpu percent it reports (the trainer is busy; the dev box's GPU is idle).
_AGENT_GPU = {"gpu-trainer-p3": ("Tesla V100-SXM2-16GB", 88.0), "gpu-dev-g4dn": ("Tesla T4", 0.0)}
#: The LLM serving image, in the flawed (mutable, unscanned, public) llm-serving repository.
_LLM_IMAGE = "{account}.dkr.ecr.{region}.amazonaws.com/llm-serving:latest"


def _lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buf.getvalue()


def _trust(service: str, conditions: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if conditions:
        statement["Condition"] = conditions
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


class _Seeder:
    def __init__(
        self,
        client: ClientFactory,
        account_id: str,
        regions: list[str],
        backdate_key: BackdateKey | None,
        now: datetime,
    ) -> None:
        self.account = account_id
        self.regions = regions
        self.primary = regions[0]
        self.backdate_key = backdate_key
        self.now = now
        self.engine = EstateSeeder(client, account_id, regions, _VARIABLES, _ACTIONS, now, backdate_key)
        self.rec = self.engine.rec
        self.client = self.engine.client
        self.roles: dict[str, str] = {}
        self.kms: dict[str, dict[str, str]] = {}
        self.net: dict[str, dict[str, str]] = {}

    def apply(self, family: str, region: str | None = None) -> None:
        """Apply one description file, and expose what it saved to the families still in Python."""
        self.engine.apply(family, region)
        for key, value in self.engine.saved.items():
            if key.startswith("role."):
                self.roles[key.removeprefix("role.")] = value
        if region is not None:
            for key, value in self.engine.saved_in[region].items():
                kind, _, name = key.partition(".")
                if kind in ("net", "kms"):
                    getattr(self, kind).setdefault(region, {})[name] = value

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:aws:{service}:{region}:{self.account}:{resource}"

    # ------------------------------------------------------------------ account-wide

    # ------------------------------------------------------------------ per region

    @staticmethod
    def _ami(ec2: Any) -> str:
        """An Amazon Deep Learning AMI of the region (else Amazon Linux 2), looked up by name."""
        for pattern in ("Deep Learning AMI*", "amzn2-ami-hvm-*-x86_64-gp2"):
            images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [pattern]}])
            if images["Images"]:
                return str(images["Images"][0]["ImageId"])
        raise LookupError("no Amazon Deep Learning or Amazon Linux 2 AMI in this region")

    def _encrypted_root(self, device: str, region: str, size_gib: int) -> dict[str, Any]:
        """A root volume mapping encrypted with the region's ML data key (a customer-managed key)."""
        ebs = {"VolumeSize": size_gib, "Encrypted": True, "KmsKeyId": self.kms[region]["data"]}
        return {"DeviceName": device, "Ebs": ebs}


def _backdate_key(seeder: EstateSeeder, _region: str, args: dict[str, Any]) -> dict[str, Any]:
    """Make an access key look ``days`` old (a key is always created "now"; only a fake can)."""
    if seeder.backdate_key is not None:
        seeder.backdate_key(args["user"], args["key"], seeder.now - timedelta(days=int(args["days"])))
    return {}


def _find_ami(seeder: EstateSeeder, region: str, _args: dict[str, Any]) -> dict[str, Any]:
    """An Amazon Deep Learning AMI of the region (else Amazon Linux 2), looked up by name, and its
    root device name."""
    ec2 = seeder.client("ec2", region)
    ami = _Seeder._ami(ec2)
    root_device = ec2.describe_images(ImageIds=[ami])["Images"][0]["RootDeviceName"]
    return {"ImageId": ami, "RootDeviceName": root_device}


def _record_security_groups(seeder: EstateSeeder, region: str, args: dict[str, Any]) -> dict[str, Any]:
    """Record every security group of the region (some were made by the server, not the estate);
    the one named ``flawed`` with the reason ``flaw``."""
    ec2 = seeder.client("ec2", region)
    for page in ec2.get_paginator("describe_security_groups").paginate():
        for group in page["SecurityGroups"]:
            seeder.rec.add(
                "aws.ec2.security_group",
                group["GroupId"],
                region,
                bad=args["flaw"] if group["GroupName"] == args["flawed"] else None,
            )
    return {}


_ACTIONS: dict[str, Action] = {
    "backdate_key": _backdate_key,
    "find_ami": _find_ami,
    "record_security_groups": _record_security_groups,
}

#: Values every description file may use as ``${NAME}``.
_VARIABLES: dict[str, Any] = {
    **{
        name: value
        for name, value in globals().items()
        if name.startswith("CANARY_") and isinstance(value, str)
    },
    "UC_MASTER_ROLE": UC_MASTER_ROLE,
    "DATABRICKS_PRINCIPAL": DATABRICKS_PRINCIPAL,
    "DATABRICKS_ACCOUNT_ID": DATABRICKS_ACCOUNT_ID,
    "VENDOR_ACCOUNT": _VENDOR_ACCOUNT,
    "team_tags": _tags(**_TEAM),
    "owned_tags": _tags(**_OWNED),
}


def _client_factory(session_or_clients: Any) -> ClientFactory:
    if isinstance(session_or_clients, boto3.session.Session):
        session = session_or_clients

        def make(service: str, region: str) -> Any:
            return session.client(service, region_name=region)  # type: ignore[call-overload]

        return make
    if callable(session_or_clients):
        factory: ClientFactory = session_or_clients
        return factory
    raise TypeError("seed_aws needs a boto3.Session or a (service, region) -> client callable")


def seed_aws(
    session_or_clients: boto3.session.Session | ClientFactory,
    account_id: str = DEFAULT_ACCOUNT,
    regions: list[str] | tuple[str, ...] = DEFAULT_REGIONS,
    *,
    backdate_access_key: BackdateKey | None = None,
    now: datetime | None = None,
) -> AwsEstateManifest:
    """Seed the demo ML estate into the AWS endpoint the clients talk to; return its manifest.

    ``session_or_clients`` is a ``boto3.Session`` or a ``(service, region) -> client`` callable.
    The first region gets the full estate and the account-wide resources (IAM, the S3 account
    public access block); every further region gets a smaller regional estate. The estate is
    meant for an empty account: seeding twice fails on the first duplicate name.
    """
    region_list = list(regions)
    if not region_list:
        raise ValueError("seed_aws needs at least one region")
    seeder = _Seeder(
        _client_factory(session_or_clients),
        account_id,
        region_list,
        backdate_access_key,
        now or datetime.now(UTC),
    )
    seeder.apply("iam")
    seeder.apply("s3_account")
    for region in region_list:
        seeder.apply("network", region)
        seeder.apply("kms", region)
        seeder.apply("s3", region)
        for family in ("sagemaker", "sagemaker_scaling", "ec2"):
            seeder.apply(family, region)
        for family in ("glue", "lambda", "emr", "cloudtrail", "events", "apigateway"):
            seeder.apply(family, region)
        seeder.apply("sagemaker_security", region)
        seeder.apply("sagemaker_controls", region)
        seeder.apply("pipeline_hardening", region)
        seeder.apply("gpu_cost", region)
        seeder.apply("bedrock", region)
        seeder.apply("security_groups", region)
        seeder.apply("agentcore_ecr", region)
    names = {k: sorted(v) for k, v in sorted(seeder.rec.names.items())}
    return AwsEstateManifest(
        account_id=account_id,
        regions=region_list,
        counts={k: len(v) for k, v in names.items()},
        names=names,
        flaws=seeder.rec.flaws,
        regions_by_name=seeder.rec.regions,
        canary_secret=CANARY_SECRET,
    )
