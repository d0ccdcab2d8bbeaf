"""End to end: the installed ``mlguard`` as a subprocess against servers in other processes.

AWS: ``python -m mlguard.demo.serve`` runs the seeded moto server (with mlguard's moto extension)
on 127.0.0.1; the scanner reaches it only through ``AWS_ENDPOINT_URL``. Databricks: the fake
workspace server runs in its own process, with page size 2 and every 7th request throttled; the
scanner reaches it through ``DATABRICKS_HOST``/``DATABRICKS_TOKEN``. Counts per type must equal
what was seeded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlguard.demo.databricks_fake import demo_state
from tests.support.databricks_harness import expected_counts

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def _mlguard() -> str:
    exe = shutil.which("mlguard", path=str(BIN))
    assert exe, "the mlguard console script is not installed next to this interpreter"
    return exe


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DATABRICKS_"))}
    env.update(extra)
    return env


@pytest.fixture
def aws_server() -> Iterator[dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlguard.demo.serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_clean_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, "the demo server printed nothing"
        yield json.loads(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _inventory_counts(path: Path) -> tuple[Counter[str], list[dict[str, Any]]]:
    data = json.loads(path.read_text())
    return Counter(r["type"] for r in data["resources"]), data["errors"]


def test_installed_scanner_against_moto_server(aws_server: dict[str, Any], tmp_path: Path) -> None:
    manifest = aws_server["manifest"]
    assert aws_server["endpoint"].startswith("http://127.0.0.1:")
    env = _clean_env(**aws_server["env"])
    out = tmp_path / "inventory.json"
    regions = ",".join(manifest["regions"])
    done = subprocess.run(
        [
            _mlguard(),
            "-q",
            "collect",
            "--provider",
            "aws",
            "--regions",
            regions,
            "--all-types",
            "-o",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    counts, errors = _inventory_counts(out)
    wrong = {t: (n, counts.get(t, 0)) for t, n in manifest["counts"].items() if counts.get(t, 0) != n}
    assert wrong == {}, f"seeded vs collected: {wrong}"
    assert errors == [], errors


def test_installed_scanner_against_fake_workspace_paged_and_throttled(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlguard.demo.databricks_fake",
            "--seed",
            "demo",
            "--page-size",
            "2",
            "--throttle-every",
            "7",
            "--retry-after",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_clean_env(),
    )
    try:
        assert proc.stdout is not None
        values = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(2))
        assert values["DATABRICKS_HOST"].startswith("http://127.0.0.1:")
        out = tmp_path / "inventory.json"
        done = subprocess.run(
            [_mlguard(), "-q", "collect", "--provider", "databricks", "--all-types", "-o", str(out)],
            env=_clean_env(**values),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    counts, errors = _inventory_counts(out)
    expected = expected_counts(demo_state())
    wrong = {t: (n, counts.get(t, 0)) for t, n in expected.items() if counts.get(t, 0) != n}
    assert wrong == {}, f"seeded vs collected: {wrong}"
    # an account-level type needs account credentials: recorded, never silently empty
    assert all(e["resource_type"] == "databricks.account_workspace" for e in errors), errors
