"""JUnit XML: one test suite per policy, one test case per (policy, resource).

FAIL -> ``<failure>``, ERROR -> ``<error>``, SKIP and WAIVED -> ``<skipped>`` (with the reason or the
waiver), PASS -> an empty test case. Characters XML 1.0 cannot carry are replaced, so CI parsers
never choke on a resource name.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from xml.sax.saxutils import escape

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


# Attribute values escaped as ``ElementTree`` writes them: also quotes and the whitespace that an
# attribute would otherwise normalise away.
_ATTR_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}


def _attr(text: str) -> str:
    """An attribute value escaped as ``ElementTree`` writes it."""
    return escape(text, _ATTR_ENTITIES)


def _text(text: str) -> str:
    """Element text escaped as ``ElementTree`` writes it."""
    return escape(text)


def _clean_attr(text: str) -> str:
    return _attr(_clean(text))


# Indentation of a test suite's children (level 2) and grandchildren (level 3), one space a level.
_IN2 = "\n  "
_IN3 = "\n   "


def _case(r: Result) -> str:
    """One ``<testcase>`` and the indentation after it (level 2)."""
    head = (
        f'<testcase classname="{_clean_attr(f"mlguard.{r.provider}.{r.policy_id}")}"'
        f' name="{_clean_attr(r.resource_name or r.resource_uid)}"'
        f' file="{_clean_attr(r.source.file if r.source else r.resource_type)}" time="0"'
    )
    if r.source:
        head += f' line="{r.source.start_line}"'
    status = r.status
    if status is Status.FAIL or status is Status.ERROR:
        message = _clean_attr(f"[{r.severity.value}] {r.title}: {r.message}")
        tag, kind = ("failure", r.severity.value) if status is Status.FAIL else ("error", "unevaluable")
        child = f'<{tag} message="{message}" type="{kind}">{_text(_body(r))}</{tag}>'
    elif status is Status.SKIP:
        child = f'<skipped message="{_clean_attr(r.message)}" />'
    elif status is Status.WAIVED:
        w = r.waiver
        why = f"waived by {w.owner} until {w.expires}: {w.reason}" if w else "waived"
        child = f'<skipped message="{_clean_attr(why)}" />'
    else:
        return head + " />"
    return f"{head}>{_IN3}{child}{_IN2}</testcase>"


_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _suite(scan: ScanResult, pid: str, title: str, results: list[Result]) -> Iterator[str]:
    """One ``<testsuite>`` (at least one result) in pieces, indented at level 1 as
    ``ElementTree.indent(space=" ")`` would, without its tail."""
    counts = (
        len(results),
        sum(r.status is Status.FAIL for r in results),
        sum(r.status is Status.ERROR for r in results),
        sum(r.status in (Status.SKIP, Status.WAIVED) for r in results),
    )
    stamp = scan.provenance.started_at.removesuffix("Z")
    yield (
        '<testsuite tests="{}" failures="{}" errors="{}" skipped="{}"'.format(*counts)
        + f' name="{_clean_attr(f"{pid}: {title}")}" timestamp="{_attr(stamp)}" time="0">'
    )
    if scan.incomplete or scan.filter:  # properties come first in a testsuite
        props = []
        if scan.incomplete:
            props.append(f'<property name="mlguard.incomplete" value="{_clean_attr(scan.incomplete)}" />')
        if scan.filter:
            props.append(f'<property name="mlguard.filter" value="{_attr(scan.filter.note())}" />')
        yield f"{_IN2}<properties>{_IN3}{_IN3.join(props)}{_IN2}</properties>"
    batch: list[str] = []
    for r in results:
        batch.append(_case(r))
        if len(batch) == 1000:
            yield _IN2 + _IN2.join(batch)
            batch.clear()
    if batch:
        yield _IN2 + _IN2.join(batch)
    yield "\n </testsuite>"


def junit_chunks(scan: ScanResult) -> Iterator[str]:
    """The JUnit XML in pieces, one test suite (policy) at a time: the text of one ``ElementTree``
    of every suite indented with one space (written as strings: a tree per suite cost more than
    the rest of the report)."""
    by_policy: dict[str, list[Result]] = defaultdict(list)
    for r in scan.results:
        by_policy[r.policy_id].append(r)
    titles = {p.id: p.title for p in scan.policies}
    results = scan.results
    failures = sum(r.status is Status.FAIL for r in results)
    errors = sum(r.status is Status.ERROR for r in results)
    skipped = sum(r.status in (Status.SKIP, Status.WAIVED) for r in results)
    root = (
        f'<testsuites name="mlguard" tests="{len(results)}" failures="{failures}" errors="{errors}"'
        f' skipped="{skipped}" time="0"'
    )
    if not by_policy:  # no suite: an empty element
        yield _HEAD + root + " />\n"
        return
    yield _HEAD + root + ">\n "
    pids = sorted(by_policy)
    for i, pid in enumerate(pids):
        group = by_policy[pid]
        yield from _suite(scan, pid, titles.get(pid, group[0].title), group)
        yield "\n " if i + 1 < len(pids) else "\n"
    yield "</testsuites>\n"


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
