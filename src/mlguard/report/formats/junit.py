"""JUnit XML: one test suite per policy, one test case per (policy, resource).

FAIL -> ``<failure>``, ERROR -> ``<error>``, SKIP and WAIVED -> ``<skipped>`` (with the reason or the
waiver), PASS -> an empty test case. Characters XML 1.0 cannot carry are replaced, so CI parsers
never choke on a resource name.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import groupby
from operator import attrgetter
from typing import Any
from xml.sax.saxutils import escape

from mlguard.model import Result, ScanResult, Status
from mlguard.report.base import PerObject, Reporter, ReportOptions, json_dumper, register

_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


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


# Text that _text(_clean(...)) leaves as it is (no markup character, nothing XML 1.0 cannot carry),
# and attribute values that _clean_attr leaves as they are (no quote or whitespace entity either).
_PLAIN_TEXT = re.compile("[^&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]*")
_PLAIN_ATTR = re.compile('[^&<>"\x00-\x1f\ud800-\udfff\ufffe\uffff]*')


def _clean_text(text: str) -> str:
    """``_text(_clean(text))``; a plain text (most) is checked, not rewritten."""
    return text if _PLAIN_TEXT.fullmatch(text) else _text(_clean(text))


def _quick_attr(text: str) -> str:
    """``_clean_attr(text)``; a plain value (most) is checked, not rewritten."""
    return text if _PLAIN_ATTR.fullmatch(text) else _clean_attr(text)


class _Cases:
    """Each result's ``<testcase>`` and the indentation after it (level 2). Cleaning and escaping
    work character by character, so a text is escaped in pieces: the pieces that many results
    share (the policy's attributes, the lines of the body from the type to the message, the
    compliance line...) are escaped once each, the result's own (name, uid, evidence) each time."""

    def __init__(self) -> None:
        dumps = json_dumper(sort_keys=True, ensure_ascii=False)
        # the line of an evidence, once per evidence object (a policy's equal ones are one)
        self.evidence: PerObject[dict[str, Any]] = PerObject(
            lambda values: _clean_text("\nevidence: " + dumps(values))
        )
        self.heads: dict[tuple[str, str, str], tuple[str, str]] = {}
        self.opens: dict[tuple[Status, str, str, str], tuple[str, str]] = {}
        self.middles: dict[tuple[str | None, ...], str] = {}
        self.skips: dict[str, str] = {}
        self.compliance: dict[str, str] = {}

    def __call__(self, r: Result) -> str:
        src = r.source
        hkey = (r.provider, r.policy_id, src.file if src else r.resource_type)
        head = self.heads.get(hkey)
        if head is None:
            head = self.heads[hkey] = (
                f'<testcase classname="{_clean_attr(f"mlguard.{hkey[0]}.{hkey[1]}")}" name="',
                f'" file="{_clean_attr(hkey[2])}" time="0"',
            )
        tag = head[0] + _quick_attr(r.resource_name or r.resource_uid) + head[1]
        if src:
            tag += f' line="{src.start_line}"'
        status = r.status
        if status is Status.FAIL or status is Status.ERROR:
            return f"{tag}>{_IN3}{self._failure(r)}{_IN2}</testcase>"
        if status is Status.SKIP:
            child = self.skips.get(r.message)
            if child is None:
                if len(self.skips) > 10_000:  # messages that differ by result: keep it small
                    self.skips.clear()
                child = self.skips[r.message] = f'<skipped message="{_clean_attr(r.message)}" />'
        elif status is Status.WAIVED:
            w = r.waiver
            why = f"waived by {w.owner} until {w.expires}: {w.reason}" if w else "waived"
            child = f'<skipped message="{_clean_attr(why)}" />'
        else:
            return tag + " />"
        return f"{tag}>{_IN3}{child}{_IN2}</testcase>"

    def _failure(self, r: Result) -> str:
        """The ``<failure>`` (FAIL) or ``<error>`` (ERROR) of a result, its body the lines of the
        result: resource, type, scope, severity and category, message, evidence, source, compliance."""
        okey = (r.status, r.severity, r.title, r.message)
        opened = self.opens.get(okey)
        if opened is None:
            if len(self.opens) > 10_000:
                self.opens.clear()
            message = _clean_attr(f"[{r.severity.value}] {r.title}: {r.message}")
            tag, kind = ("failure", r.severity.value) if r.status is Status.FAIL else ("error", "unevaluable")
            opened = self.opens[okey] = (f'<{tag} message="{message}" type="{kind}">', f"</{tag}>")
        mkey: tuple[str | None, ...] = (r.resource_type, r.provider, r.account, r.region, r.workspace)
        mkey += (r.severity, r.category, r.message)
        middle = self.middles.get(mkey)
        if middle is None:
            if len(self.middles) > 10_000:
                self.middles.clear()
            scope = "/".join(p for p in (r.provider, r.account, r.region, r.workspace) if p)
            middle = self.middles[mkey] = _clean_text(
                f"\ntype: {r.resource_type}\nscope: {scope}"
                f"\nseverity: {r.severity.value}  category: {r.category.value}\nmessage: {r.message}"
            )
        body = [opened[0], _clean_text(f"resource: {r.resource_uid}"), middle]
        if r.evidence.values:
            body.append(self.evidence(r.evidence.values))
        if r.source:
            body.append(_clean_text(f"\nsource: {r.source.file}:{r.source.start_line}"))
        if r.compliance:
            joined = ", ".join(r.compliance)
            line = self.compliance.get(joined)
            if line is None:
                if len(self.compliance) > 10_000:
                    self.compliance.clear()
                line = self.compliance[joined] = _clean_text("\ncompliance: " + joined)
            body.append(line)
        body.append(opened[1])
        return "".join(body)


def _tally(results: list[Result]) -> tuple[int, int, int]:
    """The failures (FAIL), errors (ERROR) and skipped (SKIP and WAIVED) among ``results``."""
    n = Counter(map(attrgetter("status"), results))
    return n[Status.FAIL], n[Status.ERROR], n[Status.SKIP] + n[Status.WAIVED]


_POLICY_ID = attrgetter("policy_id")
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _suite(
    scan: ScanResult,
    pid: str,
    title: str,
    results: list[Result],
    tally: tuple[int, int, int],
    case: _Cases,
) -> Iterator[str]:
    """One ``<testsuite>`` (at least one result; ``tally``: its :func:`_tally`) in pieces,
    indented at level 1 as ``ElementTree.indent(space=" ")`` would, without its tail."""
    counts = (len(results), *tally)
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
        batch.append(case(r))
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
    for policy_id, run in groupby(scan.results, _POLICY_ID):  # a policy's results come together
        by_policy[policy_id] += run
    titles = {p.id: p.title for p in scan.policies}
    results = scan.results
    tallies = {pid: _tally(group) for pid, group in by_policy.items()}  # each suite's, and the sum
    failures, errors, skipped = (sum(t[i] for t in tallies.values()) for i in range(3))
    root = (
        f'<testsuites name="mlguard" tests="{len(results)}" failures="{failures}" errors="{errors}"'
        f' skipped="{skipped}" time="0"'
    )
    if not by_policy:  # no suite: an empty element
        yield _HEAD + root + " />\n"
        return
    yield _HEAD + root + ">\n "
    pids = sorted(by_policy)
    case = _Cases()
    for i, pid in enumerate(pids):
        group = by_policy[pid]
        yield from _suite(scan, pid, titles.get(pid, group[0].title), group, tallies[pid], case)
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
