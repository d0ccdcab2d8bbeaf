"""The operator table: plain functions ``(actual, expected) -> bool``.

No operator coerces types: ``"1"`` is not ``1``. Only the presence operators (``exists``,
``absent``, ``empty``, ``not_empty``) are ever called with a missing value; for every other
operator the condition layer decides a missing value (unknown, or the leaf's ``if_missing``).
A value of the wrong shape for its operator (a list where a string is compared, NaN, a timestamp
that cannot be parsed or is out of range) raises :class:`MalformedValue`: that one result is ERROR
with the reason. Regular expressions run on RE2 (linear time, no backtracking).
The policy JSON Schema lists exactly the names in :data:`OPERATORS`.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import re2

Fn = Callable[[Any, Any], bool]


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    fn: Fn
    takes_value: bool = True
    value_kind: str = "any"  # any | list | string | number | regex
    doc: str = ""
    presence: bool = False  # decides missing/null itself (exists, absent, empty, not_empty)


class MalformedValue(ValueError):
    """A collected value of the wrong shape for the operator judging it."""


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _need(ok: bool, op: str, wanted: str, value: Any) -> None:
    if not ok:
        raise MalformedValue(f"{op} needs {wanted}, found {_kind(value)}")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _finite(v: Any) -> bool:
    if isinstance(v, float) and not math.isfinite(v):
        raise MalformedValue(f"not a finite number: {v}")
    return True


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _order(name: str, cmp: Callable[[Any, Any], bool]) -> Fn:
    def fn(a: Any, b: Any) -> bool:
        if _is_number(a) and _is_number(b) and _finite(a) and _finite(b):
            return cmp(a, b)
        if isinstance(a, str) and isinstance(b, str):
            return cmp(a, b)
        raise MalformedValue(f"{name} cannot compare {_kind(a)} with {_kind(b)}")

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
    raise MalformedValue(f"contains cannot look for {_kind(b)} in {_kind(a)}")


def _intersects(a: Any, b: Any) -> bool:
    _need(isinstance(a, list) and isinstance(b, list), "intersects", "a list", a)
    return any(_in(x, b) for x in a)


def _contains_all(a: Any, b: Any) -> bool:
    """A list has every element of ``b``; an object (tags) has every key of ``b``."""
    _need(isinstance(b, list), "contains_all", "a list of required values", b)
    if isinstance(a, dict):
        return all(isinstance(x, str) and x in a for x in b)
    _need(isinstance(a, list), "contains_all", "a list or an object", a)
    return all(_in(x, a) for x in b)


def _subset_of(a: Any, b: Any) -> bool:
    _need(isinstance(a, list) and isinstance(b, list), "subset_of", "a list", a)
    return all(_in(x, b) for x in a)


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


class RegexError(ValueError):
    """A pattern RE2 cannot compile (backreferences, lookaround, bad syntax)."""


@lru_cache(maxsize=512)
def compile_regex(pattern: str) -> Any:
    """Compile with RE2: matching is linear in the input, so no pattern can hang a scan."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise RegexError(text) from None


def _regex(a: Any, b: Any) -> bool:
    _need(isinstance(a, str), "regex", "a string", a)
    return compile_regex(b).search(a) is not None


def _glob(a: Any, b: Any) -> bool:
    _need(isinstance(a, str), "glob", "a string", a)
    return fnmatch.fnmatchcase(a, b)


def _starts_with(a: Any, b: Any) -> bool:
    _need(isinstance(a, str), "starts_with", "a string", a)
    return bool(a.startswith(b))


def _ends_with(a: Any, b: Any) -> bool:
    _need(isinstance(a, str), "ends_with", "a string", a)
    return bool(a.endswith(b))


def _is_bool(want: bool) -> Fn:
    def fn(a: Any, _: Any) -> bool:
        _need(isinstance(a, bool), "is_true" if want else "is_false", "a boolean", a)
        return a is want

    return fn


def _empty(a: Any, _: Any) -> bool:
    return a is None or (isinstance(a, str | list | dict) and len(a) == 0)


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 date or datetime (``Z`` allowed) or epoch seconds/milliseconds -> aware UTC datetime;
    None for anything else, including a timestamp out of range."""
    try:
        return _parse_time(value)
    except (ValueError, OverflowError, OSError):
        return None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if _is_number(value):
        if not math.isfinite(value):
            return None
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


def _age(op: str, a: Any, days: Any) -> float:
    age = age_days(a)
    if age is None:
        raise MalformedValue(f"{op} needs a timestamp (ISO-8601 or epoch, in range), found {_short(a)}")
    _need(_is_number(days) and _finite(days), op, "a number of days", days)
    return age


def _older_than(a: Any, days: Any) -> bool:
    return bool(_age("older_than_days", a, days) > days)


def _newer_than(a: Any, days: Any) -> bool:
    return bool(_age("newer_than_days", a, days) <= days)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _cidr(value: Any, op: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    net = _network(value)
    if net is None:
        raise MalformedValue(f"{op} needs an address or CIDR, found {_short(value)}")
    return net


def _cidr_contains(a: Any, b: Any) -> bool:
    """``a`` (a CIDR, or a list of CIDRs) contains the address or CIDR ``b``."""
    inner = _cidr(b, "cidr_contains")
    outers = a if isinstance(a, list) else [a]
    for outer in (_cidr(o, "cidr_contains") for o in outers):
        if outer.version == inner.version and inner.subnet_of(outer):  # type: ignore[arg-type]
            return True
    return False


def _cidr_within(a: Any, b: Any) -> bool:
    """Every CIDR in ``a`` (one or a list) lies inside one of the CIDRs in ``b`` (one or a list)."""
    items = a if isinstance(a, list) else [a]
    outers = b if isinstance(b, list) else [b]
    return bool(items) and all(any(_cidr_contains(o, x) for o in outers) for x in items)


def _is_public_cidr(a: Any, _: Any) -> bool:
    return _cidr(a, "is_public_cidr").is_global


_TABLE: tuple[Operator, ...] = (
    Operator("eq", _eq, doc="equal (no type coercion; true is not 1)"),
    Operator("ne", lambda a, b: not _eq(a, b), doc="not equal"),
    Operator("lt", _order("lt", lambda a, b: a < b), value_kind="number", doc="less than (numbers/strings)"),
    Operator("le", _order("le", lambda a, b: a <= b), value_kind="number", doc="less than or equal"),
    Operator("gt", _order("gt", lambda a, b: a > b), value_kind="number", doc="greater than"),
    Operator("ge", _order("ge", lambda a, b: a >= b), value_kind="number", doc="greater than or equal"),
    Operator("in", _in, value_kind="list", doc="value is one of the list"),
    Operator("not_in", lambda a, b: not _in(a, b), value_kind="list", doc="value is none of the list"),
    Operator("contains", _contains, doc="list has the element, string has the substring, object has the key"),
    Operator("not_contains", lambda a, b: not _contains(a, b), doc="negation of contains"),
    Operator("intersects", _intersects, value_kind="list", doc="list shares at least one element"),
    Operator("subset_of", _subset_of, value_kind="list", doc="every element of the list is allowed"),
    Operator(
        "contains_all",
        _contains_all,
        value_kind="list",
        doc="list has every element of the value, object has every key (required tags)",
    ),
    Operator("regex", _regex, value_kind="regex", doc="string matches the RE2 regular expression (search)"),
    Operator("not_regex", lambda a, b: not _regex(a, b), value_kind="regex", doc="string does not match"),
    Operator("glob", _glob, value_kind="string", doc="string matches the shell-style pattern"),
    Operator("starts_with", _starts_with, value_kind="string", doc="string starts with the value"),
    Operator("ends_with", _ends_with, value_kind="string", doc="string ends with the value"),
    Operator("exists", lambda a, _: a is not None, takes_value=False, presence=True, doc="present, not null"),
    Operator("absent", lambda a, _: a is None, takes_value=False, presence=True, doc="missing or null"),
    Operator(
        "empty", _empty, takes_value=False, presence=True, doc="missing, null, or an empty string/list/object"
    ),
    Operator("not_empty", lambda a, b: not _empty(a, b), takes_value=False, presence=True, doc="has content"),
    Operator("is_true", _is_bool(True), takes_value=False, doc="exactly true (a boolean)"),
    Operator("is_false", _is_bool(False), takes_value=False, doc="exactly false (a boolean)"),
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
