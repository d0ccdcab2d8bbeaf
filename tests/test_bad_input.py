"""Bad input: every broken file exits 2 with a message naming the file and line, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mlguard.cli import main, sample_inventory_path

BAD = Path(__file__).parent / "bad_input"
CASES = YAML(typ="safe").load((BAD / "cases.yaml").read_text())


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return int(exc.value.code or 0), " ".join(err.split())


@pytest.mark.parametrize("name", sorted(CASES["policies"]))
def test_invalid_policy_is_a_hard_error(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES["policies"][name]
    shutil.copy(BAD / "policies" / name, tmp_path / name)
    code, err = run(["policies", "validate", str(tmp_path)], capsys)
    assert code == 2, err
    assert f"{tmp_path / name}:{case['line']}:" in err, err
    assert case["message"] in err, err


@pytest.mark.parametrize("name", sorted(CASES["configs"]))
def test_invalid_config_is_a_hard_error(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES["configs"][name]
    path = BAD / "configs" / name
    argv = ["--config", str(path), "evaluate", str(sample_inventory_path()), "--output-dir", str(tmp_path)]
    code, err = run(argv, capsys)
    assert code == 2, err
    assert f"{path}:{case['line']}:" in err, err
    assert case["message"] in err, err
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("name", sorted(CASES["inventories"]))
def test_invalid_inventory_is_a_hard_error(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES["inventories"][name]
    path = BAD / "inventories" / name
    code, err = run(["evaluate", str(path), "--output-dir", str(tmp_path)], capsys)
    assert code == 2, err
    assert f"{path}:{case['line']}:" in err, err
    assert case["message"] in err, err


def test_duplicate_policy_id_across_directories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = Path(__file__).parents[1] / "policies" / "aws" / "s3" / "s3_bucket_public_access_blocked.yaml"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(good, tmp_path / "a")
    shutil.copy(good, tmp_path / "b")
    code, err = run(["policies", "validate", str(tmp_path / "a"), str(tmp_path / "b")], capsys)
    assert code == 2
    assert "duplicate policy id 's3_bucket_public_access_blocked'" in err


def test_framework_referencing_unknown_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "frameworks").mkdir()
    (tmp_path / "frameworks" / "fw.yaml").write_text(
        "id: fw\nname: A framework\nrequirements:\n  - id: R1\n    title: Something\n    policies:\n"
        "      - no_such_policy\n"
    )
    code, err = run(["policies", "validate", str(tmp_path)], capsys)
    assert code == 2
    assert f"{tmp_path / 'frameworks' / 'fw.yaml'}:7:" in err
    assert "unknown policy id 'no_such_policy'" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["evaluate", "/nonexistent/inventory.json"], "inventory file not found"),
        (["scan", "--demo", "--format", "pdf"], "unknown format 'pdf'"),
        (["scan", "--demo", "--severity", "urgent"], "unknown severity 'urgent'"),
        (["scan", "--demo", "--framework", "nope"], "unknown framework(s) nope"),
        (["--config", "/nonexistent/mlguard.yaml", "policies", "list"], "config file not found"),
        (["report", "/nonexistent/results.json"], "results file not found"),
        (["policies", "show", "nope"], "no policy with id 'nope'"),
        (["scan", "--provider", "gcp"], "unknown or unavailable provider(s): gcp"),
    ],
)
def test_bad_flags(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run([*argv, *(["--output-dir", str(tmp_path)] if argv[0] == "scan" else [])], capsys)
    assert code == 2, err
    assert fragment in err


@pytest.mark.parametrize("name", sorted(CASES["pricing"]))
@pytest.mark.parametrize("command", ["evaluate", "scan"])
def test_invalid_price_file_is_a_hard_error(
    name: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES["pricing"][name]
    path = BAD / "pricing" / name
    target = [str(sample_inventory_path())] if command == "evaluate" else ["--demo"]
    argv = [command, *target, "--pricing", str(path), "--output-dir", str(tmp_path)]
    code, err = run(argv, capsys)
    assert code == 2, err
    assert f"{path}:{case['line']}:" in err, err
    assert case["message"] in err, err
    assert not (tmp_path / "results.json").exists()


def test_missing_price_file_is_a_hard_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "prices.yaml"
    code, err = run(["evaluate", str(sample_inventory_path()), "--pricing", str(missing)], capsys)
    assert code == 2, err
    assert f"{missing}: price file not found" in err, err
