"""Benchmark the AWS collector against a seeded moto server (~820 resources at the default scale).

Starts ``moto_server`` as a separate process on 127.0.0.1 (so its memory is not counted), seeds it
with the estate of ``tests/collect/aws/estate.py``, then collects every AWS type through
``AWS_ENDPOINT_URL`` and prints wall time, API calls (total, per resource type, per operation) and
peak memory (tracemalloc peak of a second, traced run; and the process max RSS).

    .venv/bin/python bench/aws_collect.py [--scale 13] [--workers 16]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.collect.aws.estate import seed  # noqa: E402

from mlguard.collect.aws import AwsCollector  # noqa: E402
from mlguard.collect.aws.spec import SPECS  # noqa: E402
from mlguard.collect.base import InventorySink  # noqa: E402
from mlguard.config import AwsScope, ScopeConfig  # noqa: E402

# botocore puts the account id in front of the s3control host, which a local server cannot answer.
TYPES = frozenset(SPECS) - {"aws.s3.account_public_access_block"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto_server did not start")


class TimedProgress:
    """Records the wall time of each (account, region, family) unit."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def start(self, key: str, description: str) -> None:
        self.started[key] = time.perf_counter()

    def finish(self, key: str, resources: int, errors: int) -> None:
        self.seconds[key] = time.perf_counter() - self.started[key]


def run(workers: int, attempts: int, progress: TimedProgress) -> tuple[InventorySink, AwsCollector, float]:
    collector = AwsCollector(
        ScopeConfig(aws=AwsScope(regions=["us-east-1"], max_workers=workers)), max_attempts=attempts
    )
    sink = InventorySink()
    start = time.perf_counter()
    collector.collect(TYPES, sink, progress)
    return sink, collector, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=13)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=8,
        help="botocore attempts per call (moto answers 3 listings with 500s)",
    )
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_up(url)
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=url,
        )
        t0 = time.perf_counter()
        seeded = seed(url, scale=args.scale)
        print(f"seeded {sum(seeded.values())} resources in {time.perf_counter() - t0:.1f}s")

        progress = TimedProgress()
        sink, collector, wall = run(args.workers, args.max_attempts, progress)
        tracemalloc.start()
        traced_sink, _, traced_wall = run(args.workers, args.max_attempts, TimedProgress())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        stats = collector.stats
        print(f"\nresources collected: {len(sink.resources)}  errors: {len(sink.errors)}")
        print(f"workers:             {args.workers}")
        print(f"wall time:           {wall:.2f}s  (traced run: {traced_wall:.2f}s)")
        http = sum(stats.http_requests.values())
        print(f"API calls:           {stats.total} ({http} HTTP requests incl. retries)")
        print(
            f"peak memory:         {peak / 2**20:.1f} MiB traced (tracemalloc), "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB max RSS of the process"
        )
        counts = dict.fromkeys(TYPES, 0)
        for r in sink.resources:
            counts[r.type] += 1
        print(f"\n{'resource type':48} {'resources':>9} {'API calls':>9} {'HTTP':>6}")
        for t in sorted(TYPES):
            print(f"{t:48} {counts[t]:9d} {stats.by_type.get(t, 0):9d} {stats.http_requests.get(t, 0):6d}")
        session_calls = stats.by_type.get("(session)", 0)
        session_http = stats.http_requests.get("(session)", 0)
        print(f"{'(session: identity)':48} {'':9} {session_calls:9d} {session_http:6d}")
        print("\nwall time per (account/region/family) unit:")
        for key, secs in sorted(progress.seconds.items(), key=lambda kv: -kv[1]):
            print(f"  {key:48} {secs:6.2f}s")
        print("\nerrors:")
        for e in sink.errors:
            print(f"  {e.resource_type} {e.operation} {e.code}")
        print("\ntop operations:")
        for op, n in stats.by_operation.most_common(12):
            print(f"  {op:48} {n}")
        assert len(traced_sink.resources) == len(sink.resources)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
