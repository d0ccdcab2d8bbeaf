"""Shared fixtures for reporter tests: synthetic scans built by the results factory."""

from __future__ import annotations

import pytest

from mlguard.model import ScanResult
from tests.support.results_factory import make_scan


@pytest.fixture(scope="session")
def scan() -> ScanResult:
    """A small scan (every status, provider, severity; hostile names; IaC; errors; frameworks)."""
    return make_scan(400)


@pytest.fixture(scope="session")
def scan_1k() -> ScanResult:
    return make_scan(1_000, seed=1)
