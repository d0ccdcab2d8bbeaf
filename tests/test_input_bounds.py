"""Every input is bounded: size caps, YAML alias budgets and nesting caps refuse a file with exit 2
and a message naming it (never a hang, a memory blow-up or a traceback); an invalid inventory's line
is found in the JSON text, without re-reading it as YAML."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlguard.cli import main, sample_inventory_path

POLICY = Path(__file__).parents[1] / "policies" / "aws" / "s3" / "s3_bucket_public_access_blocked.yaml"

# 904 bytes that expand to 9**9 (387 million) strings: 62 s and 2.5 GB before the alias budget.
LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return int(exc.value.code or 0), " ".join(err.split())


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def test_alias_bomb_policy_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bomb.yaml").write_text(LAUGHS)
    assert len(LAUGHS) < 1024
    code, err = run(["policies", "validate", str(tmp_path)], capsys)
    assert code == 2, err
    assert f"{tmp_path / 'bomb.yaml'}:1:" in err
    assert "aliases expand the document by more than 10000 nodes" in err


@pytest.mark.parametrize("flag", ["--config", "--waivers"])
def test_alias_bomb_config_and_waivers_are_refused(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bomb.yaml").write_text(LAUGHS)
    argv = ["evaluate", str(sample_inventory_path()), "--output-dir", str(tmp_path / "out")]
    argv = (
        [flag, str(tmp_path / "bomb.yaml"), *argv]
        if flag == "--config"
        else [*argv, flag, str(tmp_path / "bomb.yaml")]
    )
    code, err = run(argv, capsys)
    assert code == 2, err
    assert "aliases expand" in err


def test_a_few_aliases_are_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mlguard.yaml").write_text(
        "scope: &s\n  aws: {regions: [us-east-1]}\nfail_on: high\n"
        "parameters:\n  sagemaker_notebook_in_vpc: &p {}\n"
    )
    argv = ["--config", str(tmp_path / "mlguard.yaml"), "evaluate", str(sample_inventory_path())]
    code, err = run([*argv, "--output-dir", str(tmp_path / "out")], capsys)
    assert code in (0, 1), err


def test_recursive_alias_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "loop.yaml").write_text("a: &a [*a]\n")
    code, err = run(["policies", "validate", str(tmp_path)], capsys)
    assert code == 2, err
    assert "loop.yaml" in err


def test_yaml_over_the_size_cap_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(POLICY, tmp_path)
    assert run(["policies", "validate", str(tmp_path)], capsys)[0] == 0
    monkeypatch.setenv("MLGUARD_MAX_YAML_BYTES", "200")
    code, err = run(["policies", "validate", str(tmp_path)], capsys)
    assert code == 2, err
    assert f"{tmp_path / POLICY.name}: file is larger than the 200 bytes limit" in err
    assert "MLGUARD_MAX_YAML_BYTES" in err


def test_json_over_the_size_cap_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLGUARD_MAX_JSON_BYTES", "1000")
    code, err = run(["evaluate", str(sample_inventory_path()), "--output-dir", str(tmp_path)], capsys)
    assert code == 2, err
    assert "file is larger than the 1000 bytes limit" in err


def test_bad_limit_setting_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLGUARD_MAX_NESTING", "lots")
    code, err = run(["evaluate", str(sample_inventory_path()), "--output-dir", str(tmp_path)], capsys)
    assert code == 2, err
    assert "$MLGUARD_MAX_NESTING must be a whole number" in err


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_deep_json_is_refused(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"schema_version": "1.0", "resources": ' + nested(5000) + "}")
    code, err = run([command, str(path), "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 2, err
    assert f"{path}: JSON nested deeper than 100 levels" in err


def test_deep_json_just_under_the_cap_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = json.loads(sample_inventory_path().read_text())
    inventory["resources"][0]["data"]["deep"] = json.loads(nested(90))
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inventory))
    code, err = run(["evaluate", str(path), "--output-dir", str(tmp_path / "out")], capsys)
    assert code in (0, 1), err


def test_deep_yaml_is_refused_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mlguard.yaml"
    path.write_text("fail_on: high\nscope:\n  x: " + nested(5000) + "\n")
    code, err = run(["--config", str(path), "policies", "list"], capsys)
    assert code == 2, err
    assert f"{path}:3:" in err
    assert "nested deeper than 100 levels" in err


def test_invalid_inventory_line_found_in_json_not_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A valid JSON file that is not valid YAML (a key longer than YAML's 1024-character limit for
    implicit keys) still gets the line of its problem; thousands of resources are walked quickly."""
    inventory = json.loads(sample_inventory_path().read_text())
    first = inventory["resources"][0]
    inventory["resources"] = [dict(first, uid=f"{first['uid']}-{i}") for i in range(3000)]
    inventory["resources"][0]["data"] = {"k" * 2000: 1}
    del inventory["resources"][2999]["type"]
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inventory, indent=1))
    lines = path.read_text().splitlines()
    code, err = run(["evaluate", str(path), "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 2, err
    assert "resources[2999].type: Field required" in err
    line = int(err.split(f"{path}:")[1].split(":")[0])
    # the line of the resource that lacks "type" (its opening brace; the key itself is missing)
    assert lines[line - 1].strip() == "{"
    assert f'"uid": "{first["uid"]}-2999"' in lines[line]


@pytest.mark.parametrize("name", ["results.json", "results.inventory.json"])
def test_history_import_bounds_its_json_too(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.json"
    results.write_text('{"schema_version": "1.0", "results": []}')
    (tmp_path / name).write_text('{"schema_version": "1.0", "results": ' + nested(5000) + "}")
    code, err = run(["history", "import", "--store", str(tmp_path / "h.db"), str(results)], capsys)
    assert code == 2, err
    assert f"{tmp_path / name}: JSON nested deeper than 100 levels" in err
