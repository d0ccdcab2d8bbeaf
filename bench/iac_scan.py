"""How long checkov adds to a scan: prints wall time of scan_iac on the fixtures and on a larger tree.

Usage: python bench/iac_scan.py [--checkov-bin PATH] [--repeat 3] [--modules 40]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from mlguard.iac import scan_iac

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "iac" / "fixtures"


def synthetic_tree(dest: Path, modules: int) -> int:
    """``modules`` copies of the Databricks and SageMaker fixture modules; returns the resource count."""
    count = 0
    for i in range(modules):
        for name in ("databricks_workspace", "sagemaker_endpoint"):
            target = dest / f"{name}_{i:03d}"
            shutil.copytree(FIXTURES / name, target)
            count += (target / "main.tf").read_text().count('\nresource "')
    return count


Measured = tuple[list[float], list[float], list[float], int, int]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(path: Path, checkov_bin: str | None, repeat: int) -> Measured:
    walls, checkov, cpu = [], [], []
    results = resources = 0
    for _ in range(repeat):
        started, cpu_before = time.perf_counter(), _children_cpu()
        scan = scan_iac(path, checkov_bin=checkov_bin)
        walls.append(time.perf_counter() - started)
        cpu.append(_children_cpu() - cpu_before)
        checkov.append(scan.duration_seconds)
        results, resources = len(scan.results), scan.resources
    return walls, checkov, cpu, results, resources


def report(label: str, measured: Measured) -> None:
    walls, checkov, cpu, results, resources = measured
    print(
        f"{label:<34} resources={resources:5d} results={results:6d}  "
        f"scan_iac wall: median {statistics.median(walls):6.2f} s "
        f"(min {min(walls):.2f}, max {max(walls):.2f})  "
        f"checkov process: median {statistics.median(checkov):6.2f} s, CPU {statistics.median(cpu):6.2f} s  "
        f"mlguard overhead: {statistics.median(walls) - statistics.median(checkov):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkov-bin", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modules", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty"
        empty.mkdir()
        report("empty directory (startup only)", measure(empty, args.checkov_bin, args.repeat))
        report("tests/iac/fixtures", measure(FIXTURES, args.checkov_bin, args.repeat))
        big = Path(tmp) / "big"
        big.mkdir()
        synthetic_tree(big, args.modules)
        report(f"{args.modules * 2} fixture modules", measure(big, args.checkov_bin, args.repeat))


if __name__ == "__main__":
    main()
