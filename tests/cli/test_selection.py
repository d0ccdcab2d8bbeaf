"""A policy selection that matches nothing is bad input (exit 2), never a silent empty run."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlguard.cli import main, sample_inventory_path

SAMPLE = str(sample_inventory_path())


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    return int(exc.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "named", "suggested"),
    [
        (["--policy", "s3_bucket_publik_access_blocked"], "--policy", "s3_bucket_public_access_blocked"),
        (["--category", "securty"], "--category", "security"),
        (["--severity", "hgh"], "--severity", "high"),
        (["--resource-type", "aws.s3.buckets"], "--resource-type", "aws.s3.bucket"),
        (["--exclude-policy", "sagemaker_notebok_in_vpc"], "--exclude-policy", "sagemaker_notebook_in_vpc"),
        # an id that matches nothing is an error even when another selector matches
        (["--policy", "s3_*", "--policy", "s3_bucket_typo"], "--policy", "'s3_bucket_typo'"),
    ],
)
def test_selector_matching_nothing_is_named_with_nearest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], named: str, suggested: str
) -> None:
    code, err = run(["-q", "evaluate", SAMPLE, "--output-dir", str(tmp_path), *flags], capsys)
    assert code == 2, err
    assert named in err
    assert suggested in err
    assert not (tmp_path / "results.json").exists()


def test_empty_selections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(
        ["-q", "evaluate", SAMPLE, "--output-dir", str(tmp_path), "--exclude-policy", "*"], capsys
    )
    assert code == 2
    assert "matches no policy: --exclude-policy *" in err
    code, err = run(["-q", "evaluate", SAMPLE, "--output-dir", str(tmp_path), "--no-builtin"], capsys)
    assert code == 2
    assert "no policies loaded" in err
    code, err = run(
        ["policies", "list", "--category", "cost", "--severity", "critical", "--resource-type", "aws.s3.*"],
        capsys,
    )
    assert code == 2
    assert "--category cost" in err
    assert "together they match none" in err


def test_demo_scan_with_a_policy_typo_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["-q", "scan", "--demo", "--output-dir", str(tmp_path), "--policy", "typo"], capsys)
    assert code == 2
    assert "--policy: 'typo' matches no policy id" in err
    assert not (tmp_path / "results.json").exists()


def test_config_include_typo_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mlguard.yaml"
    config.write_text("policies:\n  include:\n    - 's3_*'\n    - sagemaker_notebook_in_vcp\n")
    code, err = run(["-q", "--config", str(config), "policies", "list"], capsys)
    assert code == 2
    assert f"{config}:4: policies.include[1]: 'sagemaker_notebook_in_vcp' matches no policy id" in err
    assert "sagemaker_notebook_in_vpc" in err
    config.write_text("policies:\n  exclude: [s3_bucket_not_publik]\n")
    code, err = run(["-q", "--config", str(config), "policies", "list"], capsys)
    assert code == 2
    assert f"{config}:2: policies.exclude[0]" in err
