"""Status rules, counting, fingerprints, waivers and baselines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from mlguard.config import WaiverSpec
from mlguard.model import CollectionError, Coverage, Result, ScanResult, Status, fingerprint
from mlguard.pipeline import evaluate as run_evaluate
from mlguard.policy.baseline import apply_baseline
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import Policy, PolicySet
from mlguard.policy.waivers import apply_waivers

from .conftest import ACCOUNT, REGION, inventory, res

MakePolicy = Callable[..., Policy]
NB = "aws.sagemaker.notebook_instance"


def test_listing_failure_yields_one_error_per_scope_never_silence(make_policy: MakePolicy) -> None:
    p = make_policy("assert: {path: root_access, op: eq, value: Disabled}\n", resource=NB)
    errors = [
        CollectionError(
            provider="aws",
            account=ACCOUNT,
            region="eu-west-1",
            resource_type=NB,
            operation="ListNotebookInstances",
            code="AccessDenied",
            message="denied",
        ),
        # a whole account that could not be entered (AssumeRole failed): every type there
        CollectionError(
            provider="aws",
            account="444455556666",
            operation="AssumeRole",
            code="AccessDenied",
            message="cannot assume",
        ),
        # another provider's failure must not affect AWS policies
        CollectionError(
            provider="databricks",
            workspace="dbc.example",
            operation="GET /api/2.0/x",
            code="PERMISSION_DENIED",
            message="no",
        ),
    ]
    results = evaluate_inventory(
        [p], inventory(res("n/ok", NB, data={"root_access": "Disabled"}), errors=errors)
    ).results
    by = {r.resource_uid: r for r in results}
    assert by["n/ok"].status is Status.PASS
    assert (
        by["unevaluable://aws/111122223333/eu-west-1/aws.sagemaker.notebook_instance"].status is Status.ERROR
    )
    assert by["unevaluable://aws/444455556666/aws.sagemaker.notebook_instance"].status is Status.ERROR
    assert (
        "AssumeRole (AccessDenied)"
        in by["unevaluable://aws/444455556666/aws.sagemaker.notebook_instance"].message
    )
    assert len(results) == 3


def test_type_not_collected_is_reported_not_run(make_policy: MakePolicy) -> None:
    p = make_policy("assert: {path: x, op: exists}\n", resource="aws.glue.job")
    out = evaluate_inventory([p], inventory(res("n/1", NB)))
    assert out.results == []
    assert [n.policy_id for n in out.not_run] == [p.id]
    assert "was not collected" in out.not_run[0].reason


def test_collected_but_empty_type_runs_with_no_results(make_policy: MakePolicy) -> None:
    p = make_policy("assert: {path: x, op: exists}\n", resource="aws.glue.job")
    cov = [Coverage(provider="aws", account=ACCOUNT, region=REGION, resource_type="aws.glue.job")]
    out = evaluate_inventory([p], inventory(coverage=cov))
    assert out.results == []
    assert out.not_run == []
    assert out.policies_run == 1


def test_counting_rule_one_result_per_policy_and_resource(make_policy: MakePolicy) -> None:
    ps = [
        make_policy("assert: {path: a, op: exists}\n", resource=NB),
        make_policy("where: {path: a, op: exists}\nassert: {path: a, op: eq, value: 1}\n", resource=NB),
    ]
    rs = [res(f"n/{i}", NB, data={"a": i} if i % 2 else {}) for i in range(10)]
    results = evaluate_inventory(ps, inventory(*rs)).results
    assert len(results) == 20
    assert len({(r.policy_id, r.resource_uid) for r in results}) == 20


def test_fingerprint_is_stable_and_distinct(make_policy: MakePolicy) -> None:
    p = make_policy("assert: {path: a, op: exists}\n", resource=NB)
    first = evaluate_inventory([p], inventory(res("n/1", NB), res("n/2", NB))).results
    second = evaluate_inventory([p], inventory(res("n/2", NB, data={"a": 1}), res("n/1", NB))).results
    fp1 = {r.resource_uid: r.fingerprint for r in first}
    fp2 = {r.resource_uid: r.fingerprint for r in second}
    assert fp1 == fp2
    assert fp1["n/1"] != fp1["n/2"]
    assert fp1["n/1"] == fingerprint(p.id, "n/1")
    assert fingerprint("a_b", "c") != fingerprint("a", "b_c")


def _fail(pid: str, uid: str) -> Result:
    from mlguard.model import Category, Severity

    return Result(
        policy_id=pid,
        resource_uid=uid,
        resource_type=NB,
        provider="aws",
        status=Status.FAIL,
        severity=Severity.HIGH,
        category=Category.SECURITY,
        title="t",
        message="m",
        fingerprint=fingerprint(pid, uid),
    )


def _waiver(policy: str, resource: str, expires: date, **kw: str) -> WaiverSpec:
    return WaiverSpec(
        policy=policy, resource=resource, reason="accepted risk", owner="ml-platform", expires=expires, **kw
    )


def test_waivers_unexpired_expired_and_stale() -> None:
    results = [
        _fail("sagemaker_x", "arn:nb/dev-1"),
        _fail("sagemaker_x", "arn:nb/prod"),
        _fail("s3_y", "arn:b"),
    ]
    waivers = [
        _waiver("sagemaker_*", "arn:nb/dev-*", date(2026, 12, 31), ticket="SEC-1"),
        _waiver("s3_y", "*", date(2026, 1, 1)),  # expired
        _waiver("glue_*", "*", date(2027, 1, 1), id="forgotten"),  # stale
    ]
    out, stale = apply_waivers(results, waivers, today=date(2026, 6, 1))
    by = {r.resource_uid: r for r in out}
    assert by["arn:nb/dev-1"].status is Status.WAIVED
    assert by["arn:nb/dev-1"].waiver is not None
    assert by["arn:nb/dev-1"].waiver.ticket == "SEC-1"
    assert by["arn:nb/prod"].status is Status.FAIL
    assert by["arn:nb/prod"].waiver is None
    assert by["arn:b"].status is Status.FAIL
    assert by["arn:b"].waiver is not None
    assert by["arn:b"].waiver.expired
    assert "expired on 2026-01-01" in by["arn:b"].message
    assert [s.id for s in stale] == ["forgotten"]


def test_waiver_never_hides_error_or_pass() -> None:
    r = _fail("p", "u").model_copy(update={"status": Status.ERROR})
    out, stale = apply_waivers([r], [_waiver("*", "*", date(2027, 1, 1))], today=date(2026, 6, 1))
    assert out[0].status is Status.ERROR
    assert len(stale) == 1


def test_baseline_marks_new_existing_and_fixed(tmp_path: Path) -> None:
    from mlguard.model import Provenance, Summary

    old = [_fail("p", "a"), _fail("p", "b")]
    previous = ScanResult(
        provenance=Provenance(version="x", started_at="2026-01-01T00:00:00Z"),
        results=old,
        summary=Summary.of(old, 2, 1, 0),
    )
    now = [_fail("p", "b"), _fail("p", "c")]
    out, info = apply_baseline(now, previous, tmp_path / "old.json")
    assert {r.resource_uid: r.baseline for r in out} == {"b": "existing", "c": "new"}
    assert info.fixed == [fingerprint("p", "a")]
    assert (info.new, info.existing) == (1, 1)


def test_pipeline_summary_reconciles(make_policy: MakePolicy) -> None:
    p = make_policy("where: {path: on, op: is_true}\nassert: {path: a, op: exists}\n", resource=NB)
    inv = inventory(
        res("n/1", NB, data={"on": True, "a": 1}),
        res("n/2", NB, data={"on": True}),
        res("n/3", NB, data={"on": False}),
    )
    scan = run_evaluate(inv, [p], PolicySet({p.id: p}, {}))
    assert scan.summary.total == len(scan.results) == 3
    assert scan.summary.by_status == {"PASS": 1, "FAIL": 1, "ERROR": 0, "SKIP": 1, "WAIVED": 0}
    assert sum(sum(v.values()) for v in scan.summary.by_severity.values()) == 3
    assert scan.policies[0].id == p.id
