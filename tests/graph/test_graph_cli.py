"""`mlguard graph`: results or inventory in, JSON / GraphML / DOT out; bad input is exit 2."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mlguard.cli import main

from .conftest import DemoRun


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_graph_of_results_to_stdout(demo_run: DemoRun, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["graph", str(demo_run.results)], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["source"] == "results"
    assert any(e["cross_provider"] for e in doc["edges"])


def test_graph_of_inventory_as_graphml_file(
    demo_run: DemoRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "estate.graphml"
    code, _, err = run(["graph", str(demo_run.inventory), "--format", "graphml", "-o", str(out)], capsys)
    assert code == 0
    assert str(out) in err
    root = ET.parse(out).getroot()
    assert root.tag.endswith("graphml")
    results_graph = json.loads(demo_run.results.read_text("utf-8"))["estate"]
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    assert len(root.findall("g:graph/g:edge", ns)) == len(results_graph["edges"])


def test_graph_dot(demo_run: DemoRun, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["graph", str(demo_run.results), "--format", "dot"], capsys)
    assert code == 0
    assert out.startswith("digraph estate {")
    assert 'style="dashed"' in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"hello": 1}', "neither a results file"),
        ("[1, 2", "invalid JSON"),
        ('{"resources": [{"uid": 1}]}', "provenance: Field required"),
    ],
)
def test_bad_input_is_exit_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, out, err = run(["graph", str(path)], capsys)
    assert code == 2
    assert str(path) in err
    assert message in err
    assert out == ""
    assert "Traceback" not in err


def test_missing_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["graph", str(tmp_path / "nope.json")], capsys)
    assert code == 2
    assert "file not found" in err
