"""Where AWS keeps secrets: lifecycle scripts, container arguments, hyperparameters, descriptions."""

from __future__ import annotations

import base64

import boto3
import pytest

from mlguard.collect.secrets import REDACTED, SECRET_PATHS
from mlguard.demo import moto_ext
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from tests.collect.aws.conftest import ACCOUNT
from tests.collect.aws.test_engine import failing, run_with_hooks

pytestmark = pytest.mark.usefixtures("aws")

ROLE = f"arn:aws:iam::{ACCOUNT}:role/sm-exec"
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/job:1"
TOKEN = "ghp_Lc4Wq9Zr2Xk7Mv5Tn8Yb1Hd3Jf6Gs0Pa4Ke9R"
NOTEBOOK = "aws.sagemaker.notebook_instance"


def _notebooks() -> None:
    moto_ext.apply()  # moto drops PlatformIdentifier without it: the notebooks would be unknown
    sm = boto3.client("sagemaker")
    for name, script in (
        ("leaky", f"#!/bin/bash\ngit clone https://bot:{TOKEN}@github.com/acme/ml.git\n"),
        ("clean", "#!/bin/bash\nexport GIT_TOKEN=$(aws secretsmanager get-secret-value --secret-id gh)\n"),
    ):
        sm.create_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=f"{name}-setup",
            OnStart=[{"Content": base64.b64encode(script.encode()).decode()}],
        )
        sm.create_notebook_instance(
            NotebookInstanceName=name,
            InstanceType="ml.t3.medium",
            RoleArn=ROLE,
            LifecycleConfigName=f"{name}-setup",
            PlatformIdentifier="notebook-al2023-v1",  # AWS always reports one
        )


def _policy_status(sink_inventory: object, policy_id: str) -> dict[str, str]:
    policy = load_policy_set([(builtin_policy_dir(), "builtin")]).policies[policy_id]
    results = evaluate_inventory([policy], sink_inventory).results  # type: ignore[arg-type]
    return {r.resource_uid.rsplit("/", 1)[1]: r.status.value for r in results}


def test_lifecycle_scripts_are_read_and_only_their_flag_kept() -> None:
    _notebooks()
    sink, _ = run_with_hooks({NOTEBOOK}, {})
    inventory = sink.to_inventory("2026-06-01T00:00:00Z")
    assert TOKEN not in inventory.model_dump_json()
    data = {r.name: r.data for r in inventory.resources}
    assert data["leaky"]["lifecycle_scripts"] == [{"name": "on_start[0]", "looks_like_secret": True}]
    assert data["leaky"][SECRET_PATHS] == ["lifecycle_scripts[0].on_start[0]"]
    assert data["clean"]["lifecycle_scripts"] == [{"name": "on_start[0]", "looks_like_secret": False}]
    assert data["clean"][SECRET_PATHS] == []
    assert _policy_status(inventory, "sagemaker_notebook_no_plaintext_secrets") == {
        "leaky": "FAIL",
        "clean": "PASS",
    }


def test_an_unread_lifecycle_script_is_an_error_not_a_pass() -> None:
    _notebooks()
    sink, _ = run_with_hooks(
        {NOTEBOOK},
        {"before-call.sagemaker.DescribeNotebookInstanceLifecycleConfig": failing("AccessDeniedException")},
    )
    inventory = sink.to_inventory("2026-06-01T00:00:00Z")
    assert {e.operation for e in inventory.errors} == {"sagemaker:DescribeNotebookInstanceLifecycleConfig"}
    assert _policy_status(inventory, "sagemaker_notebook_no_plaintext_secrets") == {
        "leaky": "ERROR",
        "clean": "ERROR",
    }


def test_processing_arguments_and_job_descriptions_are_scrubbed() -> None:
    sm = boto3.client("sagemaker")
    sm.create_processing_job(
        ProcessingJobName="eval",
        AppSpecification={
            "ImageUri": IMAGE,
            "ContainerArguments": ["--model", "llama", "--hf-token", "hf_Xq8Zr4TnX2vLw9Kp3Hs7Yc1Bm6Dg5Fj0Ae"],
        },
        RoleArn=ROLE,
        ProcessingResources={
            "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
        },
    )
    glue = boto3.client("glue")
    glue.create_job(
        Name="etl",
        Role=ROLE,
        Command={"Name": "glueetl", "ScriptLocation": "s3://b/etl.py"},
        Description=f"pulls from https://ci:{TOKEN}@git.internal/etl.git nightly",
        DefaultArguments={"--conn": "jdbc:postgresql://etl:Pw0rd99x@db/f", "--target": "s3://b/out/"},
    )
    sink, _ = run_with_hooks({"aws.sagemaker.processing_job", "aws.glue.job"}, {})
    inventory = sink.to_inventory("2026-06-01T00:00:00Z")
    text = inventory.model_dump_json()
    for raw in ("hf_Xq8Zr4TnX2vLw9Kp3Hs7Yc1Bm6Dg5Fj0Ae", TOKEN, "Pw0rd99x"):
        assert raw not in text
    data = {r.type: r.data for r in inventory.resources}
    job = data["aws.sagemaker.processing_job"]
    assert job["app_specification"]["container_arguments"] == ["--model", "llama", "--hf-token", REDACTED]
    assert job[SECRET_PATHS] == ["app_specification.container_arguments[3]"]
    etl = data["aws.glue.job"]
    assert etl["description"] == f"pulls from https://ci:{REDACTED}@git.internal/etl.git nightly"
    assert etl["default_arguments"] == {"--conn": REDACTED, "--target": "s3://b/out/"}
    assert etl[SECRET_PATHS] == ["default_arguments.--conn", "description"]
    assert _policy_status(inventory, "sagemaker_processing_job_no_plaintext_secrets") == {"eval": "FAIL"}
    assert _policy_status(inventory, "glue_job_no_secrets_in_arguments") == {"etl": "FAIL"}


def test_a_denied_describe_leaves_secret_policies_unknown() -> None:
    """kms:DescribeKey returns the free-text description; when it is denied, "no plaintext secret"
    is unknown (ERROR), not PASS, and the error names the secret paths as unread."""
    boto3.client("kms").create_key(Description="clean")
    denied = {"before-call.kms.DescribeKey": failing("AccessDeniedException")}
    sink, _ = run_with_hooks({"aws.kms.key"}, denied)
    inventory = sink.to_inventory("2026-06-01T00:00:00Z")
    assert [e.operation for e in inventory.errors] == ["kms:DescribeKey"]
    assert SECRET_PATHS in inventory.errors[0].attributes
    assert set(_policy_status(inventory, "kms_key_no_plaintext_secrets").values()) == {"ERROR"}
