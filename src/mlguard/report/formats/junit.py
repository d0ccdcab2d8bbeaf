"""JUnit XML: one test suite per policy, one test case per (policy, resource).

FAIL -> ``<failure>``, ERROR -> ``<error>``, SKIP and WAIVED -> ``<skipped>`` (with the reason or the
waiver), PASS -> an empty test case. Characters XML 1.0 cannot carry are replaced, so CI parsers
never choke on a resource name.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator

from mlguard.model import Result, ScanResult, Status
from mlguard.report.base import Reporter, ReportOptions, register

_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


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


_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


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
    if scan.incomplete or scan.filter:  # properties come first in a testsuite
        props = ET.SubElement(suite, "properties")
        if scan.incomplete:
            ET.SubElement(props, "property", name="mlguard.incomplete", value=_clean(scan.incomplete))
        if scan.filter:
            ET.SubElement(props, "property", name="mlguard.filter", value=scan.filter.note())
    for r in results:
        _case(suite, r)
    return suite


def junit_chunks(scan: ScanResult) -> Iterator[str]:
    """The JUnit XML in pieces, one test suite (policy) at a time: the same text as one
    ``ElementTree`` of every suite indented with one space, never built whole."""
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
    if not by_policy:  # no suite: an empty element
        yield _HEAD + ET.tostring(root, encoding="unicode") + "\n"
        return
    marker = f"mlguard-suites-{uuid.uuid4().hex}"
    root.text = marker
    head, tail = ET.tostring(root, encoding="unicode").split(marker, 1)
    yield _HEAD + head + "\n "
    pids = sorted(by_policy)
    for i, pid in enumerate(pids):
        results = by_policy[pid]
        suite = _suite(scan, pid, titles.get(pid, results[0].title), results)
        ET.indent(suite, space=" ", level=1)
        suite.tail = "\n " if i + 1 < len(pids) else "\n"
        yield ET.tostring(suite, encoding="unicode")
    yield tail + "\n"


def render_junit(scan: ScanResult) -> str:
    return "".join(junit_chunks(scan))


@register
class JunitReporter(Reporter):
    name = "junit"
    filename = "junit.xml"
    description = (
        "JUnit XML: a test case per policy x resource (FAIL failure, ERROR error, SKIP/WAIVED skipped)."
    )

    streams = True

    def chunks(self, scan: ScanResult, options: ReportOptions) -> Iterator[str | bytes]:
        yield from junit_chunks(scan)

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return render_junit(scan)
