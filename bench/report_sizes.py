"""Report sizes and HTML load time at 1k and 100k results.

Run: .venv/bin/python bench/report_sizes.py [N ...]   (default: 1000 100000)

Prints, per size: render time and file size of SARIF, HTML and results.json, and, when headless
Chromium is installed, the HTML load time (navigation start to the page's script finishing its
first render), the script's own render time, and the time one status filter takes at that size.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support

from tests.support import browser  # noqa: E402
from tests.support.results_factory import make_scan  # noqa: E402

from mlguard.report.base import ReportOptions, reporters  # noqa: E402


def mib(n: int) -> str:
    return f"{n / 1_048_576:.2f} MiB"


def measure(n: int, out: Path) -> None:
    t = time.perf_counter()
    scan = make_scan(n, seed=11)
    print(f"\n== {n:,} results (scan built in {time.perf_counter() - t:.2f} s)")
    files: dict[str, Path] = {}
    for fmt in ("sarif", "html", "json"):
        reporter = reporters()[fmt]()
        t = time.perf_counter()
        path = reporter.write(scan, out / f"{n}-{reporter.filename}", ReportOptions())
        took = time.perf_counter() - t
        raw = path.read_bytes()
        files[fmt] = path
        packed = len(gzip.compress(raw, 6))
        print(f"{fmt:6s} render {took:6.2f} s   size {mib(len(raw)):>10s}   gzip {mib(packed):>10s}")
    if not browser.available():
        print(f"HTML load time: skipped ({browser.MISSING_REASON})")
        return
    from selenium.webdriver.support.ui import Select

    with browser.chromium() as driver:
        browser.open_report(driver, files["html"], timeout=300)
        ready_ms = driver.execute_script(
            "const e = performance.getEntriesByType('navigation')[0];"
            "return e ? e.domContentLoadedEventEnd : -1"
        )
        render_ms = driver.execute_script("return window.mlguardRenderMs")
        filter_ms = driver.execute_script(
            "const s = document.getElementById('f-status'); s.selectedIndex = 1;"
            "const t = performance.now(); s.dispatchEvent(new Event('change'));"
            "return performance.now() - t;"
        )
        shown = Select(driver.find_element("id", "f-status")).first_selected_option.text
        print(
            f"HTML   load (DOMContentLoaded, script done) {ready_ms:8.0f} ms   "
            f"script render {render_ms:6.0f} ms   filter '{shown}' {filter_ms:6.0f} ms"
        )


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1_000, 100_000]
    with tempfile.TemporaryDirectory(prefix="mlguard-bench-") as tmp:
        for n in sizes:
            measure(n, Path(tmp))


if __name__ == "__main__":
    main(sys.argv[1:])
