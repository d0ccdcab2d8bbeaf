"""``mlguard policies validate``: files as well as folders, and every problem of every file.

Each problem is one ``file:line: field: problem`` line on stderr (editors and pre-commit read them);
the command exits 2 when there is any, 0 otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "bad_input" / "policies"
GOOD = ROOT / "policies" / "aws" / "s3" / "s3_bucket_public_access_blocked.yaml"

HEAD = """title: A policy with several problems
description: Each one must be reported.
category: security
remediation: {text: Nothing to remediate here.}
resource: aws.s3.bucket
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as exc:
        main(["policies", "validate", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return int(exc.value.code or 0), err.splitlines()


def _lines_of(path: Path, lines: list[str]) -> list[str]:
    return [line.removeprefix(f"{path}:") for line in lines if line.startswith(f"{path}:")]


def test_every_schema_problem_of_a_file_has_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "many_schema_problems.yaml"
    path.write_text(
        HEAD + "severity: urgent\nassert: {path: encrypted, op: exists}\nseverty: low\nowner: me\n"
    )
    code, lines = run([str(path)], capsys)
    assert code == 2
    mine = _lines_of(path, lines)
    assert any(line.startswith("6: severity: 'urgent' is not one of") for line in mine), lines
    assert any(line.startswith("8: severty: unknown field 'severty'") for line in mine), lines
    assert any(line.startswith("9: owner: unknown field 'owner'") for line in mine), lines
    assert not any("more problem" in line for line in lines)
    assert lines[-1].startswith("mlguard: error:")
    assert "problem(s) in 1 of 1 file(s)" in lines[-1]


def test_every_semantic_problem_of_a_file_has_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "many_semantic_problems.yaml"
    path.write_text(
        HEAD
        + "severity: high\n"  # 6
        + "parameters:\n"
        + "  days: {type: integer, default: nope, description: d}\n"  # 8
        + "assert:\n"
        + "  all:\n"
        + "    - {path: name, op: regex, value: '(a'}\n"  # 11
        + "    - {path: name, op: eq, param: max_days}\n"  # 12
        + "    - {path: encrypted_at_rest, op: exists}\n"  # 13
        + "    - not: {path: name, op: eq}\n"  # 14
    )
    code, lines = run([str(path)], capsys)
    assert code == 2
    mine = _lines_of(path, lines)
    assert [line.split(":", 1)[0] for line in mine] == ["8", "11", "12", "13", "14"], lines
    assert "parameters.days.default" in mine[0]
    assert "assert.all[0].value: invalid regular expression" in mine[1]
    assert "assert.all[1].param: unknown parameter 'max_days'" in mine[2]
    assert "assert.all[2].path: unknown field 'encrypted_at_rest'" in mine[3]
    assert "assert.all[3].not.op: operator 'eq' needs exactly one of value or param" in mine[4]


def test_files_and_folders_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    shutil.copy(BAD / "unknown_field.yaml", folder)
    shutil.copy(BAD / "bad_regex.yaml", tmp_path)
    code, lines = run([str(GOOD), str(folder), str(tmp_path / "bad_regex.yaml")], capsys)
    assert code == 2
    assert _lines_of(folder / "unknown_field.yaml", lines)[0].startswith("8: severty: unknown field")
    regex = _lines_of(tmp_path / "bad_regex.yaml", lines)
    assert any(line.startswith("10: assert.value: invalid regular") for line in regex), lines
    assert any(line.startswith("8: assert.path: unknown field 'a'") for line in regex), lines
    assert not _lines_of(GOOD, lines)
    assert "problem(s) in 2 of 3 file(s)" in lines[-1]

    code, lines = run([str(GOOD)], capsys)
    assert code == 0
    assert lines == ["ok: 1 policies and 0 frameworks are valid"]


def test_a_framework_file_alone_resolves_the_policies_of_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    builtin = sorted((ROOT / "policies" / "frameworks").glob("*.yaml"))
    code, lines = run([str(p) for p in builtin], capsys)
    assert code == 0, lines
    assert lines == [f"ok: 0 policies and {len(builtin)} frameworks are valid"]

    pack = tmp_path / "pack"
    (pack / "frameworks").mkdir(parents=True)
    (pack / "s3").mkdir()
    shutil.copy(GOOD, pack / "s3")
    shutil.copy(BAD / "unknown_field.yaml", pack / "s3")  # broken, but its id exists: no cascade
    fw = pack / "frameworks" / "fw.yaml"
    fw.write_text(
        "id: fw\nname: A framework\nrequirements:\n  - id: R1\n    title: Something\n    policies:\n"
        "      - s3_bucket_public_access_blocked\n      - unknown_field\n      - no_such_policy\n"
        "  - id: R1\n    title: Again\n    policies: [s3_bucket_public_access_blocked]\n"
    )
    code, lines = run([str(fw)], capsys)
    assert code == 2
    assert _lines_of(fw, lines) == ["10: requirements[1].id: duplicate requirement id 'R1'"]
    fw.write_text(fw.read_text().replace("  - id: R1\n    title: Again", "  - id: R2\n    title: Again"))
    code, lines = run([str(fw)], capsys)
    assert code == 2
    assert _lines_of(fw, lines) == ["9: requirements[0].policies[2]: unknown policy id 'no_such_policy'"]


def test_a_missing_path_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run([str(tmp_path / "nope.yaml")], capsys)
    assert code == 2
    assert "policy file or directory not found" in " ".join(lines)
