"""The state every command reads: the config path, the global output settings, the consoles."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

from mlguard.cli.output import OutputSettings, settings
from mlguard.cli.progress import progress
from mlguard.collect.base import Progress
from mlguard.pipeline import LoadedConfig, load_config


@dataclass
class State:
    config_path: Path | None
    out: OutputSettings  # -q, -v, --log-level: given before or after the subcommand
    console: Console
    err: Console

    @property
    def quiet(self) -> bool:
        return self.out.quiet

    def config(self) -> LoadedConfig:
        return load_config(self.config_path)


def state_of(ctx: click.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):  # a command run on its own (a test): the defaults
        root.obj = State(None, settings(ctx), Console(), Console(stderr=True))
    obj: State = root.obj
    return obj


def command_line() -> str:
    return "mlguard " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@contextmanager
def collecting(state: State) -> Iterator[Progress]:
    with progress(state.err, state.out) as p:
        yield p
