"""The report writers' per-result fast paths write exactly what the general code writes.

At 100k results the writers build each row from fields written once per distinct value, encode
JSON with one encoder made per report, and escape only the text that needs it: each of these is
checked here against the plain form it replaces (``csv.writer``, ``json.dumps``, ...).
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlguard.model import Category, Severity, Status
from mlguard.report.base import Bounded, PerObject, ReportOptions, json_dumper, reporters
from mlguard.report.formats.csv_report import (
    COLUMNS,
    csv_chunks,
    csv_field,
    result_lines,
    result_row,
    safe_cell,
)
from mlguard.report.formats.html import _dumps_plain as html_dumps_plain
from mlguard.report.formats.html import payload as html_payload
from mlguard.report.formats.junit import _clean, _clean_attr, _clean_text, _quick_attr, _text
from mlguard.report.formats.sarif import build_sarif, sarif_chunks
from tests.support.results_factory import make_scan

# Text rich in what the writers treat apart: separators, quotes, line ends, formula leads,
# whitespace, markup, XML-invalid characters, surrogates and astral characters.
TRICKY = st.text(
    alphabet=st.one_of(
        st.sampled_from(",\"\r\n\t \x00\x0b\x1f=+-@\uff1d\uff0b\uff0d\uff20\u3000\xa0&<>'"),
        st.sampled_from("\ud800\udfff\ufffe\uffff\U0001f600\u2028"),
        st.characters(),
    )
)


def _written(value: object) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([safe_cell(value), "x"])
    return buf.getvalue().removesuffix(",x\r\n")


@given(TRICKY)
def test_a_csv_field_is_what_csv_writer_writes(text: str) -> None:
    assert csv_field(text) == _written(text)


@pytest.mark.parametrize("value", [None, 0, -3, 17, Status.FAIL, Severity.HIGH, Category.COST, "", "'"])
def test_a_csv_field_of_a_value_that_is_not_plain_text(value: object) -> None:
    assert csv_field(value) == _written(value)


@pytest.mark.parametrize("n", [0, 1, 7, 2001])
def test_result_lines_are_the_rows_csv_writer_writes(n: int) -> None:
    scan = make_scan(n, seed=n + 11)
    whole = "".join(csv_chunks(COLUMNS, (result_row(r) for r in scan.results)))
    header = "".join(csv_chunks(COLUMNS, ()))
    assert header + "".join(result_lines(scan.results, batch=500)) == whole


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4),
    max_leaves=20,
)
OPTIONS: list[dict[str, Any]] = [
    {"sort_keys": True, "ensure_ascii": False},
    {"sort_keys": True},
    {"separators": (",", ":"), "ensure_ascii": False},
]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@given(value=JSON_VALUES)
def test_json_dumper_is_json_dumps(options: dict[str, Any], value: Any) -> None:
    assert json_dumper(**options)(value) == json.dumps(value, **options)


def test_json_dumper_fails_as_json_dumps_and_then_dumps_again() -> None:
    dumps = json_dumper(sort_keys=True, ensure_ascii=False)
    loop: list[Any] = []
    loop.append({"a": loop})
    with pytest.raises(ValueError, match="Circular reference"):
        dumps(loop)
    outer: dict[str, Any] = {"a": [1], "b": object()}
    with pytest.raises(TypeError):
        dumps(outer)
    with pytest.raises(TypeError):
        dumps({"a": 1, 2: 3})  # keys that sort_keys cannot order
    # nothing a failed dump marked stays marked: the same container dumps once it can be
    outer["b"] = math.inf
    assert dumps(outer) == json.dumps(outer, sort_keys=True, ensure_ascii=False)


PLAIN_VALUES = st.recursive(
    st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70) | TRICKY,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(TRICKY | st.integers(min_value=-(2**63), max_value=2**63 - 1), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(value=PLAIN_VALUES)
def test_the_html_reports_plain_data_is_written_as_json_writes_it(value: Any) -> None:
    # ints, texts (lone surrogates, controls, separators), bools, lists, dicts with text or int keys
    assert html_dumps_plain(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@given(TRICKY)
def test_junit_skips_the_escaping_of_plain_text_only(text: str) -> None:
    assert _clean_text(text) == _text(_clean(text))
    assert _quick_attr(text) == _clean_attr(text)


def test_per_object_computes_once_per_object_not_per_equal_value() -> None:
    calls: list[object] = []
    memo: PerObject[dict[str, int]] = PerObject(lambda d: (calls.append(d), json.dumps(d))[1], limit=2)
    one, equal = {"a": 1}, {"a": 1}
    assert [memo(one), memo(one), memo(equal)] == ['{"a": 1}'] * 3
    assert [c is one for c in calls] == [True, False]  # the equal dict is another object: its own call
    memo({"b": 2})  # the third object: the memo starts again
    memo(one)
    assert len(calls) == 4


def test_evidence_shared_by_results_is_written_as_each_result_own_copy() -> None:
    """The evaluator gives a policy's equal evidence one object; the writers cache what they make
    of it by object: the reports must be those of results each holding its own copy."""
    scan = make_scan(400, seed=21)
    pool = [r.evidence for r in scan.results[:7]]
    shared = [r.model_copy(update={"evidence": pool[i % 7]}) for i, r in enumerate(scan.results)]
    copied = [r.model_copy(update={"evidence": r.evidence.model_copy(deep=True)}) for r in shared]
    a = scan.model_copy(update={"results": shared})
    b = scan.model_copy(update={"results": copied})
    assert len({id(r.evidence) for r in a.results}) == 7
    assert len({id(r.evidence) for r in b.results}) == len(b.results)
    options = ReportOptions()
    for fmt in ("csv", "junit"):
        reporter = reporters()[fmt]()
        assert reporter.render(a, options) == reporter.render(b, options)
    assert html_payload(a) == html_payload(b)


def test_a_memo_is_bounded_by_its_texts_characters_and_by_count() -> None:
    memo: Bounded[str, str] = Bounded(len, limit=3, chars=10)
    assert memo.put("a", "x" * 6) == "x" * 6
    assert memo.get("a") == "x" * 6
    memo.put("b", "y" * 4)  # 10 characters: still within
    assert memo.get("a") is not None
    memo.put("c", "z")  # 11: it starts again, with this one
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (None, None, "z")
    assert memo.used == 1
    memo.put("d", "")
    memo.put("e", "")
    memo.put("f", "")  # the fourth value: it starts again
    assert list(memo.memo) == ["f"]
    big: PerObject[dict[str, int]] = PerObject(json.dumps, chars=8)
    one = {"a": 1}
    big(one)
    big({"bb": 22})  # 11 characters: the memo starts again
    assert len(big.memo.memo) == 1


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ({"a": 1e16, "b": 1.5e-7, "c": 0.1, "d": -0.0, "e": 123456789.125}, "1e+16"),  # orjson: 1e16
        ({"n": math.nan, "i": math.inf, "big": 2**70}, "NaN"),  # orjson: null, and refuses the int
        ({"s": "\u2028 <tag> \x1f \u00e9"}, "\u2028"),
        ({"s": "\ud800"}, "\ud800"),  # orjson refuses the whole batch: json writes it
    ],
    ids=["floats", "nan-and-big-int", "text", "lone-surrogate"],
)
def test_sarif_results_with_any_evidence_are_written_as_json_writes_them(
    values: dict[str, Any], shown: str
) -> None:
    # orjson writes the SARIF results, json their evidence
    scan = make_scan(300, seed=4)
    results = [
        r.model_copy(update={"evidence": r.evidence.model_copy(update={"values": values})})
        if i % 7 == 0
        else r
        for i, r in enumerate(scan.results)
    ]
    scan = scan.model_copy(update={"results": results})
    text = "".join(sarif_chunks(scan))
    assert text == json.dumps(build_sarif(scan), separators=(",", ":"), ensure_ascii=False) + "\n"
    assert shown in text
