"""Time the history part of a report: ``report_history`` on a SQLite store, and the HTML and
Markdown reports rendered with and without it.

Records ``--runs`` synthetic scans of ``--results`` results each (the results factory, a different
seed per run, so runs differ), then prints the time to build the history of the newest run, the
HTML render time and size with and without history, and the size of the history sections.

    .venv/bin/python bench/history_report.py [--runs 20] [--results 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support

from tests.support.results_factory import make_scan  # noqa: E402

from mlguard.history.report import report_history  # noqa: E402
from mlguard.history.store import open_store  # noqa: E402
from mlguard.model import iso, utcnow  # noqa: E402
from mlguard.report.base import ReportOptions, reporters  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--results", type=int, default=1000)
    args = ap.parse_args()
    start = utcnow() - timedelta(days=args.runs)
    with tempfile.TemporaryDirectory() as tmp, open_store(str(Path(tmp) / "h.db")) as store:
        t0 = time.perf_counter()
        run_id = ""
        scan = None
        for i in range(args.runs):
            scan = make_scan(args.results, seed=i)
            scan.provenance.started_at = iso(start + timedelta(days=i))
            run_id = store.record(scan)
        recorded = time.perf_counter() - t0
        assert scan is not None
        t0 = time.perf_counter()
        history = report_history(store, run_id)
        built = time.perf_counter() - t0
    html = reporters()["html"]()
    md = reporters()["markdown"]()
    timings = {}
    sizes = {}
    for label, options in (("without", ReportOptions()), ("with", ReportOptions(history=history))):
        t0 = time.perf_counter()
        page = html.render(scan, options)
        timings[label] = time.perf_counter() - t0
        sizes[label] = len(page if isinstance(page, bytes) else page.encode())
        sizes["md " + label] = len(str(md.render(scan, options)).encode())
    diff = history.diff
    print(f"runs={args.runs} results/run={args.results} (recording took {recorded:.1f} s)")
    if diff is not None:
        print(
            f"diff vs previous: new={len(diff.new)} fixed={len(diff.fixed)} regressed={len(diff.regressed)}"
        )
    print(f"report_history: {built * 1000:.0f} ms")
    print(f"HTML render without history: {timings['without'] * 1000:.0f} ms, {sizes['without']:,} bytes")
    print(f"HTML render with history:    {timings['with'] * 1000:.0f} ms, {sizes['with']:,} bytes")
    print(f"history sections add {sizes['with'] - sizes['without']:,} bytes to the HTML")
    print(f"Markdown: {sizes['md without']:,} -> {sizes['md with']:,} bytes")


if __name__ == "__main__":
    main()
