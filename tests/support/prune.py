"""What the pruning meta-tests of both providers share: a deterministic sample of the policies that
leave a call out, and a policy's outcomes in a comparable form."""

from __future__ import annotations

import os
from collections.abc import Mapping

from mlguard.model import Inventory
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import Policy

PER_TYPE = 3  # a deterministic sample: the first policies (by id) of each type; MLGUARD_PRUNE_META=all

Outcome = tuple[str, str, str, str]


def sample(ids: list[str], policies: Mapping[str, Policy]) -> list[str]:
    """The first :data:`PER_TYPE` of ``ids`` per resource type (every one with MLGUARD_PRUNE_META=all)."""
    if os.environ.get("MLGUARD_PRUNE_META") == "all":
        return ids
    taken: dict[str, int] = {}
    out = []
    for i in ids:
        rtype = policies[i].resource
        if taken.get(rtype, 0) < PER_TYPE:
            taken[rtype] = taken.get(rtype, 0) + 1
            out.append(i)
    return out


def outcomes(policy: Policy, inventory: Inventory) -> list[Outcome]:
    """Each resource's status, message and evidence values under ``policy``, sorted."""
    results = evaluate_inventory([policy], inventory).results
    return sorted((r.resource_uid, r.status.value, r.message, repr(r.evidence.values)) for r in results)
