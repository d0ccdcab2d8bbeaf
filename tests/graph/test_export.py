"""The graph's exports parse: JSON against the published schema, GraphML with xml.etree, DOT with
a structural check of every statement (pydot is not a dependency). Hostile labels stay inert."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from mlguard.graph.build import graph_of
from mlguard.graph.cli import graph_schema
from mlguard.graph.export import GraphFormat, render, to_dot, to_graphml, to_json
from mlguard.graph.model import Estate, EstateEdge, EstateGraph, EstateNode, Stage

from .conftest import DemoRun

NS = {"g": "http://graphml.graphdrawing.org/xmlns"}
HOSTILE = 'evil "name" \\ with\nnewline \x1b[31mred\x1b[0m \u202eoverride </script><b>&amp;'


@pytest.fixture(scope="module")
def demo_graph(demo_run: DemoRun) -> EstateGraph:
    return graph_of(None, demo_run.load_results(), "results")


def hostile_graph() -> EstateGraph:
    nodes = [
        EstateNode(
            uid=f"u{i}\x07",
            type="aws.s3.bucket",
            provider="aws",
            name=HOSTILE,
            stage=Stage.DATA,
            group=HOSTILE,
        )
        for i in range(2)
    ]
    edges = [EstateEdge(source="u0\x07", target="u1\x07", why=[HOSTILE])]
    return graph_of(Estate(nodes=nodes, edges=edges), None, "inventory")


def test_json_validates_against_the_published_schema(demo_graph: EstateGraph) -> None:
    doc = json.loads(to_json(demo_graph))
    jsonschema.Draft202012Validator(graph_schema()).validate(doc)
    assert EstateGraph.model_validate(doc) == demo_graph
    assert doc["source"] == "results"
    assert any(n["findings"]["FAIL"] for n in doc["nodes"])


@pytest.mark.parametrize("graph_name", ["demo", "hostile"])
def test_graphml_parses_with_every_node_and_edge(graph_name: str, demo_graph: EstateGraph) -> None:
    graph = demo_graph if graph_name == "demo" else hostile_graph()
    root = ET.fromstring(to_graphml(graph))
    keys = {k.get("attr.name"): k.get("id") for k in root.findall("g:key", NS)}
    g = root.find("g:graph", NS)
    assert g is not None
    assert g.get("edgedefault") == "directed"
    nodes = g.findall("g:node", NS)
    edges = g.findall("g:edge", NS)
    assert len(nodes) == len(graph.nodes)
    assert len(edges) == len(graph.edges)
    labels = [d.text or "" for n in nodes for d in n.findall("g:data", NS) if d.get("key") == keys["label"]]
    assert not any(re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", text) for text in labels)
    if graph_name == "demo":
        cross = [
            e
            for e in edges
            for d in e.findall("g:data", NS)
            if d.get("key") == keys["cross_provider"] and d.text == "true"
        ]
        assert len(cross) == sum(e.cross_provider for e in graph.edges) > 0


QUOTED = r'"(?:[^"\\\n]|\\.)*"'
NODE = re.compile(rf"^\s*{QUOTED} \[label={QUOTED}, color={QUOTED}, tooltip={QUOTED}\];$")
EDGE = re.compile(rf"^\s*{QUOTED} -> {QUOTED} \[label={QUOTED}(?:, style=\"dashed\")?\];$")
OTHER = re.compile(
    r"^(?:digraph estate \{|\s*rankdir=LR;|\s*node \[.*\];|\s*subgraph cluster_\d+ \{"
    rf"|\s*label={QUOTED};|\s*\}})$"
)


@pytest.mark.parametrize("graph_name", ["demo", "hostile"])
def test_dot_statements_are_well_formed(graph_name: str, demo_graph: EstateGraph) -> None:
    graph = demo_graph if graph_name == "demo" else hostile_graph()
    text = to_dot(graph)
    lines = text.splitlines()
    bad = [line for line in lines if not (NODE.match(line) or EDGE.match(line) or OTHER.match(line))]
    assert bad == []
    assert sum(1 for line in lines if NODE.match(line)) == len(graph.nodes)
    assert sum(1 for line in lines if EDGE.match(line)) == len(graph.edges)
    assert text.count("{") == text.count("}") or graph_name == "hostile"
    assert "\x1b" not in text
    assert "\u202e" not in text


def test_dot_parses_with_pydot_when_installed(demo_graph: EstateGraph) -> None:
    pydot = pytest.importorskip("pydot")
    (parsed,) = pydot.graph_from_dot_data(to_dot(demo_graph))
    edges = parsed.get_edges() + [e for s in parsed.get_subgraphs() for e in s.get_edges()]
    assert len(edges) == len(demo_graph.edges)


def test_render_dispatches_every_format(demo_graph: EstateGraph) -> None:
    for fmt in GraphFormat:
        assert render(demo_graph, fmt)
