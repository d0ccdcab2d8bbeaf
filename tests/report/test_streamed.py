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

from mlguard.errors import InputError
from mlguard.model import ScanResult, Status
from mlguard.report.base import ReportOptions, json_array_chunks, reporters
from mlguard.report.formats import json_report
from mlguard.report.formats.asff import build_asff
from mlguard.report.formats.csv_report import safe_cell, safe_cells
from mlguard.report.formats.ocsf import build_ocsf
from mlguard.report.formats.sarif import build_sarif
from mlguard.report.render import write_files, write_reports
from tests.support.results_factory import make_scan

STREAMED = ("json", "sarif", "csv", "junit", "html", "ocsf", "asff")
OPTIONS = ReportOptions(asff_region="us-east-1", asff_account="111122223333")


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


def test_ocsf_streams_the_bytes_of_one_dump(sized_scan: ScanResult, tmp_path: Path) -> None:
    (path,) = write_reports(sized_scan, ["ocsf"], tmp_path)
    whole = json.dumps(build_ocsf(sized_scan), separators=(",", ":"), ensure_ascii=False) + "\n"
    assert path.read_bytes() == whole.encode("utf-8")


def test_asff_streams_the_bytes_of_one_dump(sized_scan: ScanResult, tmp_path: Path) -> None:
    (path,) = write_reports(sized_scan, ["asff"], tmp_path, OPTIONS)
    whole = json.dumps(build_asff(sized_scan, OPTIONS), indent=1, ensure_ascii=False) + "\n"
    assert path.read_bytes() == whole.encode("utf-8")


def test_asff_refuses_a_scan_it_cannot_file_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("previous run\n")
    with pytest.raises(InputError):
        reporters()["asff"]().chunks(make_scan(30, seed=1), ReportOptions())  # no account, no region
    with pytest.raises(InputError):
        write_reports(make_scan(30, seed=1), ["json", "asff"], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    assert (tmp_path / "results.json").read_text() == "previous run\n"


@pytest.mark.parametrize(
    ("n", "indent", "batch"), [(0, None, 3), (1, 1, 3), (3, None, 3), (7, 1, 3), (7, 2, 1), (5, None, 100)]
)
def test_json_array_chunks_are_one_dump(n: int, indent: int | None, batch: int) -> None:
    items = [{"i": i, "text": "x</script>\u2028é", "nested": {"list": [i, [], {}]}} for i in range(n)]
    pieces = list(json_array_chunks(iter(items), indent, batch))
    if indent is None:
        whole = json.dumps(items, separators=(",", ":"), ensure_ascii=False)
    else:
        whole = json.dumps(items, indent=indent, ensure_ascii=False)
    assert "".join(pieces) == whole
    assert len(pieces) == 1 + 2 * -(-n // batch)


@pytest.mark.parametrize("fmt", STREAMED)
def test_streamed_file_equals_the_rendered_text(fmt: str, tmp_path: Path) -> None:
    scan = make_scan(5000, seed=2)
    reporter = reporters()[fmt]()
    for which in (scan, scan.only([Status.FAIL, Status.ERROR])):  # filtered: the notes too
        (path,) = write_reports(which, [fmt], tmp_path, OPTIONS)
        rendered = reporter.render(which, OPTIONS)
        assert path.read_bytes() == (rendered.encode() if isinstance(rendered, str) else rendered)
    assert len(list(reporter.chunks(scan, OPTIONS))) > 2  # pieces, not the whole file at once


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
    assert safe_cells([text, None, 3, text]) == [safe_cell(text), "", "3", safe_cell(text)]


def test_results_json_envelope_tail_in_small_pieces_is_the_same_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan = make_scan(40, seed=12)
    monkeypatch.setattr(json_report, "_PIECE", 7)  # the envelope after the results, 7 bytes at a time
    (path,) = write_reports(scan, ["json"], tmp_path)
    assert path.read_bytes() == (scan.model_dump_json(indent=1, exclude_none=True) + "\n").encode()
    assert len(list(json_report.scan_json_chunks(scan))) > 10
