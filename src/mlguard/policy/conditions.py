"""Conditions: the compiled form of ``where`` / ``assert`` and their three-valued evaluation.

A condition evaluates to ``True``, ``False`` or ``None`` (unknown). A leaf is unknown when the
value it reads was not read (a collection error blocks it), is absent (missing key or null) or is
malformed for its operator; only ``exists``, ``absent``, ``empty`` and ``not_empty`` judge absence
themselves, and a leaf's ``if_missing: pass|fail`` states the outcome where the platform's
documented default makes absence meaningful (it never applies to a value that was not read).
A quantifier over an absent list is unknown too (``if_missing`` likewise); ``if_empty`` decides an
empty one. ``all``/``any``/``not`` follow Kleene logic, so unknown never silently becomes PASS.
Each evaluation also returns notes explaining a false or unknown outcome (used in FAIL and ERROR
messages) and records the values it read as evidence.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, Union

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from mlguard.collect.secrets import scrub
from mlguard.model import CollectionError, Resource
from mlguard.policy.operators import OPERATORS, MalformedValue, Operator, RegexError, compile_regex

Outcome = tuple[bool | None, list[str]]
MAX_EVIDENCE_CHARS = 2000
MAX_NOTES = 8


class CompileError(Exception):
    """A semantically invalid condition; ``where`` locates it in the policy document."""

    def __init__(self, message: str, where: list[str | int]) -> None:
        super().__init__(message)
        self.message = message
        self.where = where


@dataclass(frozen=True)
class ParamRef:
    name: str


class Path(Protocol):
    def search(self, value: Any) -> Any: ...


_SIMPLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class DottedPath:
    """Fast path for the common ``a.b.c`` case: plain key lookups, same result as JMESPath."""

    keys: tuple[str, ...]

    def search(self, value: Any) -> Any:
        for i, key in enumerate(self.keys):
            if value is None:
                return None
            if not isinstance(value, dict):
                at = ".".join(self.keys[:i]) or "the element"
                raise MalformedValue(f"{at} is {type(value).__name__}, expected an object")
            value = value.get(key)
        return value


def search(expr: Path, doc: Any) -> Any:
    """Run a path; a JMESPath function given the wrong type (``length(null)``) is a malformed value."""
    try:
        return expr.search(doc)
    except JMESPathError as exc:
        raise MalformedValue(str(exc).splitlines()[0]) from None


def compile_path(text: str, where: list[str | int]) -> Path:
    if _SIMPLE.match(text):
        return DottedPath(tuple(text.split(".")))
    try:
        compiled: ParsedResult = jmespath.compile(text)
    except JMESPathError as exc:
        raise CompileError(f"invalid path {text!r}: {exc}", where) from None
    return compiled


_ROOT = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*))')


_CALL = re.compile(r"^\s*[a-z_]+\(\s*(.*)$", re.DOTALL)


def root_field(path: str) -> str | None:
    """The top-level data key a path starts from (used to match per-attribute collection errors);
    for a function call such as ``length(x)`` or ``keys(aliases || `{}`)``, its first argument's."""
    call = _CALL.match(path)
    if call:
        return root_field(call.group(1))
    m = _ROOT.match(path)
    if not m:
        return None
    return m.group(1) if m.group(1) is not None else m.group(2)


@dataclass(frozen=True)
class Leaf:
    path: str
    expr: Path
    op: Operator
    value: Any = None
    param: str | None = None
    if_missing: bool | None = None  # outcome when the value is absent; None: unknown
    note: str | None = None  # the condition's description (why; for if_missing: the platform default)

    def describe(self, params: dict[str, Any]) -> str:
        if not self.op.takes_value:
            return f"{self.path} {self.op.name}"
        return f"{self.path} {self.op.name} {_short(self.expected(params))}"

    def expected(self, params: dict[str, Any]) -> Any:
        return params.get(self.param) if self.param is not None else self.value


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


@dataclass(frozen=True)
class Quantifier:
    kind: str  # every | some | none
    path: str
    expr: Path
    satisfy: Condition
    if_empty: bool | None  # None: default for the kind
    if_missing: bool | None = None  # outcome when the list is absent; None: unknown
    note: str | None = None


@dataclass(frozen=True)
class JoinOn:
    related: str
    related_expr: Path
    subject: str
    subject_expr: Path
    op: str  # eq | contains | in
    subject_from: str = "current"  # current: the element inside a quantifier (else the resource) | resource
    required: bool = False  # every subject key must match a collected related resource, else unknown


@dataclass(frozen=True)
class Join:
    resource: str
    on: tuple[JoinOn, ...]
    filter: Condition | None
    same: tuple[str, ...] | None
    count_op: str
    count_value: int | ParamRef

    def describe(self, params: dict[str, Any]) -> str:
        n = self.count_value
        wanted = params.get(n.name) if isinstance(n, ParamRef) else n
        keys = ", ".join(f"{o.related} {o.op} {o.subject}" for o in self.on)
        return f"{self.count_op} {wanted} {self.resource} with {keys}"


Condition = Union[Leaf, AllOf, AnyOf, Not, Quantifier, Join]  # noqa: UP007  (recursive alias)


# --------------------------------------------------------------------------- compile


def compile_condition(
    node: dict[str, Any], where: list[str | int], param_names: set[str] | dict[str, Any]
) -> Condition:
    """Build a condition from a schema-valid dict; raises CompileError for semantic problems.

    ``param_names`` maps each declared parameter to its value (a set: names only, values unchecked);
    a parameter compared by an operator must suit it (type; a regex must compile), like a literal.
    """
    if "path" in node:
        op = OPERATORS[node["op"]]
        param = node.get("param")
        given = [k for k in ("value", "param") if k in node]
        if not op.takes_value and given:
            raise CompileError(f"operator {op.name!r} takes no {given[0]}", [*where, given[0]])
        if op.takes_value and len(given) != 1:
            problem = "both value and param" if given else "neither (give value: or param:)"
            raise CompileError(
                f"operator {op.name!r} needs exactly one of value or param; found {problem}", [*where, "op"]
            )
        if param is not None and param not in param_names:
            raise CompileError(
                f"unknown parameter {param!r} (declare it under parameters:)", [*where, "param"]
            )
        if param is not None and isinstance(param_names, dict):
            try:
                _check_value(op, param_names[param], [*where, "param"])
            except CompileError as exc:
                raise CompileError(f"parameter {param!r}: {exc.message}", exc.where) from None
        value = node.get("value")
        if op.takes_value and param is None:
            _check_value(op, value, [*where, "value"])
        if_missing = _if_missing(node, where)
        if if_missing is not None and op.presence:
            raise CompileError(
                f"operator {op.name!r} decides a missing value itself; if_missing does not apply",
                [*where, "if_missing"],
            )
        expr = compile_path(node["path"], [*where, "path"])
        return Leaf(node["path"], expr, op, value, param, if_missing, node.get("description"))
    for key, cls in (("all", AllOf), ("any", AnyOf)):
        if key in node:
            items = tuple(
                compile_condition(c, [*where, key, i], param_names) for i, c in enumerate(node[key])
            )
            return cls(items)
    if "not" in node:
        return Not(compile_condition(node["not"], [*where, "not"], param_names))
    for kind in ("every", "some", "none"):
        if kind in node:
            if_empty = node.get("if_empty")
            return Quantifier(
                kind=kind,
                path=node[kind],
                expr=compile_path(node[kind], [*where, kind]),
                satisfy=compile_condition(node["satisfy"], [*where, "satisfy"], param_names),
                if_empty=None if if_empty is None else if_empty == "pass",
                if_missing=_if_missing(node, where),
                note=node.get("description"),
            )
    if "join" in node:
        return _compile_join(node["join"], [*where, "join"], param_names)
    raise CompileError("condition has no form", where)  # unreachable after schema validation


def condition_problems(
    node: dict[str, Any], where: list[str | int], param_names: set[str] | dict[str, Any]
) -> list[CompileError]:
    """Every semantic problem of a schema-valid condition (``mlguard policies validate``): the
    first of each node whose own part is wrong, and those of all its sub-conditions."""
    try:
        compile_condition(node, where, param_names)
    except CompileError as exc:
        first = exc
    else:
        return []
    subs = _sub_conditions(node, where)
    # A node's own problems (its operator, path, join keys) are raised before its sub-conditions
    # are compiled: a first problem outside every sub-condition is the node's own.
    own = not any(first.where[: len(at)] == at for _, at in subs)
    found = [p for sub, at in subs for p in condition_problems(sub, at, param_names)]
    return [first, *found] if own else found


_Sub = tuple[dict[str, Any], list[str | int]]


def _sub_conditions(node: dict[str, Any], where: list[str | int]) -> list[_Sub]:
    subs: list[_Sub] = []
    for key in ("all", "any"):
        subs += [(c, [*where, key, i]) for i, c in enumerate(node.get(key, ()))]
    if "not" in node:
        subs.append((node["not"], [*where, "not"]))
    if "satisfy" in node:
        subs.append((node["satisfy"], [*where, "satisfy"]))
    join = node.get("join")
    if isinstance(join, dict) and join.get("filter") is not None:
        subs.append((join["filter"], [*where, "join", "filter"]))
    return subs


def cross_provider_problems(
    node: dict[str, Any], where: list[str | int], resource: str
) -> list[CompileError]:
    """Joins from ``resource`` to a type of another provider that name scope fields in ``same:``:
    an AWS account id and a Databricks account or workspace are different things, so such a join
    relates resources by its keys alone (``same: []``, the default across providers)."""
    found: list[CompileError] = []
    join = node.get("join")
    if isinstance(join, dict) and isinstance(join.get("resource"), str):
        if provider_of(join["resource"]) != provider_of(resource) and join.get("same"):
            found.append(
                CompileError(
                    f"a join from {resource} to {join['resource']} crosses providers: scope fields do not "
                    "compare across providers, so it relates resources by its keys alone (same: [])",
                    [*where, "join", "same"],
                )
            )
        if join.get("filter") is not None:
            found += cross_provider_problems(join["filter"], [*where, "join", "filter"], join["resource"])
    for sub, at in _sub_conditions(node, where):
        if not (isinstance(join, dict) and at == [*where, "join", "filter"]):
            found += cross_provider_problems(sub, at, resource)
    return found


def provider_of(resource_type: str) -> str:
    return resource_type.split(".", 1)[0]


def scope_rule(join: Join, subject: Resource) -> tuple[str, ...] | None:
    """The scope fields ``join`` compares for ``subject`` (None: the default rule). A join to another
    provider's type compares none: it relates resources by its keys alone."""
    if join.same is None and provider_of(join.resource) != subject.provider:
        return ()
    return join.same


def _if_missing(node: dict[str, Any], where: list[str | int]) -> bool | None:
    raw = node.get("if_missing")
    return None if raw is None else raw == "pass"


def check_value(op: Operator, value: Any, where: list[str | int]) -> None:
    """Check a literal or a parameter value against what ``op`` compares with (type; regex compiles)."""
    _check_value(op, value, where)


def _check_value(op: Operator, value: Any, where: list[str | int]) -> None:
    if value is None:  # an absent value never reaches a value operator: say it with absent/exists
        raise CompileError(f"operator {op.name!r} cannot compare with null; use absent or exists", where)
    kind = op.value_kind
    if kind == "list" and not isinstance(value, list):
        raise CompileError(f"operator {op.name!r} needs a list value", where)
    not_number = isinstance(value, bool) or not isinstance(value, int | float)
    ordered_string = op.name in ("lt", "le", "gt", "ge") and isinstance(value, str)
    if kind == "number" and not_number and not ordered_string:
        raise CompileError(f"operator {op.name!r} needs a number value", where)
    if kind in ("string", "regex") and not isinstance(value, str):
        raise CompileError(f"operator {op.name!r} needs a string value", where)
    if kind == "number" and isinstance(value, float) and not math.isfinite(value):
        raise CompileError(f"operator {op.name!r} needs a finite number", where)
    if kind == "regex":
        try:
            compile_regex(value)
        except RegexError as exc:
            raise CompileError(
                f"invalid regular expression {value!r} (RE2 syntax: no backreferences or lookaround): {exc}",
                where,
            ) from None


def _compile_join(
    node: dict[str, Any], where: list[str | int], param_names: set[str] | dict[str, Any]
) -> Join:
    on = tuple(
        JoinOn(
            related=o["related"],
            related_expr=compile_path(o["related"], [*where, "on", i, "related"]),
            subject=o["subject"],
            subject_expr=compile_path(o["subject"], [*where, "on", i, "subject"]),
            op=o.get("op", "eq"),
            subject_from=o.get("subject_from", "current"),
            required=bool(o.get("required", False)),
        )
        for i, o in enumerate(node["on"])
    )
    count = node.get("count", {"ge": 1})
    ((count_op, raw),) = count.items()
    value: int | ParamRef
    if isinstance(raw, dict):
        if raw["param"] not in param_names:
            raise CompileError(f"unknown parameter {raw['param']!r}", [*where, "count", count_op, "param"])
        value = ParamRef(raw["param"])
    else:
        value = int(raw)
    cond = node.get("filter")
    return Join(
        resource=node["resource"],
        on=on,
        filter=compile_condition(cond, [*where, "filter"], param_names) if cond is not None else None,
        same=tuple(node["same"]) if "same" in node else None,
        count_op=count_op,
        count_value=value,
    )


def walk(cond: Condition) -> Iterable[Condition]:
    yield cond
    if isinstance(cond, AllOf | AnyOf):
        for c in cond.items:
            yield from walk(c)
    elif isinstance(cond, Not):
        yield from walk(cond.item)
    elif isinstance(cond, Quantifier):
        yield from walk(cond.satisfy)
    elif isinstance(cond, Join) and cond.filter is not None:
        yield from walk(cond.filter)


def missing_rules(cond: Condition) -> list[tuple[str, bool, str | None]]:
    """(path, passes, why) for each leaf or quantifier that states an outcome for absence."""
    return [
        (c.path, c.if_missing, c.note)
        for c in walk(cond)
        if isinstance(c, Leaf | Quantifier) and c.if_missing is not None
    ]


def required_joins(cond: Condition) -> list[tuple[str, str, str]]:
    """(related type, related path, subject path) of each join key that must name a collected
    resource (``on[].required``), in document order, without repeats; a subject inside a
    quantifier is named through its list (``security_group_ids[]``)."""
    out: list[tuple[str, str, str]] = []

    def visit(c: Condition, inside: str) -> None:
        if isinstance(c, AllOf | AnyOf):
            for item in c.items:
                visit(item, inside)
        elif isinstance(c, Not):
            visit(c.item, inside)
        elif isinstance(c, Quantifier):
            visit(c.satisfy, f"{inside}{c.path}[]" if not inside else f"{inside}.{c.path}[]")
        elif isinstance(c, Join):
            for on in c.on:
                if not on.required:
                    continue
                subject = on.subject
                if inside and on.subject_from == "current":
                    subject = inside if subject == "@" else f"{inside}.{subject}"
                if (c.resource, on.related, subject) not in out:
                    out.append((c.resource, on.related, subject))

    visit(cond, "")
    return out


def joined_types(cond: Condition) -> set[str]:
    return {c.resource for c in walk(cond) if isinstance(c, Join)}


# --------------------------------------------------------------------------- evaluate


class JoinSource(Protocol):
    """What a join needs from the inventory (implemented by the evaluator's index)."""

    def candidates(self, join: Join, on: JoinOn, subject: Resource, key: Any) -> list[Resource]: ...

    def covered(self, resource_type: str, subject: Resource, same: tuple[str, ...] | None) -> bool: ...

    def scope_errors(
        self,
        resource_type: str,
        subject: Resource,
        same: tuple[str, ...] | None,
        attributes: frozenset[str] = frozenset(),
    ) -> list[CollectionError]: ...

    def document(self, resource: Resource) -> dict[str, Any]: ...

    def same_scope(self, a: Resource, b: Resource, same: tuple[str, ...] | None) -> bool: ...

    def blocked(self, resource: Resource) -> dict[str, str]: ...

    def join_memo(self, params: dict[str, Any]) -> dict[Any, Any]:
        """A cache for evaluations under ``params``: join outcomes (see :func:`_join`) and the
        descriptions of leaves (:meth:`Evaluation.describe`)."""
        ...

    def has_uid(self, resource_type: str, uid: str) -> bool:
        """True if a resource of ``resource_type`` has this uid."""
        ...


@dataclass(frozen=True)
class _Matches:
    """One join key's related resources (by uid) and its keys no collected resource carries."""

    found: dict[str, Resource]
    not_collected: list[Any]


@dataclass(frozen=True)
class _Counted:
    """What a join's related resources give, whichever subject asks: the matching count, the
    notes of the unknown ones and of the misses, and the first uids that matched."""

    count: int
    unknown: list[str]
    misses: list[str]
    related: list[str]


@dataclass(slots=True)  # one per (policy, resource): attributes read in every leaf
class Evaluation:
    params: dict[str, Any]
    source: JoinSource
    subject: Resource
    blocked: dict[str, str] = field(default_factory=dict)  # data key -> why it is missing ("*": all)
    evidence: dict[str, Any] = field(default_factory=dict)
    related: list[str] = field(default_factory=list)

    def record(self, key: str, value: Any) -> None:
        if key not in self.evidence and len(self.evidence) < 40:
            if value is None or type(value) in _WHOLE:  # what _clip and scrub return unchanged
                self.evidence[key] = value
            else:
                self.evidence[key] = _clip(_scrubbed(value, key))  # never a raw secret in a report

    def describe(self, leaf: Leaf) -> str:
        """``leaf.describe(self.params)``, built once per leaf and parameter set (the same text
        for every resource a policy judges; kept in the source's memo for these parameters)."""
        memo = self.source.join_memo(self.params)
        held: tuple[Leaf, str] | None = memo.get(("describe", id(leaf)))
        if held is None:  # the leaf is kept with its text, so its id is not reused meanwhile
            held = memo[("describe", id(leaf))] = (leaf, leaf.describe(self.params))
        return held[1]


# Values of these exact types are returned as they are by ``scrub``: no string, so no secret.
_PLAIN = frozenset({type(None), bool, int, float})
_WHOLE = frozenset({bool, int})  # and by _clip too (a float may be NaN or infinite)


def _scrubbed(value: Any, key: str) -> Any:
    """``scrub(value, key)``, without its walk for a value that holds no string."""
    return value if type(value) in _PLAIN else scrub(value, key)


def evaluate(cond: Condition, doc: Any, ev: Evaluation, prefix: str = "", top: bool = True) -> Outcome:
    if isinstance(cond, Leaf):
        return _leaf(cond, doc, ev, prefix, top)
    if isinstance(cond, AllOf | AnyOf):
        combine = _all if isinstance(cond, AllOf) else _any
        return combine(cond.items, lambda c: evaluate(c, doc, ev, prefix, top))
    if isinstance(cond, Not):
        value, notes = evaluate(cond.item, doc, ev, prefix, top)
        if value is None:
            return None, notes
        if value:
            return False, [f"not expected: {_describe(cond.item, ev.params)}"]
        return True, []
    if isinstance(cond, Quantifier):
        return _quantifier(cond, doc, ev, prefix, top)
    return _join(cond, doc, ev, prefix)


def _blocked(path: str, ev: Evaluation, top: bool) -> str | None:
    if not top or not ev.blocked:
        return None
    if "*" in ev.blocked:
        return ev.blocked["*"]
    root = root_field(path)
    return ev.blocked.get(root) if root is not None else None


def _leaf(leaf: Leaf, doc: Any, ev: Evaluation, prefix: str, top: bool) -> Outcome:
    why = _blocked(leaf.path, ev, top)
    if why is not None:
        return None, [f"attribute {prefix}{leaf.path} was not read ({why})"]
    try:
        actual = search(leaf.expr, doc)
        ev.record(prefix + leaf.path, actual)
        if actual is None and not leaf.op.presence:
            if leaf.if_missing:  # _missing's outcome, without building the text it would not use
                return True, []
            return _missing(f"{prefix}{leaf.path}", leaf.if_missing, ev.describe(leaf))
        if isinstance(actual, float) and not math.isfinite(actual):
            raise MalformedValue(f"not a finite number: {actual}")
        holds = leaf.op.fn(actual, leaf.expected(ev.params))
    except MalformedValue as exc:
        return None, [f"attribute {prefix}{leaf.path} is malformed: {exc}"]
    if holds:
        return True, []
    return False, [f"{prefix}{ev.describe(leaf)} (found {_short(_scrubbed(actual, leaf.path))})"]


def _missing(label: str, if_missing: bool | None, wanted: str) -> Outcome:
    if if_missing is None:
        return None, [f"attribute {label} is absent (cannot judge {wanted})"]
    if if_missing:
        return True, []
    return False, [f"attribute {label} is absent (if_missing: fail; expected {wanted})"]


def _all(items: Iterable[Condition], run: Callable[[Condition], Outcome]) -> Outcome:
    unknown: list[str] = []
    for item in items:
        value, notes = run(item)
        if value is False:
            return False, notes
        if value is None:
            unknown += notes
    return (None, unknown) if unknown else (True, [])


def _any(items: Iterable[Condition], run: Callable[[Condition], Outcome]) -> Outcome:
    false_notes: list[str] = []
    unknown: list[str] = []
    for item in items:
        value, notes = run(item)
        if value is True:
            return True, []
        (unknown if value is None else false_notes).extend(notes)
    if unknown:
        return None, unknown
    return False, [" or ".join(false_notes)] if false_notes else []


def _quantifier(q: Quantifier, doc: Any, ev: Evaluation, prefix: str, top: bool) -> Outcome:
    why = _blocked(q.path, ev, top)
    if why is not None:
        return None, [f"attribute {prefix}{q.path} was not read ({why})"]
    try:
        items = search(q.expr, doc)
    except MalformedValue as exc:
        return None, [f"attribute {prefix}{q.path} is malformed: {exc}"]
    if items is None:
        ev.record(prefix + q.path, items)
        return _missing(f"{prefix}{q.path}", q.if_missing, f"{q.kind} element to hold")
    if items == []:
        ev.record(prefix + q.path, items)
        default = q.kind != "some"
        ok = default if q.if_empty is None else q.if_empty
        return (True, []) if ok else (False, [f"{prefix}{q.path}: no elements (expected {q.kind} to hold)"])
    if not isinstance(items, list):
        ev.record(prefix + q.path, items)
        return None, [f"attribute {prefix}{q.path} is malformed: expected a list, found {_short(items)}"]
    ev.record(f"{prefix}{q.path} (count)", len(items))
    results: list[Outcome] = []
    for i, item in enumerate(items):
        results.append(evaluate(q.satisfy, item, ev, f"{prefix}{q.path}[{i}].", top=False))
    trues = [i for i, (v, _) in enumerate(results) if v is True]
    unknown = [n for v, notes in results if v is None for n in notes]
    if q.kind == "every":
        bad = [(i, notes) for i, (v, notes) in enumerate(results) if v is False]
        if bad:
            return False, [n for _, notes in bad[:MAX_NOTES] for n in notes]
        return (None, unknown) if unknown else (True, [])
    if q.kind == "some":
        if trues:
            return True, []
        if unknown:
            return None, unknown
        return False, [f"no element of {prefix}{q.path} satisfies {_describe(q.satisfy, ev.params)}"]
    # none
    if trues:
        return False, [
            f"{prefix}{q.path}[{i}] satisfies {_describe(q.satisfy, ev.params)}" for i in trues[:MAX_NOTES]
        ]
    return (None, unknown) if unknown else (True, [])


def join_key(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _join(join: Join, doc: Any, ev: Evaluation, prefix: str) -> Outcome:
    """A join's outcome for ``ev.subject``.

    Which related resources match, and what their ``where`` says, depends on the subject only
    through its join keys, its scope fields and whether its own uid is among the related type's:
    both are memoised under exactly that, so many subjects sharing a key (every resource of a
    region joined to that region's endpoints) cost one pass over the related resources, not one
    each.
    """
    subject = ev.subject
    source = ev.source
    label = f"{prefix}join {join.resource}"
    same = scope_rule(join, subject)
    if not source.covered(join.resource, subject, same):
        return None, [f"{join.resource} was not collected for this resource's scope"]
    resource_doc = source.document(subject)
    memo = source.join_memo(ev.params)
    own_uid = subject.uid if source.has_uid(join.resource, subject.uid) else None
    memo_key: tuple[Any, ...] = (id(join), subject.account, subject.region, subject.workspace, same, own_uid)
    per_on: list[_Matches] = []
    not_collected: list[Any] = []  # keys of `required` joins that no collected resource carries
    for on in join.on:
        at_resource = on.subject_from == "resource" or not prefix
        why = _blocked(on.subject, ev, at_resource)
        if why is not None:  # the join key itself was not collected: the count is unknowable
            return None, [f"attribute {on.subject} was not read ({why})"]
        here = resource_doc if on.subject_from == "resource" else doc
        label_key = on.subject if here is resource_doc else prefix + on.subject
        try:
            value = search(on.subject_expr, here)
        except MalformedValue as exc:
            return None, [f"attribute {label_key} is malformed: {exc}"]
        ev.record(label_key, value)
        if value is None:  # no key to match on: the count is unknowable, not zero
            return None, [f"attribute {label_key} is absent (join key for {join.resource})"]
        keys = value if on.op == "in" and isinstance(value, list) else [value]
        # The type too: 1, 1.0 and true find the same resources but are named apart in messages.
        memo_key = (*memo_key, tuple((type(k).__name__, join_key(k)) for k in keys))
        matches = memo.get(memo_key)
        if matches is None:
            try:
                matches = memo[memo_key] = _matches(join, on, subject, same, keys, source)
            except MalformedValue as exc:  # a related resource's join key has the wrong shape
                matches = memo[memo_key] = f"{join.resource} {on.related} is malformed: {exc}"
        if isinstance(matches, str):
            return None, [matches]
        per_on.append(matches)
        not_collected += matches.not_collected
    if not_collected:
        # The subject names a related resource the scan did not see (shared from another account,
        # deleted meanwhile, or a listing that came back short): whatever it holds is unknown.
        notes = [
            f"{join.resource} {_key_label(k)} was not collected (the scan did not see it)"
            for k in not_collected[:MAX_NOTES]
        ]
        errors = source.scope_errors(join.resource, subject, same)
        if errors:
            ops = sorted({f"{e.operation} ({e.code})" for e in errors})
            notes.append(f"{join.resource} could not be fully collected: {', '.join(ops)}")
        return None, notes
    counted = memo.get(("counted", memo_key))
    if counted is None:
        counted = memo[("counted", memo_key)] = _count(join, per_on, subject, same, ev.params, source)
    count = counted.count
    ev.related.extend(counted.related[: max(0, 20 - len(ev.related))])
    wanted_raw = join.count_value
    wanted = ev.params.get(wanted_raw.name) if isinstance(wanted_raw, ParamRef) else wanted_raw
    ev.record(f"{label} (matching)", count)
    satisfied = OPERATORS[join.count_op].fn(count, wanted)
    # The related side's join keys must have been read too, or a related resource may be missed.
    related_keys = frozenset(k for k in (root_field(o.related) for o in join.on) if k is not None)
    errors = source.scope_errors(join.resource, subject, same, related_keys)
    monotone_up = join.count_op in ("ge", "gt")
    if errors and not (satisfied and monotone_up):
        ops = sorted({f"{e.operation} ({e.code})" for e in errors})
        return None, [f"{join.resource} could not be fully collected: {', '.join(ops)}"]
    if counted.unknown and not (satisfied and monotone_up):
        return None, list(counted.unknown)
    if satisfied:
        return True, []
    return False, [f"{prefix}expected {join.describe(ev.params)}; found {count}", *counted.misses]


def _matches(
    join: Join,
    on: JoinOn,
    subject: Resource,
    same: tuple[str, ...] | None,
    keys: list[Any],
    source: JoinSource,
) -> _Matches:
    found: dict[str, Resource] = {}
    not_collected: list[Any] = []
    for k in keys:
        if k is None:
            continue
        hits = source.candidates(join, on, subject, join_key(k))
        if on.required and not any(
            r.uid != subject.uid and source.same_scope(subject, r, same) for r in hits
        ):
            not_collected.append(k)
        for r in hits:
            found[r.uid] = r
    return _Matches(found, not_collected)


def _count(
    join: Join,
    per_on: list[_Matches],
    subject: Resource,
    same: tuple[str, ...] | None,
    params: dict[str, Any],
    source: JoinSource,
) -> _Counted:
    matched: dict[str, Resource] | None = None
    for m in per_on:
        matched = m.found if matched is None else {u: r for u, r in matched.items() if u in m.found}
    candidates = [
        r for r in (matched or {}).values() if r.uid != subject.uid and source.same_scope(subject, r, same)
    ]
    count = unknown_count = 0
    left_out = False  # a repeated note, or one past MAX_NOTES
    unknown: list[str] = []
    misses: list[str] = []  # why each related resource did not match, for the message
    related: list[str] = []
    for r in sorted(candidates, key=lambda r: r.uid):
        if join.filter is not None:
            # The related resource's own unread attributes make its match unknown, not false.
            inner = Evaluation(params, source, r, blocked=source.blocked(r))
            value, notes = evaluate(join.filter, source.document(r), inner)
            if value is None:
                unknown_count += 1
                # The same reason once, at most MAX_NOTES reasons: 1,250 related resources missing
                # the same attribute made one message of 170 kB, and 200 MB of messages at 100k.
                for note in notes:
                    if note not in unknown and len(unknown) < MAX_NOTES:
                        unknown.append(note)
                    else:
                        left_out = True
                continue
            if not value:
                if len(misses) < MAX_NOTES:
                    misses.append(f"{r.name or r.uid}: {'; '.join(notes) or 'filter is false'}")
                continue
        count += 1
        if len(related) < 20:
            related.append(r.uid)
    if left_out:
        unknown.append(f"{unknown_count} {join.resource} could not be judged")
    return _Counted(count, unknown, misses, related)


def _describe(cond: Condition, params: dict[str, Any]) -> str:
    if isinstance(cond, Leaf):
        return cond.describe(params)
    if isinstance(cond, Join):
        return cond.describe(params)
    if isinstance(cond, Not):
        return f"not ({_describe(cond.item, params)})"
    if isinstance(cond, AllOf | AnyOf):
        sep = " and " if isinstance(cond, AllOf) else " or "
        return "(" + sep.join(_describe(c, params) for c in cond.items) + ")"
    return f"{cond.kind} {cond.path}: {_describe(cond.satisfy, params)}"


def _key_label(key: Any) -> str:
    """A join key as a message names it: a plain id as is, anything else as short JSON; scrubbed."""
    key = scrub(key, "key")
    return key if isinstance(key, str) and len(key) <= 120 and key.isprintable() else _short(key)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def _clip(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/Infinity
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_EVIDENCE_CHARS else value[: MAX_EVIDENCE_CHARS - 3] + "..."
    text = json.dumps(value, default=str, sort_keys=True)
    if len(text) <= MAX_EVIDENCE_CHARS:
        return value
    return text[: MAX_EVIDENCE_CHARS - 3] + "..."
