"""A failed per-resource detail call leaves the resource's secret facts unknown: the final scrub
never saw the text the call would have returned, so the secret policies are ERROR, never PASS."""

from __future__ import annotations

import pytest
from tests.support.databricks_harness import RecordingClock, collect_inventory

from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set


def _statuses(inventory, policy_id: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = load_policy_set([(builtin_policy_dir(), "builtin")]).policies[policy_id]
    return {r.resource_uid: str(r.status) for r in evaluate_inventory([policy], inventory).results}


@pytest.mark.parametrize(
    ("route", "rtype", "policy_id"),
    [
        ("pipeline", "databricks.pipeline", "databricks_pipeline_no_plaintext_secrets"),
        ("serving_endpoint", "databricks.serving_endpoint", "databricks_serving_no_plaintext_secrets"),
    ],
)
def test_failed_detail_blocks_plaintext_secret_paths(
    start_fake, route: str, rtype: str, policy_id: str
) -> None:
    start_fake(deny={route})
    inventory = collect_inventory(frozenset({rtype}), clock=RecordingClock())
    resources = [r for r in inventory.resources if r.type == rtype]
    assert resources
    errors = [e for e in inventory.errors if e.resource_type == rtype]
    assert {e.resource_uid for e in errors} == {r.uid for r in resources}
    assert all("plaintext_secret_paths" in e.attributes for e in errors)
    statuses = _statuses(inventory, policy_id)
    assert set(statuses.values()) == {"ERROR"}
