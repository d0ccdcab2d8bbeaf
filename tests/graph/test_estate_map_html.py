"""The estate map section of the HTML report: present on the demo report with its cross-platform
links, absent without estate resources, its labels sanitised and unable to close their element."""

from __future__ import annotations

import json
import re

from mlguard.graph.model import Estate, EstateEdge, EstateNode, Stage
from mlguard.model import ScanResult, Summary
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.estate_map import COLLAPSE_ABOVE, map_payload
from tests.support.results_factory import make_scan

from .conftest import DemoRun


def embedded(html: str) -> dict[str, object]:
    m = re.search(r'<script type="application/json" id="mlguard-estate">(.*?)</script>', html, re.S)
    assert m is not None
    return dict(json.loads(m.group(1)))


def test_demo_report_has_the_map(demo_run: DemoRun) -> None:
    html = demo_run.html.read_text("utf-8")
    assert '<section id="estate-map"' in html
    assert 'href="#estate-map"' in html
    data = embedded(html)
    scan = demo_run.load_results()
    assert scan.estate is not None
    assert len(data["nodes"]) == len(scan.estate.nodes)  # type: ignore[arg-type]
    assert len(data["edges"]) == len(scan.estate.edges)  # type: ignore[arg-type]
    assert data["cross"] == sum(e.cross_provider for e in scan.estate.edges) > 0
    assert data["collapsed"] is (len(scan.estate.nodes) > COLLAPSE_ABOVE)
    # nodes with results point at one of their rows; the others carry their own uid and name
    rows = [r.resource_uid for r in scan.results]
    uids = [n.uid for n in scan.estate.nodes]
    names = data["names"]
    assert isinstance(names, dict)
    for i, node in enumerate(data["nodes"]):  # type: ignore[arg-type]
        assert (rows[node[6]] if node[6] >= 0 else names[str(i)][0]) == uids[i]
    script = html.split('id="mlguard-estate"')[1].split("</script>")[1]
    for fetcher in (
        "fetch(",
        "XMLHttpRequest",
        "import(",
        " src=",
        "<link",
        "url(",
    ):  # offline: nothing loaded
        assert fetcher not in script


def test_no_estate_resources_no_section() -> None:
    scan = ScanResult(provenance={"version": "0", "started_at": "2026-01-01T00:00:00Z"}, summary=Summary())
    assert map_payload(scan) is None
    html = reporters()["html"]().render(scan, ReportOptions())
    assert isinstance(html, str)
    assert 'id="estate-map"' not in html
    assert "mlguard-estate" not in html


HOSTILE = "x</script><script>alert(1)</script>\x1b]8;;http://evil\x07link\u202eevil\u0085"


def test_labels_are_sanitised_and_cannot_close_the_element() -> None:
    scan = make_scan(20)
    nodes = [
        EstateNode(
            uid=f"arn:{HOSTILE}:{i}",
            type="aws.iam.role",
            provider="aws",
            name=HOSTILE,
            stage=Stage.IDENTITY,
            group=HOSTILE,
        )
        for i in range(2)
    ]
    scan.estate = Estate(
        nodes=nodes, edges=[EstateEdge(source=nodes[0].uid, target=nodes[1].uid, why=[HOSTILE])]
    )
    html = reporters()["html"]().render(scan, ReportOptions())
    assert isinstance(html, str)
    assert html.count("</script>") == html.count("<script")  # no data closed an element
    data = embedded(html)
    text = json.dumps(data, ensure_ascii=False)
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\x07" not in text
    assert "\u0085" not in text
    names = data["names"]
    assert isinstance(names, dict)
    assert names["0"][1].startswith("x</script>")  # kept as text: the script sets it with textContent


def test_map_size_at_1k_results_is_small() -> None:
    scan = make_scan(1_000, seed=1)
    with_map = reporters()["html"]().render(scan, ReportOptions())
    data = map_payload(scan)
    assert data is not None
    assert len(json.dumps(data, separators=(",", ":"))) < 0.1 * len(with_map)
