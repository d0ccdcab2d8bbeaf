"""The JUnit writer builds its XML as strings: the bytes must be those ElementTree writes.

The oracle below is the writer as it was (one ``ElementTree`` per suite, indented with one space);
the string writer must produce the same text for any name, message, waiver or filter.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from mlguard.model import Result, ScanResult, Status, WaiverRef
from mlguard.report.formats.junit import _clean, render_junit
from tests.support.results_factory import make_scan


def _body(r: Result) -> str:
    lines = [
        f"resource: {r.resource_uid}",
        f"type: {r.resource_type}",
        f"scope: {'/'.join(p for p in (r.provider, r.account, r.region, r.workspace) if p)}",
        f"severity: {r.severity.value}  category: {r.category.value}",
        f"message: {r.message}",
    ]
    if r.evidence.values:
        lines.append("evidence: " + json.dumps(r.evidence.values, sort_keys=True, ensure_ascii=False))
    if r.source:
        lines.append(f"source: {r.source.file}:{r.source.start_line}")
    if r.compliance:
        lines.append("compliance: " + ", ".join(r.compliance))
    return _clean("\n".join(lines))


def _case(suite: ET.Element, r: Result) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_clean(f"mlguard.{r.provider}.{r.policy_id}"),
        name=_clean(r.resource_name or r.resource_uid),
        file=_clean(r.source.file) if r.source else _clean(r.resource_type),
        time="0",
    )
    if r.source:
        case.set("line", str(r.source.start_line))
    message = _clean(f"[{r.severity.value}] {r.title}: {r.message}")
    if r.status is Status.FAIL:
        ET.SubElement(case, "failure", message=message, type=r.severity.value).text = _body(r)
    elif r.status is Status.ERROR:
        ET.SubElement(case, "error", message=message, type="unevaluable").text = _body(r)
    elif r.status is Status.SKIP:
        ET.SubElement(case, "skipped", message=_clean(r.message))
    elif r.status is Status.WAIVED:
        w = r.waiver
        why = f"waived by {w.owner} until {w.expires}: {w.reason}" if w else "waived"
        ET.SubElement(case, "skipped", message=_clean(why))


def _suite(scan: ScanResult, pid: str, title: str, results: list[Result]) -> ET.Element:
    counts = {
        "tests": len(results),
        "failures": sum(r.status is Status.FAIL for r in results),
        "errors": sum(r.status is Status.ERROR for r in results),
        "skipped": sum(r.status in (Status.SKIP, Status.WAIVED) for r in results),
    }
    suite = ET.Element(
        "testsuite",
        name=_clean(f"{pid}: {title}"),
        timestamp=scan.provenance.started_at.removesuffix("Z"),
        attrib={k: str(v) for k, v in counts.items()},
        time="0",
    )
    if scan.incomplete or scan.filter:
        props = ET.SubElement(suite, "properties")
        if scan.incomplete:
            ET.SubElement(props, "property", name="mlguard.incomplete", value=_clean(scan.incomplete))
        if scan.filter:
            ET.SubElement(props, "property", name="mlguard.filter", value=scan.filter.note())
    for r in results:
        _case(suite, r)
    return suite


def element_tree_junit(scan: ScanResult) -> str:
    """The writer as it was: every suite an ElementTree."""
    by_policy: dict[str, list[Result]] = defaultdict(list)
    for r in scan.results:
        by_policy[r.policy_id].append(r)
    titles = {p.id: p.title for p in scan.policies}
    root = ET.Element("testsuites", name="mlguard")
    root.set("tests", str(len(scan.results)))
    root.set("failures", str(sum(r.status is Status.FAIL for r in scan.results)))
    root.set("errors", str(sum(r.status is Status.ERROR for r in scan.results)))
    root.set("skipped", str(sum(r.status in (Status.SKIP, Status.WAIVED) for r in scan.results)))
    root.set("time", "0")
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if not by_policy:
        return head + ET.tostring(root, encoding="unicode") + "\n"
    pids = sorted(by_policy)
    for pid in pids:
        results = by_policy[pid]
        root.append(_suite(scan, pid, titles.get(pid, results[0].title), results))
    ET.indent(root, space=" ")
    # indent() leaves the suites' own children as they were indented one level deeper: the same
    # as indenting each suite at level 1
    return head + ET.tostring(root, encoding="unicode") + "\n"


def test_empty_and_synthetic_scans_are_the_element_tree_text() -> None:
    for n, seed in ((0, 1), (1, 2), (40, 3), (700, 4)):
        scan = make_scan(n, seed=seed)
        assert render_junit(scan) == element_tree_junit(scan)
        filtered = scan.only([Status.FAIL, Status.WAIVED])
        assert render_junit(filtered) == element_tree_junit(filtered)
    assert any(make_scan(700, seed=4).errors)  # the properties (incomplete) are covered


_TEXT = st.lists(
    st.sampled_from([*"ab <>&\"'\t\r\n\x00\x0b\ud7ff\ue000\ufffe\U0001f600é=;:", "]]>", "&amp;"]),
    max_size=12,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(name=_TEXT, message=_TEXT, owner=_TEXT, title=_TEXT, value=_TEXT)
def test_any_text_is_escaped_as_element_tree_escapes_it(
    name: str, message: str, owner: str, title: str, value: str
) -> None:
    scan = make_scan(25, seed=9)
    waiver = WaiverRef(id="w1", reason=value, owner=owner, expires="2030-01-01")
    changed = []
    for i, r in enumerate(scan.results):
        status = list(Status)[i % len(Status)]
        evidence = r.evidence.model_copy(update={"values": {"x": value}})
        changed.append(
            r.model_copy(
                update={
                    "resource_name": name or None,
                    "message": message,
                    "title": title,
                    "status": status,
                    "waiver": waiver if status is Status.WAIVED and i % 2 else None,
                    "evidence": evidence,
                }
            )
        )
    scan = scan.model_copy(update={"results": changed})
    text = render_junit(scan)
    assert text == element_tree_junit(scan)
    ET.fromstring(text.encode("utf-8"))  # well-formed whatever the text held
