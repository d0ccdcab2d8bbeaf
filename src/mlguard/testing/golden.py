"""Golden tests for policies: a small inventory fixture and the expected status of each resource.

A case is a folder holding ``inventory.yaml`` and ``expected.yaml``::

    # inventory.yaml                          # expected.yaml
    resources:                                PASS: [arn:...:good]
      - uid: arn:...:good                     FAIL: [arn:...:bad]
        type: aws.sagemaker.notebook_instance ERROR: []
        data: {direct_internet_access: Disabled}
    errors: []        # optional CollectionErrors
    coverage: []      # optional; default: every type in the fixture, in each resource's scope
    parameters: {}    # optional parameter overrides for the policy under test

A cost policy's case may add ``cost.yaml``: the monthly figures each FAIL must carry (``null``:
unknown), e.g. ``arn:...:bad: {gpu_hours_per_month: 730, node_hours_per_month: 730}``. Every
result that is not a FAIL must carry no cost.

Resources may omit ``provider``/``id`` (derived from the type and uid). Use
:func:`run_case` from your own tests to check policies you write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlguard.cost.figures import attach_costs
from mlguard.errors import InputError
from mlguard.model import Coverage, Inventory, Provenance, Result, Status
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import Policy, apply_parameters
from mlguard.yamlio import parse_yaml

# A fixed clock, so age-based policies have stable golden results.
GOLDEN_NOW = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass
class CaseOutcome:
    expected: dict[str, set[str]]
    actual: dict[str, set[str]]
    messages: dict[str, str]
    cost_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        same = all(self.expected.get(s, set()) == self.actual.get(s, set()) for s in self.expected)
        return same and not self.cost_problems

    def diff(self) -> str:
        lines = []
        for status in sorted(set(self.expected) | set(self.actual)):
            want, got = self.expected.get(status, set()), self.actual.get(status, set())
            for uid in sorted(want - got):
                lines.append(f"expected {status}, got other: {uid}: {self.messages.get(uid, '')}")
            if status in self.expected:
                for uid in sorted(got - want):
                    lines.append(f"unexpected {status}: {uid}: {self.messages.get(uid, '')}")
        return "\n".join(lines + self.cost_problems)


def load_case_inventory(case: Path) -> tuple[Inventory, dict[str, Any]]:
    raw = parse_yaml(case / "inventory.yaml", InputError).plain() or {}
    resources = []
    for item in raw.get("resources", []):
        r = dict(item)
        r.setdefault("provider", r["type"].split(".", 1)[0])
        r.setdefault("id", r["uid"].rsplit("/", 1)[-1])
        resources.append(r)
    inv = Inventory.model_validate(
        {
            "provenance": Provenance(version="golden", started_at="2026-06-01T00:00:00Z").model_dump(),
            "resources": resources,
            "errors": raw.get("errors", []),
            "coverage": raw.get("coverage", []),
        }
    )
    if "coverage" not in raw:
        seen = {
            Coverage(
                provider=r.provider,
                account=r.account,
                region=r.region,
                workspace=r.workspace,
                resource_type=r.type,
            )
            for r in inv.resources
        }
        seen |= {
            Coverage(provider=t.split(".", 1)[0], account=None, region=None, workspace=None, resource_type=t)
            for t in raw.get("covered_types", [])
        }
        inv.coverage = sorted(seen, key=lambda c: c.model_dump_json())
    return inv, raw.get("parameters", {})


def run_case(policy: Policy, case: Path) -> CaseOutcome:
    inventory, params = load_case_inventory(case)
    if params:
        (policy,) = apply_parameters([policy], {policy.id: params}, str(case / "inventory.yaml"))
    expected_raw = parse_yaml(case / "expected.yaml", InputError).plain() or {}
    expected = {k: set(v or []) for k, v in expected_raw.items()}
    unknown = set(expected) - {s.value for s in Status}
    if unknown:
        raise InputError(f"unknown status keys {sorted(unknown)}", file=str(case / "expected.yaml"))
    results = evaluate_inventory([policy], inventory, now=GOLDEN_NOW).results
    results = attach_costs(results, [policy], inventory)
    actual: dict[str, set[str]] = {}
    messages: dict[str, str] = {}
    for r in results:
        actual.setdefault(r.status.value, set()).add(r.resource_uid)
        messages[r.resource_uid] = r.message
    return CaseOutcome(expected, actual, messages, _cost_problems(case, results))


COST_FIGURES = ("gpu_hours_per_month", "node_hours_per_month", "usd_per_month")


def _cost_problems(case: Path, results: list[Result]) -> list[str]:
    problems = [
        f"unexpected cost on {r.status.value} {r.resource_uid}"
        for r in results
        if r.cost and r.status is not Status.FAIL
    ]
    path = case / "cost.yaml"
    if not path.is_file():
        return problems
    wanted: dict[str, dict[str, Any]] = parse_yaml(path, InputError).plain() or {}
    by_uid = {r.resource_uid: r for r in results}
    for uid, figures in wanted.items():
        r = by_uid.get(uid)
        if r is None or r.cost is None:
            problems.append(f"cost: expected a cost on {uid}, found none")
            continue
        for key, value in figures.items():
            if key not in COST_FIGURES:
                raise InputError(
                    f"{uid}.{key}: not a cost figure ({', '.join(COST_FIGURES)})", file=str(path)
                )
            got = getattr(r.cost, key)
            if got != value:
                problems.append(
                    f"cost: {uid} {key}: expected {value}, got {got} ({'; '.join(r.cost.unknown)})"
                )
    return problems
