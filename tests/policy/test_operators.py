from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mlguard.policy import operators
from mlguard.policy.operators import OPERATORS, MalformedValue

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock() -> Any:
    operators.set_now(NOW)
    yield
    operators.set_now(None)


CASES: list[tuple[str, Any, Any, bool]] = [
    ("eq", "Disabled", "Disabled", True),
    ("eq", "1", 1, False),
    ("eq", True, 1, False),
    ("eq", None, None, True),
    ("ne", "Enabled", "Disabled", True),
    ("ne", 1, 1, False),
    ("lt", 3, 5, True),
    ("le", 5, 5, True),
    ("gt", 10, 5, True),
    ("ge", 5, 5, True),
    ("ge", 4.9, 5, False),
    ("in", "a", ["a", "b"], True),
    ("in", "c", ["a", "b"], False),
    ("not_in", "c", ["a", "b"], True),
    ("not_in", "a", ["a", "b"], False),
    ("contains", ["x", "y"], "y", True),
    ("contains", "hello world", "world", True),
    ("contains", {"k": 1}, "k", True),
    ("not_contains", ["x"], "y", True),
    ("not_contains", ["x"], "x", False),
    ("intersects", ["ALL_PRIVILEGES", "USE"], ["ALL_PRIVILEGES", "MANAGE"], True),
    ("intersects", ["USE"], ["ALL_PRIVILEGES"], False),
    ("subset_of", ["a"], ["a", "b"], True),
    ("subset_of", ["a", "z"], ["a", "b"], False),
    ("contains_all", {"owner": "ml", "cost-center": "42", "x": ""}, ["owner", "cost-center"], True),
    ("contains_all", {"owner": "ml"}, ["owner", "cost-center"], False),
    ("contains_all", ["a", "b", "c"], ["a", "c"], True),
    ("contains_all", ["a"], ["a", "c"], False),
    ("contains_all", {}, [], True),
    ("regex", "ml.g5.xlarge", r"^ml\.(g|p)\d", True),
    ("regex", "ml.m5.xlarge", r"^ml\.(g|p)\d", False),
    ("not_regex", "ml.m5.xlarge", r"^ml\.(g|p)\d", True),
    ("glob", "notebook-al2-v2", "notebook-al2-*", True),
    ("glob", "notebook-al1-v1", "notebook-al2-*", False),
    ("starts_with", "{{secrets/scope/key}}", "{{secrets/", True),
    ("ends_with", "x.tf", ".tf", True),
    ("exists", 0, None, True),
    ("exists", None, None, False),
    ("absent", None, None, True),
    ("absent", "", None, False),
    ("empty", [], None, True),
    ("empty", "", None, True),
    ("empty", None, None, True),
    ("empty", [1], None, False),
    ("not_empty", {"a": 1}, None, True),
    ("not_empty", {}, None, False),
    ("is_true", True, None, True),
    ("is_true", False, None, False),
    ("is_false", False, None, True),
    ("is_false", True, None, False),
    ("older_than_days", "2026-01-01T00:00:00Z", 90, True),
    ("older_than_days", "2026-05-20T00:00:00Z", 90, False),
    ("newer_than_days", "2026-05-20", 30, True),
    ("newer_than_days", 1780000000000, 30, True),  # epoch milliseconds (Databricks style)
    ("newer_than_days", "2025-05-20", 30, False),
    ("cidr_contains", "10.0.0.0/8", "10.1.2.3", True),
    ("cidr_contains", ["192.168.0.0/16", "0.0.0.0/0"], "8.8.8.8/32", True),
    ("cidr_contains", "10.0.0.0/8", "11.0.0.1", False),
    ("cidr_contains", "10.0.0.0/8", "::1", False),
    ("cidr_within", ["10.1.0.0/16", "10.2.0.0/16"], "10.0.0.0/8", True),
    ("cidr_within", ["10.1.0.0/16", "0.0.0.0/0"], "10.0.0.0/8", False),
    ("cidr_within", [], "10.0.0.0/8", False),
    ("is_public_cidr", "0.0.0.0/0", None, True),
    ("is_public_cidr", "8.8.8.0/24", None, True),
    ("is_public_cidr", "10.0.0.0/8", None, False),
]


@pytest.mark.parametrize(("op", "actual", "expected", "result"), CASES)
def test_operator(op: str, actual: Any, expected: Any, result: bool) -> None:
    assert OPERATORS[op].fn(actual, expected) is result


def test_every_operator_has_a_case() -> None:
    assert {c[0] for c in CASES} == set(OPERATORS)


def test_parse_time_variants() -> None:
    assert operators.parse_time("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert operators.parse_time("2026-01-02") == datetime(2026, 1, 2, tzinfo=UTC)
    assert operators.parse_time(1767225600) == datetime(2026, 1, 1, tzinfo=UTC)
    assert operators.parse_time(True) is None


# A value of the wrong shape for its operator is not "false": it is malformed, so the result is ERROR.
MALFORMED: list[tuple[str, Any, Any]] = [
    ("lt", "3", 5),
    ("gt", True, 0),
    ("ge", float("nan"), 1),
    ("le", 1, float("inf")),
    ("contains", 5, "x"),
    ("not_contains", {"k": 1}, 5),
    ("intersects", "ALL", ["ALL"]),
    ("subset_of", {"a": 1}, ["a"]),
    ("contains_all", "owner", ["owner"]),
    ("regex", ["x"], ".*"),
    ("not_regex", 5, ".*"),
    ("glob", {"a": 1}, "*"),
    ("starts_with", 7, "x"),
    ("ends_with", ["x"], "x"),
    ("is_true", "true", None),
    ("is_false", 0, None),
    ("older_than_days", "not a date", 90),
    ("older_than_days", 10**30, 90),  # epoch far out of range
    ("newer_than_days", "9999-99-99", 30),
    ("older_than_days", float("nan"), 30),
    ("cidr_contains", "10.0.0.0/8", "not-an-ip"),
    ("cidr_within", ["10.0.0.0/99"], "10.0.0.0/8"),
    ("is_public_cidr", ["10.0.0.0/8"], None),
]


@pytest.mark.parametrize(("op", "actual", "expected"), MALFORMED)
def test_malformed_value_raises(op: str, actual: Any, expected: Any) -> None:
    with pytest.raises(MalformedValue):
        OPERATORS[op].fn(actual, expected)


def test_parse_time_out_of_range_is_none() -> None:
    assert operators.parse_time(10**30) is None
    assert operators.parse_time(float("inf")) is None
    assert operators.parse_time("0000-01-01") is None


def test_presence_operators_are_the_only_ones_that_judge_absence() -> None:
    assert {n for n, op in OPERATORS.items() if op.presence} == {"exists", "absent", "empty", "not_empty"}


def test_regex_runs_on_re2_without_backtracking() -> None:
    # Catastrophic for a backtracking engine; RE2 answers in linear time.
    assert OPERATORS["regex"].fn("a" * 100_000 + "!", r"^(a+)+$") is False
    assert OPERATORS["not_regex"].fn("a" * 100_000, r"^(a+)+$") is False
