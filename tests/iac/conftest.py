"""Shared fixtures for the IaC tests: the real checkov, run once over the fixture modules."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mlguard.errors import ToolMissingError
from mlguard.iac import ENV_CHECKOV_BIN, IacScan, find_checkov, scan_iac

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
# A checkov installed for development beside the worktree (git-ignored), used when nothing else is set.
LOCAL_CHECKOV = REPO / ".checkov-venv" / "bin" / "checkov"


@pytest.fixture(scope="session")
def checkov_bin() -> Path:
    """The real checkov: $MLGUARD_CHECKOV_BIN, else PATH, else ./.checkov-venv. CI sets the variable."""
    if os.environ.get(ENV_CHECKOV_BIN):
        try:
            return find_checkov()
        except ToolMissingError as exc:  # set but wrong: never skip silently
            pytest.fail(exc.message)
    try:
        return find_checkov()
    except ToolMissingError:
        if LOCAL_CHECKOV.is_file():
            return LOCAL_CHECKOV
        if os.environ.get("CI"):
            pytest.fail("checkov not found in CI: set MLGUARD_CHECKOV_BIN (see .ci/run)")
        pytest.skip(
            "checkov not found: set MLGUARD_CHECKOV_BIN or run "
            "`python3 -m venv .checkov-venv && .checkov-venv/bin/pip install 'checkov==3.3.*'`"
        )


@pytest.fixture(scope="session")
def fixture_scan(checkov_bin: Path) -> IacScan:
    """checkov over every fixture module, file paths relative to tests/iac/fixtures."""
    return scan_iac(FIXTURES, checkov_bin=checkov_bin, repo_root=FIXTURES)


CANARY = "dapiCANARY0123456789abcdef"


def _build_scenarios(root: Path) -> None:
    """Edge cases, one directory each, so that one checkov run covers them all."""
    # canary/: a secret in an attribute that mlguard's checks read around, never report.
    (root / "canary").mkdir()
    (root / "canary" / "main.tf").write_text(
        'resource "databricks_cluster" "leaky" {\n'
        '  cluster_name   = "leaky"\n'
        '  node_type_id   = "g5.xlarge"\n'
        f'  spark_env_vars = {{ TOKEN = "{CANARY}" }}\n'
        "  num_workers    = 2\n"
        "}\n"
    )
    # skipped/: excluded with --skip-path, so its failing token is never reported.
    (root / "skipped").mkdir()
    (root / "skipped" / "main.tf").write_text('resource "databricks_token" "forever" {\n  comment = "x"\n}\n')
    # broken/: a file checkov cannot parse.
    (root / "broken").mkdir()
    (root / "broken" / "broken.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket =\n')
    # twice/: one module called twice.
    shutil.copytree(FIXTURES / "sagemaker_endpoint", root / "twice" / "modules" / "sm")
    (root / "twice" / "main.tf").write_text(
        'module "a" {\n  source = "./modules/sm"\n}\nmodule "b" {\n  source = "./modules/sm"\n}\n'
    )
    # split/: the alarm and the autoscaling target moved to another module than the endpoint's.
    text = (FIXTURES / "sagemaker_endpoint" / "main.tf").read_text()
    moved = []
    for block in (
        'resource "aws_appautoscaling_target" "good"',
        'resource "aws_cloudwatch_metric_alarm" "good_latency"',
    ):
        start = text.index(block)
        end = text.index("\n}\n", start) + 3
        moved.append(text[start:end].replace("aws_sagemaker_endpoint.good.name", '"churn"'))
        text = text[:start] + text[end:]
    (root / "split" / "sagemaker_endpoint").mkdir(parents=True)
    (root / "split" / "sagemaker_endpoint" / "main.tf").write_text(text)
    (root / "split" / "monitoring").mkdir()
    (root / "split" / "monitoring" / "main.tf").write_text("\n".join(moved))


@pytest.fixture(scope="session")
def canary() -> str:
    """A fake secret planted in the canary scenario; it must appear in no output."""
    return CANARY


# Loaded by checkov's interpreter through PYTHONPATH: logs every socket connect or DNS lookup.
_NETWORK_AUDIT = """
import os, sys
_log = os.environ["MLGUARD_TEST_NETWORK_LOG"]
with open(_log, "a") as f:
    f.write("audit hook loaded\\n")
def _hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        with open(_log, "a") as f:
            f.write(f"NETWORK {event} {args!r}\\n")
sys.addaudithook(_hook)
"""


@pytest.fixture(scope="session")
def network_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file the network audit hook of ``scenario_scan``'s checkov run wrote to."""
    return tmp_path_factory.mktemp("audit") / "network.log"


@pytest.fixture(scope="session")
def scenario_scan(checkov_bin: Path, tmp_path_factory: pytest.TempPathFactory, network_log: Path) -> IacScan:
    """checkov over the edge-case scenarios built by ``_build_scenarios`` (paths relative to its root).

    checkov runs with a Python audit hook that records any network use to ``network_log``.
    """
    root = tmp_path_factory.mktemp("scenarios")
    _build_scenarios(root)
    hook_dir = tmp_path_factory.mktemp("audit-hook")
    (hook_dir / "sitecustomize.py").write_text(_NETWORK_AUDIT)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(hook_dir))
        mp.setenv("MLGUARD_TEST_NETWORK_LOG", str(network_log))
        return scan_iac(root, checkov_bin=checkov_bin, repo_root=root, skip_paths=("skipped/",))


@pytest.fixture
def module_copy(tmp_path: Path) -> Path:
    """A writable copy of the SageMaker endpoint module."""
    target = tmp_path / "sagemaker_endpoint"
    shutil.copytree(FIXTURES / "sagemaker_endpoint", target)
    return target
