"""The estate graph as JSON, GraphML (networkx's writer) and DOT, for other tools.

Labels are platform text: each passes :func:`mlguard.report.sanitize.terminal_safe` (no control
characters, no bidi overrides) before it is written, and DOT strings are quoted and escaped.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, assert_never

from mlguard.graph.model import EstateGraph
from mlguard.report.sanitize import terminal_safe

STATUS_COLOURS = {
    "FAIL": "#b3261e",
    "ERROR": "#8a5300",
    "WAIVED": "#5b4a9e",
    "PASS": "#1e6b34",
    "SKIP": "#5f6368",
}


class GraphFormat(StrEnum):
    JSON = "json"
    GRAPHML = "graphml"
    DOT = "dot"


def label(text: object) -> str:
    return terminal_safe(text).replace("\n", " ").replace("\t", " ")


def to_json(graph: EstateGraph) -> str:
    return graph.model_dump_json(indent=1, exclude_none=True) + "\n"


def _node_attrs(graph: EstateGraph) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for n in graph.nodes:
        f = n.findings
        rows.append(
            (
                label(n.uid),
                {
                    "label": label(n.name or n.uid),
                    "type": n.type,
                    "provider": n.provider,
                    "stage": n.stage.value,
                    "group": label(n.group),
                    "account": label(n.account or ""),
                    "region": label(n.region or ""),
                    "workspace": label(n.workspace or ""),
                    "fail": f.FAIL,
                    "error": f.ERROR,
                    "worst_status": f.worst_status or "",
                    "worst_severity": f.worst_severity or "",
                },
            )
        )
    return rows


def to_graphml(graph: EstateGraph) -> str:
    from networkx.readwrite.graphml import GraphMLWriter

    class Writer(GraphMLWriter):
        """networkx writes a boolean as ``True``; GraphML's (XML Schema's) boolean is ``true``."""

        def add_data(
            self, name: str, element_type: type, value: Any, scope: str = "all", default: Any = None
        ) -> Any:
            element = super().add_data(name, element_type, value, scope, default)
            if element_type is bool:  # networkx passes the value as str(value) already
                element.text = str(value).lower()
            return element

    import networkx as nx

    g: nx.DiGraph[str] = nx.DiGraph()
    for uid, attrs in _node_attrs(graph):
        g.add_node(uid, **attrs)
    for e in graph.edges:
        g.add_edge(
            label(e.source),
            label(e.target),
            why="; ".join(label(w) for w in e.why),
            cross_provider=e.cross_provider,
        )
    writer = Writer(encoding="utf-8", prettyprint=True)
    writer.add_graph_element(g)
    return str(writer)


def dot_quote(text: object) -> str:
    """A DOT double-quoted string: backslash and quote escaped, no raw newline."""
    return '"' + label(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: EstateGraph) -> str:
    lines = [
        "digraph estate {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff"];',
    ]
    by_group: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for uid, attrs in _node_attrs(graph):
        by_group.setdefault(f"{attrs['stage']}: {attrs['group']}", []).append((uid, attrs))
    for i, (group, members) in enumerate(sorted(by_group.items())):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f"    label={dot_quote(group)};")
        for uid, attrs in members:
            colour = STATUS_COLOURS.get(attrs["worst_status"], "#c9ccd1")
            text = dot_quote(attrs["label"])[:-1] + "\\n" + dot_quote(attrs["type"])[1:]
            tip = dot_quote(f"FAIL {attrs['fail']}, ERROR {attrs['error']}")
            lines.append(f"    {dot_quote(uid)} [label={text}, color={dot_quote(colour)}, tooltip={tip}];")
        lines.append("  }")
    for e in graph.edges:
        style = ', style="dashed"' if e.cross_provider else ""
        lines.append(
            f"  {dot_quote(e.source)} -> {dot_quote(e.target)} [label={dot_quote('; '.join(e.why))}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(graph: EstateGraph, fmt: GraphFormat) -> str:
    if fmt is GraphFormat.JSON:
        return to_json(graph)
    if fmt is GraphFormat.GRAPHML:
        return to_graphml(graph)
    if fmt is GraphFormat.DOT:
        return to_dot(graph)
    assert_never(fmt)
