"""Outcome counts on a larger seeded estate than the demo: PASS/FAIL/ERROR/SKIP overall and per policy.

Seeds the AWS estate of ``tests/collect/aws/estate.py`` (``--scale``) into a moto server on 127.0.0.1
(in this process, with the demo's moto extension) and ``bulk_state(--objects)`` into the fake
Databricks workspace, collects every type with the real collectors, evaluates the built-in
policies and prints the counts. ``--save FILE`` keeps the
per-policy counts; ``--compare FILE`` prints what changed against a saved run (before/after a change).

    .venv/bin/python bench/outcomes.py [--scale 3] [--objects 300] [--save F.json] [--compare F.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.collect.aws.estate import seed  # noqa: E402
from tests.support.databricks_harness import collect_inventory  # noqa: E402

from mlguard.collect.aws import AwsCollector  # noqa: E402
from mlguard.collect.aws.spec import SPECS  # noqa: E402
from mlguard.collect.base import InventorySink, NullProgress  # noqa: E402
from mlguard.collect.databricks import ALL_TYPES  # noqa: E402
from mlguard.config import AwsScope, ScopeConfig  # noqa: E402
from mlguard.demo.databricks_fake import Behaviour, FakeWorkspaceServer, bulk_state  # noqa: E402
from mlguard.model import Inventory  # noqa: E402
from mlguard.policy.evaluator import evaluate_inventory  # noqa: E402
from mlguard.policy.loader import builtin_policy_dir, load_policy_set  # noqa: E402

# botocore puts the account id in front of the s3control host, which a local server cannot answer.
AWS_TYPES = frozenset(SPECS) - {"aws.s3.account_public_access_block"}
DBX_TYPES = frozenset(ALL_TYPES - {"databricks.account_workspace"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _aws(scale: int) -> Inventory:
    # The demo's environment: moto in this process with the demo's extension for moto's SageMaker
    # gaps (notebook platforms...), and the s3control host plugin for the account-level reads.
    from moto.server import ThreadedMotoServer

    from mlguard.demo import moto_ext, s3control_host

    moto_ext.apply()
    os.environ[s3control_host.PLUGIN_ENV] = s3control_host.PLUGIN_SPEC
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=url,
        )
        seed(url, scale=scale)
        sink = InventorySink()
        AwsCollector(ScopeConfig(aws=AwsScope(regions=["us-east-1"])), max_attempts=8).collect(
            AWS_TYPES, sink, NullProgress()
        )
        return sink.to_inventory(started_at="2026-01-01T00:00:00Z")
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        server.stop()


def _databricks(objects: int) -> Inventory:
    server = FakeWorkspaceServer(bulk_state(objects), behaviour=Behaviour(page_size=100)).start()
    os.environ["DATABRICKS_HOST"] = server.host
    os.environ["DATABRICKS_TOKEN"] = server.token
    os.environ["DATABRICKS_CONFIG_FILE"] = os.path.join(tempfile.gettempdir(), "mlguard-bench-no-cfg")
    try:
        return collect_inventory(DBX_TYPES)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=3)
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--save", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()

    aws, dbx = _aws(args.scale), _databricks(args.objects)
    inventory = aws.model_copy(
        update={
            "resources": aws.resources + dbx.resources,
            "errors": aws.errors + dbx.errors,
            "coverage": aws.coverage + dbx.coverage,
        }
    )
    policies = list(load_policy_set([(builtin_policy_dir(), "builtin")]).policies.values())
    evaluated = evaluate_inventory(policies, inventory)
    overall = Counter(r.status.value for r in evaluated.results)
    per_policy: dict[str, Counter[str]] = defaultdict(Counter)
    for r in evaluated.results:
        per_policy[r.policy_id][r.status.value] += 1
    print(
        f"resources {len(inventory.resources)} (aws {len(aws.resources)}, databricks {len(dbx.resources)}), "
        f"collection errors {len(inventory.errors)}, policies {len(policies)}, "
        f"not run {len(evaluated.not_run)}"
    )
    print(f"results {len(evaluated.results)}: " + ", ".join(f"{k} {v}" for k, v in sorted(overall.items())))
    table = {p: dict(c) for p, c in sorted(per_policy.items())}
    if args.save:
        args.save.write_text(json.dumps({"overall": dict(overall), "policies": table}, indent=1))
    if args.compare:
        before = json.loads(args.compare.read_text())
        print("before: " + ", ".join(f"{k} {v}" for k, v in sorted(before["overall"].items())))
        for pid in sorted(set(before["policies"]) | set(table)):
            old, new = before["policies"].get(pid, {}), table.get(pid, {})
            if old != new:
                print(f"  {pid:56} {old} -> {new}")


if __name__ == "__main__":
    main()
