"""The ``mlguard`` command line, a thin layer over :mod:`mlguard.pipeline`.

Every user error is an :class:`~mlguard.errors.MlguardError` (or a click usage error), printed as
one clean line with its exit code; see the README for the table of exit codes.

- :mod:`~mlguard.cli.app`: the group, the lazily imported subcommands, :func:`main`;
- :mod:`~mlguard.cli.options`: the option stacks the commands share and their typed values;
- :mod:`~mlguard.cli.scan`: collect, evaluate, scan, merge, report; :mod:`~mlguard.cli.history`:
  ``history finalize``; :mod:`~mlguard.cli.policies`: policies, frameworks;
  :mod:`~mlguard.cli.schema`: schema, types;
- :mod:`~mlguard.cli.output`: global options, ``--stdout``, ``--status``;
  :mod:`~mlguard.cli.progress`: progress on stderr.
"""

from mlguard.cli.app import LAZY_COMMANDS, LAZY_PERMISSIONS, cli, main
from mlguard.cli.scan import sample_inventory_path
from mlguard.cli.schema import SCHEMAS

__all__ = ["LAZY_COMMANDS", "LAZY_PERMISSIONS", "SCHEMAS", "cli", "main", "sample_inventory_path"]
