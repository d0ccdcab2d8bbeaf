"""Helpers shared by the GitHub and pre-commit tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlguard.errors import ToolMissingError
from mlguard.iac import ENV_CHECKOV_BIN, find_checkov

ROOT = Path(__file__).resolve().parents[2]
LOCAL_CHECKOV = ROOT / ".checkov-venv" / "bin" / "checkov"


def checkov_or_skip() -> Path:
    """The real checkov, found as tests/iac/conftest.py finds it ($MLGUARD_CHECKOV_BIN, PATH,
    ./.checkov-venv); a skip when absent, but a failure in CI (.ci/run installs it)."""
    if os.environ.get(ENV_CHECKOV_BIN):
        return find_checkov()  # set but wrong: fail, never skip
    try:
        return find_checkov()
    except ToolMissingError:
        if LOCAL_CHECKOV.is_file():
            return LOCAL_CHECKOV
        if os.environ.get("CI"):
            pytest.fail("checkov not found in CI: set MLGUARD_CHECKOV_BIN (see .ci/run)")
        pytest.skip("checkov not found: set MLGUARD_CHECKOV_BIN (see .ci/run)")
