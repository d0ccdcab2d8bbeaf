"""A join's condition on its related resources is `filter:`, apart from the policy's `where:`
(applicability). A file still written with the old spelling is rejected with a message that says
what the key is called now, on the key's own line."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlguard.model import Status
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import Policy, PolicyError

from .conftest import inventory, res

MakePolicy = Callable[..., Policy]

BODY = """
where: {path: endpoint_status, op: eq, value: InService}
assert:
  join:
    resource: aws.cloudwatch.alarm
    on: [{related: endpoint_name, subject: name}]
    KEY: {path: actions, op: not_empty}
"""


def test_filter_keeps_only_the_related_resources_it_holds_for(make_policy: MakePolicy) -> None:
    p = make_policy(BODY.replace("KEY", "filter"))
    live = res("e/1", name="live", data={"endpoint_status": "InService"})
    silent = res("e/2", name="silent", data={"endpoint_status": "InService"})
    stopped = res("e/3", name="stopped", data={"endpoint_status": "Failed"})
    alarms = [
        res("a/1", "aws.cloudwatch.alarm", data={"endpoint_name": "live", "actions": ["sns"]}),
        res("a/2", "aws.cloudwatch.alarm", data={"endpoint_name": "silent", "actions": []}),
    ]
    evaluated = evaluate_inventory([p], inventory(live, silent, stopped, *alarms)).results
    results = {r.resource_uid: r.status for r in evaluated}
    assert results == {"e/1": Status.PASS, "e/2": Status.FAIL, "e/3": Status.SKIP}


def test_the_old_where_inside_a_join_is_rejected_naming_the_new_key(make_policy: MakePolicy) -> None:
    with pytest.raises(PolicyError) as caught:
        make_policy(BODY.replace("KEY", "where"))
    message = str(caught.value)
    assert "assert.join.where: field 'where' was renamed" in message
    assert "`filter:`" in message
    assert ".yaml:13: " in message  # the key's own line: 6 header lines, then the body


def test_an_unknown_join_key_still_lists_the_allowed_ones(make_policy: MakePolicy) -> None:
    allowed = r"unknown field 'filters' \(allowed: count, filter, on, resource, same\)"
    with pytest.raises(PolicyError, match=allowed):
        make_policy(BODY.replace("KEY", "filters"))
