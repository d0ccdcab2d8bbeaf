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

from typing import Any

from mlguard.graph.build import graph_of
from mlguard.graph.model import Stage
from mlguard.model import ScanResult, Severity, Status
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
STATUSES = ["", *(s.value for s in (Status.FAIL, Status.ERROR, Status.WAIVED, Status.PASS, Status.SKIP))]
SEVERITIES = ["", *(s.value for s in sorted(Severity, key=lambda s: -s.rank))]


def _intern(table: list[str], index: dict[str, int], value: str) -> int:
    found = index.get(value)
    if found is None:
        found = index[value] = len(table)
        table.append(value)
    return found


def map_payload(scan: ScanResult) -> dict[str, Any] | None:
    """The map's data, or None when the scan holds no resource of the estate's types."""
    graph = graph_of(None, scan, "results")
    if not graph.nodes:
        return None
    first_row: dict[str, int] = {}
    for i, r in enumerate(scan.results):
        first_row.setdefault(r.resource_uid, i)
    stages = list(Stage)
    group_index = {(g.stage, g.group): i for i, g in enumerate(graph.groups)}
    groups = [[stages.index(g.stage), terminal_safe(g.group), g.nodes] for g in graph.groups]
    types: list[str] = []
    type_index: dict[str, int] = {}
    nodes: list[list[int]] = []
    names: dict[int, list[str]] = {}
    node_index: dict[str, int] = {}
    for n in graph.nodes:
        f = n.findings
        row = first_row.get(n.uid, -1)
        if row < 0:
            names[len(nodes)] = [terminal_safe(n.uid), terminal_safe(n.name or "")]
        node_index[n.uid] = len(nodes)
        nodes.append(
            [
                group_index[(n.stage, n.group)],
                _intern(types, type_index, n.type),
                STATUSES.index(f.worst_status or ""),
                f.FAIL,
                f.ERROR,
                SEVERITIES.index(f.worst_severity or ""),
                row,
            ]
        )
    whys: list[str] = []
    why_index: dict[str, int] = {}
    edges = []
    for e in graph.edges:
        w = _intern(whys, why_index, terminal_safe("; ".join(e.why)))
        edges.append([node_index[e.source], node_index[e.target], -w - 1 if e.cross_provider else w])
    return {
        "stages": [STAGE_TITLES[s] for s in stages],
        "statuses": STATUSES,
        "severities": SEVERITIES,
        "groups": groups,
        "types": types,
        "nodes": nodes,
        "names": names,
        "edges": edges,
        "whys": whys,
        "collapsed": len(nodes) > COLLAPSE_ABOVE,
        "cross": sum(1 for e in graph.edges if e.cross_provider),
    }
