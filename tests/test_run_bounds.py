"""``--timeout`` bounds the whole run: with a server that accepts connections and never answers
(frozen mid-scan, after the caller's identity was read), the scan still ends, exits 3 and marks
what it could not read as ERROR. Timing is asserted only as "terminates" (a generous subprocess
timeout); the per-call deadlines are what make it end near the budget."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from mlguard.cli import main
from mlguard.demo.databricks_fake import Behaviour, FakeWorkspaceServer, demo_state
from tests.support.faults import FrozenServer

TERMINATES = 150  # seconds: only "it ends"; before the per-call deadlines this took minutes
BIN = Path(sys.executable).parent


def _mlguard() -> str:
    exe = shutil.which("mlguard", path=str(BIN))
    assert exe
    return exe


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DATABRICKS_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        DATABRICKS_CONFIG_FILE=os.devnull,
    )
    env.update(extra)
    return env


@pytest.fixture
def moto_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _scan(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    # Generous per-request settings in the config: the run's --timeout must bound them anyway.
    config = tmp_path / "mlguard.yaml"
    config.write_text(
        "scope:\n  databricks:\n    http_timeout_seconds: 300\n    retry_timeout_seconds: 900\n"
    )
    done = subprocess.run(
        [
            _mlguard(),
            "--config",
            str(config),
            "-q",
            "scan",
            "--no-record",
            "--output-dir",
            str(tmp_path),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=TERMINATES,
        check=False,
    )
    results = (
        json.loads((tmp_path / "results.json").read_text()) if (tmp_path / "results.json").exists() else None
    )
    return done, results


def _statuses(results: Any) -> set[str]:
    return {r["status"] for r in results["results"]}


def test_aws_frozen_after_identity_ends_at_the_timeout(moto_url: str, tmp_path: Path) -> None:
    with FrozenServer() as frozen:
        env = _env(AWS_ENDPOINT_URL=frozen.url, AWS_ENDPOINT_URL_STS=moto_url)
        # 15 s, not 5: on a loaded machine start-up and the identity call alone can take 5 s, and
        # the test must see the scan reach the frozen server before the deadline.
        done, results = _scan(tmp_path, env, "--provider", "aws", "--regions", "us-east-1", "--timeout", "15")
        assert frozen.connections > 0  # the scan did reach the frozen server
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert results is not None
    assert "ERROR" in _statuses(results)
    assert not {"PASS", "FAIL"} & _statuses(results)  # nothing was read: nothing can pass or fail
    assert any(e["code"] == "Timeout" for e in results["errors"])


def test_databricks_frozen_routes_end_at_the_timeout(tmp_path: Path) -> None:
    hang = {"clusters": 3600.0, "jobs": 3600.0, "serving_endpoints": 3600.0, "workspace_conf": 3600.0}
    server = FakeWorkspaceServer(demo_state(), behaviour=Behaviour(slow=hang)).start()
    try:
        env = _env(DATABRICKS_HOST=server.host, DATABRICKS_TOKEN=server.token)
        done, results = _scan(tmp_path, env, "--provider", "databricks", "--timeout", "5")
    finally:
        server.fake.behaviour.slow.clear()
        server.stop()
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert results is not None
    assert "ERROR" in _statuses(results)
    codes = {e["code"] for e in results["errors"]}
    assert codes & {"Timeout", "TIMEOUT"}, results["errors"]
    read = {r["resource_type"] for r in results["results"] if r["status"] in ("PASS", "FAIL")}
    assert "databricks.cluster" not in read  # its listing hung: never judged


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-5", "0"])
def test_timeout_must_be_a_finite_positive_number(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["scan", "--provider", "aws", "--timeout", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--timeout" in err
    assert "Traceback" not in err


def test_demo_scan_honours_the_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo estate takes far longer than a second to read: cut short, the run is incomplete."""
    with pytest.raises(SystemExit) as exc:
        main(["-q", "scan", "--demo", "--timeout", "1", "--no-record", "--output-dir", str(tmp_path)])
    assert exc.value.code == 3, capsys.readouterr().err
    results = json.loads((tmp_path / "results.json").read_text())
    assert any(e["code"] == "Timeout" for e in results["errors"])


def test_aws_clients_get_timeouts_and_attempts_from_the_budget_left() -> None:
    from mlguard.collect.aws.engine import ApiStats, Guard, client_config

    guard = Guard(frozenset(), ApiStats())
    base = client_config(8, "adaptive", 4)
    assert guard.budgeted(base) is base  # no --timeout: the configured values
    guard.remaining = lambda: 3.0
    cut = guard.budgeted(base)
    assert (cut.connect_timeout, cut.read_timeout) == (3.0, 3.0)
    assert cut.retries == {"mode": "adaptive", "total_max_attempts": 2}
    guard.remaining = lambda: -1.0  # past the deadline: the shortest call that can still fail cleanly
    late = guard.budgeted(base)
    assert late.read_timeout == 0.5
    assert late.retries["total_max_attempts"] == 2
