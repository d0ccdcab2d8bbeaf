"""Every built-in policy has a golden case that shows it FAIL and PASS, and each case holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from mlguard.testing.golden import run_case

GOLDEN = Path(__file__).parent / "golden"
POLICY_SET = load_policy_set([(builtin_policy_dir(), "builtin")])


def _cases() -> list[tuple[str, Path]]:
    out = []
    for pdir in sorted(GOLDEN.iterdir()):
        if (pdir / "inventory.yaml").is_file():
            out.append((pdir.name, pdir))
        out += [(pdir.name, c) for c in sorted(pdir.iterdir()) if (c / "inventory.yaml").is_file()]
    return out


CASES = _cases()


@pytest.mark.parametrize(("policy_id", "case"), CASES, ids=[f"{p}/{c.name}" for p, c in CASES])
def test_golden_case(policy_id: str, case: Path) -> None:
    policy = POLICY_SET.policies.get(policy_id)
    assert policy is not None, f"golden case for unknown policy {policy_id}"
    outcome = run_case(policy, case)
    assert outcome.ok, outcome.diff()


@pytest.mark.parametrize("policy_id", sorted(POLICY_SET.policies))
def test_every_policy_has_a_failing_and_a_passing_golden_case(policy_id: str) -> None:
    cases = [c for p, c in CASES if p == policy_id]
    assert cases, f"{policy_id} has no golden case under tests/golden/{policy_id}"
    outcomes = [run_case(POLICY_SET.policies[policy_id], c) for c in cases]
    assert any(o.actual.get("FAIL") for o in outcomes), f"{policy_id}: no golden resource FAILs"
    assert any(o.actual.get("PASS") for o in outcomes), f"{policy_id}: no golden resource PASSes"
