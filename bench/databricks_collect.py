"""Time the Databricks collector against the local fake with ~1,000 objects.

    .venv/bin/python bench/databricks_collect.py [--objects 1000]

Prints, per scenario: wall time, HTTP requests sent, resources and errors collected. Back-off
sleeps asked for by the SDK after a 429 are recorded, not slept (their sum is printed), so the
figures measure mlguard + SDK + HTTP, not the server's Retry-After.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support

from tests.support.databricks_harness import RecordingClock, collect_inventory  # noqa: E402

from mlguard.collect.databricks import ALL_TYPES  # noqa: E402
from mlguard.config import DatabricksScope, ScopeConfig  # noqa: E402
from mlguard.demo.databricks_fake import Behaviour, FakeWorkspaceServer, bulk_state  # noqa: E402

WORKSPACE_TYPES = frozenset(ALL_TYPES - {"databricks.account_workspace"})


def run(
    objects: int, label: str, behaviour: Behaviour, types: frozenset[str] = WORKSPACE_TYPES, workers: int = 8
) -> None:
    state = bulk_state(objects)
    server = FakeWorkspaceServer(state, behaviour=behaviour).start()
    os.environ["DATABRICKS_HOST"] = server.host
    os.environ["DATABRICKS_TOKEN"] = server.token
    clock = RecordingClock()
    try:
        start = time.perf_counter()
        scope = ScopeConfig(databricks=DatabricksScope(max_workers=workers))
        inventory = collect_inventory(types, clock=clock, scope=scope)
        elapsed = time.perf_counter() - start
    finally:
        server.stop()
    requests = server.fake.requests
    per_route = Counter(r.route or r.path for r in requests)
    print(
        f"{label:<44} {elapsed:6.2f} s  {len(requests):5d} requests  "
        f"{len(inventory.resources):5d} resources  "
        f"{len(inventory.errors):3d} errors  {len(clock.sleeps):3d} back-offs "
        f"({sum(clock.sleeps):.1f} s skipped)"
    )
    if label == "all types, page 100":
        counts = Counter(r.type for r in inventory.resources)
        for rtype, n in sorted(counts.items()):
            print(f"    {rtype:<36} {n:5d}")
        print(f"    busiest routes: {per_route.most_common(6)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1000)
    args = parser.parse_args()
    os.environ["DATABRICKS_CONFIG_FILE"] = os.path.join(
        tempfile.gettempdir(), "mlguard-bench-no-databrickscfg"
    )
    for var in ("DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"):
        os.environ.pop(var, None)
    n = args.objects
    print(
        f"fake workspace seeded with bulk_state({n}); all {len(WORKSPACE_TYPES)} workspace types unless noted"
    )
    run(n, "all types, page 100", Behaviour(page_size=100))
    run(n, "all types, page 25", Behaviour(page_size=25))
    run(
        n, "all types, page 2, every 7th request 429", Behaviour(page_size=2, throttle_every=7, retry_after=1)
    )
    run(n, "all types, page 100, 20 ms per request", Behaviour(page_size=100, latency_ms=20))
    run(n, "all types, page 100, 20 ms, max_workers=1", Behaviour(page_size=100, latency_ms=20), workers=1)
    run(n, "clusters only, page 100", Behaviour(page_size=100), frozenset({"databricks.cluster"}))
    run(
        n,
        "Unity Catalog only, page 100",
        Behaviour(page_size=100),
        frozenset(t for t in WORKSPACE_TYPES if t.startswith("databricks.uc.")),
    )


if __name__ == "__main__":
    main()
