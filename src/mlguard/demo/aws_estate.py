"""The demo AWS estate: a realistic ML platform, described as data and seeded through plain boto3.

The estate mirrors the AWS ML pipeline mlguard governs (raw data in S3 catalogued by Glue, ETL on
Glue and EMR, SageMaker Feature Store, Studio, training, endpoints behind Lambda and API Gateway,
CloudWatch, Model Monitor, EventBridge-driven retraining, GPU compute, Bedrock and AgentCore). It
deliberately mixes good and bad configurations, and every bad one is named in the returned
manifest with the reason, so a scan of the estate has known findings and tests can check counts
per catalogue type.

What is seeded is written down in ``src/mlguard/data/demo/aws_estate.yaml`` (the families, in
order) and ``src/mlguard/data/demo/aws/<family>.yaml`` (their boto3 calls, each resource with its
planted misconfiguration), applied by :class:`mlguard.demo.estate.EstateSeeder`. This module
keeps what tests import (the canaries, the regions, the manifest model) and the few named actions
no description can express: looking up an AMI, recording the security groups the server made by
itself, and back-dating an IAM access key (a key is always created "now"; an optional callback,
which only a fake such as moto can honour). Counts in the manifest are derived from what was
actually created, never written down separately.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from pydantic import BaseModel, ConfigDict, Field

from mlguard.demo.estate import (
    ESTATE_DIR,
    Action,
    BackdateKey,
    ClientFactory,
    EstateSeeder,
    Flaw,
    flow_definition,
    load_index,
)

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
#: every real account; on moto see :func:`mlguard.demo.moto_ext.add_aws_managed_policies`).
AWS_MANAGED_POLICIES = ("AdministratorAccess", "AmazonSageMakerFullAccess", "AmazonBedrockFullAccess")
DEFAULT_ACCOUNT = "123456789012"
#: The estate: the description files applied, in order (see :mod:`mlguard.demo.estate`).
ESTATE_INDEX = ESTATE_DIR.parent / "aws_estate.yaml"


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


def _backdate_key(seeder: EstateSeeder, _region: str, args: dict[str, Any]) -> dict[str, Any]:
    """Make an access key look ``days`` old (a key is always created "now"; only a fake can)."""
    if seeder.backdate_key is not None:
        seeder.backdate_key(args["user"], args["key"], seeder.now - timedelta(days=int(args["days"])))
    return {}


def _find_ami(seeder: EstateSeeder, region: str, _args: dict[str, Any]) -> dict[str, Any]:
    """An Amazon Deep Learning AMI of the region (else Amazon Linux 2), looked up by name (the
    first that exists), and its root device name."""
    ec2 = seeder.client("ec2", region)
    for pattern in ("Deep Learning AMI*", "amzn2-ami-hvm-*-x86_64-gp2"):
        images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [pattern]}])
        if images["Images"]:
            ami = str(images["Images"][0]["ImageId"])
            root_device = ec2.describe_images(ImageIds=[ami])["Images"][0]["RootDeviceName"]
            return {"ImageId": ami, "RootDeviceName": root_device}
    raise LookupError("no Amazon Deep Learning or Amazon Linux 2 AMI in this region")


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

#: Values every description file may use as ``${NAME}``, besides the estate index's own.
_VARIABLES: dict[str, Any] = {
    **{
        name: value
        for name, value in globals().items()
        if name.startswith("CANARY_") and isinstance(value, str)
    },
    "AWS_MANAGED_POLICIES": list(AWS_MANAGED_POLICIES),
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
    seeder = EstateSeeder(
        _client_factory(session_or_clients),
        account_id,
        region_list,
        _VARIABLES,
        _ACTIONS,
        now or datetime.now(UTC),
        backdate_access_key,
    )
    seeder.seed(load_index(ESTATE_INDEX), ESTATE_DIR)
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
