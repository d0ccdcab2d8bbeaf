"""Semantics of missing, unread and malformed data: unknown is ERROR, never PASS or SKIP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlguard.errors import ConfigError, PolicyError
from mlguard.model import CollectionError, Result, Status
from mlguard.policy import evaluator
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import Policy, apply_parameters
from mlguard.policy.operators import OPERATORS

from .conftest import ACCOUNT, REGION, inventory, res

MakePolicy = Callable[..., Policy]
EC2 = "aws.ec2.instance"

# one literal per value operator that the operator accepts
VALUE_OF: dict[str, Any] = {
    "in": ["a"],
    "not_in": ["a"],
    "intersects": ["a"],
    "subset_of": ["a"],
    "contains_all": ["a"],
    "lt": 1,
    "le": 1,
    "gt": 1,
    "ge": 1,
    "older_than_days": 1,
    "newer_than_days": 1,
    "cidr_within": "10.0.0.0/8",
    "cidr_contains": "10.0.0.1",
}


def results(policy: Policy, *resources: Any, **kw: Any) -> dict[str, Result]:
    return {r.resource_uid: r for r in evaluate_inventory([policy], inventory(*resources, **kw)).results}


def _leaf(op: str, extra: str = "") -> str:
    if not OPERATORS[op].takes_value:
        return f"assert: {{path: x, op: {op}{extra}}}\n"
    value = VALUE_OF.get(op, "a")
    return f"assert: {{path: x, op: {op}, value: {value!r}{extra}}}\n".replace("'", '"')


def _denied(uid: str, *attributes: str) -> CollectionError:
    """DescribeEndpoint denied for one endpoint: ``attributes`` of it were not read."""
    return CollectionError(
        provider="aws",
        account=ACCOUNT,
        region=REGION,
        resource_type="aws.sagemaker.endpoint",
        operation="sagemaker:DescribeEndpoint",
        code="AccessDenied",
        message="no",
        resource_uid=uid,
        attributes=list(attributes),
    )


@pytest.mark.parametrize("op", sorted(n for n, o in OPERATORS.items() if not o.presence))
def test_every_value_operator_on_an_absent_value_is_error(op: str, make_policy: MakePolicy) -> None:
    p = make_policy(_leaf(op))
    got = results(p, res("e/missing", data={}), res("e/null", data={"x": None}))
    for uid in ("e/missing", "e/null"):
        assert got[uid].status is Status.ERROR, (op, got[uid].message)
        assert "attribute x is absent" in got[uid].message


@pytest.mark.parametrize(
    ("op", "status"),
    [("exists", Status.FAIL), ("absent", Status.PASS), ("empty", Status.PASS), ("not_empty", Status.FAIL)],
)
def test_presence_operators_decide_absence(op: str, status: Status, make_policy: MakePolicy) -> None:
    p = make_policy(_leaf(op))
    got = results(p, res("e/missing", data={}), res("e/null", data={"x": None}))
    assert {r.status for r in got.values()} == {status}


def test_negated_operators_no_longer_pass_on_absence(make_policy: MakePolicy) -> None:
    for body in (
        "assert: {path: x, op: ne, value: bad}\n",
        "assert: {path: x, op: not_in, value: [bad]}\n",
        "assert: {path: x, op: not_contains, value: bad}\n",
        "assert: {path: x, op: not_regex, value: bad}\n",
        "assert: {not: {path: x, op: eq, value: bad}}\n",
        "assert: {path: x, op: is_false}\n",
    ):
        p = make_policy(body)
        assert results(p, res("e/1", data={}))["e/1"].status is Status.ERROR, body


def test_if_missing_states_the_platform_default(make_policy: MakePolicy) -> None:
    passes = make_policy("assert: {path: x, op: ne, value: PAUSED, if_missing: pass}\n")
    fails = make_policy("assert: {path: x, op: is_true, if_missing: fail}\n")
    rs = [res("e/missing", data={}), res("e/null", data={"x": None}), res("e/set", data={"x": True})]
    assert {u: r.status for u, r in results(passes, *rs).items()} == {
        "e/missing": Status.PASS,
        "e/null": Status.PASS,
        "e/set": Status.PASS,
    }
    got = results(fails, *rs)
    assert {u: r.status for u, r in got.items()} == {
        "e/missing": Status.FAIL,
        "e/null": Status.FAIL,
        "e/set": Status.PASS,
    }
    assert "if_missing: fail" in got["e/missing"].message


def test_if_missing_never_covers_a_value_that_was_not_read(make_policy: MakePolicy) -> None:
    p = make_policy("assert: {path: x, op: ne, value: bad, if_missing: pass}\n")
    denied = _denied("e/denied", "x")
    got = results(p, res("e/denied", data={}), errors=[denied])
    assert got["e/denied"].status is Status.ERROR
    assert "attribute x was not read (sagemaker:DescribeEndpoint: AccessDenied)" in got["e/denied"].message


def test_if_missing_on_a_presence_operator_is_a_load_error(make_policy: MakePolicy) -> None:
    with pytest.raises(PolicyError) as info:
        make_policy("assert:\n  path: x\n  op: exists\n  if_missing: pass\n")
    assert info.value.line == 10
    assert "if_missing does not apply" in info.value.message
    with pytest.raises(PolicyError, match="if_missing"):
        make_policy("assert: {path: x, op: eq, value: 1, if_missing: maybe}\n")


def test_quantifier_over_an_absent_list(make_policy: MakePolicy) -> None:
    every = make_policy("assert: {every: v, satisfy: {path: n, op: gt, value: 1}}\n")
    lenient = make_policy("assert: {every: v, satisfy: {path: n, op: gt, value: 1}, if_missing: pass}\n")
    some = make_policy("assert: {some: v, satisfy: {path: n, op: gt, value: 1}, if_empty: pass}\n")
    rs = [
        res("e/missing", data={}),
        res("e/null", data={"v": None}),
        res("e/empty", data={"v": []}),
        res("e/elem-missing", data={"v": [{"n": 2}, {}]}),
        res("e/scalar", data={"v": "not a list"}),
    ]
    assert {u: r.status for u, r in results(every, *rs).items()} == {
        "e/missing": Status.ERROR,
        "e/null": Status.ERROR,
        "e/empty": Status.PASS,  # if_empty default for every
        "e/elem-missing": Status.ERROR,  # v[1].n is absent
        "e/scalar": Status.ERROR,  # malformed: not a list
    }
    got = results(lenient, *rs)
    assert got["e/missing"].status is Status.PASS
    assert got["e/null"].status is Status.PASS
    assert "v[1].n is absent" in got["e/elem-missing"].message
    assert results(some, res("e/missing", data={}))["e/missing"].status is Status.ERROR
    denied = _denied("e/denied", "v")
    assert results(lenient, res("e/denied"), errors=[denied])["e/denied"].status is Status.ERROR


def test_where_that_is_unknown_is_error_never_skip(make_policy: MakePolicy) -> None:
    p = make_policy(
        "where: {path: status, op: eq, value: InService}\nassert: {path: ok, op: is_true, if_missing: fail}\n"
    )
    denied = _denied("e/denied", "status")
    got = results(
        p,
        res("e/absent", data={}),
        res("e/malformed", data={"status": float("nan")}),
        res("e/denied", data={}),
        res("e/off", data={"status": "Deleting"}),
        errors=[denied],
    )
    assert {u: r.status for u, r in got.items()} == {
        "e/absent": Status.ERROR,
        "e/malformed": Status.ERROR,
        "e/denied": Status.ERROR,
        "e/off": Status.SKIP,
    }
    assert got["e/absent"].message.startswith("could not decide applicability")


def test_a_scope_wide_attribute_error_blocks_those_attributes_in_that_scope(make_policy: MakePolicy) -> None:
    gpu = make_policy(
        "where: {path: is_gpu, op: is_true}\nassert: {path: gpu.count, op: le, value: 4}\n", resource=EC2
    )
    other = make_policy("assert: {path: state, op: eq, value: running}\n", resource=EC2)
    batch = CollectionError(
        provider="aws",
        account=ACCOUNT,
        region="eu-west-1",
        resource_type=EC2,
        operation="ec2:DescribeInstanceTypes",
        code="Throttling",
        message="rate exceeded",
        attributes=["gpu", "is_gpu"],
    )
    rs = [
        res("i/x1", EC2, region="eu-west-1", data={"state": "running"}),
        res("i/x2", EC2, region="eu-west-1", data={"state": "running", "is_gpu": False}),
        res("i/home", EC2, data={"state": "running", "is_gpu": True, "gpu": {"count": 8}}),
    ]
    got = results(gpu, *rs, errors=[batch])
    # the listing worked: no per-scope "unevaluable" result, one result per instance
    assert set(got) == {"i/x1", "i/x2", "i/home"}
    assert got["i/x1"].status is Status.ERROR
    assert got["i/x2"].status is Status.ERROR  # even a value that is present was not really read
    assert "ec2:DescribeInstanceTypes: Throttling in aws/111122223333/eu-west-1" in got["i/x1"].message
    assert got["i/home"].status is Status.FAIL
    # policies that do not read the blocked attributes are untouched
    assert {u: r.status for u, r in results(other, *rs, errors=[batch]).items()} == dict.fromkeys(
        ("i/x1", "i/x2", "i/home"), Status.PASS
    )


def test_parameters_are_checked_against_their_operator_at_load(make_policy: MakePolicy) -> None:
    bad_regex = (
        "parameters:\n  pattern: {type: string, default: '(a)\\1', description: A pattern to match.}\n"
        "assert:\n  path: name\n  op: regex\n  param: pattern\n"
    )
    with pytest.raises(PolicyError) as info:
        make_policy(bad_regex)
    assert info.value.line == 12
    assert "assert.param: parameter 'pattern': invalid regular expression" in info.value.message
    not_a_list = (
        "parameters:\n  allowed: {type: string, default: x, description: Allowed values here.}\n"
        "assert: {path: name, op: in, param: allowed}\n"
    )
    with pytest.raises(PolicyError, match="needs a list value"):
        make_policy(not_a_list)
    ok = make_policy(
        "parameters:\n  pattern: {type: string, default: '^ml-', description: A pattern to match.}\n"
        "assert: {path: name, op: regex, param: pattern}\n"
    )
    with pytest.raises(ConfigError) as cfg:
        apply_parameters([ok], {ok.id: {"pattern": "(?<=x)y"}}, "mlguard.yaml", lambda _: 7)
    assert cfg.value.line == 7
    assert "invalid regular expression" in cfg.value.message


def test_patterns_re2_cannot_compile_are_rejected_at_load(make_policy: MakePolicy) -> None:
    with pytest.raises(PolicyError) as info:
        make_policy("assert:\n  path: name\n  op: not_regex\n  value: '(\\w+)\\s\\1'\n")
    assert info.value.line == 10
    assert "RE2 syntax" in info.value.message


def test_catastrophic_pattern_evaluates(make_policy: MakePolicy) -> None:
    p = make_policy("assert: {path: name, op: regex, value: '^(a+)+$'}\n")
    got = results(p, res("e/long", name="a" * 50_000 + "!"), res("e/ok", name="aaaa"))
    assert got["e/long"].status is Status.FAIL
    assert got["e/ok"].status is Status.PASS


@pytest.mark.parametrize(
    ("body", "bad", "good", "reason"),
    [
        ("assert: {path: n, op: le, value: 5}\n", {"n": float("nan")}, {"n": 1}, "not a finite number"),
        ("assert: {path: n, op: eq, value: 5}\n", {"n": float("inf")}, {"n": 5}, "not a finite number"),
        ("assert: {path: t, op: newer_than_days, value: 30}\n", {"t": 10**30}, {"t": 0}, "needs a timestamp"),
        ("assert: {path: t, op: older_than_days, value: 30}\n", {"t": "31/12/2026"}, {"t": 0}, "timestamp"),
        ("assert: {path: a.b, op: eq, value: 1}\n", {"a": [{"b": 1}]}, {"a": {"b": 1}}, "expected an object"),
        ("assert: {path: n, op: gt, value: 1}\n", {"n": "7"}, {"n": 7}, "cannot compare a string"),
        ("assert: {path: 'length(n)', op: gt, value: 1}\n", {"n": 7}, {"n": [1, 2]}, "length"),
    ],
)
def test_a_malformed_value_is_one_error(
    body: str, bad: dict[str, Any], good: dict[str, Any], reason: str, make_policy: MakePolicy
) -> None:
    p = make_policy(body)
    got = results(p, res("e/bad", data=bad), res("e/next", data=good))
    assert got["e/bad"].status is Status.ERROR
    assert "is malformed" in got["e/bad"].message
    assert reason in got["e/bad"].message
    assert got["e/next"].status is not Status.ERROR  # the rest of the evaluation goes on


def test_an_internal_error_is_one_error_naming_the_policy(
    make_policy: MakePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = make_policy("assert: {path: x, op: eq, value: 1}\n")
    real = evaluator._evaluate_resource

    def flaky(policy: Policy, r: Any, *rest: Any) -> Result:
        if r.uid == "e/boom":
            raise ZeroDivisionError("division by zero")
        return real(policy, r, *rest)

    monkeypatch.setattr(evaluator, "_evaluate_resource", flaky)
    got = results(p, res("e/boom", data={"x": 1}), res("e/fine", data={"x": 1}))
    assert got["e/boom"].status is Status.ERROR
    assert f"could not evaluate policy {p.id}" in got["e/boom"].message
    assert "ZeroDivisionError" in got["e/boom"].message
    assert got["e/fine"].status is Status.PASS


def test_a_join_on_an_absent_key_is_unknown_not_zero(make_policy: MakePolicy, tmp_path: Path) -> None:
    p = make_policy(
        "assert:\n  join:\n    resource: aws.kms.key\n    on: [{related: uid, subject: kms_key_id}]\n"
        "    count: {eq: 0}\n"
    )
    got = results(p, res("e/none", data={}), res("k/1", "aws.kms.key"))
    assert got["e/none"].status is Status.ERROR
    assert "join key" in got["e/none"].message


def test_a_join_whose_related_keys_were_not_read_is_unknown(make_policy: MakePolicy) -> None:
    alarm = "aws.cloudwatch.alarm"
    p = make_policy(
        "assert:\n  join:\n    resource: aws.cloudwatch.alarm\n"
        "    on: [{related: endpoint_name, subject: name}]\n"
    )

    def err(attributes: list[str], uid: str | None = None) -> CollectionError:
        return CollectionError(
            provider="aws",
            account=ACCOUNT,
            region=REGION,
            resource_type=alarm,
            operation="cloudwatch:DescribeAlarms",
            code="Throttling",
            message="slow down",
            resource_uid=uid,
            attributes=attributes,
        )

    rs = [res("e/lonely", name="lonely"), res("a/1", alarm, data={"endpoint_name": "other"})]
    # the alarms' dimensions were not read for the scope, or for one alarm: a match may be hidden
    assert results(p, *rs, errors=[err(["endpoint_name"])])["e/lonely"].status is Status.ERROR
    assert results(p, *rs, errors=[err(["endpoint_name"], "a/1")])["e/lonely"].status is Status.ERROR
    # an unread attribute the join does not use changes nothing
    assert results(p, *rs, errors=[err(["actions"])])["e/lonely"].status is Status.FAIL


def test_a_malformed_related_join_key_is_unknown(make_policy: MakePolicy) -> None:
    p = make_policy(
        "assert:\n  join:\n    resource: aws.cloudwatch.alarm\n"
        "    on: [{related: dimensions.EndpointName, subject: name}]\n"
    )
    rs = [res("e/x", name="x"), res("a/1", "aws.cloudwatch.alarm", data={"dimensions": ["EndpointName"]})]
    got = results(p, *rs)["e/x"]
    assert got.status is Status.ERROR
    assert "aws.cloudwatch.alarm dimensions.EndpointName is malformed" in got.message


def test_comparing_with_null_is_a_load_error(make_policy: MakePolicy) -> None:
    with pytest.raises(PolicyError) as info:
        make_policy("assert:\n  path: x\n  op: ne\n  value: null\n")
    assert info.value.line == 10
    assert "use absent or exists" in info.value.message
