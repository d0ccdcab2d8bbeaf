"""Errors of the results store, mapped to the exit codes documented in :mod:`mlguard.errors`."""

from __future__ import annotations

from mlguard.errors import EXIT_INCOMPLETE, MlguardError


class StoreError(MlguardError):
    """The store could not be opened or used: bad URL, unreachable server, unknown run (exit 2)."""


class StoreLockTimeout(StoreError):
    """Another run holds the store's lock and did not release it in time (exit 3)."""

    exit_code = EXIT_INCOMPLETE


class DeadlineExceeded(MlguardError):
    """The ``--timeout`` of an unattended run elapsed (exit 3: the run is incomplete)."""

    exit_code = EXIT_INCOMPLETE
