"""OCSF and ASFF write each result's object from a template per kind of result (report/formats/
json_template.py): the file must be exactly what the general code writes (each object built,
made json_safe and encoded whole), whatever the results share or do not share.

The results here are drawn from small pools, field by field, so that many pairs differ in one
field only: a template, resource or evidence cache whose key missed a field the text depends on
would give one result the text of another, and the files would differ.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlguard.model import (
    Category,
    Evidence,
    PolicyInfo,
    Provenance,
    Result,
    ScanResult,
    Severity,
    SourceLocation,
    Status,
    Summary,
    WaiverRef,
)
from mlguard.report.base import ReportOptions, json_array_chunks, reporters
from mlguard.report.formats.asff import asff_findings
from mlguard.report.formats.json_template import Holes, array_chunks, hole, indented, template
from mlguard.report.formats.ocsf import ocsf_events
from tests.support.results_factory import make_scan

OPTIONS = ReportOptions(asff_region="us-east-1", asff_account="111122223333")


def general_ocsf(scan: ScanResult) -> str:
    return "".join(json_array_chunks(ocsf_events(scan))) + "\n"


def general_asff(scan: ScanResult) -> str:
    return "".join(json_array_chunks(asff_findings(scan, OPTIONS), indent=1)) + "\n"


def written(fmt: str, scan: ScanResult) -> str:
    text = reporters()[fmt]().render(scan, OPTIONS)
    assert isinstance(text, str)
    return text


def assert_as_general(scan: ScanResult) -> None:
    assert written("ocsf", scan) == general_ocsf(scan)
    assert written("asff", scan) == general_asff(scan)


@pytest.mark.parametrize(("n", "seed"), [(0, 1), (1, 2), (7, 3), (260, 5), (1200, 11)])
def test_the_files_are_those_of_the_general_code(n: int, seed: int) -> None:
    assert_as_general(make_scan(n, seed=seed))


def test_shared_evidence_is_written_as_each_result_own_copy() -> None:
    """The evaluator gives a policy's equal evidence one object: the texts made once per object
    must be those of results each holding a copy, and results with other evidence their own."""
    scan = make_scan(400, seed=21)
    pool = [
        Evidence(values={"encryption.enabled": i % 2 == 0, "size": i}, collected_at=f"2026-11-28T15:0{i}:00Z")
        for i in range(7)
    ]
    shared = [r.model_copy(update={"evidence": pool[i % 7]}) for i, r in enumerate(scan.results)]
    copied = [r.model_copy(update={"evidence": r.evidence.model_copy(deep=True)}) for r in shared]
    a = scan.model_copy(update={"results": shared})
    b = scan.model_copy(update={"results": copied})
    assert len({id(r.evidence) for r in a.results}) == 7
    assert len({id(r.evidence) for r in b.results}) == len(b.results)
    for fmt in ("ocsf", "asff"):
        assert written(fmt, a) == written(fmt, b)
    assert_as_general(a)
    events = json.loads(written("ocsf", a))
    assert Counter(json.dumps(e["evidences"][0]["data"]["values"]) for e in events).keys() == {
        json.dumps(e.values) for e in pool
    }


# Pools of each field; hostile text (controls, bidi overrides, escapes, braces, NUL-free) included.
TEXTS = ["plain", "", " padded ", "\x1b[31mred\x1b[0m", "bidi \u202eevil", '{braces} & "quotes"', "tab\there"]
POLICY_A = PolicyInfo(
    id="pol_a",
    title="A title",
    description="A: what and why {0}",
    severity=Severity.HIGH,
    category=Category.SECURITY,
    resource="aws.s3.bucket",
    provider="aws",
    remediation="Fix it",
    remediation_cli="aws s3 fix",
    references=["https://example.com/a"],
    compliance=["cis:1.1"],
)
# Same title and severity as A, another id, description and remediation: must not share A's text.
POLICY_B = POLICY_A.model_copy(
    update={"id": "pol_b", "description": "B: other", "remediation": None, "remediation_cli": None}
    | {"references": []}
)
WAIVERS = [
    None,
    WaiverRef(id="W-1", reason="accepted", owner="team@example.com", expires="2027-01-01", ticket="SEC-1"),
    WaiverRef(id="W-2", reason="\x1b]8;;x\x07old", owner="o", expires="2025-01-01", expired=True),
]
EVIDENCE = [
    Evidence(values={"a": True}, collected_at="2026-11-28T15:00:00Z"),
    Evidence(values={"a": True}, collected_at="2026-11-28T15:00:00Z"),  # equal, another object
    Evidence(values={"a": False, "b\u202e": ["x", None, 1.5]}, collected_at="2026-11-28T16:00:00+01:00"),
    Evidence(values={}, collected_at=None, related=["arn:aws:iam::1:role/r"]),
    Evidence(values={"big": "x" * 3000}, collected_at="2026-11-28T15:00:00"),
]
SOURCES = [
    None,
    SourceLocation(file="infra/main.tf", start_line=3),
    SourceLocation(file="a.tf", start_line=1, end_line=9),
]
REQUIREMENTS = [[], ["cis:1.1"], ["cis:1.1", "nist/800:AC-2"], [f"fw{i}:r{i}" for i in range(40)]]

RESULTS = st.builds(
    Result,
    policy_id=st.sampled_from(["pol_a", "pol_b", "pol_gone"]),  # pol_gone: not in scan.policies
    resource_uid=st.sampled_from(["arn:aws:s3:::b1", "arn:aws-cn:s3:::b2", "arn:x::y", "u\x1b[2J", " ", "r"]),
    resource_type=st.sampled_from(["aws.s3.bucket", "aws.sagemaker.notebook_instance", "databricks.cluster"]),
    resource_name=st.sampled_from([None, *TEXTS]),
    provider=st.sampled_from(["aws", "databricks", "iac"]),
    account=st.sampled_from([None, "123456789012", "210987654321"]),
    region=st.sampled_from([None, "us-east-1", "eu-west-1", "Not a region"]),
    workspace=st.sampled_from([None, "adb-1.azuredatabricks.net", "dbc-2"]),
    status=st.sampled_from(list(Status)),
    severity=st.sampled_from(list(Severity)),
    category=st.sampled_from([Category.SECURITY, Category.COST]),
    title=st.sampled_from(["A title", "B \u202etitle", "x" * 300]),
    message=st.sampled_from(["m", "could not evaluate: absent", *TEXTS]),
    evidence=st.sampled_from(EVIDENCE),
    fingerprint=st.sampled_from(["f" * 32, "0" * 32, "e\u202e"]),
    compliance=st.sampled_from(REQUIREMENTS),
    waiver=st.sampled_from(WAIVERS),
    baseline=st.sampled_from([None, "new", "existing"]),
    source=st.sampled_from(SOURCES),
)


def scan_of(results: list[Result]) -> ScanResult:
    return ScanResult(
        provenance=Provenance(
            version="9.9", policy_pack_version="p1", started_at="2026-11-28T15:00:00Z", finished_at=None
        ),
        results=results,
        summary=Summary.of(results, len(results), 2, 0),
        policies=[POLICY_A, POLICY_B],
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RESULTS, min_size=1, max_size=25))
def test_results_that_differ_in_any_field_are_written_as_the_general_code_writes_them(
    results: list[Result],
) -> None:
    assert_as_general(scan_of(results))


def vary(base: Result, field: str, value: Any) -> Result:
    return base.model_copy(update={field: value})


BASE = Result(
    policy_id="pol_a",
    resource_uid="arn:aws:s3:::b1",
    resource_type="aws.example.widget",  # no Security Hub type: ASFF writes the name in Details.Other
    resource_name="b1",
    provider="aws",
    account="123456789012",
    region="us-east-1",
    status=Status.FAIL,
    severity=Severity.HIGH,
    category=Category.SECURITY,
    title="A title",
    message="bucket is public",
    evidence=EVIDENCE[0],
    fingerprint="f" * 32,
    compliance=["cis:1.1"],
)
ONE_FIELD = [
    ("policy_id", "pol_b"),
    ("policy_id", "pol_gone"),
    ("status", Status.WAIVED),
    ("severity", Severity.LOW),
    ("category", Category.COST),
    ("title", "Another title"),
    ("message", "another message"),
    ("evidence", EVIDENCE[2]),
    ("evidence", EVIDENCE[3]),
    ("fingerprint", "0" * 32),
    ("compliance", ["cis:1.1", "nist:AC-2"]),
    ("waiver", WAIVERS[1]),
    ("baseline", "existing"),
    ("account", "210987654321"),
    ("region", "eu-west-1"),
    ("workspace", "dbc-2"),
    ("provider", "databricks"),
    ("resource_uid", "arn:aws-cn:s3:::b2"),
    ("resource_name", None),
    ("resource_type", "aws.s3.bucket"),
    ("source", SOURCES[1]),
]


@pytest.mark.parametrize(("field", "value"), ONE_FIELD, ids=[f"{f}={v!r:.20}" for f, v in ONE_FIELD])
def test_a_result_that_differs_in_one_field_gets_its_own_text(field: str, value: Any) -> None:
    """The base result first (its texts are cached), then one that differs from it in one field
    only: its object must not be the base's with that field left as it was."""
    other = vary(BASE, field, value)
    if field == "status" and value is Status.WAIVED:
        other = vary(other, "waiver", WAIVERS[1])
    scan = scan_of([BASE, other, BASE])
    assert_as_general(scan)
    ocsf = json.loads(written("ocsf", scan))
    asff = json.loads(written("asff", scan))
    assert ocsf[0] == ocsf[2] != ocsf[1]
    assert asff[0] == asff[2] != asff[1]


def test_a_template_fills_its_holes_where_they_were_put() -> None:
    value: dict[str, Any] = {"a": "x", "b": [1, "y"], "c": {"d": "z"}, "e": "{0}"}
    punch = Holes()
    punch(value, "a", 1)
    punch(value["b"], 1, 0)
    punch(value["c"], "d", 1)
    dumps = json.JSONEncoder(indent=1, ensure_ascii=False).encode
    filled = punch.template(indented(dumps, 1, 2)(value)).fill('"B"', '"A"')
    expected = {"a": "A", "b": [1, "B"], "c": {"d": "A"}, "e": "{0}"}
    assert filled == indented(dumps, 1, 2)(expected)
    with pytest.raises(KeyError):
        punch(value, "absent", 2)  # a new key would be written last, out of the object's order


def test_a_template_refuses_text_that_holds_a_hole_it_was_not_given() -> None:
    text = json.dumps({"a": hole(0), "b": hole(0)}, ensure_ascii=False)
    with pytest.raises(ValueError, match="holes"):
        template(text, Counter({0: 1}))


@pytest.mark.parametrize("indent", [None, 1])
@pytest.mark.parametrize("n", [0, 1, 3, 7])
def test_array_chunks_are_json_array_chunks_of_encoded_items(indent: int | None, n: int) -> None:
    items = [{"i": i, "s": ["x"] * i} for i in range(n)]
    if indent is None:
        texts = [json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in items]
    else:
        texts = [indented(json.JSONEncoder(indent=indent).encode, indent, 1)(v) for v in items]
    assert "".join(array_chunks(texts, indent, batch=2)) == "".join(json_array_chunks(items, indent, batch=3))


def test_the_files_are_the_same_when_the_writers_memos_start_again_often(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The writers' memos are bounded by their texts' characters (report.base.Bounded): at a few
    kilobytes they are emptied every few results, and what is written must not change."""
    from mlguard.report import base

    scan = make_scan(300, seed=23)
    monkeypatch.setattr(base, "MEMO_CHARS", 4_000)
    assert_as_general(scan)
