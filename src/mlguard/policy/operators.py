"""The operator table: plain functions ``(actual, expected) -> bool``.

No operator coerces types: ``"1"`` is not ``1``, and an ordering comparison with a missing value
is false (so an ``assert`` on a missing attribute FAILs, with the missing value in the evidence).
The policy JSON Schema lists exactly the names in :data:`OPERATORS`.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

Fn = Callable[[Any, Any], bool]


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    fn: Fn
    takes_value: bool = True
    value_kind: str = "any"  # any | list | string | number | regex
    doc: str = ""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _order(cmp: Callable[[Any, Any], bool]) -> Fn:
    def fn(a: Any, b: Any) -> bool:
        if _is_number(a) and _is_number(b):
            return cmp(a, b)
        if isinstance(a, str) and isinstance(b, str):
            return cmp(a, b)
        return False

    return fn


def _in(a: Any, b: Any) -> bool:
    return isinstance(b, list) and any(_eq(a, x) for x in b)


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return b in a
    if isinstance(a, list):
        return any(_eq(x, b) for x in a)
    if isinstance(a, dict) and isinstance(b, str):
        return b in a
    return False


def _intersects(a: Any, b: Any) -> bool:
    return isinstance(a, list) and isinstance(b, list) and any(_in(x, b) for x in a)


def _subset_of(a: Any, b: Any) -> bool:
    return isinstance(a, list) and isinstance(b, list) and all(_in(x, b) for x in a)


@lru_cache(maxsize=512)
def compile_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regex(a: Any, b: Any) -> bool:
    return isinstance(a, str) and compile_regex(b).search(a) is not None


def _glob(a: Any, b: Any) -> bool:
    return isinstance(a, str) and fnmatch.fnmatchcase(a, b)


def _empty(a: Any, _: Any) -> bool:
    return a is None or (isinstance(a, str | list | dict) and len(a) == 0)


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 date or datetime (``Z`` allowed) or epoch seconds/milliseconds -> aware UTC datetime."""
    if isinstance(value, bool) or value is None:
        return None
    if _is_number(value):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        try:
            d = date.fromisoformat(text)
        except ValueError:
            return None
        dt = datetime(d.year, d.month, d.day)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


# The evaluation clock; tests pin it, a scan fixes it once so every result uses the same "now".
_NOW: list[datetime | None] = [None]


def now() -> datetime:
    return _NOW[0] or datetime.now(UTC)


def set_now(value: datetime | None) -> None:
    _NOW[0] = value


def age_days(value: Any) -> float | None:
    dt = parse_time(value)
    if dt is None:
        return None
    return (now() - dt).total_seconds() / 86400


def _older_than(a: Any, days: Any) -> bool:
    age = age_days(a)
    return age is not None and _is_number(days) and age > days


def _newer_than(a: Any, days: Any) -> bool:
    age = age_days(a)
    return age is not None and _is_number(days) and age <= days


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _cidr_contains(a: Any, b: Any) -> bool:
    """``a`` (a CIDR, or a list of CIDRs) contains the address or CIDR ``b``."""
    inner = _network(b)
    if inner is None:
        return False
    outers = a if isinstance(a, list) else [a]
    for outer in map(_network, outers):
        if outer is not None and outer.version == inner.version and inner.subnet_of(outer):  # type: ignore[arg-type]
            return True
    return False


def _cidr_within(a: Any, b: Any) -> bool:
    """Every CIDR in ``a`` (one or a list) lies inside one of the CIDRs in ``b`` (one or a list)."""
    items = a if isinstance(a, list) else [a]
    outers = b if isinstance(b, list) else [b]
    return bool(items) and all(any(_cidr_contains(o, x) for o in outers) for x in items)


def _is_public_cidr(a: Any, _: Any) -> bool:
    net = _network(a)
    return net is not None and net.is_global


_TABLE: tuple[Operator, ...] = (
    Operator("eq", _eq, doc="equal (no type coercion; true is not 1)"),
    Operator("ne", lambda a, b: not _eq(a, b), doc="not equal"),
    Operator("lt", _order(lambda a, b: a < b), value_kind="number", doc="less than (numbers or strings)"),
    Operator("le", _order(lambda a, b: a <= b), value_kind="number", doc="less than or equal"),
    Operator("gt", _order(lambda a, b: a > b), value_kind="number", doc="greater than"),
    Operator("ge", _order(lambda a, b: a >= b), value_kind="number", doc="greater than or equal"),
    Operator("in", _in, value_kind="list", doc="value is one of the list"),
    Operator("not_in", lambda a, b: not _in(a, b), value_kind="list", doc="value is none of the list"),
    Operator("contains", _contains, doc="list has the element, string has the substring, object has the key"),
    Operator("not_contains", lambda a, b: not _contains(a, b), doc="negation of contains"),
    Operator("intersects", _intersects, value_kind="list", doc="list shares at least one element"),
    Operator("subset_of", _subset_of, value_kind="list", doc="every element of the list is allowed"),
    Operator("regex", _regex, value_kind="regex", doc="string matches the regular expression (search)"),
    Operator("not_regex", lambda a, b: not _regex(a, b), value_kind="regex", doc="string does not match"),
    Operator("glob", _glob, value_kind="string", doc="string matches the shell-style pattern"),
    Operator("starts_with", lambda a, b: isinstance(a, str) and a.startswith(b), value_kind="string"),
    Operator("ends_with", lambda a, b: isinstance(a, str) and a.endswith(b), value_kind="string"),
    Operator("exists", lambda a, _: a is not None, takes_value=False, doc="present and not null"),
    Operator("absent", lambda a, _: a is None, takes_value=False, doc="missing or null"),
    Operator("empty", _empty, takes_value=False, doc="missing, null, or an empty string/list/object"),
    Operator("not_empty", lambda a, b: not _empty(a, b), takes_value=False, doc="has content"),
    Operator("is_true", lambda a, _: a is True, takes_value=False, doc="exactly true"),
    Operator(
        "is_false", lambda a, _: a is False, takes_value=False, doc="exactly false (missing is not false)"
    ),
    Operator("older_than_days", _older_than, value_kind="number", doc="timestamp is more than N days ago"),
    Operator("newer_than_days", _newer_than, value_kind="number", doc="timestamp is at most N days ago"),
    Operator("cidr_contains", _cidr_contains, value_kind="string", doc="CIDR(s) contain the address/CIDR"),
    Operator("cidr_within", _cidr_within, doc="every CIDR lies inside the given CIDR(s)"),
    Operator(
        "is_public_cidr",
        _is_public_cidr,
        takes_value=False,
        doc="address/CIDR includes publicly routable addresses",
    ),
)

OPERATORS: dict[str, Operator] = {op.name: op for op in _TABLE}
