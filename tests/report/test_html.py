"""The HTML report as a file: self-contained, data embedded once and escaped."""

from __future__ import annotations

import json
import re

import pytest

from mlguard.model import ScanResult, Summary
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.formats import html
from mlguard.report.formats.html import COLUMNS, error_impacts, payload, recount
from tests.support.results_factory import HOSTILE_NAME, make_scan


def render(scan: ScanResult) -> str:
    text = reporters()["html"]().render(scan, ReportOptions())
    assert isinstance(text, str)
    return text


def embedded(text: str) -> str:
    match = re.search(r'<script type="application/json" id="mlguard-data">(.*?)</script>', text, re.S)
    assert match is not None
    return match.group(1)


def test_self_contained_no_external_fetch(scan: ScanResult) -> None:
    text = render(scan)
    assert not re.search(r"<(link|img|iframe|object|embed)\b", text)
    assert not re.search(r"<script[^>]+src=", text)
    assert "@import" not in text
    assert "default-src 'none'" in text  # CSP: the browser refuses any fetch
    assert text.count('id="mlguard-data"') == 1


def test_embedded_data_is_escaped_and_round_trips(scan: ScanResult) -> None:
    text = render(scan)
    data = embedded(text)
    assert "<" not in data
    assert ">" not in data
    assert "&" not in data
    decoded = json.loads(data)
    assert decoded == json.loads(json.dumps(payload(scan)))
    names = {row[COLUMNS.index("name")] for row in decoded["rows"]}
    assert HOSTILE_NAME in names


def test_hostile_text_never_raw_in_markup(scan: ScanResult) -> None:
    text = render(scan)
    assert HOSTILE_NAME not in text
    assert "<b>accepted</b>" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text  # server-side rendered lists escape it


def test_payload_rows_complete(scan: ScanResult) -> None:
    data = payload(scan)
    assert len(data["rows"]) == len(scan.results)
    assert all(len(row) == len(COLUMNS) for row in data["rows"])
    fps = [row[COLUMNS.index("fingerprint")] for row in data["rows"]]
    assert fps == [r.fingerprint for r in scan.results]


def test_error_impacts_count_unevaluable_results(scan: ScanResult) -> None:
    impacts = error_impacts(scan)
    assert len(impacts) == len(scan.errors)
    assert any(imp.unevaluable for imp in impacts)
    for imp in impacts:
        e = imp.error
        expected = [
            r
            for r in scan.results
            if r.status.value == "ERROR"
            and r.provider == e.provider
            and r.resource_type == e.resource_type
            and e.scope.contains(r.account, r.region, r.workspace)
        ]
        assert imp.unevaluable == len(expected)
        assert imp.policies == sorted({r.policy_id for r in expected})


def test_recount_matches_summary_of(scan: ScanResult) -> None:
    expected = Summary.of(scan.results, scan.summary.resources, scan.summary.policies_run, len(scan.errors))
    assert recount(scan) == expected


@pytest.mark.parametrize("n", [0, 1, html.ROW_BATCH, 2 * html.ROW_BATCH + 1])
def test_streamed_data_block_is_the_old_whole_block(n: int) -> None:
    """The block streamed a batch of rows at a time has the bytes of one dump escaped whole,
    also where a batch boundary falls (rows with hostile names: ``</script>``, ``<!--``, U+2028)."""
    scan = make_scan(n, seed=n + 1)
    scan.results[::7] = [
        r.model_copy(update={"resource_name": "x</script><!--\u2028\u2029&y", "message": "<!--"})
        for r in scan.results[::7]
    ]
    whole = json.dumps(payload(scan), separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        whole = whole.replace(raw, escaped)
    whole = whole.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    pieces = list(html.embed_chunks(scan))
    data = payload(scan)

    def batches(k: int) -> int:  # pieces of a list dumped a batch at a time: "[" or ",", the batch; "]"
        return 2 * -(-k // html.ROW_BATCH) + 1 if k else 1

    small = len(data) - 1 - len(html._LARGE_TABLES)  # each whole, in one piece
    large = sum(1 + batches(len(data[key])) for key in html._LARGE_TABLES)  # the key, the batches
    # "{", the small tables, the large ones, '"rows":[', each batch of rows, the close
    assert len(pieces) == 1 + small + large + 1 + -(-n // html.ROW_BATCH) + 1
    assert "".join(pieces) == whole
    assert json.loads(whole) == json.loads(json.dumps(payload(scan)))
    assert "</script" not in whole
    assert "<!--" not in whole
    assert "\u2028" not in whole


def test_the_page_streams_in_pieces_that_join_to_the_whole_page() -> None:
    scan = make_scan(3 * html.ROW_BATCH, seed=4)
    pieces = list(reporters()["html"]().chunks(scan, ReportOptions()))
    assert len(pieces) > 4  # the page head, the tables, three batches of rows, ..., the page tail
    text = "".join(str(p) for p in pieces)
    assert text == render(scan)
    block = embedded(text)
    assert json.loads(block) == json.loads(json.dumps(payload(scan)))
    assert text.count('id="mlguard-data"') == 1
    assert "mlguard-data-" not in text  # the placeholder is gone
