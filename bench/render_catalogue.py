"""Benchmark the policy catalogue: render the built-in set, replicated to N copies of each policy.

    .venv/bin/python bench/render_catalogue.py [COPIES]

Prints the load time, the number of policies rendered, the render time and the catalogue size.
Loads frameworks non-strictly, so it runs while framework files name policies not written yet.
Not a test: figures only.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from mlguard.policy.docs import framework_coverage, render_catalogue
from mlguard.policy.loader import PolicySet, builtin_policy_dir, load_policy_set


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    t0 = time.perf_counter()
    base = load_policy_set([(builtin_policy_dir(), "builtin")], strict_frameworks=False)
    t1 = time.perf_counter()
    policies = {
        f"{p.id}_{i}": replace(p, id=f"{p.id}_{i}") for i in range(copies) for p in base.policies.values()
    }
    big = PolicySet(policies=policies, frameworks=base.frameworks)
    t2 = time.perf_counter()
    text = render_catalogue(big)
    t3 = time.perf_counter()
    coverage = framework_coverage(base)
    print(
        f"load built-in set:  {1000 * (t1 - t0):.0f} ms ({len(base.policies)} policies, "
        f"{len(base.frameworks)} frameworks)"
    )
    print(
        f"render catalogue:   {1000 * (t3 - t2):.1f} ms for {len(big.policies)} policies, "
        f"{len(text):,} characters, {text.count(chr(10)):,} lines"
    )
    for c in coverage:
        print(f"  {c.framework:32} {c.covered:3}/{c.total:<3} covered, {len(c.iac_only)} IaC only")


if __name__ == "__main__":
    main()
