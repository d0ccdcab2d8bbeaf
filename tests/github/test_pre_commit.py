"""The hooks of .pre-commit-hooks.yaml, run by the real pre-commit (``pre-commit try-repo``).

A temporary copy of this repository (committed in a temporary git repository) provides the hooks;
another temporary repository stages policy and Terraform files. The ``-system`` hooks run the
mlguard under test from PATH: no install, no network. The ``language: python`` hook is run once
too: pre-commit installs this repository into its own virtual environment with pip, which reads
the machine's pip configuration (its index and find-links).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlguard.iac import ENV_CHECKOV_BIN
from tests.github.tools import checkov_or_skip

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "policies" / "aws" / "s3" / "s3_bucket_public_access_blocked.yaml"
BAD = ROOT / "tests" / "bad_input" / "policies"
TF = ROOT / "tests" / "iac" / "fixtures" / "sagemaker_endpoint" / "main.tf"
GIT = ["git", "-c", "user.name=mlguard tests", "-c", "user.email=tests@example.com"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's hooks, package and policies, committed in a temporary git repository."""
    repo = tmp_path_factory.mktemp("hooks")
    for name in (".pre-commit-hooks.yaml", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "src", repo / "src", ignore=ignore)
    shutil.copytree(ROOT / "policies", repo / "policies", ignore=ignore)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "hooks")
    return repo


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "user"
    repo.mkdir()
    _git(repo, "init", "-q")
    return repo


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "GIT_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # mlguard under test
    env["PRE_COMMIT_HOME"] = str(tmp / "pre-commit-home")
    for role in ("AUTHOR", "COMMITTER"):  # try-repo may commit a snapshot: never rely on a global identity
        env[f"GIT_{role}_NAME"] = "mlguard tests"
        env[f"GIT_{role}_EMAIL"] = "tests@example.com"
    env.update(extra)
    return env


def _try(hooks: Path, user: Path, hook: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``pre-commit try-repo`` on the staged files of ``user`` (what a commit would check)."""
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), hook, "--color", "never"],
        cwd=user,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def test_the_manifest_is_valid() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_policies_hook_checks_the_staged_policy_files(
    hooks_repo: Path, user_repo: Path, tmp_path: Path
) -> None:
    (user_repo / "policies" / "s3").mkdir(parents=True)
    shutil.copy(GOOD, user_repo / "policies" / "s3")
    shutil.copy(BAD / "unknown_field.yaml", user_repo / "policies" / "s3")
    shutil.copy(BAD / "bad_regex.yaml", user_repo / "policies" / "s3")
    (user_repo / "notes.yaml").write_text("not: a policy\n")  # outside policies/: not checked
    (user_repo / "policies" / "tests").mkdir()  # policy tests and _helpers are not policies
    shutil.copy(BAD / "unknown_field.yaml", user_repo / "policies" / "tests")
    (user_repo / "policies" / "_shared.yaml").write_text("anchors: {}\n")
    _git(user_repo, "add", "-A")
    done = _try(hooks_repo, user_repo, "mlguard-policies-system", _env(tmp_path))
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "policies/s3/unknown_field.yaml:8: severty: unknown field 'severty'" in out
    assert "policies/s3/bad_regex.yaml:10: assert.value: invalid regular expression" in out
    assert "policies/s3/bad_regex.yaml:8: assert.path: unknown field 'a'" in out
    assert "in 2 of 3 file(s)" in out  # the three staged policy files, not notes.yaml

    # Fixed (the broken files removed): the hook passes; with no policy file staged it is skipped.
    _git(user_repo, "rm", "-q", "--cached", "policies/s3/unknown_field.yaml", "policies/s3/bad_regex.yaml")
    done = _try(hooks_repo, user_repo, "mlguard-policies-system", _env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed" in done.stdout
    _git(user_repo, "rm", "-q", "--cached", "policies/s3/s3_bucket_public_access_blocked.yaml")
    done = _try(hooks_repo, user_repo, "mlguard-policies-system", _env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(no files to check)Skipped" in done.stdout


@pytest.mark.slow
def test_the_python_hook_installs_mlguard_itself(hooks_repo: Path, user_repo: Path, tmp_path: Path) -> None:
    """``language: python``: pre-commit builds an environment with this repository installed."""
    (user_repo / "policies").mkdir()
    shutil.copy(BAD / "unknown_field.yaml", user_repo / "policies")
    _git(user_repo, "add", "-A")
    env = _env(tmp_path)
    env["PATH"] = os.pathsep.join(  # the mlguard under test is not on PATH: pre-commit's own is used
        p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "mlguard").exists()
    )
    env.pop("PYTHONPATH", None)
    done = _try(hooks_repo, user_repo, "mlguard-policies", env)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "policies/unknown_field.yaml:8: severty: unknown field 'severty'" in out


@pytest.mark.slow
def test_iac_hook_lists_each_fail_with_its_file_and_line(
    hooks_repo: Path, user_repo: Path, tmp_path: Path
) -> None:
    checkov = checkov_or_skip()
    (user_repo / "infra").mkdir()
    shutil.copy(TF, user_repo / "infra" / "main.tf")
    (user_repo / "README.md").write_text("docs\n")
    _git(user_repo, "add", "README.md")
    env = _env(tmp_path, **{ENV_CHECKOV_BIN: str(checkov)})
    done = _try(hooks_repo, user_repo, "mlguard-iac-system", env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(no files to check)Skipped" in done.stdout  # no IaC file staged: checkov does not run

    _git(user_repo, "add", "infra/main.tf")
    done = _try(hooks_repo, user_repo, "mlguard-iac-system", env)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    lines = [line for line in out.splitlines() if line.startswith("infra/main.tf:")]
    assert lines, out
    assert any("aws_sagemaker_endpoint_configuration.bad" in line for line in lines), out
    assert not any(".good" in line for line in lines), out
    assert not (user_repo / "mlguard-out").exists()  # --format console writes no file
