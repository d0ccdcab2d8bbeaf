"""Benchmark the evaluator: the built-in policies against a synthetic inventory.

    .venv/bin/python bench/evaluate.py [RESOURCES_PER_TYPE]

Prints resources, results, wall time and results per second. Not a test: figures only.
"""

from __future__ import annotations

import sys
import time
import tracemalloc

from mlguard.model import Coverage, Inventory, Provenance, Resource
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set


def synthetic(n: int, types: set[str]) -> Inventory:
    resources = []
    for t in sorted(types):
        for i in range(n):
            name = f"r{i}"
            data = {
                "endpoint_status": "InService" if i % 3 else "Creating",
                "direct_internet_access": "Enabled" if i % 2 else "Disabled",
                "root_access": "Disabled",
                "subnet_id": f"subnet-{i}" if i % 4 else None,
                "variants": [{"variant_name": "AllTraffic"}, {"variant_name": "canary"}],
                "dimensions": {"EndpointName": f"r{i * 2}"},
                "namespace": "AWS/SageMaker",
                "endpoint_name": f"r{i}",
                "variant_name": "AllTraffic",
                "actions_enabled": True,
                "alarm_actions": ["arn:aws:sns:us-east-1:1:t"] if i % 5 else [],
                "public_access_block": {
                    "block_public_acls": True,
                    "ignore_public_acls": True,
                    "block_public_policy": bool(i % 2),
                    "restrict_public_buckets": True,
                },
            }
            resources.append(
                Resource(
                    uid=f"arn:{t}:{i}",
                    type=t,
                    provider="aws",
                    id=name,
                    name=name,
                    account="111122223333",
                    region="us-east-1",
                    data=data,
                )
            )
    coverage = [
        Coverage(provider="aws", account="111122223333", region="us-east-1", resource_type=t) for t in types
    ]
    return Inventory(
        provenance=Provenance(version="bench", started_at="2026-01-01T00:00:00Z"),
        resources=resources,
        coverage=coverage,
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    policy_set = load_policy_set([(builtin_policy_dir(), "builtin")])
    policies = list(policy_set.policies.values())
    types = set().union(*(p.required_types() for p in policies))
    inv = synthetic(n, types)
    t0 = time.perf_counter()
    out = evaluate_inventory(policies, inv)
    elapsed = time.perf_counter() - t0
    tracemalloc.start()  # a second run for memory: tracing slows evaluation several-fold
    evaluate_inventory(policies, inv)
    _, peak = tracemalloc.get_traced_memory()
    print(f"policies={len(policies)} resources={len(inv.resources)} results={len(out.results)}")
    print(
        f"evaluate: {elapsed:.2f} s, {len(out.results) / elapsed:,.0f} results/s, peak {peak / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
