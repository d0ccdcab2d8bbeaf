"""The estate map of the HTML report: the graph of :mod:`mlguard.graph` in the compact form the
page's script draws (``templates/estate_map.js``).

Numbers, not objects: a node is ``[group, type, status, FAIL count, ERROR count, severity, row]``
where ``row`` is the index of one of its results in the report's embedded rows (the page reads
the node's uid and name there, so they are not embedded twice) or ``-1`` for a resource without
results, whose uid and name are in ``names``. Edges are ``[source, target, why]``, ``why`` an
index into ``whys`` (negative, ``-why - 1``, when the edge crosses providers). Every label is
platform text: it passes :func:`~mlguard.report.sanitize.terminal_safe`, and the script only ever
sets it as text.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from mlguard.graph.build import STATUS_ORDER, counts_of, estate_or_results
from mlguard.graph.model import Stage
from mlguard.model import ScanResult, Severity
from mlguard.report.sanitize import terminal_safe

# Groups start collapsed above this many nodes: a few thousand resources stay legible as a few
# dozen boxes, each opened on demand.
COLLAPSE_ABOVE = 200
STAGE_TITLES = {
    Stage.DATA: "Data",
    Stage.TRAINING: "Training",
    Stage.MODELS: "Models",
    Stage.SERVING: "Serving",
    Stage.IDENTITY: "Identity and other",
}
STATUSES = ["", *(s.value for s in STATUS_ORDER)]
SEVERITIES = ["", *(s.value for s in sorted(Severity, key=lambda s: -s.rank))]


def _safe(text: str) -> str:
    # a printable string holds no control character and no bidi override: nothing to strip
    return text if text.isprintable() else terminal_safe(text)


def _intern(table: list[str], index: dict[str, int], value: str) -> int:
    found = index.get(value)
    if found is None:
        found = index[value] = len(table)
        table.append(value)
    return found


def map_payload(scan: ScanResult) -> dict[str, Any] | None:
    """The map's data, or None when the scan holds no resource of the estate's types."""
    estate = estate_or_results(scan)
    if not estate.nodes:
        return None
    counts = counts_of(scan.results)
    # each uid's first row: the results from the last to the first, so the first is written last
    uids = list(map(attrgetter("resource_uid"), scan.results))
    first_row = dict(zip(reversed(uids), range(len(uids) - 1, -1, -1), strict=True))
    del uids
    stages = list(Stage)
    group_index: dict[tuple[int, str], int] = {}
    for n in estate.nodes:
        group_index.setdefault((stages.index(n.stage), n.group), 0)
    ordered = sorted(group_index)
    group_index = {key: i for i, key in enumerate(ordered)}
    sizes = [0] * len(ordered)
    types: list[str] = []
    type_index: dict[str, int] = {}
    nodes: list[list[int]] = []
    names: dict[int, list[str]] = {}
    node_index: dict[str, int] = {}
    for n in estate.nodes:
        row, sev = counts.get(n.uid, (None, None))
        worst = next((i for i, c in enumerate(row) if c), -1) if row else -1
        first = first_row.get(n.uid, -1)
        if first < 0:
            names[len(nodes)] = [_safe(n.uid), _safe(n.name or "")]
        g = group_index[(stages.index(n.stage), n.group)]
        sizes[g] += 1
        node_index[n.uid] = len(nodes)
        nodes.append(
            [
                g,
                _intern(types, type_index, n.type),
                worst + 1,  # STATUSES[0] is "no result"
                row[0] if row else 0,
                row[1] if row else 0,
                SEVERITIES.index(sev.value) if sev else 0,
                first,
            ]
        )
    whys: list[str] = []
    why_index: dict[str, int] = {}
    edges = []
    for e in estate.edges:
        w = _intern(whys, why_index, _safe("; ".join(e.why)))
        edges.append([node_index[e.source], node_index[e.target], -w - 1 if e.cross_provider else w])
    return {
        "stages": [STAGE_TITLES[s] for s in stages],
        "statuses": STATUSES,
        "severities": SEVERITIES,
        "groups": [[s, _safe(label), sizes[i]] for i, (s, label) in enumerate(ordered)],
        "types": types,
        "nodes": nodes,
        "names": names,
        "edges": edges,
        "whys": whys,
        "collapsed": len(nodes) > COLLAPSE_ABOVE,
        "cross": sum(1 for e in estate.edges if e.cross_provider),
    }
