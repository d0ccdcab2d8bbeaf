"""Text from the platforms never drives a terminal, a Markdown renderer or a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mlguard.cli import main, sample_inventory_path
from mlguard.report.formats.csv_report import safe_cell
from mlguard.report.sanitize import markdown_neutral, terminal_safe

SAMPLE = sample_inventory_path()
HOSTILE = (
    "evil\x1b[2J\x1b[31mred\x1b]8;;https://phish.example/\x07click\x1b]8;;\x07"
    "\x9b1Aup\x07bell\x08\x7f\u202etxt.exe\u2066 see https://phish.example/x and www.phish.example"
)


def test_terminal_safe_strips_controls_and_bidi() -> None:
    assert terminal_safe(HOSTILE) == (
        "evilredclickupbelltxt.exe see https://phish.example/x and www.phish.example"
    )
    assert terminal_safe("tab\tand\nnewline stay") == "tab\tand\nnewline stay"


def test_markdown_breaks_bare_urls_and_shows_bidi() -> None:
    text = markdown_neutral("go https://phish.example/x or www.phish.example \u202eabc")
    assert "://" not in text
    assert "www." not in text
    assert "\u202e" not in text
    assert "\ufffd" in text


@pytest.mark.parametrize(
    "cell",
    ["=1+1", " =1+1", "\t=cmd", "\r=cmd", "\uff1dcmd()", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", "@x", "-1"],
)
def test_csv_prefixes_every_formula_start(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


def test_reports_neutralise_hostile_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = json.loads(SAMPLE.read_text())
    bucket = next(r for r in raw["resources"] if r["uid"] == "arn:aws:s3:::public-policy")
    bucket["name"] = HOSTILE
    raw["errors"][0]["message"] = HOSTILE
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps(raw))
    with pytest.raises(SystemExit):
        main(
            [
                "evaluate",
                str(inv),
                "--policy",
                "s3_*",
                "--fail-on",
                "never",
                "--output-dir",
                str(tmp_path),
                "--format",
                "console,markdown,csv",
            ]
        )
    out = capsys.readouterr()
    for stream in (out.out, out.err):
        assert "\x1b" not in stream
        assert "\x9b" not in stream
        assert "\x07" not in stream
        assert "\u202e" not in stream
    md = (tmp_path / "summary.md").read_text()
    assert "phish.example" in md
    assert "://" not in md.replace("https://github.com", "")
    assert "www.phish" not in md
    assert "\u202e" not in md
    rows = list(csv.reader(io.StringIO((tmp_path / "results.csv").read_text())))
    assert all(not cell.startswith(("=", "+", "@", " ", "\t", "\uff1d")) for row in rows for cell in row)


def test_error_messages_are_terminal_safe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "inv\x1b[31m.json"
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(bad)])
    assert exc.value.code == 2
    assert "\x1b" not in capsys.readouterr().err
