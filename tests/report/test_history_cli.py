"""`mlguard scan --store` records the run before reporting, so the report shows its history;
`mlguard report results.json --store` finds the file's run and does the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlguard.cli import cli, main

# The demo seeds the same estate (same ids) on every run: the second run changes nothing, and its
# failures are "still failing". One policy keeps the two scans fast.
POLICY = "kms_customer_key_rotation"
pytestmark = pytest.mark.slow  # two demo scans (a moto server each): ~20 s


def invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.output


def counts(page: str) -> dict[str, int]:
    return {k: int(n) for k, n in re.findall(r'id="diff-([a-z_]+)" data-count="(\d+)"', page)}


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-history")
    for run in ("first", "second"):
        code, output = invoke(
            [
                "-q",
                "scan",
                "--demo",
                "--store",
                str(root / "store.db"),
                "--policy",
                POLICY,
                "--format",
                "html,markdown,json",
                "--output-dir",
                str(root / run),
                "--fail-on",
                "never",
            ]
        )
        assert code == 0, output
    return root


def test_second_scan_report_shows_the_previous_run(scans: Path) -> None:
    first = (scans / "first" / "report.html").read_text("utf-8")
    assert 'id="no-previous"' in first
    second = (scans / "second" / "report.html").read_text("utf-8")
    assert 'id="since-previous"' in second
    found = counts(second)
    assert found["still_failing"] > 0
    assert found["new"] == found["fixed"] == found["regressed"] == 0
    assert found["appeared"] == found["disappeared"] == 0
    assert 'id="trend-severity"' in second
    summary = (scans / "second" / "summary.md").read_text("utf-8")
    assert "### Since the previous run" in summary


def test_report_with_store_includes_the_history(scans: Path) -> None:
    out = scans / "rerendered"
    code, output = invoke(
        [
            "report",
            str(scans / "second" / "results.json"),
            "--store",
            str(scans / "store.db"),
            "--format",
            "html",
            "--output-dir",
            str(out),
        ]
    )
    assert code == 0, output
    page = (out / "report.html").read_text("utf-8")
    original = (scans / "second" / "report.html").read_text("utf-8")
    assert counts(page) == counts(original)


def test_report_of_an_unrecorded_file_says_so(scans: Path, tmp_path: Path) -> None:
    results = scans / "second" / "results.json"
    edited = tmp_path / "results.json"
    edited.write_text(results.read_text("utf-8").replace(POLICY, POLICY + "_x", 1), "utf-8")
    code, output = invoke(
        [
            "report",
            str(edited),
            "--store",
            str(scans / "store.db"),
            "--format",
            "html",
            "--output-dir",
            str(tmp_path),
        ]
    )
    assert code == 0, output
    assert "is not a run recorded in" in " ".join(output.split())
    assert 'id="since-previous"' not in (tmp_path / "report.html").read_text("utf-8")


def test_report_with_a_missing_store_is_a_clean_error(
    scans: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", str(scans / "second" / "results.json"), "--store", str(tmp_path / "nope.db")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "results store not found" in err
    assert "Traceback" not in err
    assert not (tmp_path / "nope.db").exists()
