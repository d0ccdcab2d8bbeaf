"""Print the --help text of every mlguard command (lazy ones included), one section each.

    PYTHONPATH=src .venv/bin/python scripts/dump-help.py > help.txt

Two trees' outputs diffed show what a CLI change did to the help texts (a refactor: nothing).
"""

from __future__ import annotations

import click
from click.testing import CliRunner

from mlguard.cli import cli


def walk(group: click.Group, path: list[str]) -> list[list[str]]:
    ctx = click.Context(group)
    found = [path]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            found += walk(command, [*path, name])
        elif command is not None:
            found.append([*path, name])
    return found


def main() -> None:
    runner = CliRunner()
    for path in walk(cli, []):
        result = runner.invoke(cli, [*path, "--help"], terminal_width=110)
        print(f"===== mlguard {' '.join(path)} (exit {result.exit_code})")
        print(result.output)


if __name__ == "__main__":
    main()
