"""Serving endpoint facts that decide policies: which workload types are GPUs (an explicit table,
an unknown type is unknown) and which principals can query (CAN_VIEW cannot)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.databricks_harness import RecordingClock, collect_inventory

from mlguard.collect.databricks.serving import aws_backend
from mlguard.demo.databricks_fake import demo_state
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set

ENDPOINT = "databricks.serving_endpoint"


def _statuses(inventory, policy_id: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = load_policy_set([(builtin_policy_dir(), "builtin")]).policies[policy_id]
    return {r.resource_uid: str(r.status) for r in evaluate_inventory([policy], inventory).results}


def _entity_of(state, endpoint: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    ep = next(e for e in state.serving_endpoints if e["name"] == endpoint)
    entities: list[dict] = ep["config"]["served_entities"]  # type: ignore[type-arg]
    return entities[0]


def test_gpu_workload_types_come_from_a_table_and_unknown_is_an_error(start_fake) -> None:
    state = demo_state()
    _entity_of(state, "fraud-gpu").update(workload_type="MULTIGPU_MEDIUM", scale_to_zero_enabled=False)
    _entity_of(state, "churn-cpu").update(workload_type="CPU_MEDIUM", scale_to_zero_enabled=False)
    _entity_of(state, "vision-gpu-newtype")["workload_type"] = "GPU_XLARGE_8xH200"  # newer than the table
    start_fake(state)
    inventory = collect_inventory(frozenset({ENDPOINT}), clock=RecordingClock())
    res = {r.name: r for r in inventory.resources}

    multi = res["fraud-gpu"].data
    assert multi["served_entities"][0]["gpu"] is True
    assert (multi["has_gpu"], multi["gpu_without_scale_to_zero"]) == (True, True)
    cpu = res["churn-cpu"].data
    assert (cpu["has_gpu"], cpu["gpu_without_scale_to_zero"]) == (False, False)

    newtype = res["vision-gpu-newtype"]
    assert newtype.data["served_entities"][0]["gpu"] is None
    assert "has_gpu" not in newtype.data
    assert "gpu_without_scale_to_zero" not in newtype.data
    errors = [e for e in inventory.errors if e.resource_uid == newtype.uid]
    assert len(errors) == 1
    assert errors[0].attributes == ["has_gpu", "gpu_without_scale_to_zero"]
    assert "GPU_XLARGE_8xH200" in errors[0].message
    assert {e.resource_uid for e in inventory.errors} == {newtype.uid}

    statuses = _statuses(inventory, "databricks_gpu_serving_scale_to_zero")
    assert statuses[res["fraud-gpu"].uid] == "FAIL"
    assert statuses[res["churn-cpu"].uid] == "SKIP"
    assert statuses[newtype.uid] == "ERROR"


def test_can_view_is_not_a_query_principal(start_fake) -> None:
    state = demo_state()
    ep = next(e for e in state.serving_endpoints if e["name"] == "churn-cpu")
    state.serving_permissions[ep["id"]]["access_control_list"].append(
        {"group_name": "users", "all_permissions": [{"permission_level": "CAN_VIEW", "inherited": False}]}
    )
    start_fake(state)
    inventory = collect_inventory(frozenset({ENDPOINT}), clock=RecordingClock())
    churn = next(r for r in inventory.resources if r.name == "churn-cpu")
    assert "users" not in churn.data["query_principals"]
    assert {"principal": "users", "principal_type": "group", "permission_levels": ["CAN_VIEW"]} in churn.data[
        "permissions"
    ]
    fraud = next(r for r in inventory.resources if r.name == "fraud-gpu")  # users: CAN_QUERY
    assert "users" in fraud.data["query_principals"]
    statuses = _statuses(inventory, "databricks_serving_not_public")
    assert statuses[churn.uid] == "PASS"
    assert statuses[fraud.uid] == "FAIL"


@pytest.mark.parametrize(
    ("external", "expected"),
    [
        (
            {
                "provider": "custom",
                "custom_provider_config": {
                    "custom_provider_url": "https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/fraud-v2/invocations"
                },
            },
            {
                "sagemaker_endpoint": "fraud-v2",
                "sagemaker_region": "eu-west-1",
                "bedrock_region": None,
                "bedrock_account": None,
            },
        ),
        (  # another host that merely mentions SageMaker is not a SageMaker endpoint
            {
                "provider": "custom",
                "custom_provider_config": {
                    "custom_provider_url": "https://proxy.example.com/runtime.sagemaker.us-east-1.amazonaws.com/endpoints/x/invocations"
                },
            },
            {
                "sagemaker_endpoint": None,
                "sagemaker_region": None,
                "bedrock_region": None,
                "bedrock_account": None,
            },
        ),
        (  # access keys: the account is not known
            {"provider": "amazon-bedrock", "amazon_bedrock_config": {"aws_region": "us-west-2"}},
            {
                "sagemaker_endpoint": None,
                "sagemaker_region": None,
                "bedrock_region": "us-west-2",
                "bedrock_account": None,
            },
        ),
        (
            {
                "provider": "amazon-bedrock",
                "amazon_bedrock_config": {
                    "aws_region": "us-west-2",
                    "instance_profile_arn": "arn:aws:iam::111122223333:instance-profile/bedrock",
                },
            },
            {
                "sagemaker_endpoint": None,
                "sagemaker_region": None,
                "bedrock_region": "us-west-2",
                "bedrock_account": "111122223333",
            },
        ),
        (
            None,
            {
                "sagemaker_endpoint": None,
                "sagemaker_region": None,
                "bedrock_region": None,
                "bedrock_account": None,
            },
        ),
    ],
)
def test_external_model_aws_backend(external: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    assert aws_backend(external) == expected


def test_demo_gateways_name_their_sagemaker_endpoints(start_fake) -> None:
    start_fake()
    inventory = collect_inventory(frozenset({"databricks.serving_endpoint"}), clock=RecordingClock())
    backends = {
        r.name: [(e["sagemaker_endpoint"], e["sagemaker_region"]) for e in r.data["served_entities"]]
        for r in inventory.resources
    }
    assert backends["fraud-gateway"] == [("fraud-detector", "us-east-1")]
    assert backends["openai-proxy"] == [(None, None)]
