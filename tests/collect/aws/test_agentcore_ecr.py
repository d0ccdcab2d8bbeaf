"""Bedrock AgentCore and ECR collection against moto (with mlguard's moto extension for the
custom browsers and code interpreters moto 5.2 lacks), the image -> repository join key, and
denied detail calls that must leave fields unknown."""

from __future__ import annotations

import json

import boto3
import pytest

from mlguard.collect.aws.ecr import repository_arn, repository_arns
from mlguard.collect.aws.permissions import permissions
from mlguard.collect.secrets import SECRET_PATHS
from mlguard.demo import moto_ext
from tests.collect.aws.conftest import ACCOUNT, REGION, collect
from tests.collect.aws.test_engine import failing, run_with_hooks

pytestmark = pytest.mark.usefixtures("aws")

AGENTCORE = frozenset(
    {
        "aws.agentcore.runtime",
        "aws.agentcore.gateway",
        "aws.agentcore.memory",
        "aws.agentcore.browser",
        "aws.agentcore.code_interpreter",
    }
)
CANARY = "sk-ant-api03-testAgentCoreCanaryQx2Lr9TzK4wVbN7"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/agent"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/agents/support:1.4.0"


def _seed_agentcore() -> None:
    moto_ext.apply()  # moto 5.2 has no custom browsers or code interpreters
    ac = boto3.client("bedrock-agentcore-control")
    vpc = {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]}
    ac.create_agent_runtime(
        agentRuntimeName="support",
        agentRuntimeArtifact={"containerConfiguration": {"containerUri": IMAGE}},
        roleArn=ROLE,
        networkConfiguration={"networkMode": "VPC", "networkModeConfig": vpc},
        environmentVariables={"ANTHROPIC_API_KEY": CANARY, "LOG_LEVEL": "INFO"},
    )
    ac.create_gateway(
        name="tools",
        roleArn=ROLE,
        protocolType="MCP",
        authorizerType="CUSTOM_JWT",
        authorizerConfiguration={
            "customJWTAuthorizer": {
                "discoveryUrl": "https://idp.example/.well-known/openid-configuration",
                "allowedAudience": ["tools"],
            }
        },
        kmsKeyArn=KEY,
    )
    ac.create_gateway(name="open", roleArn=ROLE, protocolType="MCP", authorizerType="NONE")
    ac.create_memory(name="plain", eventExpiryDuration=30)
    ac.create_browser(
        name="audited",
        executionRoleArn=ROLE,
        networkConfiguration={"networkMode": "VPC", "vpcConfig": vpc},
        recording={"enabled": True, "s3Location": {"bucket": "audit", "prefix": "sessions/"}},
    )
    ac.create_code_interpreter(name="sandboxed", networkConfiguration={"networkMode": "SANDBOX"})


def _seed_ecr() -> None:
    ecr = boto3.client("ecr")
    ecr.create_repository(
        repositoryName="agents/support",
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": KEY},
    )
    ecr.put_lifecycle_policy(
        repositoryName="agents/support",
        lifecyclePolicyText=json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 1,
                        "selection": {
                            "tagStatus": "untagged",
                            "countType": "imageCountMoreThan",
                            "countNumber": 5,
                        },
                        "action": {"type": "expire"},
                    }
                ]
            }
        ),
    )
    ecr.create_repository(repositoryName="public-pull")
    ecr.set_repository_policy(
        repositoryName="public-pull",
        policyText=json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}]}
        ),
    )
    ecr.create_repository(repositoryName="org-pull")
    ecr.set_repository_policy(
        repositoryName="org-pull",
        policyText=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["ecr:BatchGetImage"],
                        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}},
                    }
                ]
            }
        ),
    )


def test_agentcore_types_are_read_with_their_get_calls_and_env_values_never_kept() -> None:
    _seed_agentcore()
    run = collect(AGENTCORE)
    assert run.inventory.errors == []
    runtime = run.one("aws.agentcore.runtime", "support").data
    assert runtime["network_mode"] == "VPC"
    assert (runtime["subnet_ids"], runtime["security_group_ids"]) == (["subnet-1"], ["sg-1"])
    assert runtime["container_uri"] == IMAGE
    assert runtime["ecr_repository_arns"] == [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/agents/support"]
    assert runtime["authorizer_type"] == "AWS_IAM"
    assert runtime["endpoints"] == []
    assert runtime["environment_variables"] == [
        {"name": "ANTHROPIC_API_KEY", "looks_like_secret": True},
        {"name": "LOG_LEVEL", "looks_like_secret": False},
    ]
    assert runtime["secret_like_variables"] == ["ANTHROPIC_API_KEY"]
    assert runtime[SECRET_PATHS]  # the scrub recorded the plaintext credential
    assert CANARY not in run.inventory.model_dump_json()

    tools = run.one("aws.agentcore.gateway", "tools").data
    assert (tools["authorizer_type"], tools["requires_inbound_authorization"], tools["kms_key_arn"]) == (
        "CUSTOM_JWT",
        True,
        KEY,
    )
    assert tools["authorizer"]["allowed_audience"] == ["tools"]
    open_gw = run.one("aws.agentcore.gateway", "open").data
    assert (open_gw["requires_inbound_authorization"], open_gw["kms_key_arn"]) == (False, None)

    (memory,) = run.of("aws.agentcore.memory")
    assert memory.name == "plain"  # the list has no name: it comes from GetMemory
    assert memory.data["encryption_key_arn"] is None
    browser = run.one("aws.agentcore.browser", "audited").data
    assert (browser["network_mode"], browser["recording_enabled"], browser["recording_s3_bucket"]) == (
        "VPC",
        True,
        "audit",
    )
    interpreter = run.one("aws.agentcore.code_interpreter", "sandboxed")
    assert interpreter.data["network_mode"] == "SANDBOX"
    assert interpreter.uid.startswith(
        f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:code-interpreter-custom/"
    )


def test_ecr_repositories_policies_and_lifecycle() -> None:
    _seed_ecr()
    run = collect({"aws.ecr.repository"})
    assert run.inventory.errors == []
    hardened = run.one("aws.ecr.repository", "agents/support")
    assert hardened.uid == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/agents/support"
    assert {
        k: hardened.data[k] for k in ("scan_on_push", "tags_immutable", "encryption_type", "kms_key")
    } == {
        "scan_on_push": True,
        "tags_immutable": True,
        "encryption_type": "KMS",
        "kms_key": KEY,
    }
    # No repository policy is "not configured" (null, not public), never an error.
    assert (hardened.data["policy"], hardened.data["policy_public"]) == (None, False)
    assert (hardened.data["lifecycle_policy"], hardened.data["lifecycle_rule_count"]) == (True, 1)
    public = run.one("aws.ecr.repository", "public-pull").data
    assert (public["policy_public"], public["scan_on_push"], public["tags_immutable"]) == (True, False, False)
    assert (public["encryption_type"], public["lifecycle_policy"]) == ("AES256", False)
    assert run.one("aws.ecr.repository", "org-pull").data["policy_public"] is False


def test_denied_get_calls_leave_their_fields_unknown_not_defaulted() -> None:
    _seed_agentcore()
    _seed_ecr()
    hooks = {
        "before-call.bedrock-agentcore-control.GetAgentRuntime": failing("AccessDeniedException", 403),
        "before-call.bedrock-agentcore-control.GetBrowser": failing("AccessDeniedException", 403),
        "before-call.ecr.GetRepositoryPolicy": failing("AccessDeniedException", 403),
    }
    sink, _ = run_with_hooks({"aws.agentcore.runtime", "aws.agentcore.browser", "aws.ecr.repository"}, hooks)
    by_op: dict[str, list[str]] = {}
    for e in sink.errors:
        by_op.setdefault(e.operation, []).extend(e.attributes)
    assert "network_mode" in by_op["bedrock-agentcore-control:GetAgentRuntime"]
    assert "ecr_repository_arns" in by_op["bedrock-agentcore-control:GetAgentRuntime"]
    assert "recording_enabled" in by_op["bedrock-agentcore-control:GetBrowser"]
    assert "policy_public" in by_op["ecr:GetRepositoryPolicy"]
    (runtime,) = [r for r in sink.resources if r.type == "aws.agentcore.runtime"]
    assert not {"network_mode", "environment_variables", "ecr_repository_arns"} & set(runtime.data)
    assert runtime.data["status"] == "READY"  # the listing's own facts stay
    (browser,) = [r for r in sink.resources if r.type == "aws.agentcore.browser"]
    assert "recording_enabled" not in browser.data  # unknown, never False
    for repo in (r for r in sink.resources if r.type == "aws.ecr.repository"):
        assert "policy_public" not in repo.data
        assert "scan_on_push" in repo.data


def test_sagemaker_model_exposes_the_ecr_repositories_of_its_images() -> None:
    sm = boto3.client("sagemaker")
    sm.create_model(
        ModelName="ranker",
        ExecutionRoleArn=ROLE,
        Containers=[
            {"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ml-serving:2026.11"},
            {"Image": f"763104351884.dkr.ecr.{REGION}.amazonaws.com/pytorch-inference@sha256:{'a' * 64}"},
            {"Image": "registry.acme.internal/serving/postprocess:3"},
        ],
    )
    run = collect({"aws.sagemaker.model"})
    assert run.one("aws.sagemaker.model", "ranker").data["ecr_repository_arns"] == [
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/ml-serving",
        f"arn:aws:ecr:{REGION}:763104351884:repository/pytorch-inference",
    ]


@pytest.mark.parametrize(
    ("image", "arn"),
    [
        (
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/model:1.0",
            "arn:aws:ecr:eu-west-1:111122223333:repository/team/model",
        ),
        (
            "111122223333.dkr.ecr.us-east-1.amazonaws.com/model@sha256:abc",
            "arn:aws:ecr:us-east-1:111122223333:repository/model",
        ),
        (
            "111122223333.dkr.ecr.us-east-1.amazonaws.com/model",
            "arn:aws:ecr:us-east-1:111122223333:repository/model",
        ),
        (
            "111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com/m:1",
            "arn:aws-us-gov:ecr:us-gov-west-1:111122223333:repository/m",
        ),
        (
            "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/m:1",
            "arn:aws-cn:ecr:cn-north-1:111122223333:repository/m",
        ),
        ("public.ecr.aws/nginx/nginx:latest", None),
        ("docker.io/library/python:3.12", None),
        ("111122223333.dkr.ecr.us-east-1.amazonaws.com.evil.example/m:1", None),
        (None, None),
        ("1" * 12 + ".dkr.ecr.us-east-1.amazonaws.com/" + "a" * 5000, None),
    ],
)
def test_repository_arn_of_an_image_uri(image: str | None, arn: str | None) -> None:
    assert repository_arn(image) == arn


def test_repository_arns_are_distinct_and_sorted() -> None:
    a = "111122223333.dkr.ecr.us-east-1.amazonaws.com/b:1"
    b = "111122223333.dkr.ecr.us-east-1.amazonaws.com/a:2"
    assert repository_arns([a, b, a, "busybox"]) == [
        "arn:aws:ecr:us-east-1:111122223333:repository/a",
        "arn:aws:ecr:us-east-1:111122223333:repository/b",
    ]


def test_permissions_name_the_agentcore_and_ecr_read_actions() -> None:
    actions = set(permissions(frozenset(AGENTCORE | {"aws.ecr.repository"}))["Statement"][0]["Action"])
    assert {
        "bedrock-agentcore:ListAgentRuntimes",
        "bedrock-agentcore:GetAgentRuntime",
        "bedrock-agentcore:ListAgentRuntimeEndpoints",
        "bedrock-agentcore:GetGateway",
        "bedrock-agentcore:GetMemory",
        "bedrock-agentcore:GetBrowser",
        "bedrock-agentcore:GetCodeInterpreter",
        "ecr:DescribeRepositories",
        "ecr:GetRepositoryPolicy",
        "ecr:GetLifecyclePolicy",
    } <= actions
    assert not any(a.split(":")[1].startswith(("Create", "Update", "Delete", "Put", "Set")) for a in actions)


def test_registry_scanning_rules_decide_scan_on_push() -> None:
    """Registry rules override the repository setting (enhanced, or basic with filters); a matching
    rule scans on push either way; basic without any rule honours the repository setting."""
    _seed_ecr()  # agents/support has scanOnPush; public-pull and org-pull do not
    ecr = boto3.client("ecr")
    run = collect({"aws.ecr.repository"})  # the default: BASIC, no rules
    assert {r.name: r.data["scanned_on_push"] for r in run.of("aws.ecr.repository")} == {
        "agents/support": True,
        "org-pull": False,
        "public-pull": False,
    }
    ecr.put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[
            {
                "scanFrequency": "CONTINUOUS_SCAN",
                "repositoryFilters": [{"filter": "org-*", "filterType": "WILDCARD"}],
            }
        ],
    )
    run = collect({"aws.ecr.repository"})
    facts = {
        r.name: (r.data["registry_scan_type"], r.data["registry_scan_frequency"], r.data["scanned_on_push"])
        for r in run.of("aws.ecr.repository")
    }
    assert facts == {
        "agents/support": ("ENHANCED", None, False),  # its own setting no longer counts
        "org-pull": ("ENHANCED", "CONTINUOUS_SCAN", True),
        "public-pull": ("ENHANCED", None, False),
    }
    ecr.put_registry_scanning_configuration(
        scanType="BASIC",
        rules=[
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [{"filter": "public-*", "filterType": "WILDCARD"}],
            }
        ],
    )
    run = collect({"aws.ecr.repository"})
    assert {r.name: r.data["scanned_on_push"] for r in run.of("aws.ecr.repository")} == {
        # "Any repositories not matching a basic scanning scan on push filter will be set to the
        # manual scan frequency" (AWS image-scanning-filters): its own setting no longer counts
        "agents/support": False,
        "org-pull": False,
        "public-pull": True,
    }


def test_denied_registry_scanning_leaves_scanned_on_push_unknown() -> None:
    _seed_ecr()
    hooks = {"before-call.ecr.GetRegistryScanningConfiguration": failing("AccessDeniedException", 403)}
    sink, _ = run_with_hooks({"aws.ecr.repository"}, hooks)
    (error,) = sink.errors
    assert error.operation == "ecr:GetRegistryScanningConfiguration"
    assert error.attributes == sorted(["registry_scan_type", "registry_scan_frequency", "scanned_on_push"])
    assert all("scanned_on_push" not in r.data and "scan_on_push" in r.data for r in sink.resources)


def test_a_registry_filter_without_a_wildcard_matches_names_that_contain_it() -> None:
    """ECR: "a filter with no wildcard will match all repository names that contain the filter"
    (image-scanning-filters.html): filter ``pull`` scans org-pull and public-pull, not agents/support."""
    _seed_ecr()
    boto3.client("ecr").put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [{"filter": "pull", "filterType": "WILDCARD"}],
            }
        ],
    )
    run = collect({"aws.ecr.repository"})
    assert {r.name: r.data["scanned_on_push"] for r in run.of("aws.ecr.repository")} == {
        "agents/support": False,
        "org-pull": True,
        "public-pull": True,
    }
