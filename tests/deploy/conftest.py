"""Shared by the deployment tests: the moto organisation of the shard tests, and mlguard's
configuration as a deployment ships it, narrowed to what that organisation holds."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.cli.test_shard_merge import comparable, estate

__all__ = ["comparable", "estate"]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
EXE = shutil.which("mlguard", path=str(Path(sys.executable).parent)) or "mlguard"
#: The organisation of tests/cli/test_shard_merge.py: its role and regions, KMS keys and IAM roles.
TEST_SELECTION = ["aws.kms.key", "aws.iam.role"]


def load_yaml_documents(path: Path) -> list[Any]:
    return [d for d in YAML(typ="safe", pure=True).load_all(path.read_text()) if d is not None]


def narrowed_config(shipped: Mapping[str, Any], where: Path) -> Path:
    """The shipped configuration with its AWS scope kept (org role, regions) but only the AWS
    provider (no Databricks here) and the policy selection the moto organisation can answer."""
    config = dict(shipped)
    config["scope"] = {**config["scope"], "providers": ["aws"]}
    config["policies"] = {**config.get("policies", {}), "resource_types": TEST_SELECTION}
    buf = io.StringIO()
    YAML(typ="safe", pure=True).dump(config, buf)
    where.write_text(buf.getvalue())
    return where


def mlguard_on_path(env: Mapping[str, str]) -> dict[str, str]:
    """The environment with this venv's mlguard first on PATH, as in the deployed image."""
    return {**env, "PATH": f"{Path(EXE).parent}{os.pathsep}{env.get('PATH', os.defpath)}"}


def start(argv: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv, env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out + err


def kube_expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of command, args and env values (unknown names stay)."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), text)


def single_scan(config: Path, env: Mapping[str, str], cwd: Path) -> tuple[int, Path]:
    """One unsharded `mlguard scan` of the same configuration: what the merge must equal."""
    code, out = finish(
        start(
            [EXE, "--config", str(config), "scan", "--format", "json", "--output-dir", "single", "-q"],
            env,
            cwd,
        )
    )
    assert code in (0, 1), out
    return code, cwd / "single" / "results.json"
