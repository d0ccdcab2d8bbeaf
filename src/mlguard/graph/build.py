"""The estate graph built from an inventory (:func:`estate_of`) and overlaid with a scan's findings
(:func:`graph_of`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mlguard.graph.model import (
    Estate,
    EstateEdge,
    EstateGraph,
    EstateNode,
    Findings,
    GraphGroup,
    GraphNode,
    Stage,
)
from mlguard.graph.rules import (
    REFERENCES,
    STAGES,
    JoinKey,
    JoinLink,
    KeyForm,
    compiled,
    group_key,
    group_of,
    join_links,
    keyed,
)
from mlguard.model import Resource, Result, ScanResult, Severity, Status, _built
from mlguard.policy.conditions import DottedPath, Path, search
from mlguard.policy.operators import MalformedValue

if TYPE_CHECKING:
    from mlguard.policy.loader import Policy

STATUS_ORDER = (Status.FAIL, Status.ERROR, Status.WAIVED, Status.PASS, Status.SKIP)
ENVELOPE_KEYS = {"uid": lambda r: r.uid, "name": lambda r: r.name, "id": lambda r: r.id}
# The keys Resource.document() sets over the data: a dotted path starting elsewhere reads the data.
DOCUMENT_ENVELOPE = frozenset(
    {"uid", "type", "provider", "id", "name", "account", "region", "workspace", "tags"}
)


def _values(value: Any) -> list[Any]:
    """A path's answer as a flat list of its scalar values."""
    if value is None:
        return []
    if isinstance(value, list):
        out: list[Any] = []
        for v in value:
            out += _values(v)
        return out
    return [value]


def _read(expr: Path, doc: Any) -> list[Any]:
    try:
        return _values(search(expr, doc))
    except MalformedValue:  # a value of the wrong shape names nothing: no link, never a crash
        return []


class _Index:
    """Resources by key, and by key within an account and workspace: a name shared by a thousand
    accounts is looked up in the subject's own scope, not compared a thousand times."""

    def __init__(self) -> None:
        self.bare: dict[str, list[Resource]] = defaultdict(list)
        self.scoped: dict[tuple[str, str | None, str | None], list[Resource]] = defaultdict(list)
        self._last: dict[tuple[str, str | None, str | None] | str, dict[str, Resource]] = {}

    def add(self, key: str, r: Resource) -> None:
        self.bare[key].append(r)
        self.scoped[(key, r.account, r.workspace)].append(r)

    def get(self, key: str | None, subject: Resource, target_type: str) -> list[Resource]:
        if key is None:
            return []
        if subject.provider == target_type.split(".", 1)[0]:
            return self.scoped.get((key, subject.account, subject.workspace), [])
        return self.bare.get(key, [])

    def last_by_uid(self, key: str, subject: Resource, target_type: str) -> dict[str, Resource]:
        """What :meth:`get` answers, as uid -> the last resource of that uid in it (built once)."""
        at: tuple[str, str | None, str | None] | str = (
            (key, subject.account, subject.workspace)
            if subject.provider == target_type.split(".", 1)[0]
            else key
        )
        found = self._last.get(at)
        if found is None:
            found = self._last[at] = {t.uid: t for t in self.get(key, subject, target_type)}
        return found


class _Estate:
    def __init__(self, resources: Sequence[Resource]) -> None:
        self.resources = [r for r in resources if r.type in STAGES]
        self.by_type: dict[str, list[Resource]] = defaultdict(list)
        for r in self.resources:
            self.by_type[r.type].append(r)
        self._docs: dict[str, dict[str, Any]] = {}
        self._read_as: dict[str, Resource] = {}
        self._indexes: dict[tuple[str, str], _Index] = {}
        self.edges: dict[tuple[str, str], list[str]] = {}
        self.cross: set[tuple[str, str]] = set()

    def doc(self, r: Resource) -> dict[str, Any]:
        """The document of ``r``: by uid, so of the first resource of that uid read."""
        found = self._docs.get(r.uid)
        if found is None:
            found = self._docs[r.uid] = self._read_as.setdefault(r.uid, r).document()
        return found

    def read(self, expr: Path, r: Resource) -> Any:
        """``search(expr, self.doc(r))``; a dotted path into the data reads the data itself, not a
        document built for it (at 100k resources, 8k documents built instead of 45k: 0.05 s and
        17 MB less at the scan's peak)."""
        if type(expr) is DottedPath and expr.keys[0] not in DOCUMENT_ENVELOPE:
            return search(expr, self._read_as.setdefault(r.uid, r).data)
        return search(expr, self.doc(r))

    def values(self, expr: Path, r: Resource) -> list[Any]:
        """:func:`_read` of ``expr`` in the document of ``r``."""
        try:
            return _values(self.read(expr, r))
        except MalformedValue:  # a value of the wrong shape names nothing: no link, never a crash
            return []

    def index(self, type_: str, key: str) -> _Index:
        """Resources of ``type_`` by the value(s) of ``key`` (an envelope key or a data path)."""
        found = self._indexes.get((type_, key))
        if found is not None:
            return found
        index = _Index()
        getter = ENVELOPE_KEYS.get(key)
        expr = None if getter is not None else compiled(key)
        for r in self.by_type.get(type_, []):
            raw = [getter(r)] if getter is not None else self.values(expr, r) if expr else []
            for v in raw:
                k = keyed(v, KeyForm.AS_IS)
                if k is not None:
                    index.add(k, r)
        self._indexes[(type_, key)] = index
        return index

    def link(self, a: Resource, b: Resource, why: str) -> None:
        if a.uid == b.uid or not _same_scope(a, b):
            return
        # one edge per pair: a join read from the other side adds its reason to the reference
        pair = (b.uid, a.uid) if (b.uid, a.uid) in self.edges else (a.uid, b.uid)
        reasons = self.edges.setdefault(pair, [])
        if why not in reasons:
            reasons.append(why)
        if a.provider != b.provider:
            self.cross.add(pair)


def _same_scope(a: Resource, b: Resource) -> bool:
    """The evaluator's default join scope: same account and workspace, and region when both have
    one. Across providers an AWS account and a Databricks workspace are different things: the keys
    alone relate them (the README's join scope rule)."""
    if a.provider != b.provider:
        return True
    if a.account != b.account or a.workspace != b.workspace:
        return False
    return a.region is None or b.region is None or a.region == b.region


def estate_of(resources: Sequence[Resource], policies: Iterable[Policy] = ()) -> Estate:
    """The estate's nodes and edges: the reference table's links and the policies' joins."""
    est = _Estate(resources)
    for ref in REFERENCES:
        subjects = est.by_type.get(ref.subject)
        if not subjects or ref.target not in est.by_type:
            continue
        expr = compiled(ref.path)
        index = est.index(ref.target, ref.key)
        for r in subjects:
            for v in est.values(expr, r):
                k = keyed(v, ref.form)
                for target in index.get(k, r, ref.target):
                    est.link(r, target, ref.why)
    for jl in join_links(policies):
        if jl.subject in est.by_type and jl.target in est.by_type:
            _join_edges(est, jl)
    nodes = [node_of(r) for r in est.resources]
    edges = [
        EstateEdge(source=a, target=b, why=why, cross_provider=(a, b) in est.cross)
        for (a, b), why in sorted(est.edges.items())
    ]
    return Estate(nodes=nodes, edges=edges)


_NODE_FIELDS = set(EstateNode.model_fields)


def node_of(r: Resource) -> EstateNode:
    """``EstateNode(uid=r.uid, ..., stage=STAGES[r.type], group=group_of(r))`` without validating
    again what the resource's model validated (55k nodes of a scan of 100k resources took 0.17 s
    to validate); ``tests/graph/test_build.py`` holds it to the validated model."""
    fields = {
        "uid": r.uid,
        "type": r.type,
        "provider": r.provider,
        "name": r.name,
        "account": r.account,
        "region": r.region,
        "workspace": r.workspace,
        "stage": STAGES[r.type],
        "group": group_of(r),
    }
    return _built(EstateNode, fields, _NODE_FIELDS)


def _subject_keys(est: _Estate, r: Resource, key: JoinKey) -> set[str]:
    out: set[str] = set()
    if not key.within:  # on the resource itself
        if key.subject_text == "@":
            _add_keys(out, est.doc(r), key)
        else:
            try:
                _add_keys(out, est.read(key.subject, r), key)
            except MalformedValue:
                _add_keys(out, None, key)
        return out
    elements = [e for e in est.values(key.within[0], r) if isinstance(e, dict)]
    for q in key.within[1:]:
        elements = [e for el in elements for e in _read(q, el) if isinstance(e, dict)]
    for el in elements:
        _add_keys(out, el if key.subject_text == "@" else _safe(key.subject, el), key)
    return out


def _add_keys(out: set[str], value: Any, key: JoinKey) -> None:
    for v in _values(value) if key.op == "in" or isinstance(value, list) else [value]:
        k = keyed(v, KeyForm.AS_IS)
        if k is not None:
            out.add(k)


def _safe(expr: Path, doc: Any) -> Any:
    try:
        return search(expr, doc)
    except MalformedValue:
        return None


def _join_edges(est: _Estate, jl: JoinLink) -> None:
    """Link each subject to the targets every key of the join matches (by uid; of resources sharing
    a uid, the last one the last key found). A key after the first only narrows what the earlier
    ones matched: it looks up those uids, not every target it names (nearly every SageMaker
    variant is ``AllTraffic``: a thousand endpoints and their scalable targets in one account were
    a million comparisons)."""
    indexes = [est.index(jl.target, k.related_text) for k in jl.keys]
    for r in est.by_type[jl.subject]:
        matched: dict[str, Resource] | None = None
        for key, index in zip(jl.keys, indexes, strict=True):
            found: dict[str, Resource] = {}
            for k in _subject_keys(est, r, key):
                named = index.get(k, r, jl.target)
                if matched is None:
                    for t in named:
                        found[t.uid] = t
                elif len(named) <= len(matched):
                    for t in named:
                        if t.uid in matched:
                            found[t.uid] = t
                else:
                    last = index.last_by_uid(k, r, jl.target)
                    for uid in matched:
                        hit = last.get(uid)
                        if hit is not None:
                            found[uid] = hit
            matched = found
            if not matched:
                break
        hits = matched or {}
        for uid in sorted(hits):
            est.link(r, hits[uid], jl.why)


# --------------------------------------------------------------------------- findings overlay


_STATUS_SLOT = {s: i for i, s in enumerate(STATUS_ORDER)}


def counts_of(results: Iterable[Result]) -> dict[str, tuple[list[int], Severity | None]]:
    """Each resource's result counts (in :data:`STATUS_ORDER`) and the worst severity of its FAIL
    and ERROR results, in one pass (a report of 100,000 results calls this)."""
    counts: dict[str, list[int]] = {}
    worst_sev: dict[str, Severity] = {}
    slot = _STATUS_SLOT
    rank = {s: s.rank for s in Severity}
    width = len(STATUS_ORDER)
    for res in results:
        uid = res.resource_uid
        row = counts.get(uid)
        if row is None:
            row = counts[uid] = [0] * width
        status = res.status
        row[slot[status]] += 1
        if status is Status.FAIL or status is Status.ERROR:
            cur = worst_sev.get(uid)
            if cur is None or rank[res.severity] > rank[cur]:
                worst_sev[uid] = res.severity
    return {uid: (row, worst_sev.get(uid)) for uid, row in counts.items()}


def findings_of(results: Iterable[Result]) -> dict[str, Findings]:
    """Each resource's findings: counts per status, worst status, worst FAIL/ERROR severity."""
    out = {}
    for uid, (row, sev) in counts_of(results).items():
        worst = next((STATUS_ORDER[i] for i, n in enumerate(row) if n), None)
        out[uid] = Findings(
            **{s.value: row[i] for i, s in enumerate(STATUS_ORDER)},
            worst_status=worst.value if worst else None,
            worst_severity=sev.value if sev else None,
        )
    return out


def _from_results(scan: ScanResult) -> Estate:
    """A results file written before scans stored their estate: its resources from the results,
    and the related resources its joins used as edges."""
    seen: dict[str, EstateNode] = {}
    for res in scan.results:
        if res.resource_uid in seen or res.resource_type not in STAGES:
            continue
        seen[res.resource_uid] = EstateNode(
            uid=res.resource_uid,
            type=res.resource_type,
            provider=res.provider,
            name=res.resource_name,
            account=res.account,
            region=res.region,
            workspace=res.workspace,
            stage=STAGES[res.resource_type],
            group=group_key(res.provider, res.account, res.region, res.workspace),
        )
    edges: dict[tuple[str, str], list[str]] = {}
    for res in scan.results:
        for other in res.evidence.related:
            if other in seen and res.resource_uid in seen and other != res.resource_uid:
                why = f"policy join ({res.policy_id})"
                pair = (
                    (other, res.resource_uid)
                    if (other, res.resource_uid) in edges
                    else (res.resource_uid, other)
                )
                reasons = edges.setdefault(pair, [])
                if why not in reasons:
                    reasons.append(why)
    return Estate(
        nodes=list(seen.values()),
        edges=[
            EstateEdge(source=a, target=b, why=w, cross_provider=seen[a].provider != seen[b].provider)
            for (a, b), w in sorted(edges.items())
        ],
    )


def estate_or_results(scan: ScanResult) -> Estate:
    """The estate the scan stored, or for a results file without one, the one its results show."""
    return scan.estate if scan.estate is not None else _from_results(scan)


def graph_of(estate: Estate | None, scan: ScanResult | None, source: str) -> EstateGraph:
    """The estate with each node's findings (from ``scan``) and the groups it is drawn in; with no
    ``estate``, the one ``scan`` stored (or, in an older results file, one read off its results)."""
    if estate is None:
        assert scan is not None
        estate = estate_or_results(scan)
    findings = findings_of(scan.results) if scan is not None else {}
    empty = Findings()
    nodes = [GraphNode(**dict(n), findings=findings.get(n.uid, empty)) for n in estate.nodes]
    groups: dict[tuple[int, str], list[GraphNode]] = defaultdict(list)
    order = list(Stage)
    for n in nodes:
        groups[(order.index(n.stage), n.group)].append(n)
    rank = {s.value: i for i, s in enumerate(STATUS_ORDER)}
    group_rows = []
    for (_, gid), members in sorted(groups.items()):
        statuses = [m.findings.worst_status for m in members if m.findings.worst_status]
        group_rows.append(
            GraphGroup(
                group=gid,
                stage=members[0].stage,
                nodes=len(members),
                worst_status=min(statuses, key=lambda s: rank[s]) if statuses else None,
            )
        )
    return EstateGraph(source=source, nodes=nodes, edges=list(estate.edges), groups=group_rows)
