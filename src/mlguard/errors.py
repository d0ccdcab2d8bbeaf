"""One error base class per layer; the CLI maps each to a documented exit code and a clean message.

Exit codes (documented in the README):

==== =====================================================================================
0    scan ran; no unwaived FAIL at or above ``--fail-on``
1    at least one unwaived FAIL at or above ``--fail-on``
2    bad input: usage, policy, config, inventory, waiver or baseline file; missing tool; a
     policy selection that matches nothing; reports that could not be written
3    the scan completed but collection was incomplete (errors recorded) and
     ``--fail-on-error`` was given, or a ``--timeout`` cut it short
4    nothing could be collected: no credentials, unreachable endpoint for every scope, or a
     provider whose scope yielded only collection errors
==== =====================================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_SETUP = 4


class MlguardError(Exception):
    """Base of every error mlguard reports to a user (never shown with a traceback)."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.more: list[MlguardError] = []  # further problems found with this one (same input)
        super().__init__(self.render())

    def render(self) -> str:
        """``file:line: message``, then one line for each further problem."""
        return "\n".join(p.render_one() for p in self.problems())

    def render_one(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{where}{self.message}"

    def problems(self) -> list[MlguardError]:
        return [self, *self.more]


E = TypeVar("E", bound=MlguardError)


def combined(problems: Sequence[E]) -> E:
    """One exception for several problems: the first, carrying the others (``render`` shows every
    one, a line each; the type and exit code are the first's)."""
    first, *rest = problems
    first.more = [m for p in rest for m in p.problems()]
    first.args = (first.render(),)
    return first


class InputError(MlguardError):
    """A file or flag given by the user is invalid (exit 2)."""


class PolicyError(InputError):
    """A policy or framework file is invalid."""


class ConfigError(InputError):
    """The configuration or waivers file is invalid."""


class InventoryError(InputError):
    """An inventory or results file is invalid."""


class OutputError(InputError):
    """A report or inventory file could not be written (full disk, unwritable directory): exit 2,
    and the previous files are left as they were."""


class ToolMissingError(InputError):
    """An external tool (checkov) is not installed."""


class CollectionSetupError(MlguardError):
    """Collection could not start at all: no credentials, endpoint unreachable (exit 4)."""

    exit_code = EXIT_SETUP
