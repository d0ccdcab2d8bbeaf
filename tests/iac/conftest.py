"""Shared fixtures for the IaC tests: the real checkov, run once over the fixture modules."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mlguard.errors import ToolMissingError
from mlguard.iac import IacScan, find_checkov, scan_iac

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
# A checkov installed for development beside the worktree (git-ignored), used when nothing else is set.
LOCAL_CHECKOV = REPO / ".checkov-venv" / "bin" / "checkov"


@pytest.fixture(scope="session")
def checkov_bin() -> Path:
    """The real checkov: $MLGUARD_CHECKOV_BIN, else PATH, else ./.checkov-venv. CI sets the variable."""
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


@pytest.fixture
def module_copy(tmp_path: Path) -> Path:
    """A writable copy of the SageMaker endpoint module."""
    target = tmp_path / "sagemaker_endpoint"
    shutil.copytree(FIXTURES / "sagemaker_endpoint", target)
    return target
