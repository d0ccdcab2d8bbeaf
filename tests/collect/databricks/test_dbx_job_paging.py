"""Jobs API 2.2 returns a job's tasks and job clusters 100 at a time: jobs/list with expand_tasks
sets ``has_more`` and the rest comes from jobs/get pages. Facts derived from the tasks are computed
on all of them, or are unknown (ERROR), never judged on the first page."""

from __future__ import annotations

from typing import Any

from tests.support.databricks_harness import RecordingClock, collect_inventory

from mlguard.demo.databricks_fake import demo_state
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set

JOB = "databricks.job"


def _big_job() -> dict[str, Any]:
    tasks: list[dict[str, Any]] = [
        {
            "task_key": f"t{i}",
            "notebook_task": {"notebook_path": "/x"},
            "email_notifications": {"on_failure": ["oncall@example.com"]},
        }
        for i in range(250)
    ]
    tasks[180] = {
        "task_key": "t180",
        "existing_cluster_id": "0101-gpu-train-a1",
        "notebook_task": {
            "notebook_path": "/x",
            "base_parameters": {"api_token": "dapi0123456789abcdef0123456789abcdef"},
        },
    }
    clusters = [
        {"job_cluster_key": f"c{i}", "new_cluster": {"spark_version": "15.4.x-scala2.12"}} for i in range(130)
    ]
    return {
        "job_id": 99,
        "creator_user_name": "alice@example.com",
        "settings": {"name": "big", "tasks": tasks, "job_clusters": clusters},
    }


def _statuses(inventory: Any, policy_id: str) -> dict[str, str]:
    policy = load_policy_set([(builtin_policy_dir(), "builtin")]).policies[policy_id]
    return {r.resource_uid: str(r.status) for r in evaluate_inventory([policy], inventory).results}


def test_a_job_with_more_than_100_tasks_is_read_to_the_last_page(start_fake) -> None:
    state = demo_state()
    state.jobs.append(_big_job())
    fake = start_fake(state)
    inventory = collect_inventory(frozenset({JOB}), clock=RecordingClock())
    big = next(r for r in inventory.resources if r.id == "99")
    assert big.data["task_count"] == 250
    assert len(big.data["job_clusters"]) == 130
    assert big.data["existing_cluster_ids"] == ["0101-gpu-train-a1"]
    assert big.data["has_failure_notification"] is False  # task 180 has none
    assert big.data["plaintext_secrets"] is True  # task 180's parameter
    assert not inventory.errors
    gets = [r for r in fake.fake.requests if r.path == "/api/2.2/jobs/get"]
    assert len(gets) == 3  # only the long job, three pages
    assert _statuses(inventory, "databricks_job_failure_notifications")[big.uid] == "FAIL"


def test_an_unreadable_rest_of_the_tasks_is_unknown(start_fake) -> None:
    state = demo_state()
    state.jobs.append(_big_job())
    start_fake(state, deny={"job"})
    inventory = collect_inventory(frozenset({JOB}), clock=RecordingClock())
    big = next(r for r in inventory.resources if r.id == "99")
    for key in ("tasks", "task_count", "job_clusters", "has_failure_notification", "plaintext_secrets"):
        assert key not in big.data
    assert big.data["job_name"] == "big"
    (error,) = inventory.errors
    assert error.resource_uid == big.uid
    assert {"task_count", "has_failure_notification", "plaintext_secret_paths"} <= set(error.attributes)
    assert error.operation == "GET /api/2.2/jobs/get"
    assert _statuses(inventory, "databricks_job_failure_notifications")[big.uid] == "ERROR"
    assert _statuses(inventory, "databricks_job_no_plaintext_secrets")[big.uid] == "ERROR"
