"""Print how long the demo estate takes to seed on the local moto server, and what it costs.

Usage: python bench/demo_seed.py [--repeat N]

Figures: server start + reset, seeding wall time, API calls made (total and per service),
resources seeded, peak RSS of this process. Not a test: it asserts nothing, it measures.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections import Counter
from typing import Any

import boto3

from mlguard.demo import moto_ext
from mlguard.demo.aws_estate import AWS_MANAGED_POLICIES
from mlguard.demo.environment import demo_environment, seed_aws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for run in range(1, args.repeat + 1):
        calls: Counter[str] = Counter()

        def count(model: Any, _calls: Counter[str] = calls, **_: Any) -> None:
            _calls[model.service_model.service_name] += 1

        started = time.perf_counter()
        with demo_environment(seed=False) as env:
            ready = time.perf_counter()
            session = boto3.session.Session()
            session.events.register("before-call", count)
            moto_ext.add_aws_managed_policies(env.account_id, AWS_MANAGED_POLICIES)
            manifest = seed_aws(
                session,
                env.account_id,
                env.regions,
                backdate_access_key=moto_ext.backdate_access_key(env.account_id),
            )
            seeded = time.perf_counter()
        stopped = time.perf_counter()
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"run {run}: server start+reset {ready - started:.2f}s, seed {seeded - ready:.2f}s, "
            f"stop {stopped - seeded:.2f}s; {manifest.total} resources in {len(manifest.counts)} types, "
            f"{len(manifest.flaws)} flaws; {sum(calls.values())} API calls; peak RSS {peak_mib:.0f} MiB"
        )
    print("API calls per service (last run):", ", ".join(f"{k}={v}" for k, v in sorted(calls.items())))


if __name__ == "__main__":
    main()
