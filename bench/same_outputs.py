"""Check that a change leaves every output byte-identical: this tree against a git ref.

    .venv/bin/python bench/same_outputs.py [REF] [--keep]     (default REF: HEAD)

Extracts ``src/`` and ``policies/`` of REF into a temporary directory, then, with each source tree
in turn, (1) scans the demo estate (results.json: the evaluator), (2) re-renders one results file,
REF's demo results, in every format (results.json, SARIF, CSV, JUnit, HTML, Markdown, OCSF,
ASFF: the writers) and (3) writes every format of a synthetic scan (``make_scan``: odd names,
waivers, baselines, IaC sources, secrets in evidence). The files must be identical once the
ISO-8601 date-times (which differ between two scans, such as each resource's read time) are
masked. Prints each file's verdict; exits 1 on any difference. Not a test: it needs git and runs
two full scans.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
FORMATS = "json,sarif,csv,junit,html,markdown,ocsf,asff"
_STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")  # ISO-8601

SYNTHETIC = """
import sys
from pathlib import Path
from mlguard.report.base import ReportOptions
from mlguard.report.render import write_reports
from tests.support.results_factory import make_scan

out = Path(sys.argv[1])
options = ReportOptions(asff_region="us-east-1", asff_account="111122223333")
for seed in (3, 11):
    write_reports(make_scan(1500, seed=seed), sys.argv[2].split(","), out / str(seed), options)
"""


def extract(ref: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "src", "policies"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def produce(src: Path, out: Path, fixed: Path | None) -> Path:
    """Outputs of the tree ``src`` under ``out``; ``fixed``: the results file every tree re-renders
    (None: this tree's own demo results). Returns the demo results file."""
    out.mkdir(parents=True)
    # src: the tree under test; ROOT: this checkout's tests.support (make_scan) for every tree.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    cli = [PYTHON, "-c", "from mlguard.cli import main; main()", "-q"]
    # The demo scan: its results (the evaluator's work); relative paths, the same command line.
    scan = [*cli, "scan", "--demo", "--pricing", "sample", "--format", "json", "--output-dir", "demo"]
    subprocess.run([*scan, "--fail-on", "never"], check=True, env=env, cwd=out)
    # Every format, re-rendered from one results file: the writers' work. (The reports of two
    # scans may differ where they depend on the seconds each resource was read in.)
    results = out / "demo" / "results.json"
    report = [*cli, "report", str(fixed or results), "--format", FORMATS, "--output-dir", "report"]
    report += ["--asff-account", "111122223333", "--asff-region", "us-east-1"]
    subprocess.run(report, check=True, env=env, cwd=out)
    subprocess.run([PYTHON, "-c", SYNTHETIC, "synthetic", FORMATS], check=True, env=env, cwd=out)
    return results


def compare(old: Path, new: Path) -> bool:
    same = True
    names = sorted({p.relative_to(old) for p in old.rglob("*") if p.is_file()})
    names_new = sorted({p.relative_to(new) for p in new.rglob("*") if p.is_file()})
    if names != names_new:
        print(f"DIFFERENT file sets: {sorted(set(names) ^ set(names_new))}")
        same = False
    for name in names:
        if not (new / name).is_file():
            continue
        a = _STAMP.sub(b"<time>", (old / name).read_bytes())
        b = _STAMP.sub(b"<time>", (new / name).read_bytes())
        if a == b:
            print(f"same       {name} ({len(a):,} bytes)")
            continue
        same = False
        print(f"DIFFERENT  {name} ({len(a):,} -> {len(b):,} bytes)")
        diff = difflib.unified_diff(
            a.decode(errors="replace").splitlines()[:20000],
            b.decode(errors="replace").splitlines()[:20000],
            lineterm="",
            n=1,
        )
        for line in list(diff)[:30]:
            print("    " + line[:200])
    return same


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--keep"]
    ref = args[0] if args else "HEAD"
    base = Path(tempfile.mkdtemp(prefix="mlguard-same-"))
    try:
        extract(ref, base / "ref")
        fixed = produce(base / "ref" / "src", base / "old", None)
        produce(ROOT / "src", base / "new", fixed)
        ok = compare(base / "old", base / "new")
    finally:
        if "--keep" in sys.argv:
            print(f"outputs kept under {base}")
        else:
            shutil.rmtree(base)
    print("identical" if ok else "outputs differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
