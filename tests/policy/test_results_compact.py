"""Results share their record of the fields given (memory at 100k resources), and stay apart."""

from __future__ import annotations

from collections.abc import Callable

from mlguard.model import Status, WaiverRef
from mlguard.policy.evaluator import evaluate_inventory
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
