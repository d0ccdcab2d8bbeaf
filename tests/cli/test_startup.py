"""`mlguard --help` imports no cloud SDK, database or template library (issue 17): those load in
the commands that use them, and the lazily loaded subcommands list the same short help as when
they are imported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mlguard.cli import LAZY_COMMANDS, LAZY_PERMISSIONS, cli
from mlguard.cli.output import LazyCommand, LazyGroup

HEAVY = ("boto3", "botocore", "databricks", "sqlalchemy", "alembic", "jinja2", "networkx")

_PROBE = f"""
import json, sys
SETUP
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r})))
"""
EXE = shutil.which("mlguard", path=str(Path(sys.executable).parent)) or "mlguard"


def _imported(setup: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.replace("SETUP", setup)], capture_output=True, text=True, check=True
    )
    modules: list[str] = json.loads(out.stdout.splitlines()[-1])
    return modules


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _imported("import mlguard.cli") == []


def test_help_loads_no_heavy_library_and_lists_every_command() -> None:
    setup = (
        "from mlguard.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
    )
    assert _imported(setup) == []
    out = subprocess.run([EXE, "--help"], capture_output=True, text=True, check=True).stdout
    for name in [*LAZY_COMMANDS, "history", "permissions", "scan", "collect", "report"]:
        assert f"\n  {name} " in out


def test_a_lazy_command_loads_when_it_runs() -> None:
    setup = (
        "from mlguard.cli import main\n"
        "try:\n    main(['permissions', 'databricks', '-q'])\nexcept SystemExit:\n    pass"
    )
    assert "databricks.sdk" in _imported(setup)


def _stub(lazy: LazyCommand) -> click.Command:
    return click.Command("stub", help=lazy.help)


@pytest.mark.parametrize(
    ("group", "name"),
    [(cli, n) for n in LAZY_COMMANDS] + [(cli.commands["permissions"], n) for n in LAZY_PERMISSIONS],
)
def test_the_listed_short_help_is_the_command_s_own(group: click.Group, name: str) -> None:
    assert isinstance(group, LazyGroup)
    real = group.load(name)
    first_paragraph = (real.help or "").split("\n\n")[0]
    assert " ".join(group.lazy[name].help.split()) == " ".join(first_paragraph.split())
    for limit in (30, 60, 90, 200):
        assert _stub(group.lazy[name]).get_short_help_str(limit) == real.get_short_help_str(limit)


def test_a_lazy_command_accepts_the_global_options_after_it() -> None:
    args = ["permissions", "aws", "-q", "--type", "aws.sagemaker.notebook_instance"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["Version"] == "2012-10-17"
