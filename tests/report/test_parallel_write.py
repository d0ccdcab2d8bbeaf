"""Large scans write their streamed reports with two processes, still all or nothing.

:func:`write_files` with ``workers=2`` forks a worker that writes about half of the temporaries;
this process renames them all only when both sides succeeded. A worker's failure is raised in the
caller (an MlguardError as itself, a bug as ReportWorkerError with the worker's traceback), the
previous reports stay as they were and no temporary is left, whichever side failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlguard.errors import InputError, OutputError
from mlguard.report import render
from mlguard.report.base import ReportOptions
from mlguard.report.render import ReportWorkerError, write_files

FORMATS = ["json", "sarif", "csv", "junit", "html", "markdown", "ocsf", "asff"]
OPTIONS = ReportOptions(asff_region="us-east-1", asff_account="111122223333")


def _previous(tmp_path: Path) -> None:
    for name in ("results.csv", "report.html", "junit.xml"):
        (tmp_path / name).write_text(f"previous {name}\n")


def _unchanged(tmp_path: Path) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.html", "results.csv"]
    for name in ("results.csv", "report.html", "junit.xml"):
        assert (tmp_path / name).read_text() == f"previous {name}\n"


def _stream(text: str, error: BaseException | None = None) -> Iterator[str]:
    yield text
    if error is not None:
        raise error


_TWO_PROCESSES = """
import sys
from pathlib import Path

from mlguard.report import render
from mlguard.report.base import ReportOptions
from mlguard.report.render import write_reports
from tests.support.results_factory import make_scan

out = Path(sys.argv[1])
options = ReportOptions(asff_region="us-east-1", asff_account="111122223333")
formats = sys.argv[2].split(",")
shares = []
start = render._start_worker
render._start_worker = lambda files, temps, share: (shares.append(list(share)), start(files, temps, share))[1]
scan = make_scan(3000, seed=7)
write_reports(scan, formats, out / "one", options)
assert shares == [], shares  # 3,000 results: one process
render.PARALLEL_MIN_RESULTS = 1000
write_reports(scan, formats, out / "two", options)
assert len(shares) == 1 and shares[0], shares
"""


def test_a_large_scan_is_written_by_two_processes_with_the_same_bytes(tmp_path: Path) -> None:
    # In a fresh interpreter: the two-process path is taken only when no other thread is alive,
    # and a test process may still hold threads of earlier tests (servers, pools).
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    done = subprocess.run(
        [sys.executable, "-c", _TWO_PROCESSES, str(tmp_path), ",".join(FORMATS)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    one = sorted((tmp_path / "one").iterdir())
    two = sorted((tmp_path / "two").iterdir())
    assert [p.name for p in one] == [p.name for p in two]
    assert len(one) == len(FORMATS)
    for a, b in zip(one, two, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_the_work_is_shared_heaviest_first() -> None:
    files = [(Path(n), _stream("x")) for n in ("results.json", "report.html", "results.csv", "junit.xml")]
    mine, theirs = render._shares([*files, (Path("summary.md"), "whole")])
    # html (22) here, json (14) there (after the worker's start, 3), csv (12) to the lighter side
    # (there), junit (11) here, the whole summary (0) there: 33 and 29
    assert mine == [1, 3]
    assert theirs == [0, 2, 4]


def test_a_worker_input_error_is_raised_as_itself_and_nothing_is_replaced(tmp_path: Path) -> None:
    _previous(tmp_path)
    files = [
        (tmp_path / "report.html", _stream("<html>")),
        (tmp_path / "results.csv", _stream("a,b", InputError("no region for ASFF", file="mlguard.yaml"))),
        (tmp_path / "junit.xml", _stream("<x/>")),
    ]
    assert 1 in render._shares(files)[1]  # the failing one is the worker's
    with pytest.raises(InputError) as caught:
        write_files(files, workers=2)
    assert type(caught.value) is InputError
    assert caught.value.render() == "mlguard.yaml: no region for ASFF"
    _unchanged(tmp_path)


def test_a_worker_bug_is_raised_with_its_traceback_and_nothing_is_replaced(tmp_path: Path) -> None:
    _previous(tmp_path)
    files = [
        (tmp_path / "report.html", _stream("<html>")),
        (tmp_path / "results.csv", _stream("a,b", RuntimeError("the scan went away"))),
    ]
    with pytest.raises(ReportWorkerError, match="in the worker process") as caught:
        write_files(files, workers=2)
    assert "RuntimeError: the scan went away" in str(caught.value)
    assert "Traceback" in str(caught.value)
    _unchanged(tmp_path)


def test_a_worker_that_cannot_write_names_the_path(tmp_path: Path) -> None:
    _previous(tmp_path)
    (tmp_path / "results.csv").unlink()
    (tmp_path / "results.csv").mkdir()  # the worker's target is a directory
    files = [(tmp_path / "report.html", _stream("<html>")), (tmp_path / "results.csv", _stream("a,b"))]
    with pytest.raises(OutputError) as caught:
        write_files(files, workers=2)
    assert caught.value.file == str(tmp_path / "results.csv")
    assert "is a directory" in caught.value.message
    assert (tmp_path / "report.html").read_text() == "previous report.html\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.html", "results.csv"]


def test_this_process_failing_stops_the_worker_and_leaves_nothing(tmp_path: Path) -> None:
    _previous(tmp_path)

    def endless() -> Iterator[str]:
        while True:  # the worker would never finish on its own
            yield "row\n"

    files = [
        (tmp_path / "report.html", _stream("<html>", RuntimeError("template broke"))),
        (tmp_path / "results.csv", endless()),
    ]
    with pytest.raises(RuntimeError, match="template broke"):
        write_files(files, workers=2)
    _unchanged(tmp_path)


def test_two_processes_only_for_large_scans_without_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render.threading, "active_count", lambda: 1)
    assert render._parallel(render.PARALLEL_MIN_RESULTS, 2)
    assert not render._parallel(render.PARALLEL_MIN_RESULTS - 1, 2)
    assert not render._parallel(render.PARALLEL_MIN_RESULTS, 1)  # one streamed report
    monkeypatch.setattr(render.threading, "active_count", lambda: 2)
    assert not render._parallel(render.PARALLEL_MIN_RESULTS, 2)  # a fork copies one thread only
