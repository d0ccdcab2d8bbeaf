"""Collect only what the selected policies read.

A scan whose policy selection is narrower than every enabled policy needs only some fields of each
type it collects. :func:`scan_reads` names them (per type, the root data keys read by each selected
policy's ``where``, ``assert`` -- joins included -- and ``cost`` block); a provider leaves out the
detail calls and enrichments that supply none of them (see
:meth:`mlguard.collect.aws.spec.ResourceSpec.pruned` and, for Databricks detail routes,
:meth:`mlguard.collect.databricks.spec.ResourceSpec.pruned`) and records what that left unread on the
type's coverage, so anything that still evaluates such a field gets ERROR, never a pass.

Identity, scope, tags and GPU facts are always read, as is every field when a policy reads the
secret scrub's record or holds a path whose root field cannot be named. ``mlguard collect``, a scan
with ``--inventory-out``, ``--shard`` or ``--demo``, a scan of every enabled policy and
``--all-fields`` read everything, as before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from mlguard.fields import fields_read
from mlguard.policy.conditions import AllOf, AnyOf, Condition, Join, Leaf, Not, Quantifier, root_field
from mlguard.policy.loader import Policy

EVERYTHING = "*"  # in a type's reads: a path whose root cannot be named; nothing is left out


def policy_reads(policy: Policy) -> dict[str, set[str]]:
    """The root data keys ``policy`` reads, per type (its own and every type it joins to)."""
    conds: list[Condition] = [c for c in (policy.where, policy.assert_) if c is not None]
    out: dict[str, set[str]] = {t: set() for t in policy.required_types()}
    paths: list[tuple[str, str]] = []  # (type, path) read at the root of a resource
    if policy.cost is not None:
        cost = policy.cost
        if cost.each is not None:  # the other paths read inside its elements
            paths.append((policy.resource, cost.each))
        else:
            paths += [(policy.resource, path) for path, _, _ in cost.paths()]
            if cost.only is not None:
                conds.append(cost.only)
        paths += [(policy.resource, b.path) for b in cost.basis]
    for rtype, names in fields_read(policy.resource, conds).items():
        out.setdefault(rtype, set()).update(names)
    for cond in conds:
        paths += _paths(cond, policy.resource)
    for rtype, path in paths:
        out.setdefault(rtype, set()).add(root_field(path) or EVERYTHING)
    return out


def _paths(cond: Condition, rtype: str) -> list[tuple[str, str]]:
    """(type, path) of every path read at the root of a resource (a quantifier's own list, not
    what its elements are tested for; a join's keys and ``filter`` in the joined type)."""
    if isinstance(cond, Leaf | Quantifier):
        return [(rtype, cond.path)]
    if isinstance(cond, AllOf | AnyOf):
        return [p for c in cond.items for p in _paths(c, rtype)]
    if isinstance(cond, Not):
        return _paths(cond.item, rtype)
    if isinstance(cond, Join):
        out = [(cond.resource, on.related) for on in cond.on]
        out += [(rtype, on.subject) for on in cond.on if on.subject_from != "resource"]
        return out + (_paths(cond.filter, cond.resource) if cond.filter is not None else [])
    return []


def scan_reads(
    selected: Iterable[Policy], available: Iterable[Policy], *, all_fields: bool = False
) -> Mapping[str, frozenset[str]] | None:
    """What a scan of ``selected`` (out of ``available``) must read per type, or None for every
    field: with ``all_fields``, when the selection holds every enabled policy, or when nothing is
    selected."""
    chosen = list(selected)
    enabled = {p.id for p in available if p.enabled}
    if all_fields or not chosen or enabled <= {p.id for p in chosen}:
        return None
    reads: dict[str, set[str]] = defaultdict(set)
    for policy in chosen:
        for rtype, names in policy_reads(policy).items():
            reads[rtype].update(names)
    return {t: frozenset(v) for t, v in reads.items() if EVERYTHING not in v}
