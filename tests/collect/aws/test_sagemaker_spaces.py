"""SageMaker Studio spaces: listed per region (paginated), described one by one with their tags,
and judged on the GPU idle shutdown policy. Collected from moto with mlguard's moto extension
(moto 5.2 has no spaces)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mlguard.demo import moto_ext
from mlguard.model import Inventory
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from tests.collect.aws.conftest import ACCOUNT
from tests.collect.aws.test_engine import failing, run_with_hooks

pytestmark = pytest.mark.usefixtures("aws")

POLICY = load_policy_set([(builtin_policy_dir(), "builtin")]).policies["sagemaker_space_gpu_idle_shutdown"]
SPACE = "aws.sagemaker.space"


def _lab(
    instance_type: str | None, idle: int | None = None, key: str = "JupyterLabAppSettings"
) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if instance_type:
        settings["DefaultResourceSpec"] = {"InstanceType": instance_type}
    if idle is not None:
        settings["AppLifecycleManagement"] = {"IdleSettings": {"IdleTimeoutInMinutes": idle}}
    return {"AppType": "CodeEditor" if key == "CodeEditorAppSettings" else "JupyterLab", key: settings}


def _estate() -> str:
    moto_ext.apply()
    sm = boto3.client("sagemaker")
    domain = sm.create_domain(
        DomainName="studio",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/sm-exec"},
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )["DomainArn"].split("/")[-1]
    spaces: dict[str, dict[str, Any]] = {
        "gpu-idle": _lab("ml.g5.xlarge", 60),
        "gpu-always-on": _lab("ml.g5.2xlarge", key="CodeEditorAppSettings"),
        "cpu": _lab("ml.t3.medium"),
        "default": _lab(None),
    }
    for name, settings in spaces.items():
        sm.create_space(
            DomainId=domain,
            SpaceName=name,
            SpaceSettings=settings,
            OwnershipSettings={"OwnerUserProfileName": "alice"},
            SpaceSharingSettings={"SharingType": "Shared" if name == "gpu-always-on" else "Private"},
            Tags=[{"Key": "team", "Value": "ml"}],
        )
    return domain


def _collect(hooks: dict[str, Any] | None = None) -> Inventory:
    sink, _ = run_with_hooks({SPACE}, hooks or {})
    return sink.to_inventory("2026-06-01T00:00:00Z")


def _status(inventory: Inventory) -> dict[str, str]:
    return {
        r.resource_uid.rsplit("/", 1)[1]: r.status.value
        for r in evaluate_inventory([POLICY], inventory).results
    }


def test_spaces_are_read_with_settings_owner_sharing_gpu_facts_and_tags() -> None:
    domain = _estate()
    inventory = _collect()
    assert not inventory.errors
    by_name = {r.name: r for r in inventory.resources}
    assert set(by_name) == {"gpu-idle", "gpu-always-on", "cpu", "default"}
    gpu = by_name["gpu-idle"]
    assert gpu.uid == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:space/{domain}/gpu-idle"
    assert gpu.tags == {"team": "ml"}
    assert gpu.data["domain_id"] == domain
    assert gpu.data["app_type"] == "JupyterLab"
    assert gpu.data["sharing_type"] == "Private"
    assert gpu.data["owner_user_profile_name"] == "alice"
    assert gpu.data["instance_type"] == "ml.g5.xlarge"
    assert gpu.data["is_gpu"] is True
    assert gpu.data["gpu_count"] == 1
    assert gpu.data["idle_timeout_minutes"] == 60
    shared = by_name["gpu-always-on"].data
    assert (shared["app_type"], shared["sharing_type"], shared["idle_timeout_minutes"]) == (
        "CodeEditor",
        "Shared",
        None,
    )
    assert by_name["cpu"].data["is_gpu"] is False
    # No DefaultResourceSpec: Studio's CPU default, no accelerator.
    assert by_name["default"].data["instance_type"] is None
    assert by_name["default"].data["is_gpu"] is False
    assert _status(inventory) == {
        "gpu-idle": "PASS",
        "gpu-always-on": "FAIL",
        "cpu": "SKIP",
        "default": "SKIP",
    }


def test_spaces_are_listed_across_pages() -> None:
    moto_ext.apply()
    domain = _estate()
    sm = boto3.client("sagemaker")
    for i in range(120):  # past the 100-item page moto's extension answers with
        sm.create_space(DomainId=domain, SpaceName=f"s{i:03}", SpaceSettings=_lab("ml.t3.medium"))
    first = sm.list_spaces()
    assert len(first["Spaces"]) == 100
    assert first.get("NextToken")
    assert len(_collect().resources) == 124


def test_a_denied_describe_is_error_never_pass() -> None:
    _estate()
    inventory = _collect({"before-call.sagemaker.DescribeSpace": failing("AccessDeniedException")})
    assert {e.operation for e in inventory.errors} == {"sagemaker:DescribeSpace"}
    for r in inventory.resources:  # listed, so in scope, but none of its settings was read
        assert "is_gpu" not in r.data
    assert set(_status(inventory).values()) == {"ERROR"}


def test_denied_tags_leave_only_the_tags_unknown() -> None:
    _estate()
    inventory = _collect({"before-call.sagemaker.ListTags": failing("AccessDeniedException")})
    assert {e.operation for e in inventory.errors} == {"sagemaker:ListTags"}
    assert all("tags" in e.attributes and "is_gpu" not in e.attributes for e in inventory.errors)
    # The settings were read, so the idle shutdown policy (which reads no tags) is still judged.
    assert _status(inventory)["gpu-always-on"] == "FAIL"


def test_an_unknown_instance_type_is_error() -> None:
    moto_ext.apply()
    domain = _estate()
    boto3.client("sagemaker").create_space(
        DomainId=domain, SpaceName="mystery", SpaceSettings=_lab("ml.zz9.xlarge")
    )
    inventory = _collect()
    assert _status(inventory)["mystery"] == "ERROR"
