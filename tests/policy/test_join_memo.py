"""Joins are worked out once per distinct (join keys, scope), not once per subject.

Many subjects sharing a key (every resource of a region joined to that region's endpoints, every
endpoint named alike) used to re-read and re-evaluate the same related resources for each subject:
quadratic in the estate. The memo must not change any outcome: each subject still gets its own
evidence, its own exclusion from its own candidates, and its policy's own parameter values.
The reasons related resources could not be judged are given once each (at most MAX_NOTES), with
their count, not once per related resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlguard.model import Status
from mlguard.policy.evaluator import InventoryIndex, evaluate_inventory
from mlguard.policy.loader import Policy, apply_parameters

from .conftest import inventory, res

MakePolicy = Callable[..., Policy]
ALARM = "aws.cloudwatch.alarm"

JOIN_BY_NAME = """
parameters:
  wanted: {type: string, default: sns, description: The alarm action that counts.}
assert:
  join:
    resource: aws.cloudwatch.alarm
    on: [{related: endpoint_name, subject: name}]
    filter: {path: actions, op: contains, param: wanted}
"""


def _alarm(uid: str, endpoint: str, actions: list[str]) -> Any:
    return res(uid, ALARM, data={"endpoint_name": endpoint, "actions": actions})


def test_subjects_sharing_a_key_look_up_the_related_resources_once(
    make_policy: MakePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = make_policy(JOIN_BY_NAME)
    lookups: list[Any] = []
    original = InventoryIndex.candidates

    def counting(self: InventoryIndex, *args: Any) -> Any:
        lookups.append(args[-1])
        return original(self, *args)

    monkeypatch.setattr(InventoryIndex, "candidates", counting)
    endpoints = [res(f"e/{i:02d}", name="shared") for i in range(30)]
    alarms = [_alarm("a/2", "shared", ["sns"]), _alarm("a/1", "shared", ["sns"]), _alarm("a/3", "shared", [])]
    results = evaluate_inventory([p], inventory(*endpoints, *alarms)).results
    assert lookups == ["shared"]  # once for the key, not once per endpoint
    assert len(results) == 30
    for r in results:
        assert r.status is Status.PASS
        assert r.evidence.related == ["a/1", "a/2"]  # each subject's own evidence, sorted by uid
        assert r.evidence.values["join aws.cloudwatch.alarm (matching)"] == 2


def test_each_subject_is_still_left_out_of_its_own_candidates(make_policy: MakePolicy) -> None:
    p = make_policy(
        """
        assert:
          join:
            resource: aws.sagemaker.endpoint
            on: [{related: name, subject: name}]
            count: {ge: 2}
        """
    )
    twins = [res(f"e/{i}", name="triplet") for i in range(3)]
    results = evaluate_inventory([p], inventory(*twins, res("e/alone", name="alone"))).results
    got = {r.resource_uid: (r.status, r.evidence.related) for r in results}
    assert got == {
        "e/0": (Status.PASS, ["e/1", "e/2"]),
        "e/1": (Status.PASS, ["e/0", "e/2"]),
        "e/2": (Status.PASS, ["e/0", "e/1"]),
        "e/alone": (Status.FAIL, []),
    }


def test_policies_sharing_a_condition_keep_their_own_parameter_values(make_policy: MakePolicy) -> None:
    p = make_policy(JOIN_BY_NAME)
    (lambda_only,) = apply_parameters([p], {p.id: {"wanted": "lambda"}}, "mlguard.yaml")
    assert lambda_only.assert_ is p.assert_  # the same compiled join, other values
    inv = inventory(res("e/x", name="x"), _alarm("a/1", "x", ["sns"]))
    results = evaluate_inventory([p, lambda_only], inv).results
    assert [r.status for r in results] == [Status.PASS, Status.FAIL]
    assert "expected ge 1 aws.cloudwatch.alarm with endpoint_name eq name; found 0" in results[1].message


def test_related_resources_that_cannot_be_judged_give_each_reason_once(make_policy: MakePolicy) -> None:
    p = make_policy(JOIN_BY_NAME)
    # 50 alarms without the attribute the join's where reads: one reason, said once, and a count.
    alarms = [res(f"a/{i:02d}", ALARM, data={"endpoint_name": "x"}) for i in range(50)]
    (result,) = evaluate_inventory([p], inventory(res("e/x", name="x"), *alarms)).results
    assert result.status is Status.ERROR
    assert result.message == (
        'could not evaluate: attribute actions is absent (cannot judge actions contains "sns"); '
        "50 aws.cloudwatch.alarm could not be judged"
    )
