"""Two recorded scans of a small estate that changed between them, and the history of the second.

Week 1 -> week 2 (tests.history.estates): the raw bucket got encrypted (fixed), the notebook got
root access (regressed), endpoint v2 was added and fails (new), endpoint v1 still fails.
"""

from __future__ import annotations

from pathlib import Path

from mlguard.history.report import ReportHistory, report_history
from mlguard.history.store import open_store
from mlguard.model import ScanResult
from tests.history import estates


def two_runs(directory: Path) -> tuple[ScanResult, ReportHistory, ReportHistory]:
    """The second scan, its history, and the history of the first (nothing to compare with)."""
    first, second = estates.week1(), estates.week2()
    with open_store(str(directory / "history.db")) as store:
        run_a = store.record(first.scan(), first.inventory())
        run_b = store.record(second.scan(), second.inventory())
        return second.scan(), report_history(store, run_b), report_history(store, run_a)
