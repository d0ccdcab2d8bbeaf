"""Results share their record of the fields given (memory at 100k resources), and stay apart."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from mlguard.model import Category, Evidence, Result, Severity, Status, WaiverRef, fingerprint
from mlguard.policy.evaluator import InventoryIndex, evaluate_inventory
from mlguard.policy.loader import Policy

from .conftest import inventory, res


def test_results_share_the_fields_set_yet_a_copy_changes_only_its_own(
    make_policy: Callable[..., Policy],
) -> None:
    p = make_policy("assert: {path: kms_key_id, op: exists}\n")
    first, second = evaluate_inventory([p], inventory(res("e/a"), res("e/b"))).results
    assert first.model_fields_set is second.model_fields_set  # one set, not one per result
    assert first.evidence.model_fields_set is second.evidence.model_fields_set
    before = set(second.model_fields_set)
    waiver = WaiverRef(id="w1", reason="accepted", owner="sec", expires="2099-01-01")
    waived = first.model_copy(update={"status": Status.WAIVED, "waiver": waiver})
    assert "waiver" in waived.model_fields_set
    assert second.model_fields_set == before == first.model_fields_set
    assert "waiver" not in first.model_dump(exclude_unset=True)
    assert waived.model_dump(exclude_unset=True)["waiver"]["id"] == "w1"


def _same_model(built: BaseModel, validated: BaseModel) -> None:
    assert built == validated
    assert list(built.__dict__) == list(validated.__dict__)  # every field, in declared order
    assert built.model_fields_set == validated.model_fields_set
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.__pydantic_extra__ is validated.__pydantic_extra__
    assert built.__pydantic_private__ is validated.__pydantic_private__


def test_results_built_without_validation_are_the_validated_models(
    make_policy: Callable[..., Policy],
) -> None:
    p = make_policy(
        "where: {path: state, op: eq, value: on}\n"
        "assert: {all: [{path: kms_key_id, op: exists}, {path: size, op: ge, value: 2}]}\n"
    )
    resources = [
        res("e/pass", data={"state": "on", "kms_key_id": "k", "size": 3}),
        res("e/fail", data={"state": "on", "size": 1}),
        res("e/error", data={"state": "on", "kms_key_id": "k"}),
        res("e/skip", data={"state": "off"}, collected_at="2026-01-01T00:00:00Z"),
    ]
    results = evaluate_inventory([p], inventory(*resources)).results
    assert [r.status for r in results] == [Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP]
    for r in results:
        given = {k: getattr(r, k) for k in r.model_fields_set if k != "evidence"}
        evidence = r.evidence
        again = Evidence(**{k: getattr(evidence, k) for k in evidence.model_fields_set})
        _same_model(evidence, again)
        _same_model(r, Result(**given, evidence=again))
    direct = Result.built(
        policy_id="p",
        resource_uid="u",
        resource_type="aws.s3.bucket",
        resource_name=None,
        provider="aws",
        account=None,
        region="eu-west-1",
        workspace=None,
        status=Status.FAIL,
        severity=Severity.HIGH,
        category=Category.SECURITY,
        title="t",
        message="m",
        evidence=Evidence.built({"a.b": [1, "x"]}, None, ["r1"]),
        compliance=["cis:1.1"],
    )
    validated = Result(
        policy_id="p",
        resource_uid="u",
        resource_type="aws.s3.bucket",
        resource_name=None,
        provider="aws",
        account=None,
        region="eu-west-1",
        workspace=None,
        status="FAIL",
        severity="high",
        category="security",
        title="t",
        message="m",
        evidence={"values": {"a.b": [1, "x"]}, "collected_at": None, "related": ["r1"]},
        fingerprint=fingerprint("p", "u"),
        compliance=["cis:1.1"],
    )
    _same_model(direct, validated)


def test_documents_of_a_type_no_policy_still_reads_are_dropped_and_rebuilt_the_same() -> None:
    r = res("e/a", data={"kms_key_id": "k"})
    index = InventoryIndex(inventory(r))
    doc = index.document(r)
    assert index.document(r) is doc  # built once per resource
    index.forget_documents("aws.s3.bucket")  # another type: kept
    assert index.document(r) is doc
    index.forget_documents(r.type)
    again = index.document(r)
    assert again is not doc
    assert again == doc


def test_equal_evidence_and_messages_of_a_policy_are_held_once_and_told_apart_by_type(
    make_policy: Callable[..., Policy],
) -> None:
    p = make_policy("assert: {path: size, op: eq, value: 1}\n")
    sizes: list[object] = [2, 2, True, 1, 1, 0.0, -0.0]
    resources = [res(f"e/{i}", data={"size": size}) for i, size in enumerate(sizes)]
    results = evaluate_inventory([p], inventory(*resources)).results
    assert [r.evidence.values["size"] for r in results] == sizes
    assert [type(r.evidence.values["size"]) for r in results] == [type(s) for s in sizes]
    two, two_again, true, one, one_again, zero, minus_zero = results
    assert two.evidence is two_again.evidence
    assert two.message is two_again.message
    assert one.evidence is one_again.evidence
    assert true.evidence is not one.evidence  # true == 1, but prints apart
    assert zero.evidence is not minus_zero.evidence  # floats are never shared: -0.0 == 0.0
    assert [r.model_dump()["evidence"]["values"]["size"] for r in (zero, minus_zero)] == [0.0, -0.0]
    assert str(minus_zero.evidence.values["size"]) == "-0.0"
    assert two.compliance is one.compliance  # one list per policy
