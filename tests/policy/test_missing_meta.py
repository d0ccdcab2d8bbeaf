"""Meta-test: no shipped policy turns missing data into PASS.

For every built-in policy and every resource of its type in its golden cases, each attribute the
policy reads is deleted, then set to null (at the resource level, and inside the elements of a
quantified list). The mutated resource may come out ERROR, FAIL or SKIP, but never PASS unless it
already passed with the attribute present (another branch of an ``any`` decides it). Attributes a
policy reads only through an explicit presence operator (exists, absent, empty, not_empty), an
``if_missing`` or a ``||`` default are its stated decision about absence and are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlguard.model import Inventory, Status
from mlguard.policy.conditions import AllOf, AnyOf, Condition, Join, Leaf, Not, Quantifier, root_field
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import Policy, apply_parameters, builtin_policy_dir, load_policy, load_policy_set
from mlguard.testing.golden import GOLDEN_NOW, load_case_inventory

GOLDEN = Path(__file__).parents[1] / "golden"
POLICY_SET = load_policy_set([(builtin_policy_dir(), "builtin")])
ENVELOPE = {"uid", "type", "provider", "id", "name", "account", "region", "workspace", "tags"}


@dataclass
class Reads:
    """Root data keys a condition reads at one level: the resource, or the elements of a list."""

    keys: set[str] = field(default_factory=set)
    explicit: set[str] = field(default_factory=set)  # absence decided by the policy itself
    lists: dict[str, Reads] = field(default_factory=dict)  # quantified list key -> element reads


def _collect(cond: Condition, reads: Reads) -> None:
    if isinstance(cond, Leaf):
        key = root_field(cond.path)
        if key is None or key == "@":
            return
        reads.keys.add(key)
        if cond.op.presence or cond.if_missing is not None or "||" in cond.path:
            reads.explicit.add(key)
    elif isinstance(cond, AllOf | AnyOf):
        for c in cond.items:
            _collect(c, reads)
    elif isinstance(cond, Not):
        _collect(cond.item, reads)
    elif isinstance(cond, Quantifier):
        key = root_field(cond.path)
        if key is None:
            return
        reads.keys.add(key)
        if cond.if_missing is not None or "||" in cond.path:
            reads.explicit.add(key)
        if key == cond.path:  # a plain list key: its elements can be mutated too
            _collect(cond.satisfy, reads.lists.setdefault(key, Reads()))
    elif isinstance(cond, Join):
        for on in cond.on:
            key = root_field(on.subject)
            if key is not None:
                reads.keys.add(key)


def policy_reads(policy: Policy) -> Reads:
    reads = Reads()
    for root in (policy.where, policy.assert_):
        if root is not None:
            _collect(root, reads)
    return reads


def _cases(policy_id: str) -> list[Path]:
    pdir = GOLDEN / policy_id
    if not pdir.is_dir():
        return []
    cases = [pdir] if (pdir / "inventory.yaml").is_file() else []
    return cases + [c for c in sorted(pdir.iterdir()) if (c / "inventory.yaml").is_file()]


def _mutations(reads: Reads) -> Iterator[tuple[str, str | None, str, bool]]:
    """(list key or None, attribute, label, delete?) for every mutation to try."""
    for key in sorted(reads.keys - reads.explicit - ENVELOPE):
        yield None, key, f"{key} deleted", True
        yield None, key, f"{key} null", False
    for lkey, inner in sorted(reads.lists.items()):
        for key in sorted(inner.keys - inner.explicit):
            yield lkey, key, f"{lkey}[*].{key} deleted", True
            yield lkey, key, f"{lkey}[*].{key} null", False


def _mutate(data: dict[str, Any], lkey: str | None, key: str, delete: bool) -> dict[str, Any] | None:
    out = dict(data)
    if lkey is None:
        if key not in out:
            return None
        if delete:
            del out[key]
        else:
            out[key] = None
        return out
    items = out.get(lkey)
    if not isinstance(items, list) or not any(isinstance(i, dict) and key in i for i in items):
        return None
    new: list[Any] = []
    for item in items:
        if isinstance(item, dict) and key in item:
            changed = dict(item)
            if delete:
                del changed[key]
            else:
                changed[key] = None
            new.append(changed)
        else:
            new.append(item)
    out[lkey] = new
    return out


ALL = "every attribute it reads without an explicit rule deleted"


def _all_at_once(reads: Reads) -> list[tuple[str | None, str, str, bool]]:
    """Each single mutation, then all deletions together (one branch may hide another)."""
    single = list(_mutations(reads))
    return [*single, (None, "", ALL, True)] if single else []


def _strip(data: dict[str, Any], reads: Reads) -> dict[str, Any] | None:
    out: dict[str, Any] | None = None
    for lkey, key, _, delete in _mutations(reads):
        if delete:
            out = _mutate(out if out is not None else data, lkey, key, delete) or out
    return out


def _statuses(policy: Policy, inventory: Inventory) -> dict[str, Status]:
    results = evaluate_inventory([policy], inventory, now=GOLDEN_NOW).results
    return {r.resource_uid: r.status for r in results}


def _policies() -> list[str]:
    return sorted(pid for pid in POLICY_SET.policies if _cases(pid))


def missing_data_passes(policy: Policy, cases: list[Path]) -> list[str]:
    """Every (resource, mutation) where deleting or nulling an attribute the policy reads made PASS."""
    reads = policy_reads(policy)
    problems: list[str] = []
    for case in cases:
        inventory, params = load_case_inventory(case)
        judged = policy
        if params:
            (judged,) = apply_parameters([policy], {policy.id: params}, str(case))
        before = _statuses(judged, inventory)
        for index, resource in enumerate(inventory.resources):
            if resource.type != judged.resource:
                continue
            for lkey, key, label, delete in _all_at_once(reads):
                if label == ALL:
                    data = _strip(resource.data, reads)
                else:
                    data = _mutate(resource.data, lkey, key, delete)
                if data is None:
                    continue
                resources = list(inventory.resources)
                resources[index] = resource.model_copy(update={"data": data})
                after = _statuses(judged, inventory.model_copy(update={"resources": resources}))
                was, now = before.get(resource.uid), after.get(resource.uid)
                if now is Status.PASS and was is not Status.PASS:
                    problems.append(f"{case.name}: {resource.uid}: {label}: {was} -> PASS")
    return problems


@pytest.mark.parametrize("policy_id", _policies())
def test_missing_attributes_never_pass(policy_id: str) -> None:
    problems = missing_data_passes(POLICY_SET.policies[policy_id], _cases(policy_id))
    assert not problems, "missing data made a resource PASS:\n" + "\n".join(problems)


def test_the_meta_test_reaches_most_policies() -> None:
    # Every policy reads something; those with nothing to mutate decide absence explicitly for every
    # attribute they read (presence operators, if_missing) or read only the envelope. The floor keeps
    # the meta-test from silently mutating nothing.
    ids = _policies()
    assert len(ids) == len(POLICY_SET.policies), "every policy has a golden case"
    reads = {pid: policy_reads(POLICY_SET.policies[pid]) for pid in ids}
    assert all(r.keys for r in reads.values())
    mutated = [pid for pid in ids if list(_mutations(reads[pid]))]
    assert len(mutated) >= 0.6 * len(ids)


def test_a_policy_that_passes_on_absence_is_caught(tmp_path: Path) -> None:
    """The check bites: under the old semantics ``ne`` on a missing value passed, here it is ERROR."""
    path = tmp_path / "probe_ne.yaml"
    path.write_text(
        "title: Probe policy for the meta-test\ndescription: ne on an attribute that may be missing.\n"
        "severity: low\ncategory: security\nresource: aws.sagemaker.notebook_instance\n"
        "assert: {path: direct_internet_access, op: ne, value: true}\n"
        "remediation: {text: Nothing to remediate here.}\n",
        encoding="utf-8",
    )
    policy = load_policy(path, "test")
    case = GOLDEN / "sagemaker_notebook_direct_internet_disabled"
    assert policy_reads(policy).keys == {"direct_internet_access"}
    assert missing_data_passes(policy, [case]) == []
    inventory, _ = load_case_inventory(case)
    public = next(r for r in inventory.resources if r.uid.endswith("/public"))
    data = _mutate(public.data, None, "direct_internet_access", delete=True)
    resources = [public.model_copy(update={"data": data}) if r is public else r for r in inventory.resources]
    after = _statuses(policy, inventory.model_copy(update={"resources": resources}))
    assert after[public.uid] is Status.ERROR
