"""JUnit, CSV, Markdown and the console summary: counts reconcile with the results, data is escaped."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections import Counter

from rich.console import Console

from mlguard.model import ScanResult, Status
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.console import print_summary
from mlguard.report.formats.csv_report import COLUMNS, safe_cell
from mlguard.report.formats.markdown import render_markdown
from tests.support.results_factory import HOSTILE_NAME, make_scan


def render(name: str, scan: ScanResult) -> str:
    out = reporters()[name]().render(scan, ReportOptions())
    assert isinstance(out, str)
    return out


def test_junit_one_case_per_result_and_counts(scan: ScanResult) -> None:
    root = ET.fromstring(render("junit", scan).encode())
    statuses = Counter(r.status for r in scan.results)
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(scan.results)
    assert root.get("tests") == str(len(scan.results))
    assert root.get("failures") == str(statuses[Status.FAIL]) == str(len(root.findall(".//failure")))
    assert root.get("errors") == str(statuses[Status.ERROR]) == str(len(root.findall(".//error")))
    skipped = statuses[Status.SKIP] + statuses[Status.WAIVED]
    assert root.get("skipped") == str(skipped) == str(len(root.findall(".//skipped")))
    assert len(root.findall("testsuite")) == len({r.policy_id for r in scan.results})
    for suite in root.findall("testsuite"):
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))
    names = {c.get("name") for c in cases}
    assert HOSTILE_NAME in names  # round-trips as data through XML escaping


def test_junit_survives_control_characters() -> None:
    scan = make_scan(20)
    i, plain = next(
        (i, r)
        for i, r in enumerate(scan.results)
        if r.status is Status.FAIL and "'" not in str(r.resource_name)
    )
    bad = plain.model_copy(update={"message": "bell\x07 and nul\x00 inside"})
    scan = scan.model_copy(update={"results": [bad, *scan.results[:i], *scan.results[i + 1 :]]})
    root = ET.fromstring(render("junit", scan).encode())
    classname = f"mlguard.{bad.provider}.{bad.policy_id}"
    case = root.find(f".//testcase[@classname='{classname}'][@name='{bad.resource_name}']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message", "").endswith("bell\ufffd and nul\ufffd inside")


def test_waived_junit_case_names_owner_and_expiry(scan: ScanResult) -> None:
    root = ET.fromstring(render("junit", scan).encode())
    waived = next(r for r in scan.results if r.status is Status.WAIVED)
    assert waived.waiver is not None
    messages = [s.get("message", "") for s in root.iter("skipped")]
    assert any(waived.waiver.owner in m and waived.waiver.expires in m for m in messages)


def test_csv_rows_match_results_and_are_formula_safe(scan: ScanResult) -> None:
    evil = scan.results[0].model_copy(update={"resource_name": '=HYPERLINK("http://x")'})
    scan = scan.model_copy(update={"results": [evil, *scan.results[1:]]})
    rows = list(csv.DictReader(io.StringIO(render("csv", scan))))
    assert len(rows) == len(scan.results)
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["resource_name"].startswith("'=")
    assert Counter(r["status"] for r in rows) == Counter(r.status.value for r in scan.results)
    assert [r["fingerprint"] for r in rows] == [r.fingerprint for r in scan.results]
    assert safe_cell("-1+2") == "'-1+2"
    assert safe_cell("normal") == "normal"


def test_markdown_summary_counts_and_escaping(scan: ScanResult) -> None:
    text = render("markdown", scan)
    counts = Counter(r.status.value for r in scan.results)
    row = "| " + " | ".join(str(counts[s]) for s in ("FAIL", "ERROR", "WAIVED", "PASS", "SKIP")) + " |"
    assert row in text
    assert "### Top failing policies" in text
    assert "### Collection errors (2)" in text
    assert "### Compliance" in text
    assert "<" not in text.replace("\\<", "")


def test_markdown_is_bounded() -> None:
    scan = make_scan(3_000)
    errors = [scan.errors[0].model_copy(update={"message": "x" * 2_000}) for _ in range(200)]
    scan = scan.model_copy(update={"errors": errors})
    text = render_markdown(scan, max_chars=8_000)
    assert len(text) <= 8_000
    assert "left out to keep this summary under 8000 characters" in text


def test_console_summary(scan: ScanResult) -> None:
    console = Console(record=True, width=160, color_system=None)
    evil = scan.errors[0].model_copy(update={"message": "denied [bold]X[/bold]"})
    print_summary(scan.model_copy(update={"errors": [evil, scan.errors[1]]}), console)
    out = console.export_text()
    fails = sum(r.status is Status.FAIL for r in scan.results)
    assert f"FAIL {fails}" in out
    assert "Top failing policies" in out
    assert "[bold]X[/bold]" in out  # markup in data printed literally
    assert "Collection errors (2)" in out
    assert "AccessDenied" in out
