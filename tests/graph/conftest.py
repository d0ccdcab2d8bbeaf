"""The demo estate scanned once for the graph and estate map tests: its inventory, results and
HTML report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlguard.cli import cli
from mlguard.model import Inventory, ScanResult


@dataclass(frozen=True)
class DemoRun:
    inventory: Path
    results: Path
    html: Path

    def load_inventory(self) -> Inventory:
        return Inventory.model_validate_json(self.inventory.read_text("utf-8"))

    def load_results(self) -> ScanResult:
        return ScanResult.model_validate_json(self.results.read_text("utf-8"))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    out = tmp_path_factory.mktemp("demo-map")
    inv = out / "inventory.json"
    args = [
        "-q",
        "scan",
        "--demo",
        "--inventory-out",
        str(inv),
        "--output-dir",
        str(out),
        "--format",
        "json,html",
    ]
    CliRunner().invoke(cli, args, catch_exceptions=False)  # exit 1: the demo has FAILs
    run = DemoRun(inv, out / "results.json", out / "report.html")
    assert inv.is_file()
    assert run.results.is_file()
    assert run.html.is_file()
    return run
