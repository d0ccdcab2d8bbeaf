"""Meta-tests over the built-in policy pack against the real collectors.

Every policy's resource type (and every type it joins to) is one the collectors produce, and every
attribute a policy reads is one the collectors really produce: checked on a full collection of
the demo estate (the real AWS collectors against the seeded moto server, the real Databricks
collectors against the fake workspace).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from mlguard.collect.base import NullProgress, providers
from mlguard.config import Config
from mlguard.fields import declared
from mlguard.pipeline import LoadedConfig
from mlguard.policy.conditions import AllOf, AnyOf, Condition, Join, Leaf, Not, Quantifier, root_field
from mlguard.policy.loader import builtin_policy_dir, load_policy_set

POLICIES = load_policy_set([(builtin_policy_dir(), "builtin")]).policies


def _collected_types() -> set[str]:
    return set().union(*(entry.types() for entry in providers().values()))


def test_every_policy_type_is_collected() -> None:
    collected = _collected_types()
    missing = {p.id: sorted(p.required_types() - collected) for p in POLICIES.values()}
    assert {k: v for k, v in missing.items() if v} == {}


@pytest.fixture(scope="module")
def demo_documents() -> dict[str, list[dict[str, Any]]]:
    from mlguard.demo.scan import collect_demo

    types = set().union(*(p.required_types() for p in POLICIES.values()))
    collected, _ = collect_demo(LoadedConfig(Config(), None, None), types, NullProgress())
    docs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in collected.inventory.resources:
        docs[r.type].append(r.document())
    return docs


def _keys(docs: list[Any]) -> set[str]:
    return {k for d in docs if isinstance(d, dict) for k in d}


def _elements(docs: list[Any], path: str) -> list[Any]:
    import jmespath

    expr = jmespath.compile(path)
    out: list[Any] = []
    for d in docs:
        value = expr.search(d)
        if isinstance(value, list):
            out.extend(value)
    return out


def _problems(
    cond: Condition,
    docs: list[Any],
    where: str,
    all_docs: dict[str, list[dict[str, Any]]],
    subject_docs: list[Any],
) -> list[str]:
    out: list[str] = []
    if isinstance(cond, Leaf):
        root = root_field(cond.path)
        if root is not None and docs and not any(isinstance(d, dict) for d in docs):
            return out  # scalars inside a quantifier ('@')
        if root is not None and root not in _keys(docs):
            out.append(f"{where}: {cond.path!r} is not produced (no {root!r} key)")
    elif isinstance(cond, AllOf | AnyOf):
        for c in cond.items:
            out += _problems(c, docs, where, all_docs, subject_docs)
    elif isinstance(cond, Not):
        out += _problems(cond.item, docs, where, all_docs, subject_docs)
    elif isinstance(cond, Quantifier):
        root = root_field(cond.path)
        if root is not None and root not in _keys(docs):
            out.append(f"{where}: list {cond.path!r} is not produced")
        elements = _elements(docs, cond.path)
        if elements:
            out += _problems(cond.satisfy, elements, f"{where}/{cond.path}[]", all_docs, subject_docs)
    elif isinstance(cond, Join):
        related = all_docs.get(cond.resource, [])
        for on in cond.on:
            r_root = root_field(on.related)
            if related and r_root is not None and r_root not in _keys(related):
                out.append(f"{where}: join {cond.resource} reads {on.related!r}, which is not produced")
            here = subject_docs if on.subject_from == "resource" else docs
            s_root = root_field(on.subject)
            if s_root is not None and here and s_root not in _keys(here):
                out.append(f"{where}: join subject {on.subject!r} is not produced")
        if cond.filter is not None and related:
            out += _problems(cond.filter, related, f"{where}/join {cond.resource}", all_docs, subject_docs)
    return out


@pytest.mark.e2e
def test_every_path_a_policy_reads_is_produced_by_its_collector(
    demo_documents: dict[str, list[dict[str, Any]]],
) -> None:
    problems: list[str] = []
    absent: list[str] = []
    for policy in sorted(POLICIES.values(), key=lambda p: p.id):
        docs = demo_documents.get(policy.resource, [])
        if not docs:
            # A type the demo cannot emit documents why (`absent:`); its policies are checked on
            # the collection that does emit it (account workspaces: tests/collect/databricks).
            tf = declared(policy.resource)
            if tf is None or tf.absent is None:
                absent.append(f"{policy.id}: the demo estate has no {policy.resource}")
            continue
        for part, cond in (("where", policy.where), ("assert", policy.assert_)):
            if cond is not None:
                problems += _problems(cond, docs, f"{policy.id}.{part}", demo_documents, docs)
    assert problems == [], "\n".join(problems)
    assert absent == [], "\n".join(absent)
