"""Outputs are all or nothing: a write failure leaves the previous reports as they were."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mlguard.cli import main, sample_inventory_path

SAMPLE = str(sample_inventory_path())
FORMATS = {"summary.md", "results.csv", "results.sarif", "results.json", "report.html"}


def _small_disk() -> None:
    """A real write failure: files may not grow past 300 kB (EFBIG, like a full disk)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


def test_a_full_disk_keeps_the_old_reports(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in FORMATS:
        (out / name).write_text("old\n")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mlguard.cli import main; main()",
            "-q",
            "evaluate",
            SAMPLE,
            "--fail-on",
            "never",
            "--format",
            "markdown,csv,sarif,json,html",
            "--output-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=_small_disk,
    )
    assert done.returncode == 2, done.stderr
    # Whichever report outgrows the limit first is named, with the reason.
    reason = "could not write the reports: File too large"
    assert any(f"{out / name}: {reason}" in done.stderr for name in FORMATS)
    assert "Traceback" not in done.stderr
    assert {p.name for p in out.iterdir()} == FORMATS  # no temporaries left behind
    assert all((out / name).read_text() == "old\n" for name in FORMATS)


def test_an_unusable_output_dir_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit) as exc:
        main(["-q", "evaluate", SAMPLE, "--format", "json", "--output-dir", str(tmp_path / "file" / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "file" / "out" / "results.json") in err
    assert "Not a directory" in err


def test_recorded_run_whose_reports_failed_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    store = tmp_path / "runs.db"
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "-q",
                "scan",
                "--demo",
                "--store",
                str(store),
                "--fail-on",
                "never",
                "--policy",
                "s3_*",
                "--format",
                "json",
                "--output-dir",
                str(tmp_path / "file" / "out"),
            ]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "is recorded in" in err
    assert "but its reports were not written" in err
