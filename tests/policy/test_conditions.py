"""The policy language: leaves, combinators, quantifiers, joins, parameters, three-valued logic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlguard.errors import PolicyError
from mlguard.model import CollectionError, Coverage, Resource, Status
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import Policy, apply_parameters

from .conftest import ACCOUNT, REGION, inventory, res

MakePolicy = Callable[..., Policy]


def statuses(policy: Policy, *resources, **kw) -> dict[str, Status]:  # type: ignore[no-untyped-def]
    out = evaluate_inventory([policy], inventory(*resources, **kw)).results
    return {r.resource_uid: r.status for r in out}


def test_leaf_with_evidence_and_message(make_policy: MakePolicy) -> None:
    p = make_policy("assert: {path: kms_key_id, op: exists}\n")
    results = evaluate_inventory([p], inventory(res("e/ok", data={"kms_key_id": "k"}), res("e/bad"))).results
    by = {r.resource_uid: r for r in results}
    assert by["e/ok"].status is Status.PASS
    assert by["e/ok"].evidence.values == {"kms_key_id": "k"}
    assert by["e/bad"].status is Status.FAIL
    assert by["e/bad"].message == "kms_key_id exists (found null)"
    assert by["e/bad"].evidence.values == {"kms_key_id": None}


def test_all_any_not(make_policy: MakePolicy) -> None:
    p = make_policy(
        """
        assert:
          all:
            - any:
                - {path: a, op: eq, value: 1}
                - {path: b, op: eq, value: 1}
            - not: {path: c, op: is_true}
        """
    )
    got = statuses(
        p,
        res("e/a", data={"a": 1, "c": False}),
        res("e/b", data={"b": 1, "c": False}),
        res("e/neither", data={"a": 2, "b": 2, "c": False}),
        res("e/c", data={"a": 1, "c": True}),
        res("e/unknown", data={"a": 1}),
    )
    assert got == {
        "e/a": Status.PASS,
        "e/b": Status.PASS,
        "e/neither": Status.FAIL,
        "e/c": Status.FAIL,
        "e/unknown": Status.ERROR,  # c is absent: not (unknown) is unknown
    }


def test_where_skips(make_policy: MakePolicy) -> None:
    p = make_policy(
        """
        where: {path: endpoint_status, op: eq, value: InService}
        assert: {path: x, op: is_true}
        """
    )
    got = statuses(
        p,
        res("e/on", data={"endpoint_status": "InService", "x": True}),
        res("e/off", data={"endpoint_status": "Deleting"}),
    )
    assert got == {"e/on": Status.PASS, "e/off": Status.SKIP}


def test_quantifiers(make_policy: MakePolicy) -> None:
    every = make_policy("assert: {every: variants, satisfy: {path: count, op: gt, value: 1}}\n")
    some = make_policy("assert: {some: variants, satisfy: {path: count, op: gt, value: 1}}\n")
    none = make_policy("assert: {none: variants, satisfy: {path: count, op: gt, value: 1}}\n")
    strict = make_policy(
        "assert: {every: variants, satisfy: {path: count, op: gt, value: 1}, if_empty: fail}\n"
    )
    scalars = make_policy("assert: {every: names, satisfy: {path: '@', op: starts_with, value: ml-}}\n")
    rs = [
        res("e/all", data={"variants": [{"count": 2}, {"count": 3}]}),
        res("e/mixed", data={"variants": [{"count": 2}, {"count": 1}]}),
        res("e/low", data={"variants": [{"count": 1}]}),
        res("e/empty", data={"variants": []}),
    ]
    assert statuses(every, *rs) == {
        "e/all": Status.PASS,
        "e/mixed": Status.FAIL,
        "e/low": Status.FAIL,
        "e/empty": Status.PASS,
    }
    assert statuses(some, *rs) == {
        "e/all": Status.PASS,
        "e/mixed": Status.PASS,
        "e/low": Status.FAIL,
        "e/empty": Status.FAIL,
    }
    assert statuses(none, *rs) == {
        "e/all": Status.FAIL,
        "e/mixed": Status.FAIL,
        "e/low": Status.PASS,
        "e/empty": Status.PASS,
    }
    assert statuses(strict, *rs)["e/empty"] is Status.FAIL
    assert statuses(
        scalars, res("e/s", data={"names": ["ml-a", "ml-b"]}), res("e/t", data={"names": ["x"]})
    ) == {
        "e/s": Status.PASS,
        "e/t": Status.FAIL,
    }
    mixed = evaluate_inventory([every], inventory(rs[1])).results[0]
    assert "variants[1].count gt 1 (found 1)" in mixed.message


def test_parameters_default_and_override(make_policy: MakePolicy) -> None:
    p = make_policy(
        """
        parameters:
          max_minutes: {type: integer, default: 60, description: Longest allowed idle time.}
        assert: {path: autotermination_minutes, op: le, param: max_minutes}
        """
    )
    r = res("e/x", data={"autotermination_minutes": 90})
    assert statuses(p, r) == {"e/x": Status.FAIL}
    (relaxed,) = apply_parameters([p], {p.id: {"max_minutes": 120}}, "mlguard.yaml")
    assert statuses(relaxed, r) == {"e/x": Status.PASS}


ALARM = "aws.cloudwatch.alarm"


def _alarm(uid: str, endpoint: str, **kw) -> object:  # type: ignore[no-untyped-def]
    data = {
        "dimensions": [{"name": "EndpointName", "value": endpoint}],
        "actions": kw.pop("actions", ["sns"]),
    }
    return res(uid, ALARM, data=data, **kw)


JOIN = """
assert:
  join:
    resource: aws.cloudwatch.alarm
    on: [{related: "dimensions[?name=='EndpointName'].value", op: contains, subject: name}]
    filter: {path: actions, op: not_empty}
"""


def test_join_counts_related_resources(make_policy: MakePolicy) -> None:
    p = make_policy(JOIN)
    got = statuses(
        p,
        res("e/watched", name="watched"),
        res("e/silent", name="silent"),
        res("e/blind", name="blind"),
        _alarm("a/1", "watched"),
        _alarm("a/2", "silent", actions=[]),
    )
    assert got == {"e/watched": Status.PASS, "e/silent": Status.FAIL, "e/blind": Status.FAIL}


def test_join_respects_scope(make_policy: MakePolicy) -> None:
    p = make_policy(JOIN)
    got = statuses(
        p,
        res("e/here", name="ep"),
        res("e/other-account", name="ep", account="999999999999"),
        _alarm("a/1", "ep"),
        coverage=[
            Coverage(provider="aws", account=ACCOUNT, region=REGION, resource_type="aws.sagemaker.endpoint"),
            Coverage(
                provider="aws", account="999999999999", region=REGION, resource_type="aws.sagemaker.endpoint"
            ),
            Coverage(provider="aws", account=ACCOUNT, region=REGION, resource_type=ALARM),
            Coverage(provider="aws", account="999999999999", region=REGION, resource_type=ALARM),
        ],
    )
    assert got == {"e/here": Status.PASS, "e/other-account": Status.FAIL}


def test_join_is_error_when_related_type_not_collected(make_policy: MakePolicy) -> None:
    p = make_policy(JOIN)
    cov = [Coverage(provider="aws", account=ACCOUNT, region=REGION, resource_type="aws.sagemaker.endpoint")]
    results = evaluate_inventory([p], inventory(res("e/x", name="x"), coverage=cov)).results
    assert [r.status for r in results] == [Status.ERROR]
    assert "aws.cloudwatch.alarm was not collected" in results[0].message


def test_join_is_error_when_related_listing_failed(make_policy: MakePolicy) -> None:
    p = make_policy(JOIN)
    err = CollectionError(
        provider="aws",
        account=ACCOUNT,
        region=REGION,
        resource_type=ALARM,
        operation="DescribeAlarms",
        code="Throttling",
        message="Rate exceeded",
    )
    got = statuses(
        p, res("e/seen", name="seen"), res("e/unseen", name="unseen"), _alarm("a/1", "seen"), errors=[err]
    )
    # one alarm was seen, so "at least one" holds; for the other we cannot know
    assert got == {"e/seen": Status.PASS, "e/unseen": Status.ERROR}


def test_join_with_count_param_and_subject_from_resource(make_policy: MakePolicy) -> None:
    p = make_policy(
        """
        parameters:
          wanted: {type: integer, default: 1, description: Targets per variant.}
        assert:
          every: variants
          satisfy:
            join:
              resource: aws.applicationautoscaling.scalable_target
              on:
                - {related: endpoint_name, subject: name, subject_from: resource}
                - {related: variant_name, subject: variant_name}
              count: {ge: {param: wanted}}
        """
    )
    t = "aws.applicationautoscaling.scalable_target"
    got = statuses(
        p,
        res("e/a", name="a", data={"variants": [{"variant_name": "v1"}, {"variant_name": "v2"}]}),
        res("e/b", name="b", data={"variants": [{"variant_name": "v1"}]}),
        res("t/1", t, data={"endpoint_name": "a", "variant_name": "v1"}),
        res("t/2", t, data={"endpoint_name": "a", "variant_name": "v2"}),
        res("t/3", t, data={"endpoint_name": "c", "variant_name": "v1"}),
    )
    assert got["e/a"] is Status.PASS
    assert got["e/b"] is Status.FAIL


def test_unknown_propagates_through_combinators(make_policy: MakePolicy) -> None:
    p = make_policy(
        """
        assert:
          any:
            - {path: root_access, op: eq, value: Disabled}
            - {path: flag, op: is_true}
        """,
        resource="aws.sagemaker.notebook_instance",
    )
    denied = CollectionError(
        provider="aws",
        account=ACCOUNT,
        region=REGION,
        resource_type="aws.sagemaker.notebook_instance",
        operation="DescribeNotebookInstance",
        code="AccessDenied",
        message="no",
        resource_uid="n/x",
        attributes=["root_access"],
    )
    t = "aws.sagemaker.notebook_instance"
    got = statuses(
        p, res("n/x", t, data={"flag": False}), res("n/y", t, data={"flag": True}), errors=[denied]
    )
    # n/x: root_access unknown and flag false -> unknown -> ERROR, never FAIL or PASS
    assert got == {"n/x": Status.ERROR, "n/y": Status.PASS}
    # any() is satisfied by a known true branch even when another branch is unknown
    got2 = statuses(p, res("n/x", t, data={"flag": True}), errors=[denied])
    assert got2 == {"n/x": Status.PASS}


def test_join_where_on_an_unread_related_attribute_is_unknown(make_policy: MakePolicy) -> None:
    p = make_policy(JOIN)
    denied = CollectionError(
        provider="aws",
        account=ACCOUNT,
        region=REGION,
        resource_type=ALARM,
        operation="DescribeAlarms",
        code="AccessDenied",
        message="no",
        resource_uid="a/1",
        attributes=["actions"],
    )
    got = statuses(p, res("e/x", name="x"), _alarm("a/1", "x", actions=[]), errors=[denied])
    # the alarm's actions could not be read: whether it counts is unknown, so is the endpoint
    assert got == {"e/x": Status.ERROR}


def test_join_on_a_blocked_subject_attribute_is_unknown(make_policy: MakePolicy) -> None:
    t = "aws.sagemaker.notebook_instance"
    key = "aws.kms.key"
    p = make_policy(
        """
        assert:
          join:
            resource: aws.kms.key
            on: [{related: uid, subject: kms_key_id}]
            count: {eq: 0}
        """,
        resource=t,
    )
    denied = CollectionError(
        provider="aws",
        account=ACCOUNT,
        region=REGION,
        resource_type=t,
        operation="DescribeNotebookInstance",
        code="AccessDenied",
        message="no",
        resource_uid="n/denied",
        attributes=["kms_key_id"],
    )
    got = statuses(
        p,
        res("n/denied", t),
        res("n/plain", t),
        res("n/other", t, data={"kms_key_id": "k/2"}),
        res("n/keyed", t, data={"kms_key_id": "k/1"}),
        res("k/1", key),
        errors=[denied],
    )
    # without the key id, "no matching key" would wrongly PASS: the unseen join key makes it ERROR,
    # and so does an absent one (nothing to match on is not "zero matches")
    assert got == {
        "n/denied": Status.ERROR,
        "n/plain": Status.ERROR,
        "n/other": Status.PASS,
        "n/keyed": Status.FAIL,
    }


SG = "aws.ec2.security_group"
REQUIRED_JOIN = """
assert:
  every: security_group_ids
  satisfy:
    join:
      resource: aws.ec2.security_group
      on: [{related: group_id, subject: "@", required: true}]
      filter: {path: open, op: is_true}
      count: {eq: 0}
"""


def test_required_join_key_that_was_not_collected_is_unknown(make_policy: MakePolicy) -> None:
    p = make_policy(REQUIRED_JOIN, resource="aws.sagemaker.notebook_instance")
    nb = "aws.sagemaker.notebook_instance"
    results = evaluate_inventory(
        [p],
        inventory(
            res("n/closed", nb, data={"security_group_ids": ["sg-closed"]}),
            res("n/shared", nb, data={"security_group_ids": ["sg-closed", "sg-123"]}),
            res("n/open", nb, data={"security_group_ids": ["sg-123", "sg-open"]}),
            res("g/closed", SG, data={"group_id": "sg-closed", "open": False}),
            res("g/open", SG, data={"group_id": "sg-open", "open": True}),
        ),
    ).results
    got = {r.resource_uid: r for r in results}
    assert got["n/closed"].status is Status.PASS
    # sg-123 is attached but the (complete) listing did not return it: not "0 open groups"
    assert got["n/shared"].status is Status.ERROR
    assert "aws.ec2.security_group sg-123 was not collected" in got["n/shared"].message
    # a group that was seen and is open still fails, whatever the unseen one holds
    assert got["n/open"].status is Status.FAIL


def test_required_join_key_in_another_account_is_not_a_match(make_policy: MakePolicy) -> None:
    p = make_policy(REQUIRED_JOIN, resource="aws.sagemaker.notebook_instance")
    nb = "aws.sagemaker.notebook_instance"
    got = statuses(
        p,
        res("n/x", nb, data={"security_group_ids": ["sg-1"]}),
        res("g/1", SG, account="999999999999", data={"group_id": "sg-1", "open": False}),
        coverage=[
            Coverage(provider="aws", account=ACCOUNT, region=REGION, resource_type=nb),
            Coverage(provider="aws", account=ACCOUNT, region=REGION, resource_type=SG),
            Coverage(provider="aws", account="999999999999", region=REGION, resource_type=SG),
        ],
    )
    assert got == {"n/x": Status.ERROR}


def test_join_without_required_still_counts_an_unseen_key_as_zero(make_policy: MakePolicy) -> None:
    p = make_policy(REQUIRED_JOIN.replace(", required: true", ""), resource="aws.sagemaker.notebook_instance")
    nb = "aws.sagemaker.notebook_instance"
    got = statuses(
        p, res("n/x", nb, data={"security_group_ids": ["sg-1"]}), res("g/2", SG, data={"group_id": "sg-2"})
    )
    assert got == {"n/x": Status.PASS}


def test_required_must_be_a_boolean(make_policy: MakePolicy) -> None:
    with pytest.raises(PolicyError) as info:
        make_policy(REQUIRED_JOIN.replace("required: true", "required: yes please"))
    assert "required" in str(info.value)


CROSS_JOIN = """
assert:
  join:
    resource: aws.s3.bucket
    on: [{related: name, subject: s3_bucket, required: true}]
    filter: {path: public, op: is_false}
"""
EXT = "databricks.uc.external_location"
BUCKET = "aws.s3.bucket"
DBX_ACCOUNT = "0d26daa6-5e44-4c97-a497-ef015f91254a"


def _location(uid: str, bucket: str, **kw: Any) -> Resource:
    kw.setdefault("account", DBX_ACCOUNT)
    kw.setdefault("region", "us-west-2")
    return res(uid, EXT, workspace="dbc-a", data={"s3_bucket": bucket}, **kw)


def test_a_join_across_providers_relates_by_key_alone(make_policy: MakePolicy) -> None:
    """A Databricks account id, workspace and region mean nothing to an AWS bucket: only the key
    relates them; the bucket's account need not be the location's."""
    p = make_policy(CROSS_JOIN, resource=EXT)
    got = statuses(
        p,
        _location("l/private", "private-data"),
        _location("l/public", "public-data"),
        _location("l/unseen", "not-scanned"),
        res("b/private", BUCKET, name="private-data", data={"public": False}),
        res("b/public", BUCKET, name="public-data", region="eu-west-1", data={"public": True}),
    )
    assert got == {"l/private": Status.PASS, "l/public": Status.FAIL, "l/unseen": Status.ERROR}


def test_a_join_across_providers_is_not_run_when_the_other_provider_was_not_scanned(
    make_policy: MakePolicy,
) -> None:
    """A Databricks-only scan cannot judge the buckets under its locations: the policy is not run
    (listed with the reason), not one ERROR per location."""
    p = make_policy(CROSS_JOIN, resource=EXT)
    cov = [Coverage(provider="databricks", account=DBX_ACCOUNT, workspace="dbc-a", resource_type=EXT)]
    evaluated = evaluate_inventory([p], inventory(_location("l/x", "b"), coverage=cov))
    assert evaluated.results == []
    assert [(n.policy_id, n.reason) for n in evaluated.not_run] == [
        (p.id, "needs aws and databricks in the same scan (aws was not scanned)")
    ]


def test_a_join_across_providers_is_unknown_when_the_other_providers_type_failed(
    make_policy: MakePolicy,
) -> None:
    """AWS was scanned, but its bucket listing failed: unknown (ERROR), never not run."""
    p = make_policy(CROSS_JOIN, resource=EXT)
    cov = [Coverage(provider="databricks", account=DBX_ACCOUNT, workspace="dbc-a", resource_type=EXT)]
    err = CollectionError(
        provider="aws",
        account=ACCOUNT,
        region=REGION,
        resource_type=BUCKET,
        operation="ListBuckets",
        code="AccessDenied",
        message="denied",
    )
    evaluated = evaluate_inventory([p], inventory(_location("l/x", "b"), coverage=cov, errors=[err]))
    assert evaluated.not_run == []
    assert [r.status for r in evaluated.results] == [Status.ERROR]


def test_a_join_across_providers_sees_a_failed_listing_in_any_account(make_policy: MakePolicy) -> None:
    p = make_policy(CROSS_JOIN, resource=EXT)
    err = CollectionError(
        provider="aws",
        account="999999999999",
        region=REGION,
        resource_type=BUCKET,
        operation="ListBuckets",
        code="AccessDenied",
        message="denied",
    )
    got = statuses(p, _location("l/x", "elsewhere"), res("b/1", BUCKET, name="other"), errors=[err])
    assert got == {"l/x": Status.ERROR}


def test_a_join_across_providers_may_not_compare_scope_fields(make_policy: MakePolicy) -> None:
    with pytest.raises(PolicyError) as info:
        make_policy(CROSS_JOIN + "    same: [account]\n", resource=EXT)
    assert "crosses providers" in str(info.value)
    assert "assert.join.same" in str(info.value)
    # an explicit empty rule says the same thing as the default, and loads
    make_policy(CROSS_JOIN + "    same: []\n", resource=EXT)


def test_a_failed_join_says_why_each_related_resource_did_not_match(make_policy: MakePolicy) -> None:
    p = make_policy(CROSS_JOIN, resource=EXT)
    results = evaluate_inventory(
        [p],
        inventory(
            _location("l/public", "public-data"),
            res("b/public", BUCKET, name="public-data", data={"public": True}),
        ),
    ).results
    assert [r.status for r in results] == [Status.FAIL]
    assert "found 0" in results[0].message
    assert "public-data: public is_false (found true)" in results[0].message
