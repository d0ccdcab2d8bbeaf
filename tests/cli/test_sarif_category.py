"""``--sarif-category`` reaches the SARIF of every command that writes one; a bad one is exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlguard.cli import main, sample_inventory_path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


def _ids(path: Path) -> list[str]:
    return [run["automationDetails"]["id"] for run in json.loads(path.read_text())["runs"]]


def test_evaluate_and_report_write_the_given_category(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["-q", "evaluate", str(sample_inventory_path()), "--fail-on", "never", "--output-dir", str(out)]
    code, err = _run([*argv, "--format", "json,sarif", "--sarif-category", "team/prod/"], capsys)
    assert code == 0, err
    assert [i.rsplit("/", 1)[0] for i in _ids(out / "results.sarif")] == ["team/prod"]  # one run

    again = tmp_path / "again"
    code, err = _run(
        ["-q", "report", str(out / "results.json"), "--format", "sarif", "--output-dir", str(again)], capsys
    )
    assert code == 0, err
    default = [i.rsplit("/", 1)[0] for i in _ids(again / "results.sarif")]
    assert default == ["mlguard/aws/111122223333"]  # one account: named


@pytest.mark.parametrize("value", ["", "/", " \t"])
def test_an_empty_category_is_bad_input(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(
        ["evaluate", str(sample_inventory_path()), "--output-dir", str(tmp_path), "--sarif-category", value],
        capsys,
    )
    assert code == 2
    assert "--sarif-category" in err
    assert "empty" in err
    assert not list(tmp_path.iterdir())
