"""Done-when check, end to end with the policy engine: a denied admin API makes exactly the
policies that needed it come out ERROR, and the rest of the scan is judged normally.

Skipped until the policy engine (the lead's ``mlguard.policy``) is merged with this branch.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.databricks_harness import RecordingClock, collect_inventory

evaluator = pytest.importorskip("mlguard.policy.evaluator")
loader = pytest.importorskip("mlguard.policy.loader")

_COMMON = """description: A test policy on the Databricks inventory, long enough for the schema.
remediation:
  text: Fix the configuration as documented by Databricks.
references:
  - https://docs.databricks.com/
"""
POLICIES = {
    "dbx_test_token_expiry": "resource: databricks.token\nassert: {path: never_expires, op: is_false}\n",
    "dbx_test_verbose_audit": (
        "resource: databricks.workspace\nassert: {path: enableVerboseAuditLogs, op: is_true}\n"
    ),
    "dbx_test_results_download": (
        "resource: databricks.workspace\nassert: {path: enableResultsDownloading, op: is_false}\n"
    ),
    "dbx_test_gpu_autoterm": (
        "resource: databricks.cluster\nwhere: {path: is_gpu, op: is_true}\n"
        "assert: {path: autotermination_minutes, op: gt, value: 0}\n"
    ),
}


def test_denied_admin_apis_error_exactly_their_policies(start_fake, tmp_path: Path) -> None:
    folder = tmp_path / "databricks" / "test"
    folder.mkdir(parents=True)
    for pid, body in POLICIES.items():
        header = f"title: {pid}\nseverity: high\ncategory: security\n"
        (folder / f"{pid}.yaml").write_text(header + _COMMON + body, encoding="utf-8")
    start_fake(deny={"tokens"}, deny_conf_keys={"enableVerboseAuditLogs"})
    inventory = collect_inventory(
        frozenset({"databricks.token", "databricks.workspace", "databricks.cluster"}), clock=RecordingClock()
    )
    policy_set = loader.load_policy_set([(tmp_path, "test")], strict_frameworks=False)
    results = evaluator.evaluate_inventory(list(policy_set.policies.values()), inventory).results
    statuses: dict[str, set[str]] = {}
    for r in results:
        statuses.setdefault(r.policy_id, set()).add(str(r.status))
    assert statuses["dbx_test_token_expiry"] == {"ERROR"}
    assert statuses["dbx_test_verbose_audit"] == {"ERROR"}
    assert statuses["dbx_test_results_download"] == {"FAIL"}
    assert statuses["dbx_test_gpu_autoterm"] == {"PASS", "FAIL", "SKIP"}
