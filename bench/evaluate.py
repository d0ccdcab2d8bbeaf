"""Benchmark evaluation and reporting: the built-in policies against a synthetic inventory.

    .venv/bin/python bench/evaluate.py [RESOURCES] [--formats json,sarif,...] [--tracemalloc]
                                       [--profile FILE] [--eval-only] [--together-only]
                                       [--pipeline-only] [--keep DIR]

RESOURCES (default 100000) is spread evenly over every type a built-in policy reads. Prints the
resources, the results, the wall and CPU time of evaluation (the evaluator alone, then the whole pipeline
with summary, costs and waivers), each format's write time and file size, then every format
written together by one ``write_reports`` call (as ``mlguard scan --format a,b,...`` does: two
processes at 20,000 results or more), the process's peak RSS after each step (``ru_maxrss``: a
high-water mark, so it only grows) and the report worker's (``workers``) with its CPU time
(``worker cpu``: the write of the formats together), the total (the pipeline
and the formats written together), and the load average (the machine may be shared: compare
figures taken at a similar load). ``--together-only`` skips the formats one by one;
``--pipeline-only`` skips the evaluator's run on its own (as a scan runs it: once, so the peak
RSS is not raised by a first run's freed but still mapped memory).

A worker's RSS counts the pages it shares with this process (the scan, read only); what it adds
is its private memory (the pages it wrote, reference counts included), sampled from
``/proc/<worker>/smaps_rollup`` by a small watcher process (not a thread: a thread alive would
keep ``write_reports`` to one process) and printed as ``worker private``.

``--tracemalloc`` adds each step's own peak of Python allocations (several times slower);
``--keep DIR`` moves the files written together into DIR (to compare two checkouts' bytes with
``cmp``); ``--profile FILE`` writes a cProfile of the whole run (read it with ``python -m pstats FILE``).
Not a test: figures only.

Figures (100,000 resources, 324,018 results, ``100000 --together-only --pipeline-only``, on the
2-core machine shared with other work: CPU seconds, two pairs A B B A at load average 3.0-3.8,
where wall times were about 1.7 times the CPU of the slower writer):

                          before (main 3fb28f8)     after (branch evalfast)
    evaluate (pipeline)   4.21-4.22 s CPU           3.99-4.02 s CPU  (the evaluator alone: -8%)
    write, this process   3.73-3.81 s CPU           3.20 s CPU       (html, JUnit, Markdown)
    write, the worker     3.98-4.12 s CPU           2.76-2.80 s CPU  (results.json, CSV, SARIF)
    write, wall           9.40-9.43 s               7.40-7.43 s
    total, wall           13.67-13.80 s             11.66-11.69 s
    peak RSS              743-763 MiB (worker 250   756 MiB (worker 244-247 MiB private)
                          MiB private)
    files                 686.1 MiB                 the same bytes (cmp, times masked)

Idle, before: evaluate 4.26 s CPU, the formats written together 4.68 s wall, total 8.94 s, 744 MiB.
Each format alone, before -> after (CPU s, one pair at load 12): results.json 1.27 -> 0.98, SARIF
1.65 -> 0.78, CSV 1.15 -> 1.18, JUnit 1.50 -> 1.62 (noise: unchanged but its root tally), HTML
2.66 -> 1.94, Markdown 0.45 -> 0.23; the pipeline's evaluation 4.87 -> 4.55 (the evaluator alone,
20,000 resources, best of 5, three pairs: 0.70-0.75 -> 0.63-0.66 s).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlguard.model import Coverage, Inventory, Provenance, Resource
from mlguard.pipeline import evaluate
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.render import write_reports

OPTIONS = ReportOptions(asff_region="us-east-1", asff_account="111122223333")
FORMATS = ("json", "sarif", "csv", "junit", "html", "markdown")  # also: ocsf, asff


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
                    provider=t.split(".", 1)[0],
                    id=name,
                    name=name,
                    account="111122223333",
                    region="us-east-1",
                    data=data,
                )
            )
    coverage = [
        Coverage(provider=t.split(".", 1)[0], account="111122223333", region="us-east-1", resource_type=t)
        for t in sorted(types)
    ]
    return Inventory(
        provenance=Provenance(version="bench", started_at="2026-01-01T00:00:00Z"),
        resources=resources,
        coverage=coverage,
    )


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# Prints the largest private memory (MiB) any child of PID (but itself) had, when stdin closes.
WATCHER = """
import os, sys, threading
parent, me, peak = sys.argv[1], str(os.getpid()), 0
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
while not done.wait(0.05):
    try:
        kids = open(f"/proc/{parent}/task/{parent}/children").read().split()
    except OSError:
        break
    for kid in kids:
        if kid == me:
            continue
        try:
            rollup = open(f"/proc/{kid}/smaps_rollup").read().splitlines()
        except OSError:
            continue
        private = sum(int(line.split()[1]) for line in rollup if line.startswith("Private_"))
        peak = max(peak, private)
print(f"{peak / 1024:.0f}")
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers that ended
    return usage.ru_utime + usage.ru_stime


def workers_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker's


def mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


class Steps:
    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.total = 0.0

    def run(
        self,
        label: str,
        fn: Callable[[], Any],
        extra: Callable[[Any], str] = lambda _: "",
        count: bool = True,
    ) -> Any:
        if self.trace:
            tracemalloc.start()
        t0, c0, k0 = time.perf_counter(), time.process_time(), children_cpu()
        value = fn()
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        kids = children_cpu() - k0
        if count:
            self.total += took
        own = ""
        if self.trace:
            own = f"  traced peak {mib(tracemalloc.get_traced_memory()[1]):>11s}"
            tracemalloc.stop()
        workers = f" (workers {workers_rss_mib():.0f} MiB)" if workers_rss_mib() else ""
        if kids:
            workers += f" (worker cpu {kids:.2f} s)"
        line = f"{label:22s} {took:7.2f} s (cpu {cpu:6.2f} s)  peak RSS {rss_mib():7.0f} MiB{workers}{own}"
        print(f"{line}  {extra(value)}", flush=True)
        return value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("resources", nargs="?", type=int, default=100_000)
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--profile", type=Path)
    ap.add_argument("--eval-only", action="store_true", help="the evaluator alone, no pipeline or reports")
    ap.add_argument("--together-only", action="store_true", help="no format written on its own")
    ap.add_argument("--pipeline-only", action="store_true", help="no run of the evaluator on its own")
    ap.add_argument("--keep", type=Path, help="move the files written together into this directory")
    args = ap.parse_args()
    profiler = cProfile.Profile() if args.profile else None

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  cpus: {os.cpu_count()}")
    policy_set = load_policy_set([(builtin_policy_dir(), "builtin")])
    policies = list(policy_set.policies.values())
    types = set().union(*(p.required_types() for p in policies))
    per_type = max(1, args.resources // len(types))
    t0 = time.perf_counter()
    inv = synthetic(per_type, types)
    print(
        f"policies={len(policies)} types={len(types)} resources={len(inv.resources):,} "
        f"(inventory built in {time.perf_counter() - t0:.1f} s, peak RSS {rss_mib():.0f} MiB)"
    )
    steps = Steps(args.tracemalloc)
    if profiler:
        profiler.enable()
    if not args.pipeline_only:
        evaluated = steps.run(  # not in the total: the pipeline below runs it again
            "evaluate (evaluator)",
            lambda: evaluate_inventory(policies, inv),
            lambda e: f"results={len(e.results):,}",
            count=args.eval_only,
        )
        del evaluated
    if not args.eval_only:
        scan = steps.run(
            "evaluate (pipeline)",
            lambda: evaluate(inv, policies, policy_set),
            lambda scan: f"results={len(scan.results):,}",
        )
        out = Path(tempfile.mkdtemp(prefix="mlguard-bench-"))
        known = reporters()
        formats = [f.strip() for f in args.formats.split(",") if f.strip()]
        for fmt in [] if args.together_only else formats:
            path = out / known[fmt].filename
            steps.run(
                f"write {fmt}",
                lambda fmt=fmt: write_reports(scan, [fmt], out, OPTIONS),
                lambda _, path=path: f"size {mib(path.stat().st_size):>11s}",
                count=False,
            )
            path.unlink()
        watcher = subprocess.Popen(
            [sys.executable, "-c", WATCHER, str(os.getpid())], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        written = steps.run(
            f"write {len(formats)} together",
            lambda: write_reports(scan, formats, out, OPTIONS),
            lambda paths: f"size {mib(sum(p.stat().st_size for p in paths)):>11s}",
        )
        private = watcher.communicate()[0].decode().strip()
        print(f"{'':22s} worker private memory at most {private} MiB (sampled every 50 ms)")
        for path in written:
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                path.replace(args.keep / path.name)
            else:
                path.unlink()
        out.rmdir()
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    print(f"{'total (pipeline+writes)':22s} {steps.total:7.2f} s  peak RSS {rss_mib():7.0f} MiB", end="")
    print(f" (workers {workers_rss_mib():.0f} MiB)" if workers_rss_mib() else "")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
