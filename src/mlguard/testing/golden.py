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

Resources may omit ``provider``/``id`` (derived from the type and uid). Use
:func:`run_case` from your own tests to check policies you write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlguard.errors import InputError
from mlguard.model import Coverage, Inventory, Provenance, Status
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

    @property
    def ok(self) -> bool:
        return all(self.expected.get(s, set()) == self.actual.get(s, set()) for s in self.expected)

    def diff(self) -> str:
        lines = []
        for status in sorted(set(self.expected) | set(self.actual)):
            want, got = self.expected.get(status, set()), self.actual.get(status, set())
            for uid in sorted(want - got):
                lines.append(f"expected {status}, got other: {uid}: {self.messages.get(uid, '')}")
            if status in self.expected:
                for uid in sorted(got - want):
                    lines.append(f"unexpected {status}: {uid}: {self.messages.get(uid, '')}")
        return "\n".join(lines)


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
    actual: dict[str, set[str]] = {}
    messages: dict[str, str] = {}
    for r in results:
        actual.setdefault(r.status.value, set()).add(r.resource_uid)
        messages[r.resource_uid] = r.message
    return CaseOutcome(expected, actual, messages)
