"""The estate map at a few thousand resources: the demo estate copied into K AWS accounts and K
Databricks workspaces (default K = 20: ~3,700 resources), its graph built, drawn in the HTML report.

Run: .venv/bin/python bench/estate_map.py [K]

Prints the graph's size and build time, the HTML size with and without the map, and, when
headless Chromium is installed, the page's load time, the map's first draw and the time to open
every group (each open group draws at most 200 resources until asked for more).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support

from tests.support import browser  # noqa: E402

from mlguard.config import Config  # noqa: E402
from mlguard.graph.build import estate_of  # noqa: E402
from mlguard.model import Inventory, Resource  # noqa: E402
from mlguard.pipeline import LoadedConfig, evaluate, load_config, load_policies  # noqa: E402
from mlguard.report.base import ReportOptions, reporters  # noqa: E402
from mlguard.report.estate_map import map_payload  # noqa: E402


def copies(inv: Inventory, k: int) -> list[Resource]:
    """The demo's resources k times over: account ids, workspace hosts and every string holding
    them rewritten, so each copy links inside itself as the demo does."""
    out = []
    for i in range(k):
        account, host = f"{100000000000 + i:012d}", f"ws{i}.cloud.databricks.com"
        for r in inv.resources:
            text = (
                r.model_dump_json()
                .replace("123456789012", account)
                .replace("demo.cloud.databricks.com", host)
            )
            text = text.replace("arn:aws:s3:::acme-", f"arn:aws:s3:::c{i}-acme-").replace(
                "s3://acme-", f"s3://c{i}-acme-"
            )
            text = text.replace('"acme-ml-', f'"c{i}-acme-ml-')
            out.append(Resource.model_validate_json(text))
    return out


def main(argv: list[str]) -> None:
    k = int(argv[0]) if argv else 20
    from mlguard.collect.base import NullProgress
    from mlguard.demo.scan import collect_demo

    loaded = LoadedConfig(Config(), None, None)
    policy_set = load_policies(load_config(None))
    types = set().union(*(p.required_types() for p in policy_set.policies.values()))
    collected, _ = collect_demo(loaded, types, NullProgress())
    resources = copies(collected.inventory, k)
    inv = collected.inventory.model_copy(update={"resources": resources})
    t = time.perf_counter()
    estate = estate_of(resources, policy_set.policies.values())
    took = time.perf_counter() - t
    cross = sum(e.cross_provider for e in estate.edges)
    print(
        f"{len(resources):,} resources -> {len(estate.nodes):,} nodes, {len(estate.edges):,} edges "
        f"({cross:,} across providers) in {took:.2f} s"
    )
    t = time.perf_counter()
    scan = evaluate(inv, list(policy_set.policies.values()), policy_set)
    print(f"evaluated: {len(scan.results):,} results in {time.perf_counter() - t:.1f} s")
    html = reporters()["html"]()
    with tempfile.TemporaryDirectory(prefix="mlguard-bench-map-") as tmp:
        t = time.perf_counter()
        with_map = html.write(scan, Path(tmp) / "with.html", ReportOptions())
        size = with_map.stat().st_size / 1_048_576
        print(f"HTML with the map {size:.2f} MiB in {time.perf_counter() - t:.2f} s")
        data = json.dumps(map_payload(scan), separators=(",", ":"), ensure_ascii=False)
        print(f"of which the map's data {len(data.encode()) / 1_048_576:.2f} MiB")
        if not browser.available():
            print(f"browser: skipped ({browser.MISSING_REASON})")
            return
        with browser.chromium() as driver:
            browser.open_report(driver, with_map, timeout=300)
            ms = driver.execute_script(
                "const e = performance.getEntriesByType('navigation')[0];"
                "return e ? e.domContentLoadedEventEnd : -1"
            )
            open_ms = driver.execute_script(
                "const t = performance.now(); document.getElementById('map-expand').click();"
                "return performance.now() - t;"
            )
            shown = driver.find_element("id", "map-count").text
            print(f"page ready {ms:.0f} ms; open every group {open_ms:.0f} ms; {shown}")


if __name__ == "__main__":
    main(sys.argv[1:])
