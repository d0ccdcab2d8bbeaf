"""Progress on stderr: one line per finished unit off a terminal (a CI log), a bar with totals on
one; call counts from the collectors' own request hooks."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from mlguard.cli.output import OutputSettings
from mlguard.cli.progress import BarProgress, LineProgress, family_of, progress
from mlguard.collect.aws import families  # noqa: F401  (registers the specs)
from mlguard.collect.aws.spec import SPECS
from mlguard.collect.base import CallMeter, Calls, NullProgress

LINE = re.compile(
    r"^mlguard: (?P<unit>.+?): (?P<res>\d+) resources?, (?P<calls>\d+) calls?, (?P<err>\d+) errors?, "
    r"(?P<secs>\d+\.\d)s$"
)


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=terminal, width=100, color_system=None), buf


def test_the_display_follows_the_terminal_and_quiet() -> None:
    tty, _ = _console(True)
    pipe, _ = _console(False)
    with progress(tty, OutputSettings()) as p:
        assert isinstance(p, BarProgress)
    with progress(pipe, OutputSettings()) as p:
        assert isinstance(p, LineProgress)
    with progress(tty, OutputSettings(quiet=True)) as p:
        assert isinstance(p, NullProgress)


def test_off_a_terminal_one_line_per_finished_unit() -> None:
    err, buf = _console(False)
    with progress(err, OutputSettings()) as p:
        p.start("aws/1/us-east-1/s3", "AWS 1 us-east-1 s3")
        p.start("databricks:ws:databricks.job", "ws databricks.job")
        p.finish("databricks:ws:databricks.job", 3, 0, Calls(calls=2, attempts=2))
        p.finish("aws/1/us-east-1/s3", 1, 1, Calls(calls=5, attempts=7))
    lines = buf.getvalue().splitlines()
    assert [LINE.match(line)["unit"] for line in lines] == ["ws databricks.job", "AWS 1 us-east-1 s3"]  # type: ignore[index]
    assert lines[1].startswith("mlguard: AWS 1 us-east-1 s3: 1 resource, 5 calls, 1 error, ")


def test_verbose_adds_retries_and_totals_by_family() -> None:
    err, buf = _console(False)
    with progress(err, OutputSettings(verbose=1)) as p:
        for region in ("us-east-1", "eu-west-1"):
            p.start(f"aws/1/{region}/sagemaker", f"AWS 1 {region} sagemaker")
            p.finish(f"aws/1/{region}/sagemaker", 4, 0, Calls(calls=10, attempts=12))
        p.start("databricks:ws:databricks.uc.storage_credential", "ws databricks.uc.storage_credential")
        p.finish("databricks:ws:databricks.uc.storage_credential", 1, 0, Calls(calls=2, attempts=2))
    text = buf.getvalue()
    assert "AWS 1 eu-west-1 sagemaker: 4 resources, 10 calls (2 retries), 0 errors" in text
    assert "mlguard: family aws sagemaker: 2 scopes, 8 resources, 20 calls (4 retries), 0 errors, " in text
    assert (
        "mlguard: family databricks.uc.storage_credential: 1 scope, 1 resource, 2 calls (0 retries)" in text
    )
    assert "mlguard: collected 9 resources in 3 units: 22 calls (4 retries), 0 errors" in text


def test_on_a_terminal_the_bar_counts_units_and_totals() -> None:
    err, _ = _console(True)
    with BarProgress(err, verbose=False) as bar:
        bar.start("aws/1/global/iam", "AWS 1 global iam")
        bar.start("aws/1/global/s3", "AWS 1 global s3")
        bar.finish("aws/1/global/iam", 17, 0, Calls(calls=18, attempts=18))
        task = bar._progress.tasks[0]
        assert (task.completed, task.total) == (1, 2)
        assert task.fields["totals"] == "17 resources, 18 calls, 0 errors"


def test_unit_keys_name_their_family() -> None:
    assert family_of("aws/123456789012/us-east-1/sagemaker") == ("aws", "sagemaker")
    assert family_of("aws/123456789012/global/iam") == ("aws", "iam")
    assert family_of("databricks:adb-1.azuredatabricks.net:databricks.uc.catalog") == (
        "databricks",
        "databricks.uc.catalog",
    )


def test_call_meter_counts_per_unit_and_per_thread() -> None:
    import threading

    meter = CallMeter()
    meter.working_for("a")
    meter.call()
    meter.attempt()
    meter.attempt()

    def other() -> None:
        meter.call()  # no unit in this thread: not counted
        meter.working_for("b")
        meter.call()
        meter.attempt()

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert meter.counts("a") == Calls(calls=1, attempts=2)
    assert meter.counts("a").retries == 1
    assert meter.counts("b") == Calls(calls=1, attempts=1)


def _mlguard() -> str:
    exe = shutil.which("mlguard", path=str(Path(sys.executable).parent))
    assert exe, "the mlguard console script is not installed next to this interpreter"
    return exe


@pytest.mark.e2e
def test_demo_scan_in_ci_writes_one_line_per_family_on_stderr(tmp_path: Path) -> None:
    """A real subprocess, stderr a pipe: the CI log of a demo scan; stdout carries only SARIF."""
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run(
        [
            _mlguard(),
            "scan",
            "--demo",
            "--no-record",
            "--fail-on",
            "never",
            "--stdout",
            "sarif",
            "--inventory-out",
            str(tmp_path / "inventory.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["version"] == "2.1.0"  # stdout is the report, whole and alone
    assert not (tmp_path / "mlguard-out").exists()
    units = [m for line in done.stderr.splitlines() if (m := LINE.match(line))]
    inventory = json.loads((tmp_path / "inventory.json").read_text())
    # every AWS family of every scope the inventory covers has exactly one line
    expected = {
        f"AWS {c['account']} {c.get('region') or 'global'} {SPECS[c['resource_type']].family}"
        for c in inventory["coverage"]
        if c["provider"] == "aws"
    }
    aws_lines = [m["unit"] for m in units if m["unit"].startswith("AWS ")]
    assert sorted(aws_lines) == sorted(expected)
    dbx_lines = [m["unit"] for m in units if not m["unit"].startswith("AWS ")]
    assert dbx_lines
    assert len(set(dbx_lines)) == len(dbx_lines)
    # the lines add up to the inventory, and the calls were counted
    assert sum(int(m["res"]) for m in units) == len(inventory["resources"])
    assert all(int(m["calls"]) > 0 for m in units if m["unit"].endswith((" s3", " iam", " sagemaker")))
    assert "\x1b[" not in done.stderr  # no terminal control sequence in a log
