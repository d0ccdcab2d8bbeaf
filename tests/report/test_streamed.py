"""results.json, SARIF, CSV and JUnit are written as streams, with the same bytes as whole.

At 100k resources a report built as one string (and then encoded) held the results several times
over in memory; the streamed writers hand :func:`write_files` pieces it writes as they come. The
bytes must be exactly those of the whole-document forms, and a stream that fails midway must
leave the previous reports and no temporary behind, like any failed write.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlguard.model import ScanResult, Status
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.formats import json_report
from mlguard.report.formats.csv_report import safe_cell
from mlguard.report.formats.sarif import build_sarif
from mlguard.report.render import write_files, write_reports
from mlguard.testing.results_factory import make_scan

STREAMED = ("json", "sarif", "csv", "junit", "html")


@pytest.fixture(params=[0, 1, json_report.BATCH, json_report.BATCH + 1], ids=lambda n: f"{n}-results")
def sized_scan(request: pytest.FixtureRequest) -> ScanResult:
    return make_scan(request.param, seed=request.param + 5)


def test_the_result_formats_and_the_html_page_stream() -> None:
    known = reporters()
    assert [f for f in sorted(known) if known[f].streams] == sorted(STREAMED)


def test_results_json_streams_the_bytes_of_one_dump(sized_scan: ScanResult, tmp_path: Path) -> None:
    (path,) = write_reports(sized_scan, ["json"], tmp_path)
    whole = sized_scan.model_dump_json(indent=1, exclude_none=True) + "\n"
    assert path.read_bytes() == whole.encode("utf-8")
    assert ScanResult.model_validate_json(path.read_bytes()) == sized_scan


def test_sarif_streams_the_bytes_of_one_dump(sized_scan: ScanResult, tmp_path: Path) -> None:
    (path,) = write_reports(sized_scan, ["sarif"], tmp_path)
    whole = json.dumps(build_sarif(sized_scan), separators=(",", ":"), ensure_ascii=False) + "\n"
    assert path.read_bytes() == whole.encode("utf-8")


@pytest.mark.parametrize("fmt", STREAMED)
def test_streamed_file_equals_the_rendered_text(fmt: str, tmp_path: Path) -> None:
    scan = make_scan(5000, seed=2)
    reporter = reporters()[fmt]()
    for which in (scan, scan.only([Status.FAIL, Status.ERROR])):  # filtered: the notes too
        (path,) = write_reports(which, [fmt], tmp_path)
        rendered = reporter.render(which, ReportOptions())
        assert path.read_bytes() == (rendered.encode() if isinstance(rendered, str) else rendered)
    assert len(list(reporter.chunks(scan, ReportOptions()))) > 2  # pieces, not the whole file at once


def test_a_stream_failing_midway_leaves_the_old_reports_and_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("previous run\n")

    def broken() -> Iterator[str]:
        yield '{"partial": '
        raise RuntimeError("the scan went away")

    with pytest.raises(RuntimeError, match="went away"):
        write_files([(tmp_path / "results.csv", "a,b\r\n"), (tmp_path / "results.json", broken())])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    assert (tmp_path / "results.json").read_text() == "previous run\n"


def test_pieces_are_written_as_they_come(tmp_path: Path) -> None:
    seen: list[int] = []
    target = tmp_path / "out.txt"

    def pieces() -> Iterator[str | bytes]:
        for i in range(3):
            yield f"line {i}\n" if i % 2 else f"line {i}\n".encode()
            seen.append(i)

    (path,) = write_files([(target, pieces())])
    assert seen == [0, 1, 2]
    assert path.read_text() == "line 0\nline 1\nline 2\n"


@given(st.text())
def test_csv_cell_is_prefixed_exactly_when_a_spreadsheet_would_run_it(text: str) -> None:
    # The definition: leading whitespace, or a formula lead once it is stripped.
    runs = text[:1].isspace() or text.lstrip().startswith(tuple("=+-@\uff1d\uff0b\uff0d\uff20"))
    assert safe_cell(text) == ("'" + text if runs else text)
