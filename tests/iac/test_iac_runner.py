"""Finding and running checkov: missing tool, offline command, timeouts, crashes, broken checks."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from mlguard.errors import EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_SETUP, InputError, ToolMissingError
from mlguard.iac import CheckovFailedError, CheckovTimeoutError, IacScan, find_checkov, scan_iac
from mlguard.iac.runner import (
    CHECKS_DIR,
    ENV_CHECKOV_BIN,
    checkov_command,
    checkov_env,
    run_checkov,
    run_checkov_batch,
)


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_missing_checkov_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_CHECKOV_BIN, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError) as info:
        find_checkov()
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert "pip install 'checkov==3.3.*'" in info.value.message
    assert "pipx install" in info.value.message


def test_explicit_path_wins_and_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = _script(tmp_path / "checkov", "exit 0")
    monkeypatch.setenv(ENV_CHECKOV_BIN, str(tmp_path / "elsewhere"))
    assert find_checkov(fake) == fake
    assert find_checkov(tmp_path) == fake  # a venv bin directory is accepted too
    with pytest.raises(ToolMissingError, match=ENV_CHECKOV_BIN):
        find_checkov()
    monkeypatch.setenv(ENV_CHECKOV_BIN, str(fake))
    assert find_checkov() == fake
    with pytest.raises(ToolMissingError, match="--checkov-bin"):
        find_checkov(tmp_path / "nope")


def test_not_executable_is_reported(tmp_path: Path) -> None:
    plain = tmp_path / "checkov"
    plain.write_text("")
    with pytest.raises(ToolMissingError, match="not executable"):
        find_checkov(plain)


def test_command_is_offline_and_limited_to_our_frameworks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cmd = checkov_command(Path("/opt/checkov"), tmp_path, skip_paths=("fixtures",))
    assert cmd[1:3] == ["-d", str(tmp_path)]
    frameworks = cmd[cmd.index("--framework") + 1 : cmd.index("-o")]
    assert frameworks == ["terraform", "terraform_plan", "cloudformation"]
    assert {"--skip-download", "--skip-results-upload"} <= set(cmd)
    assert cmd[cmd.index("--download-external-modules") + 1] == "false"
    assert cmd[cmd.index("--external-checks-dir") + 1] == str(CHECKS_DIR)
    assert cmd[cmd.index("--skip-path") + 1] == "fixtures"
    monkeypatch.setenv("BC_API_KEY", "secret-key")
    env = checkov_env()
    assert "BC_API_KEY" not in env
    assert env["BC_SKIP_MAPPING"] == "TRUE"
    assert env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] == "true"


def test_timeout_stops_checkov(tmp_path: Path) -> None:
    slow = _script(tmp_path / "checkov", "sleep 30")
    with pytest.raises(CheckovTimeoutError) as info:
        run_checkov(tmp_path, checkov_bin=slow, timeout=0.5)
    assert info.value.exit_code == EXIT_INCOMPLETE


def test_crash_is_an_error_with_its_stderr(tmp_path: Path) -> None:
    crash = _script(tmp_path / "checkov", "echo 'boom: parser exploded' >&2; exit 2")
    with pytest.raises(CheckovFailedError, match="boom: parser exploded") as info:
        run_checkov(tmp_path, checkov_bin=crash)
    assert info.value.exit_code == EXIT_SETUP


def test_missing_path_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        scan_iac(tmp_path / "absent", checkov_bin=tmp_path / "checkov")


def test_a_check_checkov_cannot_load_fails_the_run(tmp_path: Path, checkov_bin: Path) -> None:
    """checkov only logs a broken external check and runs without it; mlguard refuses that."""
    broken = tmp_path / "checks"
    broken.mkdir()
    (broken / "__init__.py").write_text("")
    (broken / "mlg_broken.py").write_text("raise RuntimeError('broken check')\n")
    (tmp_path / "main.tf").write_text('resource "databricks_token" "t" {\n  comment = "x"\n}\n')
    with pytest.raises(CheckovFailedError, match="could not load an mlguard check"):
        run_checkov(tmp_path, checkov_bin=checkov_bin, external_checks_dirs=(CHECKS_DIR, broken))


def test_checkov_makes_no_network_calls(scenario_scan: IacScan, network_log: Path) -> None:
    """Run as mlguard runs it, checkov neither connects nor resolves a host name."""
    assert scenario_scan.results
    lines = network_log.read_text().splitlines()
    assert "audit hook loaded" in lines  # the hook really ran inside checkov
    assert [line for line in lines if line.startswith("NETWORK")] == []


def test_a_batch_is_one_process_whose_report_file_is_read_and_whose_crash_or_silence_fails(
    tmp_path: Path,
) -> None:
    """One checkov over several units: every unit a -d root (a template through a directory that
    links it), in forked runners; no report file, or a crash, is an error naming why."""
    (tmp_path / "mod").mkdir()
    (tmp_path / "stack.yaml").write_text("Resources: {}\n")
    args = tmp_path / "args"
    silent = _script(
        tmp_path / "checkov", f'echo "$@" > {args}; echo "$CHECKOV_PARALLELIZATION_TYPE" >> {args}'
    )
    targets = [tmp_path / "mod", tmp_path / "stack.yaml"]
    with pytest.raises(CheckovFailedError, match="checkov wrote no report"):
        run_checkov_batch(targets, cwd=tmp_path, checkov_bin=silent)
    line, kind = args.read_text().splitlines()
    assert line.count("-d ") == 2
    assert "-f " not in line
    assert kind == "fork"
    crash = _script(tmp_path / "checkov", "echo 'boom: parser exploded' >&2; exit 2")
    with pytest.raises(CheckovFailedError, match="boom: parser exploded"):
        run_checkov_batch(targets, cwd=tmp_path, checkov_bin=crash)
    slow = _script(tmp_path / "checkov", "sleep 30")
    with pytest.raises(CheckovTimeoutError):
        run_checkov_batch(targets, cwd=tmp_path, checkov_bin=slow, timeout=0.5)


# ----------------------------------------------------------------- checkov's output is bounded

_REPORT = {
    "check_type": "terraform",
    "results": {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []},
    "summary": {"checkov_version": "3.3.30"},
}
_LIMIT = 64 * 1024


def _padded(size: int) -> str:
    """A valid checkov report of more than ``size`` bytes (a long field mlguard does not read)."""
    return json.dumps({**_REPORT, "url": "x" * size})


def _nested(levels: int) -> str:
    """A valid checkov report with ``levels`` of lists in a field mlguard does not read."""
    return json.dumps(_REPORT)[:-1] + ', "extra": ' + "[" * levels + "]" * levels + "}"


def _printing(path: Path, text: str, then: str = "") -> Path:
    (path.parent / "report.json").write_text(text)
    return _script(path, f'cat "{path.parent / "report.json"}"\n{then}')


def _writing_report(path: Path, text: str) -> Path:
    """A fake batch checkov: writes ``text`` as its report file where --output-file-path says."""
    (path.parent / "report.json").write_text(text)
    return _script(
        path,
        'while [ $# -gt 0 ]; do [ "$1" = "--output-file-path" ] && out="$2"; shift; done\n'
        f'mkdir -p "$out" && cp "{path.parent / "report.json"}" "$out/results_json.json"',
    )


def _batch_targets(tmp_path: Path) -> list[Path]:
    targets = [tmp_path / "a", tmp_path / "b"]
    for target in targets:
        target.mkdir()
    return targets


def test_a_report_over_the_size_limit_is_refused_naming_the_target_and_the_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLGUARD_MAX_CHECKOV_BYTES", str(_LIMIT))
    target = tmp_path / "infra"
    target.mkdir()
    fits = _printing(tmp_path / "checkov", _padded(_LIMIT - 1000))
    assert [r.check_type for r in run_checkov(target, checkov_bin=fits).reports] == ["terraform"]
    big = _printing(tmp_path / "checkov", _padded(_LIMIT))
    with pytest.raises(CheckovFailedError) as info:
        run_checkov(target, checkov_bin=big)
    assert info.value.exit_code == EXIT_SETUP
    assert str(target) in info.value.message
    assert "larger than the 65536 bytes limit" in info.value.message
    assert "MLGUARD_MAX_CHECKOV_BYTES" in info.value.message


def test_stdout_is_read_no_further_than_the_limit_and_checkov_is_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Past the limit mlguard stops reading and kills checkov: it does not wait for (or buffer)
    the rest, here a report that never ends."""
    monkeypatch.setenv("MLGUARD_MAX_CHECKOV_BYTES", str(_LIMIT))
    after = tmp_path / "still-running"
    endless = _printing(tmp_path / "checkov", _padded(_LIMIT), then=f"sleep 60; touch {after}")
    with pytest.raises(CheckovFailedError, match="larger than the 65536 bytes limit"):
        run_checkov(tmp_path, checkov_bin=endless, timeout=45)
    assert not after.exists()


def test_a_batch_report_file_over_the_size_limit_is_refused_naming_every_target(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLGUARD_MAX_CHECKOV_BYTES", str(_LIMIT))
    targets = _batch_targets(tmp_path)
    fits = _writing_report(tmp_path / "checkov", _padded(_LIMIT - 1000))
    assert [r.check_type for r in run_checkov_batch(targets, cwd=tmp_path, checkov_bin=fits).reports] == [
        "terraform"
    ]
    big = _writing_report(tmp_path / "checkov", _padded(_LIMIT))
    with pytest.raises(CheckovFailedError) as info:
        run_checkov_batch(targets, cwd=tmp_path, checkov_bin=big)
    assert info.value.exit_code == EXIT_SETUP
    assert f"{targets[0]}, {targets[1]}" in info.value.message
    assert "larger than the 65536 bytes limit" in info.value.message


@pytest.mark.parametrize("levels", [101, 100_000])
def test_a_report_nested_too_deeply_is_refused(tmp_path: Path, levels: int) -> None:
    """As every JSON input: deeper than $MLGUARD_MAX_NESTING (100) levels is an error naming the
    target, never a report read in part, nor a RecursionError (100,000 levels)."""
    target = tmp_path / "infra"
    target.mkdir()
    fits = _printing(tmp_path / "checkov", _nested(90))
    assert [r.check_type for r in run_checkov(target, checkov_bin=fits).reports] == ["terraform"]
    deep = _printing(tmp_path / "checkov", _nested(levels))
    with pytest.raises(CheckovFailedError) as info:
        run_checkov(target, checkov_bin=deep)
    assert info.value.exit_code == EXIT_SETUP
    assert str(target) in info.value.message
    assert "nested deeper than 100 levels" in info.value.message


def test_a_batch_report_file_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    targets = _batch_targets(tmp_path)
    deep = _writing_report(tmp_path / "checkov", _nested(100_000))
    with pytest.raises(CheckovFailedError, match="nested deeper than 100 levels") as info:
        run_checkov_batch(targets, cwd=tmp_path, checkov_bin=deep)
    assert f"{targets[0]}, {targets[1]}" in info.value.message


def test_stderr_is_kept_bounded_and_a_broken_check_is_still_seen(tmp_path: Path) -> None:
    """checkov's stderr is read as it comes: 4 MiB of warnings before the line saying a check
    could not be loaded, which still fails the run, quoted whole."""
    noisy = _script(
        tmp_path / "checkov",
        "head -c 4194304 /dev/zero | tr '\\0' 'w' >&2\n"
        "echo >&2\n"
        "echo 'ERROR Cannot load external check from mlg_x.py' >&2\n"
        f"echo '{json.dumps(_REPORT)}'",
    )
    with pytest.raises(CheckovFailedError) as info:
        run_checkov(tmp_path, checkov_bin=noisy)
    assert info.value.message == (
        "checkov could not load an mlguard check: ERROR Cannot load external check from mlg_x.py"
    )


def test_a_report_that_is_not_utf8_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    garbled = _script(tmp_path / "checkov", "printf '[\\377]'")
    with pytest.raises(CheckovFailedError, match=f"checkov's report of {tmp_path} is not UTF-8 text"):
        run_checkov(tmp_path, checkov_bin=garbled)
